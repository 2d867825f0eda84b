//! Drawing the dashboard: one function per panel, from the game's published state.

use super::{Input, Mode, KEYS};
use crate::gameday::game::{Action, FeedEvent, Game, Source, State};
use crate::scenario::Scenario;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, RenderDirection, Sparkline};
use ratatui::Frame;
/// What the dashboard draws besides the game.
pub(super) struct Panel<'a> {
    pub(super) scenario: &'a Scenario,
    pub(super) speed: &'a str,
    pub(super) status: &'a str,
    pub(super) input: &'a Input,
}

/// `H:MM:SS`.
pub(super) fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A short span of time: `45s`, `3m05s`, `1h02m`.
pub(super) fn short(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

fn phase_style(phase: &str) -> Style {
    let color = match phase {
        "rolling" | "baking" => Color::Yellow,
        "promoted" => Color::Green,
        "rolling_back" | "rolled_back" => Color::Magenta,
        _ => Color::Gray,
    };
    Style::new().fg(color).add_modifier(Modifier::BOLD)
}

fn kind_style(kind: &str) -> Style {
    match kind {
        "page" => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        "command" => Style::new().fg(Color::Cyan),
        k if k.starts_with("rollback") || k.starts_with("rolled") => {
            Style::new().fg(Color::Magenta)
        }
        k if k.starts_with("promot") => Style::new().fg(Color::Green),
        k if k.starts_with("deploy") || k == "release" => Style::new().fg(Color::Blue),
        _ => Style::new().fg(Color::Gray),
    }
}

/// Draws the whole dashboard.
pub(super) fn render(f: &mut Frame, game: &Game<'_>, panel: &Panel) {
    let s = game.state();
    let area = f.area();
    let open: Vec<_> = s.pages.iter().filter(|p| p.acked_ms.is_none()).collect();
    let page_lines = open.len().min(3) as u16;
    // The sparklines grow with the terminal; the feed takes what is left.
    let spark_h = (area.height.saturating_sub(17) / 3).clamp(1, 4);
    let [header, weight, versions, health, feed, status, help, command] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(3 + 2 * spark_h),
        Constraint::Length(1 + page_lines),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(f, header, &s, panel);
    render_weight(f, weight, &s);
    render_versions(f, versions, game, &s, panel.scenario, spark_h);
    render_health(f, health, &s, &open);
    let [events, actions] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(feed);
    render_feed(f, events, &s.events);
    render_actions(f, actions, &s.actions);
    render_status(f, status, panel);
    render_help(f, help);
    render_command(f, command, panel);
}

fn render_header(f: &mut Frame, area: Rect, s: &State, panel: &Panel) {
    let dim = Style::new().fg(Color::DarkGray);
    let line = Line::from(vec![
        Span::styled(" game day ", Style::new().bold().reversed()),
        Span::raw(" "),
        Span::styled(s.service.clone(), Style::new().bold()),
        Span::styled("  ", dim),
        Span::styled(
            hms((s.game_time_s * 1000.0) as u64),
            Style::new().bold().fg(Color::White),
        ),
        Span::styled(format!(" / {}", hms((s.duration_s * 1000.0) as u64)), dim),
        Span::styled(format!("  {}", panel.speed), dim),
        Span::raw("  phase "),
        Span::styled(s.view.phase, phase_style(s.view.phase)),
        Span::raw(format!("  deploy #{}", s.view.attempt)),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

fn render_weight(f: &mut Frame, area: Rect, s: &State) {
    let mut tags: Vec<Span> = vec![];
    let tag = |text: &'static str, color: Color| {
        Span::styled(text, Style::new().fg(Color::Black).bg(color).bold())
    };
    if s.view.paused {
        tags.push(Span::raw(" "));
        tags.push(tag(" PAUSED ", Color::Yellow));
    }
    if s.view.awaiting_signoff {
        tags.push(Span::raw(" "));
        tags.push(tag(" SIGN-OFF: p promotes ", Color::Cyan));
    }
    tags.push(Span::raw(" flag "));
    tags.push(if s.view.flag_on {
        Span::styled("on", Style::new().fg(Color::Green).bold())
    } else {
        Span::styled("OFF", Style::new().fg(Color::Red).bold())
    });
    let tags = Line::from(tags);
    let [label, gauge, state] = Layout::horizontal([
        Constraint::Length(8),
        Constraint::Min(10),
        Constraint::Length(tags.width() as u16 + 1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(" weight "), label);
    let share = s.view.share_new.clamp(0.0, 1.0);
    f.render_widget(
        Gauge::default()
            .ratio(share)
            .label(format!("{:.0}% new", share * 100.0))
            .use_unicode(true)
            .gauge_style(Style::new().fg(Color::Blue).bg(Color::Black)),
        gauge,
    );
    f.render_widget(Paragraph::new(tags), state);
}

fn pct(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{:.2}%", r * 100.0))
}

fn render_versions(
    f: &mut Frame,
    area: Rect,
    game: &Game<'_>,
    s: &State,
    scenario: &Scenario,
    spark_h: u16,
) {
    let [old_area, new_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    // Room for one bar per scrape: the inner width less the label column.
    let width = old_area.width.saturating_sub(2 + 4) as usize;
    let ticks: Vec<_> = game.history().collect();
    let recent = &ticks[ticks.len().saturating_sub(width)..];
    let errors = |v: usize| -> Vec<Option<u64>> {
        recent
            .iter()
            .map(|t| {
                (t.requests[v] > 0)
                    .then(|| (t.errors[v] as f64 / t.requests[v] as f64 * 10_000.0).round() as u64)
            })
            .collect()
    };
    let p99 = |v: usize| -> Vec<Option<u64>> {
        recent
            .iter()
            .map(|t| t.p99_ms[v].map(|p| p.round() as u64))
            .collect()
    };
    let (errors, p99) = ([errors(0), errors(1)], [p99(0), p99(1)]);
    // One scale for both versions: the larger of what was seen and a little above the SLO.
    let top = |series: &[Vec<Option<u64>>; 2], slo: f64| {
        series
            .iter()
            .flatten()
            .flatten()
            .copied()
            .max()
            .unwrap_or(0)
            .max((slo * 1.25).ceil() as u64)
            .max(1)
    };
    let err_top = top(&errors, scenario.slo.error_rate * 10_000.0);
    let p99_top = top(&p99, scenario.slo.latency_p99_ms);
    for (v, area) in [old_area, new_area].into_iter().enumerate() {
        let (title, vs, color) = if v == 0 {
            (" old (stable) ", &s.old, Color::Green)
        } else {
            (" new (release) ", &s.new, Color::Blue)
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::new().fg(Color::DarkGray))
            .title(Span::styled(title, Style::new().fg(color).bold()));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [numbers, err_row, p99_row] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(spark_h),
            Constraint::Length(spark_h),
        ])
        .areas(inner);
        let over = |bad: bool| {
            if bad {
                Style::new().fg(Color::Red).bold()
            } else {
                Style::new().bold()
            }
        };
        let err_bad = vs
            .error_rate_1m
            .is_some_and(|r| r > scenario.slo.error_rate);
        let p99_bad = vs.p99_ms.is_some_and(|p| p > scenario.slo.latency_p99_ms);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::raw("err 1m "),
                Span::styled(pct(vs.error_rate_1m), over(err_bad)),
                Span::raw("  p99 "),
                Span::styled(
                    vs.p99_ms.map_or("-".into(), |p| format!("{p:.0}ms")),
                    over(p99_bad),
                ),
                Span::styled(
                    format!("  {} req", vs.requests_total),
                    Style::new().fg(Color::DarkGray),
                ),
            ])),
            numbers,
        );
        for (row, label, data, max, color) in [
            (err_row, "err", &errors[v], err_top, Color::Red),
            (p99_row, "p99", &p99[v], p99_top, Color::Yellow),
        ] {
            let [l, spark] =
                Layout::horizontal([Constraint::Length(4), Constraint::Min(1)]).areas(row);
            f.render_widget(Paragraph::new(label).fg(Color::DarkGray), l);
            // The latest scrape at the right edge.
            f.render_widget(
                Sparkline::default()
                    .data(data.iter().rev())
                    .direction(RenderDirection::RightToLeft)
                    .max(max)
                    .style(Style::new().fg(color)),
                spark,
            );
        }
    }
}

