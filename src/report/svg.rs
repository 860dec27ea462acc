//! Line charts as SVG text, drawn here rather than by a charting crate: the
//! report needs only axes, polylines, a few labels and a vertical marker,
//! which is a hundred lines; the Rust plotting crates (plotters and the
//! like) bring a backend framework and font handling for that. Written
//! text stays plain SVG 1.1 with no external reference, so the page opens
//! offline; the SVG is inline in HTML, which needs no namespace URL.

use std::fmt::Write as _;

/// Left, right, top and bottom margins around the plot area, in pixels.
const MARGIN: (f64, f64, f64, f64) = (64.0, 30.0, 26.0, 30.0);

/// A palette distinguishable in print and by most colour-blind readers
/// (Okabe and Ito); one colour per mode.
pub const COLOURS: [&str; 6] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
];
/// One dash pattern per result of a compare view; the first is solid.
pub const DASHES: [&str; 4] = ["", "6 3", "2 2", "10 3 2 3"];

/// How the x axis maps its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XScale {
    /// Seconds of a timeline, from 0 to the largest value.
    Linear,
    /// The percentile axis of the HdrHistogram plot: x is `-log10(1 - q)`,
    /// so 90%, 99%, 99.9% ... are equally spaced; up to 99.999% (x = 5).
    Percentile,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub colour: &'static str,
    pub dash: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// A vertical line at an x value, with its words (an exhaustion event).
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub x: XScale,
    /// How a y value is written on its axis (a latency, bytes per second).
    pub y_label: fn(f64) -> String,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
}

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round upper bound for the y axis: 1, 2 or 5 times a power of ten.
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|k| k * p)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * p)
}

/// The percentile ticks of the x axis: (x, words).
fn percentile_ticks() -> Vec<(f64, String)> {
    ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        .iter()
        .enumerate()
        .map(|(i, w)| (i as f64, w.to_string()))
        .collect()
}

fn linear_ticks(max: f64) -> Vec<(f64, String)> {
    let step = nice_ceiling(max / 6.0).max(1.0);
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|&t| t <= max + 1e-9)
        .map(|t| (t, format!("{t}s")))
        .collect()
}

impl Chart {
    /// The chart as one `<svg>` element of exactly `width` × `height` pixels.
    pub fn render(&self) -> String {
        let (l, r, t, b) = MARGIN;
        let (pw, ph) = (self.width - l - r, self.height - t - b);
        let x_max = match self.x {
            XScale::Percentile => 5.0,
            XScale::Linear => self
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .chain(self.markers.iter().map(|m| m.x))
                .fold(1.0, f64::max),
        };
        let y_max = nice_ceiling(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0, f64::max),
        );
        let sx = |x: f64| l + x.clamp(0.0, x_max) / x_max * pw;
        let sy = |y: f64| t + ph - y.max(0.0) / y_max * ph;
        let mut o = String::new();
        let _ = write!(
            o,
            r##"<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11"><rect width="{w}" height="{h}" fill="#fff"/><text x="{l}" y="15" font-size="13" font-weight="bold">{title}</text>"##,
            w = self.width,
            h = self.height,
            title = esc(&self.title),
        );
        for i in 0..=4 {
            let y = y_max * f64::from(i) / 4.0;
            let _ = write!(
                o,
                r##"<line x1="{l}" x2="{x2}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#444">{label}</text>"##,
                x2 = l + pw,
                py = sy(y),
                tx = l - 4.0,
                ty = sy(y) + 4.0,
                label = esc(&(self.y_label)(y)),
            );
        }
        let ticks = match self.x {
            XScale::Percentile => percentile_ticks(),
            XScale::Linear => linear_ticks(x_max),
        };
        for (x, words) in ticks {
            let _ = write!(
                o,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{t}" y2="{y2}" stroke="#eee"/><text x="{px:.1}" y="{ty}" text-anchor="middle" fill="#444">{words}</text>"##,
                px = sx(x),
                y2 = t + ph,
                ty = t + ph + 14.0,
            );
        }
        let _ = write!(
            o,
            r##"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>"##
        );
        for s in &self.series {
            if s.points.is_empty() {
                continue;
            }
            let pts: Vec<String> = s
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let dash = if s.dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{}""#, s.dash)
            };
            let _ = write!(
                o,
                r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"><title>{}</title></polyline>"#,
                s.colour,
                pts.join(" "),
                esc(&s.label)
            );
        }
        // Markers at one moment (several modes ran out together) keep
        // their words apart: one line of text each.
        for (i, m) in self.markers.iter().enumerate() {
            let px = sx(m.x);
            let _ = write!(
                o,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{t}" y2="{y2}" stroke="#c00" stroke-width="2" stroke-dasharray="4 2"/><text x="{tx:.1}" y="{ty}" fill="#c00">{label}</text>"##,
                y2 = t + ph,
                tx = px + 3.0,
                ty = t + 12.0 + 12.0 * i as f64,
                label = esc(&m.label),
            );
        }
        // The legend goes beside the title when it fits; the page also
        // prints each section's legend once, for charts with many lines.
        let legend_w: f64 = self.series.iter().map(|s| legend_width(&s.label)).sum();
        if title_width(&self.title) + legend_w <= pw {
            self.legend(&mut o, l + pw);
        }
        o.push_str("</svg>");
        o
    }

    /// The series' names, top right, each with a sample of its line.
    fn legend(&self, o: &mut String, right: f64) {
        let mut x = right;
        for s in self.series.iter().rev() {
            x -= legend_width(&s.label);
            let dash = if s.dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{}""#, s.dash)
            };
            let _ = write!(
                o,
                r#"<line x1="{x:.1}" x2="{x2:.1}" y1="11" y2="11" stroke="{c}" stroke-width="2"{dash}/><text x="{tx:.1}" y="15">{label}</text>"#,
                x2 = x + 18.0,
                c = s.colour,
                tx = x + 22.0,
                label = esc(&s.label),
            );
        }
    }
}

