//! Paper-style tables: one row per value of a parameter, one column per value of another, each
//! cell `mean ± half-width of the 95% CI`, the best cell of each column in bold (by the metric's
//! declared direction). Rendered as HTML (through the page template), Markdown and LaTeX.

use harness::spec::{Better, TableSpec};
use harness::Value;
use serde::Serialize;

use crate::aggregate::{same_value, Aggregate, Stats};

/// A laid-out table, ready for any output format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub title: String,
    pub corner: String,
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
    /// Problems a reader must know about (e.g. a parameter that varies but is not in the table).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRow {
    pub label: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub text: String,
    pub best: bool,
    pub n: usize,
}

/// Format `x` with a spec format: `.3f`, `.2e`, `.4g` (default `.4g`).
pub fn format_number(x: f64, format: Option<&str>) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "–".into()
        } else {
            format!("{x}")
        };
    }
    let spec = format.unwrap_or(".4g");
    let digits: usize = spec
        .trim_start_matches('.')
        .trim_end_matches(['f', 'e', 'g'])
        .parse()
        .unwrap_or(4);
    match spec.chars().last() {
        Some('f') => format!("{x:.digits$}"),
        Some('e') => format!("{x:.digits$e}"),
        _ => {
            // %g: significant digits, scientific when the exponent is out of [-4, digits).
            if x == 0.0 {
                return "0".into();
            }
            let exponent = x.abs().log10().floor() as i32;
            if exponent < -4 || exponent >= digits as i32 {
                format!("{x:.prec$e}", prec = digits.saturating_sub(1))
            } else {
                let decimals = (digits as i32 - 1 - exponent).max(0) as usize;
                let s = format!("{x:.decimals$}");
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            }
        }
    }
}

fn cell_text(stats: &Stats, format: Option<&str>) -> String {
    let half = stats.ci_half_width();
    if half.is_finite() {
        format!(
            "{} ± {}",
            format_number(stats.mean, format),
            format_number(half, format)
        )
    } else {
        format_number(stats.mean, format)
    }
}

/// A parameter value for people: floats to 4 significant digits (the store keeps every bit).
pub fn display_value(v: &Value) -> String {
    match v {
        Value::Float(x) => format_number(*x, Some(".4g")),
        other => other.to_string(),
    }
}

/// Sort parameter values numerically when they are numbers, else in first-seen order.
pub fn distinct_sorted<'a>(values: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in values {
        if !out.iter().any(|o| same_value(o, v)) {
            out.push(v.clone());
        }
    }
    if out.iter().all(|v| v.as_f64().is_some()) {
        out.sort_by(|a, b| {
            a.as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b.as_f64().unwrap_or(0.0))
        });
    }
    out
}

/// Lay out `spec` over the aggregate.
pub fn build_table(agg: &Aggregate, spec: &TableSpec, label: &str, better: Better) -> Table {
    let filter: Vec<(String, Value)> = spec
        .filter
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let groups: Vec<_> = agg.matching(&filter).collect();
    let value_of = |g: &crate::aggregate::Group, name: &str| agg.value_of(g, name).cloned();
    let row_values = distinct_sorted(groups.iter().filter_map(|g| agg.value_of(g, &spec.rows)));
    let column_values: Vec<Option<Value>> = match &spec.columns {
        Some(c) => distinct_sorted(groups.iter().filter_map(|g| agg.value_of(g, c)))
            .into_iter()
            .map(Some)
            .collect(),
        None => vec![None],
    };
    let mut notes = Vec::new();
    let used: Vec<&str> = std::iter::once(spec.rows.as_str())
        .chain(spec.columns.as_deref())
        .chain(spec.filter.keys().map(String::as_str))
        .collect();
    let free: Vec<&String> = agg
        .keys
        .iter()
        .filter(|k| !used.contains(&k.as_str()))
        .collect();
    if !free.is_empty() {
        notes.push(format!(
            "{} also varies; each cell shows the first matching group. Add it to the table's `where`.",
            free.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if row_values.is_empty() {
        notes.push(format!(
            "no trials match; is `{}` a swept parameter?",
            spec.rows
        ));
    }
    let stats_at = |r: &Value, c: &Option<Value>| -> Option<Stats> {
        groups
            .iter()
            .find(|g| {
                value_of(g, &spec.rows).is_some_and(|v| same_value(&v, r))
                    && c.as_ref().is_none_or(|c| {
                        value_of(g, spec.columns.as_deref().unwrap_or(""))
                            .is_some_and(|v| same_value(&v, c))
                    })
            })
            .and_then(|g| g.metrics.get(&spec.value).copied())
    };
    let grid: Vec<Vec<Option<Stats>>> = row_values
        .iter()
        .map(|r| column_values.iter().map(|c| stats_at(r, c)).collect())
        .collect();
    let best_in_column: Vec<Option<f64>> = (0..column_values.len())
        .map(|j| {
            let means = grid.iter().filter_map(|row| row[j].map(|s| s.mean));
            match better {
                Better::Higher => {
                    means.fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
                }
                Better::Lower => {
                    means.fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))))
                }
                Better::None => None,
            }
        })
        .collect();
    let rows = row_values
        .iter()
        .zip(&grid)
        .map(|(r, cells)| TableRow {
            label: display_value(r),
            cells: cells
                .iter()
                .enumerate()
                .map(|(j, s)| match s {
                    Some(s) => Cell {
                        text: cell_text(s, spec.format.as_deref()),
                        best: best_in_column[j] == Some(s.mean) && row_values.len() > 1,
                        n: s.n,
                    },
                    None => Cell {
                        text: "–".into(),
                        best: false,
                        n: 0,
                    },
                })
                .collect(),
        })
        .collect();
    Table {
        title: spec
            .title
            .clone()
            .unwrap_or_else(|| format!("{label} by {}", spec.rows)),
        corner: match &spec.columns {
            Some(c) => format!("{} \\ {c}", spec.rows),
            None => spec.rows.clone(),
        },
        columns: column_values
            .iter()
            .map(|c| {
                c.as_ref()
                    .map_or_else(|| label.to_string(), |v| v.to_string())
            })
            .collect(),
        rows,
        notes,
    }
}

