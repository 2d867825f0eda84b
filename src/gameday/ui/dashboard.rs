//! The terminal dashboard: the game on one screen, steered by single keys or typed
//! commands.
//!
//! Panels, top to bottom: the header (service, game time / duration, speed, phase,
//! deploy attempt, then the rollout weight as a gauge and the paused / sign-off / flag
//! state); each version's error rate of the last minute and scraped p99, with sparklines
//! over the recent scrapes; the health checks and the open pages (how long each has been
//! open); the event feed (latest at the bottom) beside the team's actions and their
//! results; a status line; the key help; the command line.
//!
//! Keys:
//!
//! | key      | does                                                       |
//! |----------|------------------------------------------------------------|
//! | `r`      | roll back                                                  |
//! | `p`      | promote (also signs off a promotion that waits for it)     |
//! | `s`      | pause the rollout                                          |
//! | `c`      | resume (continue) the rollout                              |
//! | `a`      | acknowledge the open pages                                 |
//! | `f`      | toggle the feature flag                                    |
//! | `d`      | deploy the release again (after a rollback)                |
//! | `:`      | the command line: the grammar of [`crate::gameday::console`] (`inject db-slow 5m`, `advance 10m`, `flag off`, ...); Enter sends, Esc cancels |
//! | `q`      | end the game, after a y/n confirmation                     |
//! | `Ctrl-C` | end the game now                                           |
//!
//! Keys are read on their own thread and sent to the game loop like any other request;
//! the engine writes a `command` event for each, so results show up in the feed (and in
//! the status line). The terminal is put back (raw mode off, main screen) in
//! [`Ui::stop`], when the dashboard is dropped, and before a panic message is printed.

use super::{LogUi, Ui};
use crate::gameday::game::{Action, FeedEvent, Game, Source, State};
use crate::gameday::runtime::{Reply, Request, ToGame};
use crate::scenario::Scenario;
use crate::sim::command::Command;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, RenderDirection, Sparkline};
use ratatui::{Frame, Terminal};
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The key help line.
const KEYS: &[(&str, &str)] = &[
    ("r", "rollback"),
    ("p", "promote"),
    ("s", "pause"),
    ("c", "resume"),
    ("a", "ack"),
    ("f", "flag"),
    ("d", "deploy"),
    (":", "command"),
    ("q", "quit"),
];

/// Least wall time between two redraws.
const REDRAW: Duration = Duration::from_millis(50);

/// How long a command's result stays in the status line.
const NOTE_FOR: Duration = Duration::from_secs(10);

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Mode {
    /// Single keys act.
    #[default]
    Keys,
    /// A command is being typed after `:`.
    Typing(String),
    /// `q` was pressed: y ends the game.
    ConfirmQuit,
}

/// A message for the status line: a command's result, or why a line did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Note {
    text: String,
    error: bool,
    at: Instant,
}

/// The keyboard's state, shared by the key thread and the renderer.
#[derive(Debug, Default)]
struct Input {
    mode: Mode,
    note: Option<Note>,
}

impl Input {
    fn note(&mut self, text: impl Into<String>, error: bool) {
        self.note = Some(Note {
            text: text.into(),
            error,
            at: Instant::now(),
        });
    }
}