/// Room for a legend entry: the line sample and the words at 11 px.
fn legend_width(label: &str) -> f64 {
    28.0 + 6.5 * label.chars().count() as f64
}

/// Room for a title in bold at 13 px.
fn title_width(title: &str) -> f64 {
    8.0 * title.chars().count() as f64 + 12.0
}

/// A legend on its own, `width` wide, entries wrapping onto further rows:
/// one per distinct label of the given series, for a section of charts.
pub fn legend(series: &[&Series], width: f64) -> String {
    let mut seen: Vec<&Series> = Vec::new();
    for s in series {
        if !seen.iter().any(|x| x.label == s.label) {
            seen.push(s);
        }
    }
    let mut body = String::new();
    let (mut x, mut y) = (0.0, 12.0);
    for s in seen {
        let w = legend_width(&s.label);
        if x > 0.0 && x + w > width {
            x = 0.0;
            y += 18.0;
        }
        let dash = if s.dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{}""#, s.dash)
        };
        let _ = write!(
            body,
            r#"<line x1="{x:.1}" x2="{x2:.1}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/><text x="{tx:.1}" y="{y}">{label}</text>"#,
            x2 = x + 18.0,
            ly = y - 4.0,
            c = s.colour,
            tx = x + 22.0,
            label = esc(&s.label),
        );
        x += w;
    }
    format!(
        r#"<svg class="legend" width="{width}" height="{h}" font-family="sans-serif" font-size="11">{body}</svg>"#,
        h = y + 6.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(x: XScale, points: Vec<(f64, f64)>) -> Chart {
        Chart {
            title: "t <1>".into(),
            width: 400.0,
            height: 200.0,
            x,
            y_label: |v| format!("{v}"),
            series: vec![Series {
                label: "passive".into(),
                colour: COLOURS[0],
                dash: DASHES[1],
                points,
            }],
            markers: vec![Marker {
                x: 3.0,
                label: "exhausted".into(),
            }],
        }
    }

    #[test]
    fn a_legend_that_does_not_fit_beside_the_title_is_left_to_the_page() {
        let mut c = chart(XScale::Linear, vec![(0.0, 1.0)]);
        assert!(c.render().contains(">passive</text>"));
        for i in 0..6 {
            let mut s = c.series[0].clone();
            s.label = format!("a-long-run-name-{i} passive");
            c.series.push(s);
        }
        let svg = c.render();
        assert!(!svg.contains(">passive</text>"));
        let all: Vec<&Series> = c.series.iter().collect();
        let l = legend(&all, 300.0);
        assert_eq!(l.matches("<line").count(), 7);
        assert!(l.contains(r#"height="108""#), "six rows: {l}");
    }

    #[test]
    fn nice_ceilings_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(4100.0), 5000.0);
        assert_eq!(nice_ceiling(500.0), 500.0);
    }

    #[test]
    fn a_chart_is_one_escaped_svg_with_its_line_marker_and_legend() {
        let s = chart(XScale::Linear, vec![(0.0, 0.0), (10.0, 50.0)]).render();
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("t &lt;1&gt;"));
        assert!(s.contains(r#"stroke-dasharray="6 3" points="64.0,170.0 370.0,26.0""#));
        assert!(s.contains(">exhausted</text>"));
        assert!(s.contains(">passive</text>"));
    }

    #[test]
    fn the_percentile_axis_spaces_the_nines_evenly() {
        let s = chart(XScale::Percentile, vec![(0.0, 1.0), (5.0, 2.0)]).render();
        // 306 pixels of plot for 5 decades of nines.
        assert!(s.contains(r##"x="64.0" y="184" text-anchor="middle" fill="#444">0%<"##));
        assert!(s.contains(r##"x="370.0" y="184" text-anchor="middle" fill="#444">99.999%<"##));
        assert!(s.contains(r##"x="186.4" y="184" text-anchor="middle" fill="#444">99%<"##));
    }
}
