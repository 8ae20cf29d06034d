//! The loss and accuracy curves as an SVG picture: two panels, training and held-out lines,
//! axes with a few labelled ticks. Written by hand: a picture this plain needs no plotting
//! library (nor the system fonts one would look for).

use std::fmt::Write;

/// One line of a panel.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub values: Vec<f64>,
}

/// A panel: a title and its lines over the epochs 1, 2, ….
pub struct Panel<'a> {
    pub title: &'a str,
    pub series: Vec<Series<'a>>,
}

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 320.0;
const MARGIN: (f64, f64, f64, f64) = (60.0, 20.0, 40.0, 45.0); // left, right, top, bottom

/// "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn label(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn panel(svg: &mut String, panel: &Panel, x0: f64) {
    let (left, right, top, bottom) = MARGIN;
    let (plot_w, plot_h) = (WIDTH - left - right, HEIGHT - top - bottom);
    let values = panel.series.iter().flat_map(|s| s.values.iter().copied());
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let epochs = panel
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let sx = |epoch: f64| x0 + left + (epoch - 1.0) / (epochs as f64 - 1.0) * plot_w;
    let sy = |v: f64| top + (hi - v) / (hi - lo) * plot_h;

    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        x0 + left + plot_w / 2.0,
        panel.title
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{:.1}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>"##,
        x0 + left
    );
    for v in ticks(lo, hi) {
        let y = sy(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
            x0 + left,
            x0 + left + plot_w,
            x0 + left - 6.0,
            y + 4.0,
            label(v)
        );
    }
    for e in ticks(1.0, epochs as f64) {
        let x = sx(e);
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
            top + plot_h + 16.0,
            label(e)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">epoch</text>"#,
        x0 + left + plot_w / 2.0,
        HEIGHT - 8.0
    );
    for (k, series) in panel.series.iter().enumerate() {
        let points: Vec<String> = series
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| format!("{:.1},{:.1}", sx(i as f64 + 1.0), sy(v)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            series.color,
            points.join(" ")
        );
        let y = top + 14.0 + 16.0 * k as f64;
        let x = x0 + left + plot_w - 110.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"/><text x="{:.1}" y="{y:.1}" font-size="11">{}</text>"#,
            x + 18.0,
            y - 4.0,
            y - 4.0,
            series.color,
            x + 24.0,
            series.label
        );
    }
}

/// The panels side by side, as an SVG document.
pub fn svg(panels: &[Panel]) -> String {
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{HEIGHT}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
"#,
        WIDTH * panels.len() as f64
    );
    for (k, p) in panels.iter().enumerate() {
        panel(&mut svg, p, WIDTH * k as f64);
    }
    svg.push_str("</svg>\n");
    svg
}