/// Text for one Markdown table cell (or line): `|` escaped, line breaks as spaces, and HTML's
/// `<`, `>` and `&` as entities, so that a label can neither split the table nor inject markup.
pub fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// GitHub-flavoured Markdown; best cells in bold.
pub fn to_markdown(table: &Table) -> String {
    let mut out = format!(
        "**{}**\n\n| {} | {} |\n|---|{}\n",
        markdown_escape(&table.title),
        markdown_escape(&table.corner),
        table
            .columns
            .iter()
            .map(|c| markdown_escape(c))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(table.columns.len())
    );
    for row in &table.rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| {
                if c.best {
                    format!("**{}**", markdown_escape(&c.text))
                } else {
                    markdown_escape(&c.text)
                }
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} |\n",
            markdown_escape(&row.label),
            cells.join(" | ")
        ));
    }
    for note in &table.notes {
        out.push_str(&format!("\n_{}_\n", markdown_escape(note)));
    }
    out
}

/// LaTeX math for the Unicode symbols that labels and claims use (Greek letters, relations,
/// operators, super- and subscripts). pdflatex without extra packages cannot typeset them as
/// text: "Unicode character θ not set up for use with LaTeX".
fn latex_symbol(ch: char) -> Option<&'static str> {
    Some(match ch {
        'α' => "\\alpha",
        'β' => "\\beta",
        'γ' => "\\gamma",
        'δ' => "\\delta",
        'ε' => "\\varepsilon",
        'ϵ' => "\\epsilon",
        'ζ' => "\\zeta",
        'η' => "\\eta",
        'θ' => "\\theta",
        'ϑ' => "\\vartheta",
        'ι' => "\\iota",
        'κ' => "\\kappa",
        'λ' => "\\lambda",
        'μ' => "\\mu",
        'ν' => "\\nu",
        'ξ' => "\\xi",
        'π' => "\\pi",
        'ρ' => "\\rho",
        'σ' => "\\sigma",
        'ς' => "\\varsigma",
        'τ' => "\\tau",
        'υ' => "\\upsilon",
        'φ' => "\\phi",
        'ϕ' => "\\phi",
        'χ' => "\\chi",
        'ψ' => "\\psi",
        'ω' => "\\omega",
        'Γ' => "\\Gamma",
        'Δ' => "\\Delta",
        'Θ' => "\\Theta",
        'Λ' => "\\Lambda",
        'Ξ' => "\\Xi",
        'Π' => "\\Pi",
        'Σ' => "\\Sigma",
        'Υ' => "\\Upsilon",
        'Φ' => "\\Phi",
        'Ψ' => "\\Psi",
        'Ω' => "\\Omega",
        '±' => "\\pm",
        '∓' => "\\mp",
        '×' => "\\times",
        '·' => "\\cdot",
        '÷' => "\\div",
        '−' => "-",
        '≤' => "\\leq",
        '≥' => "\\geq",
        '≠' => "\\neq",
        '≈' => "\\approx",
        '∼' => "\\sim",
        '≪' => "\\ll",
        '≫' => "\\gg",
        '∝' => "\\propto",
        '∞' => "\\infty",
        '→' => "\\to",
        '←' => "\\leftarrow",
        '↔' => "\\leftrightarrow",
        '⇒' => "\\Rightarrow",
        '∈' => "\\in",
        '∉' => "\\notin",
        '⊂' => "\\subset",
        '⊆' => "\\subseteq",
        '∪' => "\\cup",
        '∩' => "\\cap",
        '∑' => "\\sum",
        '∏' => "\\prod",
        '∫' => "\\int",
        '∂' => "\\partial",
        '∇' => "\\nabla",
        '√' => "\\surd",
        '‖' => "\\|",
        '⊥' => "\\perp",
        // OT1 text fonts put ¡ ¿ and an em dash where ASCII has < > |: set them as math.
        '<' => "<",
        '>' => ">",
        '|' => "|",
        '∀' => "\\forall",
        '∃' => "\\exists",
        '′' => "'",
        '∘' => "\\circ",
        _ => return None,
    })
}