fn render_health(f: &mut Frame, area: Rect, s: &State, open: &[&crate::sim::LivePage]) {
    let acked = s.pages.len() - open.len();
    let mut first = vec![
        Span::raw(" health checks "),
        Span::styled(
            format!("{} passed", s.health_checks_passed),
            Style::new().fg(Color::Green),
        ),
        Span::raw("  "),
        Span::styled(
            format!("{} failed", s.health_checks_failed),
            if s.health_checks_failed > 0 {
                Style::new().fg(Color::Red)
            } else {
                Style::new().fg(Color::DarkGray)
            },
        ),
        Span::raw("   pages "),
    ];
    if open.is_empty() {
        first.push(Span::styled("none open", Style::new().fg(Color::DarkGray)));
    } else {
        first.push(Span::styled(
            format!("{} OPEN (a acks)", open.len()),
            Style::new().fg(Color::Red).bold(),
        ));
    }
    if acked > 0 {
        first.push(Span::styled(
            format!(", {acked} acked"),
            Style::new().fg(Color::DarkGray),
        ));
    }
    let now_ms = (s.game_time_s * 1000.0) as u64;
    let mut lines = vec![Line::from(first)];
    let alarm = Style::new().fg(Color::White).bg(Color::Red).bold();
    for (i, p) in open.iter().enumerate().take(3) {
        let more = if i == 2 && open.len() > 3 {
            format!("  (+{} more)", open.len() - 3)
        } else {
            String::new()
        };
        lines.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(
                format!(
                    " PAGE #{}  {}  open {} (since {}){more} ",
                    p.id,
                    p.about,
                    short(now_ms.saturating_sub(p.at_ms)),
                    hms(p.at_ms)
                ),
                alarm,
            ),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn titled(title: &'static str) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::DarkGray))
        .title(Span::styled(title, Style::new().bold()))
}

fn render_feed(f: &mut Frame, area: Rect, events: &[FeedEvent]) {
    let block = titled(" events ");
    let rows = block.inner(area).height as usize;
    let lines: Vec<Line> = events[events.len().saturating_sub(rows)..]
        .iter()
        .map(|e| {
            Line::from(vec![
                Span::styled(
                    hms((e.t_s * 1000.0) as u64),
                    Style::new().fg(Color::DarkGray),
                ),
                Span::raw(" "),
                Span::styled(format!("{:<12}", e.kind), kind_style(e.kind)),
                Span::raw(" "),
                Span::raw(e.detail.clone()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_actions(f: &mut Frame, area: Rect, actions: &[Action]) {
    let block = titled(" team actions ");
    let rows = block.inner(area).height as usize;
    let lines: Vec<Line> = if actions.is_empty() {
        vec![Line::styled("none yet", Style::new().fg(Color::DarkGray))]
    } else {
        actions[actions.len().saturating_sub(rows)..]
            .iter()
            .map(|a| {
                let what = match &a.fault {
                    Some(fault) => format!("{} {fault}", a.action),
                    None => a.action.to_string(),
                };
                let (mark, style) = if a.done {
                    ("✓", Style::new().fg(Color::Green))
                } else {
                    ("✗", Style::new().fg(Color::Red))
                };
                let via = match a.source {
                    Source::Http => " (http)",
                    _ => "",
                };
                Line::from(vec![
                    Span::styled(hms(a.at_ms), Style::new().fg(Color::DarkGray)),
                    Span::raw(" "),
                    Span::styled(mark, style),
                    Span::raw(" "),
                    Span::styled(format!("{what}{via}"), Style::new().bold()),
                    Span::raw(": "),
                    Span::styled(a.detail.clone(), Style::new().fg(Color::Gray)),
                ])
            })
            .collect()
    };
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_status(f: &mut Frame, area: Rect, panel: &Panel) {
    let line = match &panel.input.note {
        Some(n) if n.error => Line::styled(format!(" {}", n.text), Style::new().fg(Color::Red)),
        Some(n) => Line::styled(format!(" {}", n.text), Style::new().fg(Color::Green)),
        None => Line::styled(
            format!(" {}", panel.status),
            Style::new().fg(Color::DarkGray),
        ),
    };
    f.render_widget(Paragraph::new(line), area);
}

fn render_help(f: &mut Frame, area: Rect) {
    let mut spans = vec![];
    for (key, what) in KEYS {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            *key,
            Style::new().fg(Color::Black).bg(Color::Gray).bold(),
        ));
        spans.push(Span::styled(
            format!(" {what}"),
            Style::new().fg(Color::Gray),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_command(f: &mut Frame, area: Rect, panel: &Panel) {
    match &panel.input.mode {
        Mode::Typing(text) => {
            let line = Line::from(vec![
                Span::styled(" : ", Style::new().fg(Color::Yellow).bold()),
                Span::raw(text.clone()),
            ]);
            let x = area.x + line.width() as u16;
            f.render_widget(Paragraph::new(line), area);
            f.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        }
        Mode::ConfirmQuit => f.render_widget(
            Paragraph::new(Line::styled(
                " End the game now and score it? y / n",
                Style::new().fg(Color::Yellow).bold(),
            )),
            area,
        ),
        Mode::Keys => {
            let faults: Vec<&str> = panel
                .scenario
                .faults
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            let hint = if faults.is_empty() {
                " : then e.g. advance 10m, flag off, end".to_string()
            } else {
                format!(
                    " : then e.g. inject {} 5m, advance 10m, flag off (faults: {})",
                    faults[0],
                    faults.join(", ")
                )
            };
            f.render_widget(
                Paragraph::new(Line::styled(hint, Style::new().fg(Color::DarkGray))),
                area,
            );
        }
    }
}
