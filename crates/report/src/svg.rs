//! SVG figures written directly: line plots with shaded 95% bands, scatter plots and heat maps.
//!
//! Why not plotters: its SVG backend needs a font backend (system fontconfig or an embedded TTF)
//! only to measure text that the browser lays out anyway, and it is a large build for three plot
//! kinds. Writing the SVG ourselves keeps figures deterministic, small and dependency-free.
//!
//! Colours are the Okabe–Ito palette (distinguishable with every common colour-vision
//! deficiency), each series also gets its own marker and dash pattern so that the figure survives
//! greyscale printing; text is 15–18 px at 640 px width, readable in a two-column paper.

use std::fmt::Write;

/// Okabe & Ito (2008), without yellow (too light on white) and black first-ranked last.
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
];
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 62.0;

/// One point of a series: x, y and the band `[low, high]` (NaN for none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}

/// A line or scatter plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    /// Draw lines between points (line plot) or markers only (scatter).
    pub lines: bool,
    pub series: Vec<Series>,
    /// An x-interval shaded grey behind the data, with its label.
    pub shade: Option<(f64, f64, String)>,
}

/// A heat map of a metric over two parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub value_label: String,
    pub x_values: Vec<String>,
    pub y_values: Vec<String>,
    /// `cells[row = y][column = x]`.
    pub cells: Vec<Vec<Option<f64>>>,
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An axis mapping data to pixels.
pub(crate) struct Axis {
    low: f64,
    high: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Axis {
    pub(crate) fn new(values: impl Iterator<Item = f64>, log: bool, from: f64, to: f64) -> Axis {
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
            let v = if log { v.log10() } else { v };
            low = low.min(v);
            high = high.max(v);
        }
        if !low.is_finite() {
            (low, high) = (0.0, 1.0);
        }
        if high - low < 1e-12 * low.abs().max(1e-300) {
            let pad = if log { 0.5 } else { low.abs().max(1.0) * 0.05 };
            (low, high) = (low - pad, high + pad);
        } else {
            let pad = 0.04 * (high - low);
            (low, high) = (low - pad, high + pad);
        }
        Axis {
            low,
            high,
            log,
            from,
            to,
        }
    }

    pub(crate) fn pixel(&self, v: f64) -> Option<f64> {
        if !v.is_finite() || (self.log && v <= 0.0) {
            return None;
        }
        let v = if self.log { v.log10() } else { v };
        Some(self.from + (v - self.low) / (self.high - self.low) * (self.to - self.from))
    }

    /// Tick positions (in data units) and their labels.
    pub(crate) fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let (lo, hi) = (self.low.floor() as i32, self.high.ceil() as i32);
            let step = ((hi - lo) / 6).max(1);
            let mut ticks: Vec<(f64, String)> = (lo..=hi)
                .step_by(step as usize)
                .map(|e| (10f64.powi(e), power_label(e)))
                .collect();
            if hi - lo <= 2 {
                for e in lo..=hi {
                    for m in [2.0, 5.0] {
                        ticks.push((m * 10f64.powi(e), number_label(m * 10f64.powi(e))));
                    }
                }
            }
            ticks.retain(|(v, _)| v.log10() >= self.low - 1e-9 && v.log10() <= self.high + 1e-9);
            return ticks;
        }
        let span = self.high - self.low;
        let raw = span / 6.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * magnitude);
        let first = (self.low / step).ceil() as i64;
        let last = (self.high / step).floor() as i64;
        (first..=last)
            .map(|i| {
                let v = i as f64 * step;
                (v, number_label(if v.abs() < step * 1e-9 { 0.0 } else { v }))
            })
            .collect()
    }
}

fn power_label(e: i32) -> String {
    match e {
        0 => "1".into(),
        1 => "10".into(),
        _ => format!("10<tspan dy=\"-7\" font-size=\"11\">{e}</tspan>"),
    }
}

fn number_label(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn header(out: &mut String, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="Helvetica, Arial, sans-serif" role="img"><title>{t}</title><rect width="100%" height="100%" fill="white"/><text x="{cx}" y="26" text-anchor="middle" font-size="18" font-weight="bold">{t}</text>"#,
        t = escape(title),
        cx = WIDTH / 2.0
    );
}

