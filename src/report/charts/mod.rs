//! Charts of an output directory, each drawn once as SVG with plotters and rendered to PNG
//! from that same SVG with resvg, so the two never disagree.
//!
//! Text is measured (plotters, ab_glyph) and rendered (resvg) with DejaVu Sans embedded in
//! the binary, the default sans-serif of most Linux desktops: building needs no system
//! font library and the PNGs look the same on every machine. The SVGs ask for "DejaVu
//! Sans" first and fall back to the reader's sans-serif.
//!
//! One file per chart kind: `bars` (outcomes with 95% error bars), `tradeoff` (false
//! positives against misses or downtime, Pareto front marked), `sweep` (curves with
//! confidence bands), `heatmap` (2-D sweeps), `timeline` (one run), `diff` (paired
//! differences against a baseline), `services` (a system's service graph and the rollbacks
//! of one run by service).

pub mod bars;
pub mod calibration;
pub mod diff;
pub mod heatmap;
mod legend;
pub mod services;
pub mod sweep;
pub mod timeline;
pub mod tradeoff;
pub mod tune;
pub mod weekly;

use super::ReportError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontDesc, FontFamily, FontStyle};
use resvg::{tiny_skia, usvg};
use std::sync::{Arc, OnceLock};

pub use legend::{draw_legend, legend_height, LegendItem, Mark};

/// One chart, ready to embed or write: `id` is the file stem (`charts/<id>.svg`).
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: String,
    /// What the chart shows, for the report's heading and the image's alt text.
    pub title: String,
    /// A standalone SVG document.
    pub svg: String,
    /// The same image as PNG.
    pub png: Vec<u8>,
    /// Plain-language findings computed from the data the chart shows.
    pub findings: Vec<String>,
}

/// Where drawing can fail: plotters' errors, boxed.
pub type DrawResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A mean with its interval in display units: (mean, low, high).
pub type Span = (f64, f64, f64);

/// Each policy of `t` (index, name) with its estimate of `metric` as a [`Span`] in the
/// display scale of `m`; `None` where the policy has no value.
pub fn scaled_estimates<'t>(
    t: &'t crate::report::tables::EstimateTable,
    metric: &str,
    m: &crate::report::metrics::MetricInfo,
) -> Vec<(usize, &'t str, Option<Span>)> {
    t.policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let e = t.get(p, metric).map(|e| {
                let (lo, hi) = e.bounds();
                (m.scale(e.mean), m.scale(lo), m.scale(hi))
            });
            (i, p.as_str(), e)
        })
        .collect()
}

/// The house style of every chart's axes: ink labels and axis titles, faint major grid
/// lines, no minor ones (one place, so the charts of a report look alike).
pub trait HouseStyle {
    /// Applies the house style.
    fn house_style(&mut self) -> &mut Self;
}

impl<
        X: plotters::coord::ranged1d::Ranged,
        Y: plotters::coord::ranged1d::Ranged,
        DB: DrawingBackend,
    > HouseStyle for plotters::chart::MeshStyle<'_, '_, X, Y, DB>
{
    fn house_style(&mut self) -> &mut Self {
        self.label_style(font(13.0).color(&INK))
            .axis_desc_style(font(14.0).color(&INK))
            .bold_line_style(INK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .axis_style(INK.mix(0.5))
    }
}

/// The axes of a chart of numbers on both sides: six ticks a side, each written by
/// [`tick`](crate::report::metrics::tick), and the axis titles (one place, so the x-y charts
/// label their axes alike).
pub trait NumericAxes {
    /// Sets the ticks and the axis titles.
    fn numeric_axes(&mut self, x_desc: String, y_desc: String) -> &mut Self;
}

/// A tick label of a numeric axis.
const TICK: &(dyn Fn(&f64) -> String + Sync) = &|v: &f64| crate::report::metrics::tick(*v);

impl<DB: DrawingBackend> NumericAxes
    for plotters::chart::MeshStyle<
        '_,
        '_,
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
        DB,
    >
{
    fn numeric_axes(&mut self, x_desc: String, y_desc: String) -> &mut Self {
        self.x_labels(6)
            .y_labels(6)
            .x_label_formatter(TICK)
            .y_label_formatter(TICK)
            .x_desc(x_desc)
            .y_desc(y_desc)
    }
}

/// The font family every chart uses (registered with plotters and resvg).
pub const FONT: &str = "DejaVu Sans";

/// Colours for policies, in policy order (Tableau 10: distinct, colour-blind friendly in
/// its first six, and printable).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

/// The colour of the `i`-th policy: the palette, then for every further ten policies the
/// same hues darkened (by a factor 0.6 per round), so a legend never shows two policies in
/// one colour (controllers.toml has eleven).
pub fn color(i: usize) -> RGBColor {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    let round = (i / PALETTE.len()).min(8) as i32;
    let f = 0.6f64.powi(round);
    let shade = |c: u8| (f64::from(c) * f).round() as u8;
    RGBColor(shade(r), shade(g), shade(b))
}

/// Policy colours that stay the same across every chart of a report: a policy's colour is
/// fixed by its place in the report's policy order.
#[derive(Debug, Clone, Default)]
pub struct Colors {
    /// Every policy of the report, in the order colours are handed out.
    pub order: Vec<String>,
}

impl Colors {
    /// The colour of `policy` (policies outside the order share the last colours).
    pub fn of(&self, policy: &str) -> RGBColor {
        color(
            self.order
                .iter()
                .position(|p| p == policy)
                .unwrap_or(self.order.len()),
        )
    }
}

/// Dark grey for text and axes: softer than black, still high contrast.
pub const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);

