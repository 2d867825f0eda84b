//! A legend strip drawn above the panels of a chart: one swatch and label per item,
//! wrapped onto as many rows as the width needs, so that panels sharing colours share one
//! legend and no label is ever cut or drawn over data.

use super::{font, text_width, Area, DrawResult, INK};
use plotters::prelude::*;

/// How an item is drawn in the legend, matching how it is drawn in the panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A filled square: bars, heat-map cells.
    Box,
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
    /// A filled circle: observed points.
    Dot,
    /// A line over a light band: a mean with its confidence band.
    Band,
    /// A vertical line: an event marker.
    Tick,
    /// A light shaded square: a time window.
    Shade,
    /// A hollow circle: a point off the Pareto front.
    Ring,
    /// A diamond: a reference such as the oracle.
    Diamond,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub struct LegendItem {
    pub label: String,
    pub color: RGBColor,
    pub mark: Mark,
}

impl LegendItem {
    /// An entry with a label, a colour and a mark.
    pub fn new(label: impl Into<String>, color: RGBColor, mark: Mark) -> Self {
        LegendItem {
            label: label.into(),
            color,
            mark,
        }
    }
}

const ROW: i32 = 24;
const SWATCH: i32 = 26;
const GAP: i32 = 22;
const SIZE: f64 = 15.0;

/// Places items left to right, wrapping at `width`: (row, x) per item.
fn layout(items: &[LegendItem], width: i32) -> Vec<(i32, i32)> {
    let f = font(SIZE);
    let mut out = Vec::with_capacity(items.len());
    let (mut row, mut x) = (0, 0);
    for it in items {
        let w = SWATCH + 6 + text_width(&it.label, &f);
        if x > 0 && x + w > width {
            row += 1;
            x = 0;
        }
        out.push((row, x));
        x += w + GAP;
    }
    out
}

/// The height in pixels the legend of `items` needs at `width` pixels.
pub fn legend_height(items: &[LegendItem], width: u32) -> u32 {
    let rows = layout(items, width as i32)
        .last()
        .map(|(r, _)| r + 1)
        .unwrap_or(0);
    (rows * ROW + 6) as u32
}

/// Draws the legend into `area` (as tall as [`legend_height`] says), centred per row.
pub fn draw_legend(area: &Area<'_>, items: &[LegendItem]) -> DrawResult<()> {
    let (w, _) = area.dim_in_pixel();
    let places = layout(items, w as i32);
    let f = font(SIZE);
    // Centre each row: find its width from its last item.
    let rows = places.last().map(|(r, _)| r + 1).unwrap_or(0);
    let mut offsets = vec![0; rows as usize];
    for r in 0..rows {
        let last = places
            .iter()
            .zip(items)
            .filter(|((row, _), _)| *row == r)
            .map(|((_, x), it)| x + SWATCH + 6 + text_width(&it.label, &f))
            .max()
            .unwrap_or(0);
        offsets[r as usize] = ((w as i32 - last) / 2).max(0);
    }
    for ((row, x), it) in places.iter().zip(items) {
        let x = x + offsets[*row as usize];
        let y = row * ROW + ROW / 2;
        let c = it.color;
        match it.mark {
            Mark::Box => area.draw(&Rectangle::new(
                [(x + 4, y - 7), (x + SWATCH - 4, y + 7)],
                c.filled(),
            ))?,
            Mark::Shade => area.draw(&Rectangle::new(
                [(x + 2, y - 8), (x + SWATCH - 2, y + 8)],
                c.mix(0.25).filled(),
            ))?,
            Mark::Line => area.draw(&PathElement::new(
                vec![(x, y), (x + SWATCH, y)],
                c.stroke_width(3),
            ))?,
            Mark::Dashed => {
                for i in 0..3 {
                    let x0 = x + i * 10;
                    area.draw(&PathElement::new(
                        vec![(x0, y), (x0 + 6, y)],
                        c.stroke_width(2),
                    ))?;
                }
            }
            Mark::Dot => area.draw(&Circle::new((x + SWATCH / 2, y), 4, c.filled()))?,
            Mark::Ring => area.draw(&Circle::new((x + SWATCH / 2, y), 5, c.stroke_width(2)))?,
            Mark::Band => {
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + SWATCH, y + 7)],
                    c.mix(0.2).filled(),
                ))?;
                area.draw(&PathElement::new(
                    vec![(x, y), (x + SWATCH, y)],
                    c.stroke_width(3),
                ))?;
            }
            Mark::Diamond => {
                let (cx, r) = (x + SWATCH / 2, 7);
                area.draw(&Polygon::new(
                    vec![(cx, y - r), (cx + r, y), (cx, y + r), (cx - r, y)],
                    c.filled(),
                ))?
            }
            Mark::Tick => area.draw(&PathElement::new(
                vec![(x + SWATCH / 2, y - 9), (x + SWATCH / 2, y + 9)],
                c.stroke_width(2),
            ))?,
        }
        area.draw(&Text::new(
            it.label.clone(),
            (x + SWATCH + 6, y),
            f.color(&INK).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_legend_wraps_into_rows_whose_entries_never_overlap() {
        // The sweep chart of controllers.toml: eleven policies and the constraint.
        let names = [
            "none (not swept)",
            "oracle (not swept)",
            "alert-rule-2pct (not swept)",
            "argo-fl3 (not swept)",
            "argo-step-analyses (not swept)",
            "argo-band (not swept)",
            "flagger (not swept)",
            "kayenta (not swept)",
            "burn-rate-page (not swept)",
            "ecs-breaker (not swept)",
            "sequential (mean, 95% band)",
            "constraint",
        ];
        let items: Vec<LegendItem> = names
            .iter()
            .map(|n| LegendItem::new(*n, INK, Mark::Tick))
            .collect();
        let width = 976;
        let places = layout(&items, width);
        let f = font(SIZE);
        let ends: Vec<i32> = places
            .iter()
            .zip(&items)
            .map(|((_, x), it)| x + SWATCH + 6 + text_width(&it.label, &f))
            .collect();
        for (k, ((row, x), end)) in places.iter().zip(&ends).enumerate() {
            assert!(*end <= width, "{} runs past the width", names[k]);
            if let Some(((next_row, next_x), _)) = places.iter().zip(&ends).nth(k + 1) {
                assert!(
                    next_row > row || *next_x >= end + GAP,
                    "{} overlaps",
                    names[k]
                );
            }
            assert!(*x >= 0);
        }
        let rows = places.last().map_or(0, |p| p.0 + 1);
        assert!(
            rows >= 3,
            "{rows} rows for {} pixels of labels",
            ends.iter().sum::<i32>()
        );
        assert_eq!(legend_height(&items, width as u32), (rows * ROW + 6) as u32);
    }
}
