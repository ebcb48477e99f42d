//! Every table subbench writes compiles in a paper: hostile labels (Unicode Greek and math, list
//! values that start a row with `[`, every LaTeX special, characters no font has) are given to
//! real pdflatex with booktabs. Skipped with a note where pdflatex is not installed, unless
//! `SUBBENCH_REQUIRE_PDFLATEX` is set (CI sets it).

use std::process::Command;

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

fn compile(table_tex: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("table.tex"), table_tex).unwrap();
    std::fs::write(
        dir.path().join("doc.tex"),
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{table.tex}\n\\end{document}\n",
    )
    .unwrap();
    let out = Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "doc.tex"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
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
            corner: format!("{label} \\ n"),
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