fn fonts() -> Result<(), ReportError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Chart {
            name: "fonts".into(),
            message: "the embedded DejaVu Sans font could not be loaded".into(),
        })
    }
}

/// A text style of `size` (plotters' size: about 1.24 times the em size in the SVG).
///
/// A font looks its face up when it is made, so the fonts are registered first: one made
/// before any chart was drawn (the legend of a sweep report's first chart) would otherwise
/// measure every text as 0 pixels wide, and its legend would wrap into too few rows and
/// overlap. A missing font is reported by the render that follows.
pub fn font(size: f64) -> FontDesc<'static> {
    let _ = fonts();
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal)
}

/// A bold text style for titles.
pub fn bold(size: f64) -> FontDesc<'static> {
    let _ = fonts();
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold)
}

/// The width in pixels of `text` in `f`, for layout decisions made before drawing.
pub fn text_width(text: &str, f: &FontDesc<'_>) -> i32 {
    f.box_size(text).map(|(w, _)| w as i32).unwrap_or(0)
}

/// A canvas for drawing a chart of `w` x `h` pixels.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A value to show when the pointer rests on a point of a chart: its pixel position and
/// the text (an SVG `<title>`, which browsers show as a tooltip).
#[derive(Debug, Clone, PartialEq)]
pub struct Hover {
    pub x: i32,
    pub y: i32,
    pub text: String,
}

/// Draws a chart with `draw` on a white `w` x `h` canvas with a bold title on top, then
/// renders the PNG. `draw` gets the area below the title.
pub fn render(
    id: &str,
    title: &str,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> DrawResult<()>,
) -> Result<Chart, ReportError> {
    render_with_hover(id, title, size, |a| draw(a).map(|()| Vec::new()))
}

/// [`render`] for charts whose points carry values to show on hover: each [`Hover`] `draw`
/// returns becomes an invisible circle with a `<title>` over its point (the PNG, drawn
/// from the same SVG, is unchanged by them).
pub fn render_with_hover(
    id: &str,
    title: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> DrawResult<Vec<Hover>>,
) -> Result<Chart, ReportError> {
    fonts()?;
    let err = |message: String| ReportError::Chart {
        name: id.to_string(),
        message,
    };
    let mut svg = String::new();
    let hovers: Vec<Hover>;
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let body = (|| -> DrawResult<Area<'_>> {
            root.fill(&WHITE)?;
            Ok(root.titled(title, bold(22.0).color(&INK))?)
        })()
        .map_err(|e| err(e.to_string()))?;
        hovers = draw(&body.margin(4, 8, 12, 12)).map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    if !hovers.is_empty() {
        let mut g = String::from("<g class=\"hover\">\n");
        for hv in &hovers {
            g.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"8\" fill=\"#000\" fill-opacity=\"0\"><title>{}</title></circle>\n",
                hv.x,
                hv.y,
                xml_escape(&hv.text)
            ));
        }
        g.push_str("</g>\n");
        if let Some(end) = svg.rfind("</svg>") {
            svg.insert_str(end, &g);
        }
    }
    // Ask for the embedded font first, then whatever sans-serif the reader has.
    let svg = svg.replace(
        &format!("font-family=\"{FONT}\""),
        &format!("font-family=\"{FONT}, Verdana, sans-serif\""),
    );
    let png = to_png(&svg).map_err(err)?;
    Ok(Chart {
        id: id.to_string(),
        title: title.to_string(),
        svg,
        png,
        findings: Vec::new(),
    })
}

