//! A comparison as text: the terminal table (grouped by metric, worst first), Markdown (for a CI
//! job summary), CSV (one row per comparison, numbers that read back to the same `f64`) and JSON.

use std::fmt::Write as _;

use super::{Comparison, Row, Verdict};
use crate::ReportError;

/// A number with 4 significant digits; `–` for unknown.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        return "–".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}

fn interval(r: &Row) -> String {
    if r.estimate.low.is_nan() {
        "–".into()
    } else {
        format!("[{}, {}]", num(r.estimate.low), num(r.estimate.high))
    }
}

/// What a reader must know beside the verdict.
fn note(r: &Row) -> String {
    let mut notes = Vec::new();
    if r.identical {
        notes.push(format!(
            "identical: {} of {} values",
            r.identical_values, r.values
        ));
    }
    if !r.reproducible {
        notes.push("not reproducible (timing)".to_string());
    }
    if r.estimate.design == super::Design::TooFew {
        notes.push(format!("{} and {} seeds: no interval", r.n_a, r.n_b));
    }
    notes.join("; ")
}

const HEADER: [&str; 11] = [
    "verdict",
    "point",
    "n A/B",
    "mean A",
    "mean B",
    "B − A",
    "95% interval",
    "ratio",
    "p",
    "q (BH)",
    "test",
];

fn cells(r: &Row) -> Vec<String> {
    vec![
        r.verdict.as_str().to_string(),
        r.point.clone(),
        format!("{}/{}", r.n_a, r.n_b),
        num(r.mean_a),
        num(r.mean_b),
        num(r.estimate.diff),
        interval(r),
        num(r.ratio),
        num(r.estimate.p),
        num(r.q),
        r.estimate.design.as_str().to_string(),
    ]
}

/// The rows of each metric, in the comparison's (worst first) order.
pub(crate) fn by_metric(c: &Comparison) -> Vec<(&str, Vec<&Row>)> {
    let mut groups: Vec<(&str, Vec<&Row>)> = Vec::new();
    for r in &c.rows {
        match groups.last_mut() {
            Some((m, rows)) if *m == r.metric => rows.push(r),
            _ => groups.push((&r.metric, vec![r])),
        }
    }
    groups
}

fn heading(rows: &[&Row]) -> String {
    let r = rows[0];
    let mut h = r.metric.clone();
    if !r.better.is_empty() {
        h.push_str(&format!(" (better: {})", r.better));
    }
    if !r.reproducible {
        h.push_str(" — not reproducible (timing): differences may be the machine's");
    }
    h
}

/// The one-sided points and metrics, one line each.
fn one_sided(c: &Comparison) -> Vec<String> {
    let mut lines = Vec::new();
    for (list, side, what) in [
        (&c.points_only_a, &c.a, "point"),
        (&c.points_only_b, &c.b, "point"),
        (&c.metrics_only_a, &c.a, "metric"),
        (&c.metrics_only_b, &c.b, "metric"),
    ] {
        for item in list {
            lines.push(format!("{what} only in {side}: {item}"));
        }
    }
    lines
}

/// The terminal table: per metric a heading and its rows, worst first; unless `all`, the
/// `unchanged` rows of a metric are counted in one line instead of listed.
pub fn terminal(c: &Comparison, all: bool) -> String {
    let mut out = format!("A = {}\nB = {}\n", c.a, c.b);
    for (_, rows) in by_metric(c) {
        let _ = writeln!(out, "\n{}", heading(&rows));
        let shown: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| all || r.verdict != Verdict::Unchanged)
            .collect();
        let mut table: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
        table.extend(shown.iter().map(|r| {
            let mut cells = cells(r);
            cells.push(note(r));
            cells
        }));
        if shown.is_empty() {
            table.clear();
        }
        let widths: Vec<usize> = (0..=HEADER.len())
            .map(|i| {
                table
                    .iter()
                    .map(|row| row.get(i).map_or(0, |c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &table {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            let _ = writeln!(out, "  {}", line.join("  ").trim_end());
        }
        let hidden = rows.len() - shown.len();
        if hidden > 0 {
            let same: usize = rows
                .iter()
                .filter(|r| r.verdict == Verdict::Unchanged && r.identical)
                .count();
            let _ = writeln!(
                out,
                "  … {hidden} unchanged rows ({same} of them bit-identical; --all lists them)"
            );
        }
    }
    let lines = one_sided(c);
    if !lines.is_empty() {
        out.push('\n');
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n{}", c.summary_line());
    out
}

fn md_cell(text: &str) -> String {
    crate::tables::markdown_escape(text)
}

/// Markdown: the summary line, then per metric a table of every row.
pub fn markdown(c: &Comparison) -> String {
    let mut out = format!(
        "## subbench compare\n\nA = `{}`, B = `{}`; Benjamini–Hochberg at FDR {}.\n\n**{}**\n",
        c.a,
        c.b,
        c.fdr,
        md_cell(&c.summary_line())
    );
    for (_, rows) in by_metric(c) {
        let _ = writeln!(out, "\n### {}\n", md_cell(&heading(&rows)));
        let _ = writeln!(out, "| {} | note |", HEADER.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len() + 1));
        for r in rows {
            let mut cells: Vec<String> = cells(r).iter().map(|c| md_cell(c)).collect();
            cells.push(md_cell(&note(r)));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    let lines = one_sided(c);
    if !lines.is_empty() {
        out.push('\n');
    }
    for line in lines {
        let _ = writeln!(out, "- {}", md_cell(&line));
    }
    out
}

/// CSV, one line per row, numbers written so that they read back to the same `f64`.
pub fn csv(c: &Comparison) -> Result<String, ReportError> {
    let failed = |e: csv::Error| ReportError::Data(format!("csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "metric",
        "point",
        "verdict",
        "n_a",
        "n_b",
        "mean_a",
        "mean_b",
        "diff",
        "low",
        "high",
        "ratio",
        "p",
        "q",
        "test",
        "margin",
        "identical_values",
        "values",
        "reproducible",
        "better",
    ])
    .map_err(failed)?;
    for r in &c.rows {
        let e = &r.estimate;
        let f = |x: f64| format!("{x:?}");
        w.write_record([
            r.metric.clone(),
            r.point.clone(),
            r.verdict.as_str().into(),
            r.n_a.to_string(),
            r.n_b.to_string(),
            f(r.mean_a),
            f(r.mean_b),
            f(e.diff),
            f(e.low),
            f(e.high),
            f(r.ratio),
            f(e.p),
            f(r.q),
            e.design.as_str().into(),
            f(r.margin),
            r.identical_values.to_string(),
            r.values.to_string(),
            r.reproducible.to_string(),
            r.better.into(),
        ])
        .map_err(failed)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Data(format!("csv: {e}")))?;
    Ok(String::from_utf8(bytes).expect("csv of UTF-8 strings is UTF-8"))
}

/// JSON: the whole comparison plus its summary line (NaN is written as null).
pub fn json(c: &Comparison) -> Result<String, ReportError> {
    let mut value = serde_json::to_value(c).map_err(|e| ReportError::Data(format!("json: {e}")))?;
    value["summary"] = serde_json::Value::String(c.summary_line());
    let mut text = serde_json::to_string_pretty(&value)
        .map_err(|e| ReportError::Data(format!("json: {e}")))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_four_significant_digits() {
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(-2.5), "-2.500");
        assert_eq!(num(1.5e-9), "1.500e-9");
        assert_eq!(num(f64::NAN), "–");
    }
}
