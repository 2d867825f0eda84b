//! `report.html`: one self-contained file (inline CSS and SVG, no script, no network), so
//! it can be mailed, attached to a ticket or opened offline and look the same.

use super::builder::{Doc, Table};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Verdana, system-ui, sans-serif; color: #333; margin: 0;
       background: #fafafa; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.6em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace;
              font-size: 0.9em; word-break: break-all; }
ul.findings { background: #f3f7fb; border-left: 4px solid #4e79a7; padding: 8px 12px 8px 32px; }
figure { margin: 12px 0; }
figure svg { display: block; max-width: 100%; height: auto; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.88em; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 10px; overflow-x: auto;
      font-size: 0.85em; }
@media (max-width: 700px) {
  main { padding: 12px 12px 48px; }
  h1 { font-size: 1.3em; }
  /* A chart shrunk to a phone's width has unreadable labels: keep it at a legible size
     and let it scroll sideways instead. */
  figure { overflow-x: auto; }
  figure svg { max-width: none; width: 680px; }
  dl.facts { grid-template-columns: 1fr; }
}
";

/// An SVG document made fit to sit inside HTML: the XML namespace attribute is implied
/// there (and is a URL a reader might take for a network reference), and the picture
/// scales down with the page.
pub(crate) fn inline_svg(svg: &str, title: &str) -> String {
    let s = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    s.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(title)),
        1,
    )
}

fn looks_numeric(s: &str) -> bool {
    let t = s.trim_start_matches(['-', '+']);
    t.chars().next().is_some_and(|c| c.is_ascii_digit()) || s == "-"
}

fn table(t: &Table, out: &mut String) {
    out.push_str("<div class=\"scroll\"><table>\n");
    if t.header.iter().any(|h| !h.is_empty()) {
        out.push_str("<thead><tr>");
        for h in &t.header {
            out.push_str(&format!("<th>{}</th>", esc(h)));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if i > 0 && looks_numeric(c) {
                out.push_str(&format!("<td class=\"num\">{}</td>", esc(c)));
            } else {
                out.push_str(&format!("<td>{}</td>", esc(c)));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

/// The whole report as one HTML page.
pub(crate) fn render(doc: &Doc) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str(&format!("<title>{}</title>\n", esc(&doc.title)));
    o.push_str(&format!(
        "<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    ));
    o.push_str(&format!("<h1>{}</h1>\n", esc(&doc.title)));
    if !doc.facts.is_empty() {
        o.push_str("<dl class=\"facts\">\n");
        for (k, v) in &doc.facts {
            o.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(v)));
        }
        o.push_str("</dl>\n");
    }
    for s in &doc.sections {
        o.push_str(&format!("<section>\n<h2>{}</h2>\n", esc(&s.heading)));
        for p in &s.text {
            o.push_str(&format!("<p>{}</p>\n", esc(p)));
        }
        if let Some(c) = &s.chart {
            if !c.findings.is_empty() {
                o.push_str("<ul class=\"findings\">\n");
                for f in &c.findings {
                    o.push_str(&format!("<li>{}</li>\n", esc(f)));
                }
                o.push_str("</ul>\n");
            }
            o.push_str(&format!(
                "<figure id=\"{}\">\n{}</figure>\n",
                esc(&c.id),
                inline_svg(&c.svg, &c.title)
            ));
        }
        if let Some(t) = &s.table {
            table(t, &mut o);
        }
        o.push_str("</section>\n");
    }
    if let Some(text) = &doc.scenario_text {
        o.push_str("<section>\n<h2>Scenario</h2>\n");
        o.push_str(&format!("<pre>{}</pre>\n</section>\n", esc(text)));
    }
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_svg_drops_the_namespace_url_and_escapes_the_title() {
        let s = inline_svg(
            "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>",
            "a < b",
        );
        assert!(!s.contains("http"));
        assert!(s.starts_with("<svg role=\"img\" aria-label=\"a &lt; b\" width="));
    }
}