/// Text for SVG content and attributes.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fontdb() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_sans_serif_family(FONT);
        Arc::new(db)
    })
    .clone()
}

/// Renders an SVG document to PNG with the embedded font.
pub fn to_png(svg: &str) -> Result<Vec<u8>, String> {
    let opt = usvg::Options {
        font_family: FONT.to_string(),
        fontdb: fontdb(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| format!("SVG not readable: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| "empty image".to_string())?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| e.to_string())
}

/// Nice axis bounds around `[lo, hi]`: a little headroom, zero kept in view for bars.
pub fn padded(lo: f64, hi: f64, include_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (lo.min(hi), hi.max(lo));
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let d = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
        return (
            if include_zero && lo >= 0.0 {
                0.0
            } else {
                lo - d
            },
            hi + d,
        );
    }
    let lo2 = if include_zero && lo >= 0.0 {
        0.0
    } else {
        lo - span * 0.08
    };
    let hi2 = if include_zero && hi <= 0.0 {
        0.0
    } else {
        hi + span * 0.08
    };
    (lo2, hi2)
}

/// Splits `area` into a grid for `n` panels of `cols` columns, row by row (a single panel
/// keeps its column's width rather than stretching across the chart).
pub fn grid<'a>(area: &Area<'a>, n: usize, cols: usize) -> Vec<Area<'a>> {
    let cols = cols.max(1);
    let rows = n.div_ceil(cols).max(1);
    area.split_evenly((rows, cols))
        .into_iter()
        .take(n)
        .collect()
}

/// Rows needed for `n` panels in at most `cols` columns.
pub fn rows_for(n: usize, cols: usize) -> u32 {
    n.div_ceil(cols.max(1)).max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_keeps_zero_for_bars_and_widens_flat_ranges() {
        assert_eq!(padded(0.0, 0.0, true), (0.0, 1.0));
        let (lo, hi) = padded(2.0, 10.0, true);
        assert_eq!(lo, 0.0);
        assert!(hi > 10.0);
        let (lo, hi) = padded(5.0, 5.0, false);
        assert!(lo < 5.0 && hi > 5.0);
    }

    #[test]
    fn a_chart_renders_to_svg_and_png() {
        let c = render("t", "A title", (300, 200), |a| {
            a.draw(&Text::new("hello", (10, 10), font(14.0)))?;
            Ok(())
        })
        .expect("renders");
        assert!(c.svg.contains("<text"));
        assert!(c.svg.contains("DejaVu Sans, Verdana, sans-serif"));
        assert_eq!(&c.png[1..4], b"PNG");
    }

    #[test]
    fn hover_values_become_svg_titles_over_their_points() {
        let c = render_with_hover("t", "A title", (300, 200), |_| {
            Ok(vec![Hover {
                x: 40,
                y: 50,
                text: "a < b: 7.8%".into(),
            }])
        })
        .expect("renders");
        assert!(c.svg.contains(
            "<circle cx=\"40\" cy=\"50\" r=\"8\" fill=\"#000\" fill-opacity=\"0\"><title>a &lt; b: 7.8%</title></circle>"
        ));
        assert!(c.svg.trim_end().ends_with("</g>\n</svg>"));
    }

    #[test]
    fn thirty_policies_get_thirty_colours() {
        let colours: Vec<_> = (0..30).map(color).collect();
        for (i, a) in colours.iter().enumerate() {
            for (j, b) in colours.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "policies {i} and {j} share a colour");
            }
        }
        assert_eq!(color(0), super::PALETTE[0], "the first ten are the palette");
    }
}