fn axes(out: &mut String, x: &Axis, y: &Axis, x_label: &str, y_label: &str) {
    let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP);
    for (v, label) in x.ticks() {
        if let Some(px) = x.pixel(v) {
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{y1}" stroke="#e5e5e5"/><text x="{px:.1}" y="{}" text-anchor="middle" font-size="15">{label}</text>"##,
                y0 + 20.0
            );
        }
    }
    for (v, label) in y.ticks() {
        if let Some(py) = y.pixel(v) {
            let _ = write!(
                out,
                r##"<line x1="{x0}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end" font-size="15">{label}</text>"##,
                x0 - 6.0,
                py + 5.0
            );
        }
    }
    let _ = write!(
        out,
        r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#333"/><text x="{}" y="{}" text-anchor="middle" font-size="16">{}</text><text transform="translate(18 {}) rotate(-90)" text-anchor="middle" font-size="16">{}</text>"##,
        x1 - x0,
        y0 - y1,
        (x0 + x1) / 2.0,
        HEIGHT - 14.0,
        escape(x_label),
        (y0 + y1) / 2.0,
        escape(y_label)
    );
}

fn marker(out: &mut String, i: usize, px: f64, py: f64, colour: &str) {
    let _ = match i % 4 {
        0 => write!(
            out,
            r#"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="{colour}"/>"#
        ),
        1 => write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{colour}"/>"#,
            px - 3.5,
            py - 3.5
        ),
        2 => write!(
            out,
            r#"<path d="M{px:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="{colour}"/>"#,
            py - 4.5,
            px + 4.5,
            py + 3.5,
            px - 4.5,
            py + 3.5
        ),
        _ => write!(
            out,
            r#"<path d="M{px:.1} {:.1}L{:.1} {py:.1}L{px:.1} {:.1}L{:.1} {py:.1}Z" fill="{colour}"/>"#,
            py - 4.5,
            px + 4.5,
            py + 4.5,
            px - 4.5
        ),
    };
}

/// Render a line or scatter plot.
pub fn render_plot(plot: &Plot) -> String {
    let all = || plot.series.iter().flat_map(|s| s.points.iter());
    let x = Axis::new(all().map(|p| p.x), plot.log_x, LEFT, WIDTH - RIGHT);
    let y = Axis::new(
        all().flat_map(|p| [p.y, p.low, p.high]),
        plot.log_y,
        HEIGHT - BOTTOM,
        TOP,
    );
    let mut out = String::new();
    header(&mut out, &plot.title);
    axes(&mut out, &x, &y, &plot.x_label, &plot.y_label);
    // Every figure has the same plot area, so one id serves all figures on a page.
    let _ = write!(
        out,
        r#"<defs><clipPath id="subbench-plot-area"><rect x="{LEFT}" y="{TOP}" width="{}" height="{}"/></clipPath></defs><g clip-path="url(#subbench-plot-area)">"#,
        WIDTH - LEFT - RIGHT,
        HEIGHT - TOP - BOTTOM
    );
    if let Some((from, to, label)) = &plot.shade {
        if let (Some(a), Some(b)) = (x.pixel(*from), x.pixel(*to)) {
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{TOP}" width="{:.1}" height="{}" fill="#000000" fill-opacity="0.08"/><text x="{:.1}" y="{}" font-size="13" text-anchor="middle" fill="#444">{}</text>"##,
                a.min(b),
                (b - a).abs().max(2.0),
                HEIGHT - TOP - BOTTOM,
                (a + b) / 2.0,
                TOP + 16.0,
                escape(label)
            );
        }
    }
    for (i, s) in plot.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let mut points: Vec<&Point> = s.points.iter().collect();
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        // Band: upper edge left to right, lower edge back.
        let upper: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| Some((x.pixel(p.x)?, y.pixel(p.high)?)))
            .collect();
        let lower: Vec<(f64, f64)> = points
            .iter()
            .rev()
            .filter_map(|p| Some((x.pixel(p.x)?, y.pixel(p.low)?)))
            .collect();
        if plot.lines && upper.len() >= 2 && upper.len() == lower.len() {
            let d: Vec<String> = upper
                .iter()
                .chain(&lower)
                .map(|(a, b)| format!("{a:.1},{b:.1}"))
                .collect();
            let _ = write!(
                out,
                r#"<polygon points="{}" fill="{colour}" fill-opacity="0.18" stroke="none"/>"#,
                d.join(" ")
            );
        }
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| Some((x.pixel(p.x)?, y.pixel(p.y)?)))
            .collect();
        if plot.lines && line.len() >= 2 {
            let d: Vec<String> = line.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            let _ = write!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.2" stroke-dasharray="{}"/>"#,
                d.join(" "),
                DASHES[i % DASHES.len()]
            );
        }
        for (px, py) in line {
            marker(&mut out, i, px, py, colour);
        }
    }
    let _ = write!(out, "</g>");
    let occupied: Vec<(f64, f64)> = all()
        .filter_map(|p| Some((x.pixel(p.x)?, y.pixel(p.y)?)))
        .collect();
    legend(&mut out, plot, &occupied);
    out.push_str("</svg>");
    out
}

