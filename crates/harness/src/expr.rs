//! Closed-form expressions of parameters for `agreement` checks, e.g. `k / n` or
//! `sqrt(d1 * d2 / n)`: numbers, parameter names, `+ - * / ^`, parentheses, `pi`, and the
//! functions sqrt, exp, log (natural), log10, sin, cos, tan, asin, acos, atan, abs, min, max.
//! Parsed once at validation so that a typo is a spec error, not a failing check.

use std::collections::BTreeMap;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Variable(String),
    Negate(Box<Expr>),
    Binary(char, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

const FUNCTIONS: [(&str, usize); 13] = [
    ("sqrt", 1),
    ("exp", 1),
    ("log", 1),
    ("log10", 1),
    ("sin", 1),
    ("cos", 1),
    ("tan", 1),
    ("asin", 1),
    ("acos", 1),
    ("atan", 1),
    ("abs", 1),
    ("min", 2),
    ("max", 2),
];

impl Expr {
    /// Parse `text`; the error says where and what was expected.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        // Parsing, evaluation and drop recurse over the tree: bounded sizes keep every one of
        // them far from the stack's end (10,000 nested parentheses or a 60,000-term `^` chain
        // aborted the process).
        if tokens.len() > MAX_TOKENS {
            return Err(format!(
                "the expression has {} tokens; at most {MAX_TOKENS} are accepted",
                tokens.len()
            ));
        }
        let mut parser = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let expr = parser.sum()?;
        match parser.tokens.get(parser.pos) {
            None => Ok(expr),
            Some(t) => Err(format!("unexpected `{}` in expression `{text}`", t.text())),
        }
    }

    /// Parameter names the expression uses.
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            Expr::Number(_) => {}
            Expr::Variable(v) => out.push(v.clone()),
            Expr::Negate(e) => e.collect(out),
            Expr::Binary(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect(out)),
        }
    }

    /// Evaluate with numeric parameter values; an unknown name evaluates to NaN.
    pub fn eval(&self, vars: &BTreeMap<String, f64>) -> f64 {
        match self {
            Expr::Number(x) => *x,
            Expr::Variable(v) if v == "pi" => std::f64::consts::PI,
            Expr::Variable(v) => vars.get(v).copied().unwrap_or(f64::NAN),
            Expr::Negate(e) => -e.eval(vars),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval(vars), b.eval(vars));
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' => a / b,
                    _ => a.powf(b),
                }
            }
            Expr::Call(f, args) => {
                let x: Vec<f64> = args.iter().map(|a| a.eval(vars)).collect();
                match f.as_str() {
                    "sqrt" => x[0].sqrt(),
                    "exp" => x[0].exp(),
                    "log" => x[0].ln(),
                    "log10" => x[0].log10(),
                    "sin" => x[0].sin(),
                    "cos" => x[0].cos(),
                    "tan" => x[0].tan(),
                    "asin" => x[0].asin(),
                    "acos" => x[0].acos(),
                    "atan" => x[0].atan(),
                    "abs" => x[0].abs(),
                    "min" => x[0].min(x[1]),
                    _ => x[0].max(x[1]),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Symbol(char),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Number(x) => x.to_string(),
            Token::Name(n) => n.clone(),
            Token::Symbol(c) => c.to_string(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(s.parse().map_err(|_| {
                format!("`{s}` is not a number in expression `{text}`")
            })?));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Name(chars[start..i].iter().collect()));
        } else if "+-*/^(),".contains(c) {
            tokens.push(Token::Symbol(c));
            i += 1;
        } else {
            return Err(format!("unexpected character `{c}` in expression `{text}`"));
        }
    }
    Ok(tokens)
}

/// Longest expression accepted, in tokens (numbers, names, operators, parentheses).
const MAX_TOKENS: usize = 1_000;
/// Deepest nesting accepted (parentheses, calls, unary minus, `^` chains).
const MAX_DEPTH: usize = 100;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current nesting of recursive rules.
    depth: usize,
}

