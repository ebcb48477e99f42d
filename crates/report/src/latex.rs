//! LaTeX for papers: text escaped so that any label compiles under plain pdflatex, and tables
//! as a `table` float (booktabs, caption, label) that fits the text width of a standard article.

use crate::tables::Table;

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

/// The packages a generated table needs, said in its first line.
pub const PACKAGES: &str = "booktabs, graphicx";

/// A `table` float for a paper: caption and label, booktabs rules, the columns' parameter over
/// its values, best cells in bold, n where it is not the same in every cell, and the note that
/// says what a cell shows. A table wider than the text is scaled down to `\linewidth` (and only
/// then), so it fits any article without an overfull box.
pub fn to_latex(table: &Table) -> String {
    let ncols = table.columns.len();
    let mut out = format!(
        "% {} (generated by subbench; needs \\usepackage{{{PACKAGES}}})\n\\begin{{table}}[htbp]\n\\centering\n\\caption{{{}}}\n",
        latex_escape(&table.title).replace('\n', " "),
        latex_escape(table.caption.as_deref().unwrap_or(&table.title))
    );
    if let Some(label) = &table.label {
        out.push_str(&format!("\\label{{{label}}}\n"));
    }
    out.push_str(&format!(
        "\\resizebox{{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}}{{!}}{{%\n\\begin{{tabular}}{{l{}}}\n\\toprule\n",
        "r".repeat(ncols)
    ));
    if let Some(header) = &table.column_header {
        out.push_str(&format!(
            " & \\multicolumn{{{ncols}}}{{c}}{{{}}} \\\\\n\\cmidrule(lr){{2-{}}}\n",
            latex_escape(header),
            ncols + 1
        ));
    }
    out.push_str(&format!(
        "{} & {} \\\\\n\\midrule\n",
        latex_escape(&table.row_header),
        table
            .columns
            .iter()
            .map(|c| latex_escape(c))
            .collect::<Vec<_>>()
            .join(" & ")
    ));
    for row in &table.rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| {
                let mut text = latex_escape(&c.text);
                if c.best {
                    text = format!("\\textbf{{{text}}}");
                }
                if table.uniform_n.is_none() && c.n > 0 {
                    text.push_str(&format!(" {{\\scriptsize (n={})}}", c.n));
                }
                text
            })
            .collect();
        out.push_str(&format!(
            "{} & {} \\\\\n",
            latex_escape(&row.label),
            cells.join(" & ")
        ));
    }
    out.push_str("\\bottomrule\n\\end{tabular}%\n}\n");
    if !table.cell_note.is_empty() {
        out.push_str(&format!(
            "\\par\\smallskip{{\\footnotesize {}\\par}}\n",
            latex_escape(&table.cell_note)
        ));
    }
    out.push_str("\\end{table}\n");
    out
}