/// What one key press asks of the game (and what it does to the keyboard's state).
/// `flag_on` is the feature flag as last seen, for `f`.
fn on_key(input: &mut Input, scenario: &Scenario, key: KeyEvent, flag_on: bool) -> Option<Request> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        input.mode = Mode::Keys;
        return Some(Request::End);
    }
    let command = |c| Some(Request::Command(c, Source::Console));
    match &mut input.mode {
        Mode::Keys => match key.code {
            KeyCode::Char(k) => match k.to_ascii_lowercase() {
                'r' => command(Command::Rollback),
                'p' => command(Command::Promote),
                's' => command(Command::Pause),
                'c' => command(Command::Resume),
                'a' => command(Command::Ack),
                'f' => command(Command::Flag { on: !flag_on }),
                'd' => command(Command::Deploy),
                ':' => {
                    input.mode = Mode::Typing(String::new());
                    input.note = None;
                    None
                }
                'q' => {
                    input.mode = Mode::ConfirmQuit;
                    None
                }
                other => {
                    input.note(
                        format!("key {other:?} does nothing; `:` opens the command line"),
                        true,
                    );
                    None
                }
            },
            KeyCode::Esc => {
                input.note = None;
                None
            }
            _ => None,
        },
        Mode::Typing(line) => match key.code {
            KeyCode::Char(ch) => {
                line.push(ch);
                None
            }
            KeyCode::Backspace => {
                if line.pop().is_none() {
                    input.mode = Mode::Keys;
                }
                None
            }
            KeyCode::Esc => {
                input.mode = Mode::Keys;
                input.note = None;
                None
            }
            KeyCode::Enter if line.trim().is_empty() => {
                input.mode = Mode::Keys;
                None
            }
            KeyCode::Enter => match ToGame::typed(scenario, line) {
                Ok(msg) => {
                    input.mode = Mode::Keys;
                    input.note = None;
                    Some(msg.request)
                }
                // The line stays, to be corrected.
                Err(e) => {
                    input.note(e, true);
                    None
                }
            },
            _ => None,
        },
        Mode::ConfirmQuit => {
            input.mode = Mode::Keys;
            match key.code {
                KeyCode::Char('y' | 'Y') => Some(Request::End),
                _ => {
                    input.note("still playing", false);
                    None
                }
            }
        }
    }
}

/// What the key thread and the dashboard share.
#[derive(Default)]
struct Shared {
    input: Mutex<Input>,
    flag_on: AtomicBool,
    stop: AtomicBool,
}