impl Parser {
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the expression is nested more than {MAX_DEPTH} levels deep"
            ));
        }
        Ok(())
    }

    fn peek_symbol(&self, c: char) -> bool {
        self.tokens.get(self.pos) == Some(&Token::Symbol(c))
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(op) = ['+', '-'].into_iter().find(|c| self.peek_symbol(*c)) {
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(op) = ['*', '/'].into_iter().find(|c| self.peek_symbol(*c)) {
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        if self.peek_symbol('-') {
            self.pos += 1;
            return Ok(Expr::Negate(Box::new(self.unary()?)));
        }
        let base = self.atom()?;
        if self.peek_symbol('^') {
            self.pos += 1;
            return Ok(Expr::Binary('^', Box::new(base), Box::new(self.unary()?)));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or("the expression ends too early")?;
        self.pos += 1;
        match token {
            Token::Number(x) => Ok(Expr::Number(x)),
            Token::Symbol('(') => {
                let inner = self.sum()?;
                self.expect(')')?;
                Ok(inner)
            }
            Token::Name(name) if self.peek_symbol('(') => {
                self.pos += 1;
                let arity = FUNCTIONS
                    .iter()
                    .find(|(f, _)| *f == name)
                    .map(|(_, a)| *a)
                    .ok_or_else(|| {
                        let names: Vec<&str> = FUNCTIONS.iter().map(|(f, _)| *f).collect();
                        format!("unknown function `{name}`; accepted: {}", names.join(", "))
                    })?;
                let mut args = vec![self.sum()?];
                while self.peek_symbol(',') {
                    self.pos += 1;
                    args.push(self.sum()?);
                }
                self.expect(')')?;
                if args.len() != arity {
                    return Err(format!(
                        "`{name}` takes {arity} argument(s), got {}",
                        args.len()
                    ));
                }
                Ok(Expr::Call(name, args))
            }
            Token::Name(name) => Ok(Expr::Variable(name)),
            Token::Symbol(c) => Err(format!(
                "unexpected `{c}`; expected a number, a name or `(`"
            )),
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek_symbol(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected `{c}`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10,000 nested parentheses or a 60,000-term `^` chain overflowed the stack (an abort, not
    /// an error): sizes are bounded, and everything below the bounds parses.
    #[test]
    fn deep_or_long_expressions_are_errors_not_stack_overflows() {
        let deep = format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Expr::parse(&deep).unwrap_err().contains("tokens"));
        let nested = format!("{}x{}", "(".repeat(150), ")".repeat(150));
        assert!(Expr::parse(&nested).unwrap_err().contains("levels deep"));
        let chain = vec!["2"; 60_000].join("^");
        assert!(Expr::parse(&chain).is_err());
        let negations = format!("{}x", "-".repeat(500));
        assert!(Expr::parse(&negations).unwrap_err().contains("levels deep"));
        let fine = format!("{}x{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(eval(&fine, &[("x", 3.0)]), 3.0);
        let long_sum = vec!["x"; 400].join(" + ");
        assert_eq!(eval(&long_sum, &[("x", 1.0)]), 400.0);
    }

    fn eval(text: &str, vars: &[(&str, f64)]) -> f64 {
        let vars = vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Expr::parse(text).unwrap().eval(&vars)
    }

    #[test]
    fn precedence_and_functions() {
        assert_eq!(eval("1 + 2 * 3", &[]), 7.0);
        assert_eq!(eval("(1 + 2) * 3", &[]), 9.0);
        assert_eq!(eval("-2^2", &[]), -4.0);
        assert_eq!(eval("2^3^2", &[]), 512.0);
        assert_eq!(
            eval("d1 * d2 / n", &[("d1", 5.0), ("d2", 4.0), ("n", 10.0)]),
            2.0
        );
        assert_eq!(eval("max(1, sqrt(16)) - 1e-1", &[]), 3.9);
        assert!((eval("sin(pi / 2)", &[]) - 1.0).abs() < 1e-15);
        assert_eq!(
            Expr::parse("eps / (s1 - s2)").unwrap().variables(),
            ["eps", "s1", "s2"]
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(Expr::parse("1 +").unwrap_err().contains("ends too early"));
        assert!(Expr::parse("sqr(2)")
            .unwrap_err()
            .contains("unknown function `sqr`"));
        assert!(Expr::parse("min(1)").unwrap_err().contains("takes 2"));
        assert!(Expr::parse("2 $ 3")
            .unwrap_err()
            .contains("unexpected character"));
        assert!(Expr::parse("(1 + 2").unwrap_err().contains("expected `)`"));
    }
}
