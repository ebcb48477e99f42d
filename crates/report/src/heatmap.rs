//! SVG heat maps: a metric over two parameters, one cell per pair of values, its value printed
//! in it and its group, value and interval in its hover title.

use std::fmt::Write;

use crate::svg::{escape, header, Frame};

/// One cell of a heat map: its value and its hover text.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    pub value: f64,
    pub hover: String,
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
    pub cells: Vec<Vec<Option<HeatCell>>>,
    pub width: u32,
    pub height: u32,
}

/// Render a heat map (viridis-like sequential colours, value printed in each cell, and its
/// group and value in the cell's hover title).
pub fn render_heatmap(map: &Heatmap) -> String {
    let frame = Frame::new(map.width, map.height, &map.title);
    let mut out = String::new();
    header(&mut out, &frame, &map.title);
    let (nx, ny) = (
        map.x_values.len().max(1) as f64,
        map.y_values.len().max(1) as f64,
    );
    let (x0, x1, y0, y1) = (frame.x0() + 30.0, frame.x1(), frame.y1(), frame.y0());
    let (cw, ch) = ((x1 - x0) / nx, (y1 - y0) / ny);
    let values: Vec<f64> = map
        .cells
        .iter()
        .flatten()
        .flatten()
        .map(|c| c.value)
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
                Some(HeatCell { value: v, .. }) if v.is_finite() => {
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
            let hover = cell.as_ref().map_or("", |c| c.hover.as_str());
            let _ = write!(
                out,
                r#"<g class="cell"><title>{}</title><rect x="{x:.1}" y="{y:.1}" width="{cw:.1}" height="{ch:.1}" fill="{fill}" stroke="white"/>"#,
                escape(if hover.is_empty() { "no trials" } else { hover })
            );
            if cw > 38.0 && ch > 16.0 {
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="{ink}">{text}</text>"#,
                    x + cw / 2.0,
                    y + ch / 2.0 + 4.0
                );
            }
            out.push_str("</g>");
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
        frame.height - 14.0,
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
    // The range goes above the cells, or, without a title band, under the x label's line.
    let range_y = if map.title.is_empty() {
        frame.height - 2.0
    } else {
        frame.top - 4.0
    };
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{range_y}" text-anchor="end" font-size="13">{}: {range}</text>"#,
        x1,
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
    use super::*;
    use crate::svg::{HEIGHT, WIDTH};

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
            width: WIDTH,
            height: HEIGHT,
        };
        let svg = render_heatmap(&map);
        assert!(svg.contains("v: no finite values"), "{svg}");
        assert!(!svg.contains("inf"), "{svg}");
    }

    #[test]
    fn every_cell_tells_its_value_on_hover() {
        let map = Heatmap {
            title: "".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            value_label: "v".into(),
            x_values: vec!["1".into(), "2".into()],
            y_values: vec!["a".into()],
            cells: vec![vec![
                Some(HeatCell {
                    value: 0.5,
                    hover: "x = 1, y = a: v 0.5".into(),
                }),
                None,
            ]],
            width: WIDTH,
            height: HEIGHT,
        };
        let svg = render_heatmap(&map);
        assert!(svg.contains("<title>x = 1, y = a: v 0.5</title>"), "{svg}");
        assert!(svg.contains("<title>no trials</title>"), "{svg}");
    }
}
