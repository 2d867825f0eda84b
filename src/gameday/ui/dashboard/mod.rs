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
use crate::gameday::game::{Game, Source};
use crate::gameday::runtime::{Reply, Request, ToGame};
use crate::scenario::Scenario;
use crate::sim::command::Command;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::Terminal;
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

mod render;
use render::{hms, render, Panel};
#[cfg(test)]
mod tests;
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
            super::to_stderr(&format!(
                "cannot draw the dashboard ({e}); plain log lines instead"
            ));
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
            super::to_stderr(line);
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