impl Shared {
    fn input(&self) -> std::sync::MutexGuard<'_, Input> {
        self.input.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sends `request` and waits for its answer, giving up when the dashboard stops (the game
/// loop may have ended with the request still queued).
fn send(shared: &Shared, to_game: &mpsc::Sender<ToGame>, request: Request) -> Option<Reply> {
    let (tx, mut rx) = oneshot::channel();
    let mut msg = ToGame {
        request,
        reply: Some(tx),
    };
    loop {
        match to_game.try_send(msg) {
            Ok(()) => break,
            Err(mpsc::error::TrySendError::Full(back)) if !shared.stop.load(Ordering::SeqCst) => {
                msg = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
    loop {
        match rx.try_recv() {
            Ok(reply) => return Some(reply),
            Err(oneshot::error::TryRecvError::Empty) if !shared.stop.load(Ordering::SeqCst) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
}

/// The key thread: reads keys until the dashboard stops or the game is gone.
fn read_keys(shared: Arc<Shared>, scenario: Scenario, to_game: mpsc::Sender<ToGame>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match event::poll(Duration::from_millis(100)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => break,
        }
        let key = match event::read() {
            Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => key,
            Ok(_) => continue,
            Err(_) => break,
        };
        let flag_on = shared.flag_on.load(Ordering::SeqCst);
        let Some(request) = on_key(&mut shared.input(), &scenario, key, flag_on) else {
            continue;
        };
        match send(&shared, &to_game, request) {
            Some(Reply::Applied(applied, at_ms)) => {
                let Request::Command(c, _) = request else {
                    continue;
                };
                if let Command::Flag { on } = c {
                    shared.flag_on.store(on, Ordering::SeqCst);
                }
                shared.input().note(
                    format!("{} {}: {}", hms(at_ms), c.name(), applied.detail),
                    !applied.done,
                );
            }
            Some(Reply::Now(at_ms)) => {
                if let Request::Advance(_) = request {
                    shared
                        .input()
                        .note(format!("advanced to {}", hms(at_ms)), false);
                }
            }
            None => {
                if to_game.is_closed() {
                    break;
                }
            }
        }
    }
}

static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Raw mode off, main screen, cursor shown; once, however many callers.
fn restore_terminal() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
    }
}

/// The terminal in raw mode on the alternate screen until this is dropped (also when
/// unwinding); a panic message is printed after the terminal is put back.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_terminal();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The terminal dashboard (used when stdout is a terminal, unless `--no-dashboard`).
pub struct Dashboard {
    scenario: Scenario,
    speed: String,
    shared: Arc<Shared>,
    status: String,
    terminal: Option<Terminal<CrosstermBackend<Stdout>>>,
    guard: Option<TerminalGuard>,
    keys: Option<JoinHandle<()>>,
    last_draw: Option<Instant>,
    /// Plain log lines if the terminal cannot be taken over.
    fallback: Option<LogUi>,
}

impl Dashboard {
    /// `speed`: how the header shows the pace ("600x", "virtual").
    pub fn new(scenario: &Scenario, speed: impl Into<String>) -> Self {
        Dashboard {
            scenario: scenario.clone(),
            speed: speed.into(),
            shared: Arc::default(),
            status: String::new(),
            terminal: None,
            guard: None,
            keys: None,
            last_draw: None,
            fallback: None,
        }
    }

    fn take_over(&mut self) -> io::Result<()> {
        let guard = TerminalGuard::enter()?;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        terminal.clear()?;
        self.guard = Some(guard);
        self.terminal = Some(terminal);
        Ok(())
    }
}

impl Ui for Dashboard {
    fn start(&mut self, to_game: mpsc::Sender<ToGame>) {
        if let Err(e) = self.take_over() {
            self.terminal = None;
            self.guard = None;
            eprintln!("cannot draw the dashboard ({e}); plain log lines instead");
            let mut log = LogUi::new(&self.scenario, true);
            log.start(to_game);
            self.fallback = Some(log);
            return;
        }
        let shared = self.shared.clone();
        let scenario = self.scenario.clone();
        self.keys = Some(std::thread::spawn(move || {
            read_keys(shared, scenario, to_game)
        }));
    }

    fn frame(&mut self, game: &Game<'_>) {
        if let Some(log) = &mut self.fallback {
            return log.frame(game);
        }
        self.shared
            .flag_on
            .store(game.view().flag_on, Ordering::SeqCst);
        let Some(terminal) = &mut self.terminal else {
            return;
        };
        if self.last_draw.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let mut input = self.shared.input();
        if input
            .note
            .as_ref()
            .is_some_and(|n| n.at.elapsed() > NOTE_FOR)
        {
            input.note = None;
        }
        let panel = Panel {
            scenario: &self.scenario,
            speed: &self.speed,
            status: &self.status,
            input: &input,
        };
        let _ = terminal.draw(|f| render(f, game, &panel));
    }

    fn say(&mut self, line: &str) {
        if let Some(log) = &mut self.fallback {
            return log.say(line);
        }
        // Before the start and after the stop, the main screen shows it too.
        if self.terminal.is_none() {
            eprintln!("{line}");
        }
        self.status = line.to_string();
        self.last_draw = None;
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(keys) = self.keys.take() {
            let _ = keys.join();
        }
        if let Some(mut terminal) = self.terminal.take() {
            let _ = terminal.backend_mut().flush();
        }
        self.guard = None;
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the dashboard draws besides the game.
struct Panel<'a> {
    scenario: &'a Scenario,
    speed: &'a str,
    status: &'a str,
    input: &'a Input,
}

/// `H:MM:SS`.
fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A short span of time: `45s`, `3m05s`, `1h02m`.
fn short(ms: u64) -> String {
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
fn render(f: &mut Frame, game: &Game<'_>, panel: &Panel) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gameday::team_spec;
    use crate::scenario::parse;
    use crate::sim::{Prepared, World};
    use ratatui::backend::TestBackend;

    /// A release that is bad for sure, a rollout that takes its time, a rule that pages.
    const SCENARIO: &str = r#"
[simulation]
duration = "2h"
scrape_interval = "15s"

[service]
name = "checkout"
request_rate = 40.0
baseline_error_rate = 0.002
latency_p50 = "60ms"
latency_p99 = "300ms"
replicas = 8

[slo]
error_rate = 0.01
latency_p99 = "800ms"

[release]
at = "10m"
bad_probability = 1.0
bake = "30m"

[release.bad]
error_rate = 0.2

[rollout]
strategy = "canary"
steps = [
  { weight = 10, pause = "30m" },
  { weight = 50, pause = "30m" },
  { weight = 100 },
]

[[faults]]
name = "db-slow"
kind = "infra_latency"
at = "100m"
duration = "5m"
latency_factor = 2.0

[[policies]]
name = "error-rate-2pct"
kind = "threshold"
error_rate_above = 0.02
window = "5m"
for = "1m"
"#;

    fn scenario() -> Scenario {
        parse(SCENARIO, "t.toml").expect("a valid scenario")
    }

    fn panel<'a>(scenario: &'a Scenario, input: &'a Input) -> Panel<'a> {
        Panel {
            scenario,
            speed: "600x",
            status: "listening on http://127.0.0.1:9184",
            input,
        }
    }

    /// The screen as text, one line per row.
    fn screen(game: &Game<'_>, panel: &Panel, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| render(f, game, panel)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..height {
            for x in 0..width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn the_dashboard_shows_the_game_as_it_goes() {
        let s = scenario();
        let prepared = Prepared::new(&s);
        let world = World::for_run(&s, 7, 0);
        let team = team_spec(&s, Some(0));
        let mut game = Game::new(&prepared, &world, &team);
        let input = Input::default();

        game.advance_to(5 * 60_000);
        let text = screen(&game, &panel(&s, &input), 120, 40);
        assert!(text.contains("checkout"), "{text}");
        assert!(text.contains("0:05:00 / 2:00:00"), "{text}");
        assert!(text.contains("600x"), "{text}");
        assert!(text.contains("phase not_deployed"), "{text}");
        assert!(text.contains("0% new"), "{text}");
        assert!(text.contains("pages none open"), "{text}");
        assert!(
            text.contains("listening on http://127.0.0.1:9184"),
            "{text}"
        );
        for (key, what) in KEYS {
            assert!(text.contains(&format!("{key} {what}")), "{key}: {text}");
        }

        // The bad release at 10% pages the team through the threshold rule.
        game.advance_to(30 * 60_000);
        let text = screen(&game, &panel(&s, &input), 120, 40);
        assert!(text.contains("phase rolling"), "{text}");
        assert!(text.contains("10% new"), "{text}");
        assert!(text.contains("deploy #1"), "{text}");
        assert!(text.contains("PAGE #1  rule fired  open "), "{text}");
        assert!(text.contains("1 OPEN (a acks)"), "{text}");
        assert!(text.contains("page         rule fired"), "{text}");
        let latest = game.feed().last().unwrap();
        assert!(text.contains(&latest.detail), "{latest:?}\n{text}");

        // A command: its result in the feed and among the actions; the page acked.
        game.apply(Command::Pause, Source::Console);
        game.apply(Command::Ack, Source::Console);
        let text = screen(&game, &panel(&s, &input), 120, 40);
        assert!(text.contains("PAUSED"), "{text}");
        assert!(text.contains("✓ pause: rollout paused"), "{text}");
        assert!(text.contains("pages none open, 1 acked"), "{text}");
        assert!(!text.contains("PAGE #1"), "{text}");
        assert!(text.contains("command"), "{text}");

        game.apply(Command::Rollback, Source::Http);
        game.advance_to(40 * 60_000);
        let text = screen(&game, &panel(&s, &input), 120, 40);
        assert!(text.contains("phase rolled_back"), "{text}");
        assert!(text.contains("rollback (http): "), "{text}");
    }

    #[test]
    fn a_small_terminal_still_shows_the_essentials() {
        let s = scenario();
        let prepared = Prepared::new(&s);
        let world = World::for_run(&s, 7, 0);
        let team = team_spec(&s, Some(0));
        let mut game = Game::new(&prepared, &world, &team);
        game.advance_to(30 * 60_000);
        let input = Input {
            mode: Mode::Typing("inject db-slow 5m".into()),
            note: None,
        };
        let text = screen(&game, &panel(&s, &input), 80, 24);
        assert!(text.contains("phase rolling"), "{text}");
        assert!(text.contains("10% new"), "{text}");
        assert!(text.contains("PAGE #1"), "{text}");
        assert!(text.contains("q quit"), "{text}");
        assert!(text.contains(" : inject db-slow 5m"), "{text}");
        // Even a tiny one does not panic.
        screen(&game, &panel(&s, &input), 20, 5);
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn press(input: &mut Input, s: &Scenario, code: KeyCode) -> Option<Request> {
        on_key(input, s, key(code), true)
    }

    #[test]
    fn single_keys_map_to_commands() {
        let s = scenario();
        let mut input = Input::default();
        let console = |c| Some(Request::Command(c, Source::Console));
        for (k, c) in [
            ('r', Command::Rollback),
            ('p', Command::Promote),
            ('s', Command::Pause),
            ('c', Command::Resume),
            ('a', Command::Ack),
            ('d', Command::Deploy),
            ('f', Command::Flag { on: false }),
        ] {
            assert_eq!(press(&mut input, &s, KeyCode::Char(k)), console(c), "{k}");
            assert_eq!(input.mode, Mode::Keys);
        }
        assert_eq!(
            on_key(&mut input, &s, key(KeyCode::Char('f')), false),
            console(Command::Flag { on: true })
        );
        assert_eq!(press(&mut input, &s, KeyCode::Char('x')), None);
        assert!(input.note.as_ref().is_some_and(|n| n.error));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(on_key(&mut input, &s, ctrl_c, true), Some(Request::End));
    }

    #[test]
    fn quitting_asks_first() {
        let s = scenario();
        let mut input = Input::default();
        assert_eq!(press(&mut input, &s, KeyCode::Char('q')), None);
        assert_eq!(input.mode, Mode::ConfirmQuit);
        assert_eq!(press(&mut input, &s, KeyCode::Char('n')), None);
        assert_eq!(input.mode, Mode::Keys);
        press(&mut input, &s, KeyCode::Char('q'));
        assert_eq!(
            press(&mut input, &s, KeyCode::Char('y')),
            Some(Request::End)
        );
        assert_eq!(input.mode, Mode::Keys);
    }

    #[test]
    fn the_command_line_takes_the_console_grammar() {
        let s = scenario();
        let mut input = Input::default();
        let typed = |input: &mut Input, text: &str| {
            press(input, &s, KeyCode::Char(':'));
            for ch in text.chars() {
                assert_eq!(press(input, &s, KeyCode::Char(ch)), None);
            }
            press(input, &s, KeyCode::Enter)
        };
        assert_eq!(
            typed(&mut input, "inject db-slow 5m"),
            Some(Request::Command(
                Command::Inject {
                    fault: 0,
                    duration_ms: 300_000
                },
                Source::Console
            ))
        );
        assert_eq!(input.mode, Mode::Keys);
        assert_eq!(
            typed(&mut input, "advance 10m"),
            Some(Request::Advance(600_000))
        );
        // Keys are text while typing: `r` does not roll back.
        press(&mut input, &s, KeyCode::Char(':'));
        assert_eq!(press(&mut input, &s, KeyCode::Char('r')), None);
        assert_eq!(input.mode, Mode::Typing("r".into()));
        // A line that does not parse stays, with the reason in the status line.
        assert_eq!(press(&mut input, &s, KeyCode::Enter), None);
        assert_eq!(input.mode, Mode::Typing("r".into()));
        let note = input.note.clone().expect("a parse error");
        assert!(
            note.error && note.text.contains("unknown command \"r\""),
            "{note:?}"
        );
        // Backspace edits, Esc cancels.
        press(&mut input, &s, KeyCode::Backspace);
        assert_eq!(input.mode, Mode::Typing(String::new()));
        press(&mut input, &s, KeyCode::Char('x'));
        press(&mut input, &s, KeyCode::Esc);
        assert_eq!(input.mode, Mode::Keys);
        assert_eq!(input.note, None);
        assert_eq!(typed(&mut input, "end"), Some(Request::End));
    }

    #[test]
    fn times_read_as_clocks_and_spans() {
        assert_eq!(hms(0), "0:00:00");
        assert_eq!(hms(86_400_000), "24:00:00");
        assert_eq!(hms(3_723_000), "1:02:03");
        assert_eq!(short(45_000), "45s");
        assert_eq!(short(185_000), "3m05s");
        assert_eq!(short(3_720_000), "1h02m");
    }
}