/// Super- and subscript characters: (`^` or `_`, the script's body). A run of them becomes one
/// group (`10⁻³` is `10^{-3}`; two `^` in a row are "Double superscript").
fn latex_script(ch: char) -> Option<(char, &'static str)> {
    const SUPERSCRIPTS: [(char, &str); 14] = [
        ('⁰', "0"),
        ('¹', "1"),
        ('²', "2"),
        ('³', "3"),
        ('⁴', "4"),
        ('⁵', "5"),
        ('⁶', "6"),
        ('⁷', "7"),
        ('⁸', "8"),
        ('⁹', "9"),
        ('⁺', "+"),
        ('⁻', "-"),
        ('ᵀ', "T"),
        ('°', "\\circ"),
    ];
    const SUBSCRIPTS: [(char, &str); 14] = [
        ('₀', "0"),
        ('₁', "1"),
        ('₂', "2"),
        ('₃', "3"),
        ('₄', "4"),
        ('₅', "5"),
        ('₆', "6"),
        ('₇', "7"),
        ('₈', "8"),
        ('₉', "9"),
        ('ᵢ', "i"),
        ('ⱼ', "j"),
        ('ₖ', "k"),
        ('ₙ', "n"),
    ];
    SUPERSCRIPTS
        .iter()
        .find(|(c, _)| *c == ch)
        .map(|(_, body)| ('^', *body))
        .or_else(|| {
            SUBSCRIPTS
                .iter()
                .find(|(c, _)| *c == ch)
                .map(|(_, body)| ('_', *body))
        })
}

/// Text characters pdflatex's default (OT1) fonts lack or LaTeX treats specially.
fn latex_text(ch: char) -> Option<&'static str> {
    Some(match ch {
        '\\' => "\\textbackslash{}",
        '~' => "\\textasciitilde{}",
        '^' => "\\textasciicircum{}",
        // `\\` followed by `[` reads the bracket as an optional length ("Illegal unit of
        // measure"), so brackets are always braced, wherever a cell starts.
        '[' => "{[}",
        ']' => "{]}",
        '–' => "--",
        '—' => "---",
        '‘' => "`",
        '’' => "'",
        '“' => "``",
        '”' => "''",
        '…' => "\\ldots{}",
        '\u{a0}' => "~",
        _ => return None,
    })
}

/// Escape text for LaTeX so that it compiles with plain pdflatex: the ten specials escaped,
/// Unicode math as math (a run of symbols shares one `$…$`), and any other character outside
/// printable ASCII and Latin-1 letters (which pdflatex's UTF-8 input accepts) written as its
/// code point, so no label can break a paper's build.
pub fn latex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut math = String::new();
    let flush = |out: &mut String, math: &mut String| {
        if !math.is_empty() {
            out.push('$');
            out.push_str(math);
            out.push('$');
            math.clear();
        }
    };
    // The kind of script group (`^`/`_`) that `math` ends with, to extend it.
    let mut open_script: Option<char> = None;
    for ch in text.chars() {
        if let Some((mark, body)) = latex_script(ch) {
            if open_script == Some(mark) {
                math.pop(); // the group's `}`
            } else {
                math.push(mark);
                math.push('{');
            }
            math.push_str(body);
            math.push('}');
            open_script = Some(mark);
            continue;
        }
        open_script = None;
        if let Some(symbol) = latex_symbol(ch) {
            math.push_str(symbol);
            // A control word ends at a space: `\\alpha` then `_0` is fine, then `x` is not.
            if symbol.starts_with('\\') && symbol[1..].chars().all(|c| c.is_ascii_alphabetic()) {
                math.push(' ');
            }
            continue;
        }
        flush(&mut out, &mut math);
        match ch {
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            c => match latex_text(c) {
                Some(t) => out.push_str(t),
                None if c == '\n' || c == '\r' || c == '\t' => out.push(' '),
                None if c.is_ascii_control() => {}
                None if c.is_ascii() => out.push(c),
                // Latin-1 letters (é, ö, ß…) are set up by LaTeX's UTF-8 input.
                None if ('\u{c0}'..='\u{ff}').contains(&c) && c != '\u{d7}' && c != '\u{f7}' => {
                    out.push(c)
                }
                None => out.push_str(&format!("\\texttt{{U+{:04X}}}", c as u32)),
            },
        }
    }
    flush(&mut out, &mut math);
    out
}

