//! Every table subbench writes compiles in a paper: hostile labels (Unicode Greek and math, list
//! values that start a row with `[`, every LaTeX special, characters no font has) are given to
//! real pdflatex in a standard `article`, and a table far wider than the text still fits it
//! without an overfull box. Skipped with a note where pdflatex is not installed, unless
//! `SUBBENCH_REQUIRE_PDFLATEX` is set (CI sets it).

use std::process::Command;

use report::latex::PACKAGES;
use report::tables::{to_latex, Cell, Table, TableRow};

fn pdflatex_available() -> bool {
    let found = Command::new("pdflatex")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("SUBBENCH_REQUIRE_PDFLATEX").is_none(),
            "SUBBENCH_REQUIRE_PDFLATEX is set but pdflatex is not installed"
        );
        eprintln!("pdflatex not installed: LaTeX compilation not tested");
    }
    found
}

/// Compile `table_tex` in a standard article with the packages the table names; the log, or
/// pdflatex's errors.
fn compile(table_tex: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("table.tex"), table_tex).unwrap();
    std::fs::write(
        dir.path().join("doc.tex"),
        format!("\\documentclass{{article}}\n\\usepackage{{{PACKAGES}}}\n\\begin{{document}}\nSee Table~\\ref{{tab:t}}.\n\\input{{table.tex}}\n\\end{{document}}\n"),
    )
    .unwrap();
    let out = Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "doc.tex"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(std::fs::read_to_string(dir.path().join("doc.log")).unwrap())
    } else {
        let log = String::from_utf8_lossy(&out.stdout);
        Err(log
            .lines()
            .filter(|l| l.starts_with('!'))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

fn cell(text: &str) -> Cell {
    Cell {
        text: text.into(),
        best: false,
        n: 3,
    }
}

#[test]
fn tables_with_hostile_labels_compile_with_pdflatex() {
    if !pdflatex_available() {
        return;
    }
    let hostile = [
        "δ (language offset)",
        "sin θ_max ≤ ε·κ²",
        "‖P − Q‖_F ≈ √2 × 10⁻³ → ∞",
        "a_b & 50% #1 {x} ~^\\ $5 <html> \"q\" | pipe",
        "Σ⁻¹ ∝ λ₁ / λ₂, θ ∈ [0°, 90°]",
        "naïve café – Müller — “quoted” …",
        "emoji 🙂 and 中文 and \u{1} control",
    ];
    for label in hostile {
        let table = Table {
            title: label.into(),
            caption: Some(label.into()),
            label: Some("tab:t".into()),
            corner: format!("{label} \\ n"),
            row_header: label.into(),
            column_header: Some(label.into()),
            cell_note: label.into(),
            uniform_n: None,
            columns: vec![label.into(), "[1.0, 2.0]".into()],
            rows: vec![
                TableRow {
                    label: "[90.0,45.0]".into(),
                    cells: vec![cell("0.50 ± 0.05"), cell(label)],
                },
                // A second row starting with `[` right after `\\`: LaTeX reads `\\[` as an
                // optional length unless the bracket is protected.
                TableRow {
                    label: "[3.0,1.0]".into(),
                    cells: vec![
                        Cell {
                            text: "[0.1]".into(),
                            best: true,
                            n: 3,
                        },
                        cell("–"),
                    ],
                },
            ],
            notes: vec![],
        };
        let tex = to_latex(&table);
        if let Err(e) = compile(&tex) {
            panic!("label {label:?} does not compile:\n{e}\n{tex}");
        }
    }
}

/// Issue 34: generated tables were 171 pt and 309 pt wider than an article's text. A table of
/// twelve `mean ± CI` columns is scaled to the text width, and one that fits is left alone.
#[test]
fn a_wide_table_fits_a_standard_article_without_an_overfull_box() {
    if !pdflatex_available() {
        return;
    }
    let table = |columns: usize| Table {
        title: "Distance by attack".into(),
        caption: Some("Subspace distance after the attack, by budget.".into()),
        label: Some("tab:t".into()),
        corner: "attack \\ budget".into(),
        row_header: "Attack".into(),
        column_header: Some("Relative budget".into()),
        cell_note: "Cells: mean ± half-width of the 95% Student-t interval.".into(),
        uniform_n: Some(10),
        columns: (0..columns)
            .map(|i| format!("{:.3}", 0.025 * i as f64))
            .collect(),
        rows: ["optimal", "random", "rank-one"]
            .iter()
            .map(|r| TableRow {
                label: r.to_string(),
                cells: (0..columns).map(|_| cell("0.123456 ± 0.004567")).collect(),
            })
            .collect(),
        notes: vec![],
    };
    for columns in [2, 12] {
        let tex = to_latex(&table(columns));
        assert!(tex.contains("\\begin{table}") && tex.contains("\\caption{Subspace distance"));
        assert!(tex.contains("\\label{tab:t}"), "{tex}");
        let log = compile(&tex).unwrap_or_else(|e| panic!("{e}\n{tex}"));
        assert!(
            !log.contains("Overfull \\hbox"),
            "{columns} columns:\n{log}\n{tex}"
        );
    }
}
