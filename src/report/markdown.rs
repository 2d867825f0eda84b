//! `report.md`: the same report for design documents and pull requests. Charts are
//! referenced as the PNG files written beside it (`charts/<id>.png`, with the SVG linked),
//! so the file pastes into any Markdown renderer.

use super::builder::{Doc, Table};

/// Escapes a table cell: pipes would end the cell, newlines the row.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(t: &Table, out: &mut String) {
    let cols = t.header.len().max(t.rows.first().map_or(0, Vec::len));
    if cols == 0 {
        return;
    }
    let header: Vec<String> = (0..cols)
        .map(|i| cell(t.header.get(i).map(String::as_str).unwrap_or("")))
        .collect();
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(cols)));
    for r in &t.rows {
        let cells: Vec<String> = (0..cols)
            .map(|i| cell(r.get(i).map(String::as_str).unwrap_or("")))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
}

/// The whole report as Markdown.
pub(crate) fn render(doc: &Doc) -> String {
    let mut o = format!("# {}\n\n", doc.title);
    for (k, v) in &doc.facts {
        o.push_str(&format!("- **{k}:** `{}`\n", v.replace('`', "'")));
    }
    o.push('\n');
    for s in &doc.sections {
        o.push_str(&format!("## {}\n\n", s.heading));
        for p in &s.text {
            o.push_str(&format!("{p}\n\n"));
        }
        if let Some(c) = &s.chart {
            for f in &c.findings {
                o.push_str(&format!("- {f}\n"));
            }
            if !c.findings.is_empty() {
                o.push('\n');
            }
            o.push_str(&format!(
                "![{}](charts/{}.png)\n\n([SVG](charts/{}.svg))\n\n",
                c.title.replace(['[', ']'], ""),
                c.id,
                c.id
            ));
        }
        if let Some(t) = &s.table {
            table(t, &mut o);
        }
    }
    if let Some(text) = &doc.scenario_text {
        let fence = if text.contains("```") { "~~~~" } else { "```" };
        o.push_str(&format!(
            "## Scenario\n\n{fence}toml\n{}\n{fence}\n",
            text.trim_end()
        ));
    }
    o
}