/// The legend goes in the corner of the plot area that covers the fewest data points.
fn legend(out: &mut String, plot: &Plot, occupied: &[(f64, f64)]) {
    let entries: Vec<(usize, &str)> = plot
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.label.as_str()))
        .filter(|(_, label)| !label.is_empty())
        .collect();
    if entries.is_empty() {
        return;
    }
    let width = 34.0
        + 8.5
            * entries
                .iter()
                .map(|(_, l)| l.chars().count())
                .max()
                .unwrap_or(0) as f64;
    let height = 22.0 * entries.len() as f64 + 6.0;
    let corners = [
        (WIDTH - RIGHT - width - 8.0, TOP + 8.0),
        (LEFT + 8.0, TOP + 8.0),
        (WIDTH - RIGHT - width - 8.0, HEIGHT - BOTTOM - height - 8.0),
        (LEFT + 8.0, HEIGHT - BOTTOM - height - 8.0),
    ];
    let covered = |(cx, cy): (f64, f64)| {
        occupied
            .iter()
            .filter(|(px, py)| {
                *px >= cx - 6.0
                    && *px <= cx + width + 6.0
                    && *py >= cy - 6.0
                    && *py <= cy + height + 6.0
            })
            .count()
    };
    let (x0, y0) = corners
        .into_iter()
        .min_by_key(|c| covered(*c))
        .expect("four corners");
    let _ = write!(
        out,
        r##"<rect x="{x0:.1}" y="{y0}" width="{width:.1}" height="{height}" fill="white" fill-opacity="0.85" stroke="#bbb"/>"##
    );
    for (row, (i, label)) in entries.iter().enumerate() {
        let y = y0 + 16.0 + 22.0 * row as f64;
        let (colour, dash) = (PALETTE[i % PALETTE.len()], DASHES[i % DASHES.len()]);
        let _ = write!(
            out,
            r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2.2" stroke-dasharray="{dash}"/>"#,
            x0 + 6.0,
            x0 + 26.0
        );
        marker(out, *i, x0 + 16.0, y, colour);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="15">{}</text>"#,
            x0 + 32.0,
            y + 5.0,
            escape(label)
        );
    }
}

