//! SVG figures written directly: line plots with shaded 95% bands and scatter plots (heat maps
//! in [`crate::heatmap`]).
//!
//! Why not plotters: its SVG backend needs a font backend (system fontconfig or an embedded TTF)
//! only to measure text that the browser lays out anyway, and it is a large build for three plot
//! kinds. Writing the SVG ourselves keeps figures deterministic, small and dependency-free.
//!
//! Colours are the Okabe–Ito palette (distinguishable with every common colour-vision
//! deficiency), each series also gets its own marker and dash pattern so that the figure survives
//! greyscale printing; text is 15–18 px at 640 px width, readable in a two-column paper.

use std::fmt::Write;

pub use crate::heatmap::{render_heatmap, HeatCell, Heatmap};

/// Okabe & Ito (2008), without yellow (too light on white) and black first-ranked last.
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
];
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];
/// The default size of a figure, in pixels (a spec's `width`/`height` change it).
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 420;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
/// The band for the title; a figure whose title is empty has none.
const TOP_TITLED: f64 = 44.0;
const TOP_UNTITLED: f64 = 14.0;
const BOTTOM: f64 = 62.0;

/// One point of a series: x, y, the band `[low, high]` (NaN for none) and what a reader sees
/// on hovering over it (its group, value and interval; empty for nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub low: f64,
    pub high: f64,
    pub hover: String,
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
    /// The size in pixels.
    pub width: u32,
    pub height: u32,
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The figure's size and its plot area's margins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) width: f64,
    pub(crate) height: f64,
    left: f64,
    right: f64,
    pub(crate) top: f64,
    bottom: f64,
}

impl Frame {
    pub(crate) fn new(width: u32, height: u32, title: &str) -> Frame {
        Frame {
            width: width as f64,
            height: height as f64,
            left: LEFT,
            right: RIGHT,
            top: if title.is_empty() {
                TOP_UNTITLED
            } else {
                TOP_TITLED
            },
            bottom: BOTTOM,
        }
    }
    pub(crate) fn x0(&self) -> f64 {
        self.left
    }
    pub(crate) fn x1(&self) -> f64 {
        self.width - self.right
    }
    pub(crate) fn y0(&self) -> f64 {
        self.height - self.bottom
    }
    pub(crate) fn y1(&self) -> f64 {
        self.top
    }
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

    /// Tick positions (in data units) and their labels, all in one notation: plain numbers when
    /// every tick reads well as one, else powers of ten (`2×10⁻³` between decades).
    pub(crate) fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let (lo, hi) = (self.low.floor() as i32, self.high.ceil() as i32);
            let step = ((hi - lo) / 6).max(1);
            let mut ticks: Vec<(f64, i32, f64)> = (lo..=hi)
                .step_by(step as usize)
                .map(|e| (1.0, e, 10f64.powi(e)))
                .collect();
            if hi - lo <= 2 {
                for e in lo..=hi {
                    for m in [2.0, 5.0] {
                        ticks.push((m, e, m * 10f64.powi(e)));
                    }
                }
            }
            ticks.retain(|(_, _, v)| v.log10() >= self.low - 1e-9 && v.log10() <= self.high + 1e-9);
            ticks.sort_by(|a, b| a.2.total_cmp(&b.2));
            let plain = ticks.iter().all(|(_, e, _)| (-3..=4).contains(e));
            return ticks
                .into_iter()
                .map(|(m, e, v)| {
                    let label = if plain {
                        number_label(v)
                    } else if m == 1.0 {
                        power_label(e)
                    } else {
                        format!("{m}×{}", power_label(e))
                    };
                    (v, label)
                })
                .collect();
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
        let values: Vec<f64> = (first..=last)
            .map(|i| {
                let v = i as f64 * step;
                if v.abs() < step * 1e-9 {
                    0.0
                } else {
                    v
                }
            })
            .collect();
        // One notation for the whole axis: scientific for all ticks when one needs it.
        let scientific = values
            .iter()
            .any(|v| *v != 0.0 && !(1e-3..1e5).contains(&v.abs()));
        values
            .into_iter()
            .map(|v| {
                let label = if scientific && v != 0.0 {
                    format!("{v:.1e}")
                } else {
                    number_label(v)
                };
                (v, label)
            })
            .collect()
    }
}

