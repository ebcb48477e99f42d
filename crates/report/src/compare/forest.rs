//! The comparison's HTML page: the summary line, and per metric a forest plot (each point's
//! difference B − A with its 95% interval, zero and the margin of `unchanged` marked) above the
//! table of its rows. Axes and colours are those of the other figures (crates/report/src/svg.rs).

use std::fmt::Write as _;
use std::path::Path;

use super::render::num;
use super::{Comparison, Row, Verdict};
use crate::svg::{escape, Axis, PALETTE};
use crate::ReportError;

const CSS: &str = include_str!("../../templates/style.css");
/// The rows one figure shows (worst first); a metric with more says how many it leaves out.
pub const MAX_ROWS: usize = 60;
const WIDTH: f64 = 640.0;
const LABEL: f64 = 230.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 56.0;
const ROW: f64 = 18.0;

fn colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Worse => PALETTE[3],
        Verdict::Better => PALETTE[2],
        Verdict::Changed => PALETTE[1],
        Verdict::Unchanged => PALETTE[0],
        Verdict::Inconclusive => "#777777",
    }
}

fn shorten(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_string();
    }
    let mut s: String = text.chars().take(n - 1).collect();
    s.push('…');
    s
}

/// The forest plot of one metric's rows (at most [`MAX_ROWS`]).
pub fn forest_svg(metric: &str, rows: &[&Row]) -> String {
    let rows = &rows[..rows.len().min(MAX_ROWS)];
    let height = TOP + BOTTOM + ROW * rows.len().max(1) as f64;
    let values = rows.iter().flat_map(|r| {
        let e = &r.estimate;
        [e.diff, e.low, e.high, r.margin, -r.margin, 0.0]
    });
    let x = Axis::new(values, false, LABEL, WIDTH - RIGHT);
    let mut out = String::new();
    let title = format!("{metric}: B − A with 95% intervals");
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="Helvetica, Arial, sans-serif" role="img"><title>{t}</title><rect width="100%" height="100%" fill="white"/><text x="{cx}" y="26" text-anchor="middle" font-size="18" font-weight="bold">{t}</text>"#,
        t = escape(&title),
        cx = WIDTH / 2.0
    );
    let (y0, y1) = (TOP, height - BOTTOM);
    for (v, label) in x.ticks() {
        if let Some(px) = x.pixel(v) {
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{y1}" stroke="#e5e5e5"/><text x="{px:.1}" y="{}" text-anchor="middle" font-size="15">{label}</text>"##,
                y1 + 20.0
            );
        }
    }
    for (i, r) in rows.iter().enumerate() {
        let cy = TOP + ROW * (i as f64 + 0.5);
        let e = &r.estimate;
        if r.margin > 0.0 {
            if let (Some(a), Some(b)) = (x.pixel(-r.margin), x.pixel(r.margin)) {
                let _ = write!(
                    out,
                    r##"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#dddddd"/>"##,
                    cy - ROW / 2.0 + 2.0,
                    b - a,
                    ROW - 4.0
                );
            }
        }
        let c = colour(r.verdict);
        if let (Some(a), Some(b)) = (x.pixel(e.low), x.pixel(e.high)) {
            let _ = write!(
                out,
                r#"<line x1="{a:.1}" y1="{cy:.1}" x2="{b:.1}" y2="{cy:.1}" stroke="{c}" stroke-width="2"/>"#
            );
        }
        if let Some(px) = x.pixel(e.diff) {
            let _ = write!(
                out,
                r#"<circle cx="{px:.1}" cy="{cy:.1}" r="4" fill="{c}"><title>{} {}: {} [{}, {}]</title></circle>"#,
                escape(&r.point),
                r.verdict.as_str(),
                num(e.diff),
                num(e.low),
                num(e.high)
            );
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end" font-size="12">{}</text>"#,
            LABEL - 6.0,
            cy + 4.0,
            escape(&shorten(&r.point, 34))
        );
    }
    if let Some(px) = x.pixel(0.0) {
        let _ = write!(
            out,
            r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{y1}" stroke="#333" stroke-dasharray="4 3"/>"##
        );
    }
    let _ = write!(
        out,
        r##"<rect x="{LABEL}" y="{y0}" width="{}" height="{}" fill="none" stroke="#333"/><text x="{}" y="{}" text-anchor="middle" font-size="16">B − A (grey: margin of unchanged)</text></svg>"##,
        WIDTH - RIGHT - LABEL,
        y1 - y0,
        (LABEL + WIDTH - RIGHT) / 2.0,
        height - 10.0
    );
    out
}

/// The whole page.
pub fn page_html(c: &Comparison, title: &str) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{}</h1><p>A = <code>{}</code><br>B = <code>{}</code></p><p class=\"claim\">{}</p><p class=\"muted\">Intervals are 95%; p-values are adjusted across all {} rows by Benjamini–Hochberg (q), and a row is better, worse or changed only when q ≤ {}. Unchanged: the interval lies inside the margin.</p>",
        escape(title),
        escape(&c.a),
        escape(&c.b),
        escape(&c.summary_line()),
        c.rows.len(),
        c.fdr
    );
    for (metric, rows) in super::render::by_metric(c) {
        let _ = write!(
            body,
            "<h2>{}</h2><figure>{}</figure>",
            escape(metric),
            forest_svg(metric, &rows)
        );
        if rows.len() > MAX_ROWS {
            let _ = write!(
                body,
                "<p class=\"note\">The figure shows the {MAX_ROWS} worst of {} rows; the table lists all.</p>",
                rows.len()
            );
        }
        body.push_str("<table><thead><tr><th>point</th><th>verdict</th><th>mean A</th><th>mean B</th><th>B − A</th><th>95% interval</th><th>p</th><th>q</th><th>test</th></tr></thead><tbody>");
        for r in rows {
            let e = &r.estimate;
            let _ = write!(
                body,
                "<tr><td>{}</td><td style=\"color:{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.point),
                colour(r.verdict),
                r.verdict.as_str(),
                num(r.mean_a),
                num(r.mean_b),
                num(e.diff),
                num(e.low),
                num(e.high),
                num(e.p),
                num(r.q),
                e.design.as_str()
            );
        }
        body.push_str("</tbody></table>");
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

/// Write the page to `path` (its folder is created).
pub fn write_page(c: &Comparison, title: &str, path: &Path) -> Result<(), ReportError> {
    let failed = |p: &Path, e: std::io::Error| ReportError::Write {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    }
    std::fs::write(path, page_html(c, title)).map_err(|e| failed(path, e))
}