/// Render a heat map (viridis-like sequential colours, value printed in each cell).
pub fn render_heatmap(map: &Heatmap) -> String {
    let mut out = String::new();
    header(&mut out, &map.title);
    let (nx, ny) = (
        map.x_values.len().max(1) as f64,
        map.y_values.len().max(1) as f64,
    );
    let (x0, x1, y0, y1) = (LEFT + 30.0, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    let (cw, ch) = ((x1 - x0) / nx, (y1 - y0) / ny);
    let values: Vec<f64> = map
        .cells
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    for (r, row) in map.cells.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (x, y) = (x0 + c as f64 * cw, y1 - (r as f64 + 1.0) * ch);
            let (fill, text) = match cell {
                Some(v) if v.is_finite() => {
                    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                    (sequential(t), format!("{:.3}", v))
                }
                _ => ("#f0f0f0".to_string(), "–".to_string()),
            };
            let ink = if fill.starts_with("#f") || fill.starts_with("#e") || fill.starts_with("#d")
            {
                "#000"
            } else {
                "#fff"
            };
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{cw:.1}" height="{ch:.1}" fill="{fill}" stroke="white"/>"#
            );
            if cw > 38.0 && ch > 16.0 {
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="{ink}">{text}</text>"#,
                    x + cw / 2.0,
                    y + ch / 2.0 + 4.0
                );
            }
        }
    }
    for (c, label) in map.x_values.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14">{}</text>"#,
            x0 + (c as f64 + 0.5) * cw,
            y1 + 18.0,
            escape(label)
        );
    }
    for (r, label) in map.y_values.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="14">{}</text>"#,
            x0 - 6.0,
            y1 - (r as f64 + 0.5) * ch + 5.0,
            escape(label)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="16">{}</text><text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle" font-size="16">{}</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 14.0,
        escape(&map.x_label),
        (y0 + y1) / 2.0,
        escape(&map.y_label)
    );
    // Without one finite cell there is no range to show (the fold's ±∞ would read "inf … -inf").
    let range = if values.is_empty() {
        "no finite values".to_string()
    } else {
        format!("{lo:.3} (dark) … {hi:.3} (light)")
    };
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="end" font-size="13">{}: {range}</text>"#,
        x1,
        TOP - 4.0,
        escape(&map.value_label)
    );
    out.push_str("</svg>");
    out
}

/// A perceptually ordered dark-blue → yellow ramp (viridis endpoints and midpoints).
fn sequential(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

#[cfg(test)]
mod tests {

    /// Issue 17, class 22: a heat map without one finite cell showed an `inf … -inf` legend.
    #[test]
    fn a_heat_map_without_values_says_so_instead_of_an_infinite_legend() {
        let map = Heatmap {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            value_label: "v".into(),
            x_values: vec!["1".into()],
            y_values: vec!["2".into()],
            cells: vec![vec![None]],
        };
        let svg = render_heatmap(&map);
        assert!(svg.contains("v: no finite values"), "{svg}");
        assert!(!svg.contains("inf"), "{svg}");
    }

    use super::*;

    fn plot(log_x: bool) -> Plot {
        Plot {
            title: "a < b & c".into(),
            x_label: "ε".into(),
            y_label: "sin θ".into(),
            log_x,
            log_y: false,
            lines: true,
            shade: None,
            series: vec![Series {
                label: "optimal".into(),
                points: (1..=5)
                    .map(|i| Point {
                        x: i as f64,
                        y: i as f64 * 0.1,
                        low: i as f64 * 0.09,
                        high: i as f64 * 0.11,
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn plots_are_well_formed_and_escaped() {
        let svg = render_plot(&plot(false));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(svg.contains("<polygon"), "band drawn");
        assert!(svg.contains("<polyline"), "line drawn");
        assert_eq!(
            svg.matches("<circle").count(),
            5 + 1,
            "five markers and one in the legend"
        );
    }

    #[test]
    fn log_axes_drop_non_positive_values_and_label_decades() {
        let mut p = plot(true);
        p.series[0].points[0].x = 0.0;
        let svg = render_plot(&p);
        assert_eq!(svg.matches("<circle").count(), 4 + 1);
        let axis = Axis::new([1e-3, 10.0].into_iter(), true, 0.0, 100.0);
        let labels: Vec<String> = axis.ticks().into_iter().map(|t| t.1).collect();
        assert!(
            labels.contains(&"1".to_string()) && labels.contains(&"10".to_string()),
            "{labels:?}"
        );
    }

    #[test]
    fn linear_ticks_are_round_numbers() {
        let axis = Axis::new([0.0, 2.0].into_iter(), false, 0.0, 100.0);
        let labels: Vec<String> = axis.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0", "0.5", "1", "1.5", "2"]);
    }
}