/// A booktabs table (`\toprule`, `\midrule`, `\bottomrule`), best cells in bold.
pub fn to_latex(table: &Table) -> String {
    let mut out = format!(
        "% {}\n\\begin{{tabular}}{{l{}}}\n\\toprule\n{} & {} \\\\\n\\midrule\n",
        latex_escape(&table.title),
        "r".repeat(table.columns.len()),
        latex_escape(&table.corner),
        table
            .columns
            .iter()
            .map(|c| latex_escape(c))
            .collect::<Vec<_>>()
            .join(" & ")
    );
    for row in &table.rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| {
                let text = latex_escape(&c.text);
                if c.best {
                    format!("\\textbf{{{text}}}")
                } else {
                    text
                }
            })
            .collect();
        out.push_str(&format!(
            "{} & {} \\\\\n",
            latex_escape(&row.label),
            cells.join(" & ")
        ));
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Group;
    use std::collections::HashMap;

    fn stats(mean: f64) -> Stats {
        Stats {
            n: 5,
            mean,
            std: 0.1,
            median: mean,
            min: mean,
            max: mean,
            ci_low: mean - 0.05,
            ci_high: mean + 0.05,
        }
    }

    fn aggregate() -> Aggregate {
        let mut groups = Vec::new();
        for (attack, budget, d) in [
            ("optimal", 0.1, 0.5),
            ("optimal", 0.2, 0.9),
            ("random", 0.1, 0.05),
            ("random", 0.2, 0.95),
        ] {
            groups.push(Group {
                key: vec![Value::Str(attack.into()), Value::Float(budget)],
                n_trials: 5,
                n_failed: 0,
                metrics: HashMap::from([("distance".to_string(), stats(d))]),
            });
        }
        Aggregate {
            keys: vec!["attack".into(), "budget".into()],
            constants: vec![],
            metrics: vec!["distance".into()],
            groups,
            failures: vec![],
        }
    }

    fn spec() -> TableSpec {
        serde_norway::from_str("{rows: attack, columns: budget, value: distance, format: .2f}")
            .unwrap()
    }

    #[test]
    fn layout_and_best_per_column() {
        let t = build_table(&aggregate(), &spec(), "distance", Better::Higher);
        assert_eq!(t.columns, vec!["0.1", "0.2"]);
        assert_eq!(
            t.rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(),
            ["optimal", "random"]
        );
        assert_eq!(t.rows[0].cells[0].text, "0.50 ± 0.05");
        assert!(t.rows[0].cells[0].best && !t.rows[1].cells[0].best);
        assert!(t.rows[1].cells[1].best && !t.rows[0].cells[1].best);
        assert!(t.notes.is_empty());
        let lower = build_table(&aggregate(), &spec(), "distance", Better::Lower);
        assert!(lower.rows[1].cells[0].best);
    }

    #[test]
    fn latex_is_booktabs_and_escaped() {
        let t = build_table(&aggregate(), &spec(), "distance", Better::Higher);
        let tex = to_latex(&t);
        assert!(
            tex.contains("\\toprule") && tex.contains("\\midrule") && tex.contains("\\bottomrule")
        );
        assert!(tex.contains("\\textbf{0.50 $\\pm $ 0.05}"), "{tex}");
        assert_eq!(
            latex_escape("a_b & 50% #1 {x} ~^\\"),
            "a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{}\\textasciicircum{}\\textbackslash{}"
        );
        // Unicode math as math, one group per run of scripts; brackets braced (`\\[` would
        // read as an optional length); characters no font has spelled out.
        assert_eq!(latex_escape("δ"), "$\\delta $");
        assert_eq!(latex_escape("10⁻³ θ²"), "10$^{-3}$ $\\theta ^{2}$");
        assert_eq!(latex_escape("[90.0,1.0]"), "{[}90.0,1.0{]}");
        assert_eq!(latex_escape("🙂"), "\\texttt{U+1F642}");
        let md = to_markdown(&t);
        assert!(
            md.contains("| optimal | **0.50 ± 0.05** | 0.90 ± 0.05 |"),
            "{md}"
        );
    }

    #[test]
    fn number_formats() {
        assert_eq!(format_number(0.123456, Some(".3f")), "0.123");
        assert_eq!(format_number(12345.0, Some(".2e")), "1.23e4");
        assert_eq!(format_number(0.0000125, None), "1.250e-5");
        assert_eq!(format_number(2.5, None), "2.5");
        assert_eq!(format_number(f64::NAN, None), "–");
    }
}