fn power_label(e: i32) -> String {
    format!("10<tspan dy=\"-7\" font-size=\"11\">{e}</tspan>")
}

fn number_label(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub(crate) fn header(out: &mut String, frame: &Frame, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="Helvetica, Arial, sans-serif" role="img"><title>{t}</title><rect width="100%" height="100%" fill="white"/>"#,
        t = escape(title),
        w = frame.width,
        h = frame.height,
    );
    if !title.is_empty() {
        let _ = write!(
            out,
            r#"<text x="{cx}" y="26" text-anchor="middle" font-size="18" font-weight="bold">{t}</text>"#,
            t = escape(title),
            cx = frame.width / 2.0
        );
    }
}

fn axes(out: &mut String, frame: &Frame, x: &Axis, y: &Axis, x_label: &str, y_label: &str) {
    let (x0, x1, y0, y1) = (frame.x0(), frame.x1(), frame.y0(), frame.y1());
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
        frame.height - 14.0,
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

/// A marker that tells its value: the marker and a larger invisible target share one `<g>`
/// whose `<title>` every browser shows on hover, without JavaScript.
fn hover_marker(out: &mut String, i: usize, px: f64, py: f64, colour: &str, hover: &str) {
    if hover.is_empty() {
        return marker(out, i, px, py, colour);
    }
    let _ = write!(
        out,
        r#"<g class="point"><title>{}</title><circle cx="{px:.1}" cy="{py:.1}" r="9" fill="{colour}" fill-opacity="0"/>"#,
        escape(hover)
    );
    marker(out, i, px, py, colour);
    out.push_str("</g>");
}

/// Pixels a legend must not cover: every marker, and points along every line and band edge.
fn occupied(plot: &Plot, x: &Axis, y: &Axis) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for s in &plot.series {
        let mut points: Vec<&Point> = s.points.iter().collect();
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        for edge in [|p: &Point| p.y, |p: &Point| p.low, |p: &Point| p.high] {
            let pixels: Vec<(f64, f64)> = points
                .iter()
                .filter_map(|p| Some((x.pixel(p.x)?, y.pixel(edge(p))?)))
                .collect();
            out.extend(pixels.iter().copied());
            if plot.lines {
                for w in pixels.windows(2) {
                    for k in 1..16 {
                        let t = k as f64 / 16.0;
                        out.push((
                            w[0].0 + t * (w[1].0 - w[0].0),
                            w[0].1 + t * (w[1].1 - w[0].1),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Render a line or scatter plot.
pub fn render_plot(plot: &Plot) -> String {
    let mut frame = Frame::new(plot.width, plot.height, &plot.title);
    let all = || plot.series.iter().flat_map(|s| s.points.iter());
    let make_axes = |frame: &Frame| {
        (
            Axis::new(all().map(|p| p.x), plot.log_x, frame.x0(), frame.x1()),
            Axis::new(
                all().flat_map(|p| [p.y, p.low, p.high]),
                plot.log_y,
                frame.y0(),
                frame.y1(),
            ),
        )
    };
    let (mut x, mut y) = make_axes(&frame);
    // The legend goes in a corner of the plot area that covers no data; when every corner
    // does, the plot area narrows and the legend stands beside it.
    let legend_at = match legend_size(plot) {
        None => None,
        Some((w, h)) => match free_corner(&frame, (w, h), &occupied(plot, &x, &y)) {
            Some(corner) => Some(corner),
            None => {
                frame.right += w + 12.0;
                (x, y) = make_axes(&frame);
                Some((frame.width - w - 8.0, frame.top))
            }
        },
    };
    let mut out = String::new();
    header(&mut out, &frame, &plot.title);
    axes(&mut out, &frame, &x, &y, &plot.x_label, &plot.y_label);
    // The clip path's id names its rectangle, so that figures of different sizes on one page
    // never clip to each other's area.
    let (pw, ph) = (frame.x1() - frame.x0(), frame.y0() - frame.y1());
    let clip = format!(
        "subbench-plot-{}-{}-{}-{}",
        frame.x0() as u32,
        frame.y1() as u32,
        pw as u32,
        ph as u32
    );
    let _ = write!(
        out,
        r#"<defs><clipPath id="{clip}"><rect x="{}" y="{}" width="{pw}" height="{ph}"/></clipPath></defs><g clip-path="url(#{clip})">"#,
        frame.x0(),
        frame.y1(),
    );
    if let Some((from, to, label)) = &plot.shade {
        if let (Some(a), Some(b)) = (x.pixel(*from), x.pixel(*to)) {
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{}" width="{:.1}" height="{ph}" fill="#000000" fill-opacity="0.08"/><text x="{:.1}" y="{}" font-size="13" text-anchor="middle" fill="#444">{}</text>"##,
                a.min(b),
                frame.y1(),
                (b - a).abs().max(2.0),
                (a + b) / 2.0,
                frame.y1() + 16.0,
                escape(label)
            );
        }
    }
    for (i, s) in plot.series.iter().enumerate() {
        draw_series(&mut out, plot, i, s, &x, &y);
    }
    let _ = write!(out, "</g>");
    if let Some(at) = legend_at {
        legend(&mut out, plot, at);
    }
    out.push_str("</svg>");
    out
}

fn draw_series(out: &mut String, plot: &Plot, i: usize, s: &Series, x: &Axis, y: &Axis) {
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
    let has_width = points.iter().any(|p| p.high > p.low);
    if plot.lines && has_width && upper.len() >= 2 && upper.len() == lower.len() {
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
    let line: Vec<(f64, f64, &str)> = points
        .iter()
        .filter_map(|p| Some((x.pixel(p.x)?, y.pixel(p.y)?, p.hover.as_str())))
        .collect();
    if plot.lines && line.len() >= 2 {
        let d: Vec<String> = line
            .iter()
            .map(|(a, b, _)| format!("{a:.1},{b:.1}"))
            .collect();
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.2" stroke-dasharray="{}"/>"#,
            d.join(" "),
            DASHES[i % DASHES.len()]
        );
    }
    for (px, py, hover) in line {
        hover_marker(out, i, px, py, colour, hover);
    }
}

/// The legend's entries: the series that have a label.
fn legend_entries(plot: &Plot) -> Vec<(usize, &str)> {
    plot.series
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.label.as_str()))
        .filter(|(_, label)| !label.is_empty())
        .collect()
}

/// The legend's width and height, when it has entries.
fn legend_size(plot: &Plot) -> Option<(f64, f64)> {
    let entries = legend_entries(plot);
    let longest = entries.iter().map(|(_, l)| l.chars().count()).max()?;
    Some((
        34.0 + 8.5 * longest as f64,
        22.0 * entries.len() as f64 + 6.0,
    ))
}

/// The first corner of the plot area (top right, top left, bottom right, bottom left) where a
/// legend of `size` covers none of `occupied`.
fn free_corner(
    frame: &Frame,
    (width, height): (f64, f64),
    occupied: &[(f64, f64)],
) -> Option<(f64, f64)> {
    let corners = [
        (frame.x1() - width - 8.0, frame.y1() + 8.0),
        (frame.x0() + 8.0, frame.y1() + 8.0),
        (frame.x1() - width - 8.0, frame.y0() - height - 8.0),
        (frame.x0() + 8.0, frame.y0() - height - 8.0),
    ];
    corners.into_iter().find(|&(cx, cy)| {
        cx >= frame.x0()
            && cy >= frame.y1()
            && !occupied.iter().any(|(px, py)| {
                *px >= cx - 6.0
                    && *px <= cx + width + 6.0
                    && *py >= cy - 6.0
                    && *py <= cy + height + 6.0
            })
    })
}

fn legend(out: &mut String, plot: &Plot, (x0, y0): (f64, f64)) {
    let Some((width, height)) = legend_size(plot) else {
        return;
    };
    let _ = write!(
        out,
        r##"<g class="legend"><rect x="{x0:.1}" y="{y0}" width="{width:.1}" height="{height}" fill="white" fill-opacity="0.85" stroke="#bbb"/>"##
    );
    for (row, (i, label)) in legend_entries(plot).iter().enumerate() {
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
    out.push_str("</g>");
}

#[cfg(test)]
mod tests {

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
                        hover: format!("point {i}"),
                    })
                    .collect(),
            }],
            width: WIDTH,
            height: HEIGHT,
        }
    }

    #[test]
    fn plots_are_well_formed_and_escaped() {
        let svg = render_plot(&plot(false));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(svg.contains("<polygon"), "band drawn");
        assert!(svg.contains("<polyline"), "line drawn");
        // Every point tells its value on hover.
        assert_eq!(svg.matches("<g class=\"point\"><title>point ").count(), 5);
        assert_eq!(
            svg.matches(r#"r="3.5""#).count(),
            5 + 1,
            "five markers and one in the legend"
        );
    }

    #[test]
    fn log_axes_drop_non_positive_values_and_label_decades() {
        let mut p = plot(true);
        p.series[0].points[0].x = 0.0;
        let svg = render_plot(&p);
        assert_eq!(svg.matches(r#"r="3.5""#).count(), 4 + 1);
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

    #[test]
    fn an_empty_title_leaves_no_band_and_sizes_are_kept() {
        let mut p = plot(false);
        p.title = String::new();
        (p.width, p.height) = (800, 300);
        let svg = render_plot(&p);
        assert!(svg.contains(r#"viewBox="0 0 800 300""#), "{svg}");
        assert!(!svg.contains("font-weight=\"bold\""), "no title text");
        assert!(svg.contains(&format!(r#"y="{TOP_UNTITLED}""#)), "{svg}");
    }

    /// The legend used to go in the least covered corner, over the data when every corner
    /// had some.
    #[test]
    fn the_legend_never_covers_data() {
        let mut p = plot(false);
        // Points in all four corners and a line through the middle.
        p.series[0].points = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (0.5, 0.5)]
            .iter()
            .map(|&(x, y)| Point {
                x,
                y,
                low: y,
                high: y,
                hover: String::new(),
            })
            .collect();
        p.series[0].label = "a long legend label".into();
        let svg = render_plot(&p);
        let legend = svg.split("<g class=\"legend\"><rect x=\"").nth(1).unwrap();
        let x: f64 = legend.split('"').next().unwrap().parse().unwrap();
        let clip = svg.split("<clipPath").nth(1).unwrap();
        let right = |attr: &str| -> f64 {
            clip.split(&format!("{attr}=\""))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!(
            x >= right("x") + right("width"),
            "legend at {x} inside the plot area: {svg}"
        );
    }

    #[test]
    fn log_axes_use_one_notation() {
        let labels = |lo: f64, hi: f64| -> Vec<String> {
            Axis::new([lo, hi].into_iter(), true, 0.0, 100.0)
                .ticks()
                .into_iter()
                .map(|t| t.1)
                .collect()
        };
        assert_eq!(labels(20.0, 200.0), ["20", "50", "100", "200"]);
        let small = labels(2e-6, 5e-5);
        assert!(small.iter().all(|l| l.contains("10<tspan")), "{small:?}");
        assert!(
            small.contains(&"2×10<tspan dy=\"-7\" font-size=\"11\">-5</tspan>".to_string()),
            "{small:?}"
        );
    }
}
