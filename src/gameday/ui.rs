//! What the players look at in the terminal: the [`Dashboard`] when stdout is a terminal,
//! else [`LogUi`], which prints plain lines (also with `--no-dashboard`) and reads typed
//! commands from stdin.

mod dashboard;
pub use dashboard::Dashboard;

use super::game::Game;
use super::runtime::ToGame;
use crate::report::table::WIDTH;
use crate::report::wrap::{wrap_log_line, wrap_long_lines};
use crate::scenario::Scenario;
use crate::sim::trace::log_line;
use std::io::{BufRead, Write};
use tokio::sync::mpsc;

/// A terminal front end of the game, driven by the runtime loop.
pub trait Ui {
    /// The game starts; commands typed or keyed go to `to_game`.
    fn start(&mut self, _to_game: mpsc::Sender<ToGame>) {}
    /// Called after every change and every frame.
    fn frame(&mut self, game: &Game<'_>);
    /// A message for the players.
    fn say(&mut self, line: &str);
    /// A message for the facilitator alone (the seed), before the game starts: printed on
    /// stderr and never shown on the dashboard, which players may watch.
    fn facilitator(&mut self, line: &str) {
        to_stderr(&wrap_long_lines(line, WIDTH));
    }
    /// The game is over: give the terminal back.
    fn stop(&mut self) {}
}

/// A line on stderr that a closed stderr (`2>&1 | head`) ignores: `eprintln!` would end
/// the process there, before the game's files are written.
pub(crate) fn to_stderr(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Where [`log_line`]'s detail starts: the clock (`HH:MM:SS`), two spaces, the kind
/// padded to 14 and a space. A long line continues under it.
const DETAIL_COLUMN: usize = 25;

/// Plain log lines: every visible event once, and a status line every few game minutes,
/// each within the terminal's 100 columns (a long one continues under its detail).
pub struct LogUi {
    scenario: Scenario,
    read_stdin: bool,
    printed: usize,
    next_status_ms: u64,
    status_every_ms: u64,
}

impl LogUi {
    /// `read_stdin`: read typed commands from stdin (one per line).
    pub fn new(scenario: &Scenario, read_stdin: bool) -> Self {
        LogUi {
            scenario: scenario.clone(),
            read_stdin,
            printed: 0,
            next_status_ms: 0,
            status_every_ms: 300_000,
        }
    }
}

impl Ui for LogUi {
    fn start(&mut self, to_game: mpsc::Sender<ToGame>) {
        if !self.read_stdin {
            return;
        }
        let scenario = self.scenario.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                match ToGame::typed(&scenario, &line) {
                    Ok(msg) => {
                        if to_game.blocking_send(msg).is_err() {
                            break;
                        }
                    }
                    Err(e) => to_stderr(&e),
                }
            }
        });
    }

    fn frame(&mut self, game: &Game<'_>) {
        let mut out = std::io::stdout().lock();
        let mut n = 0;
        for e in game.feed().skip(self.printed) {
            let line = log_line(e.t_s, e.kind, &e.detail);
            let _ = writeln!(out, "{}", wrap_log_line(&line, DETAIL_COLUMN, WIDTH));
            n += 1;
        }
        self.printed += n;
        if game.now_ms() >= self.next_status_ms {
            self.next_status_ms = game.now_ms() + self.status_every_ms;
            let s = game.state();
            let pct = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.2}%", r * 100.0));
            let ms = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.0}ms"));
            let open = s.pages.iter().filter(|p| p.acked_ms.is_none()).count();
            let status = format!(
                "{} {:.0}% new | errors old {} new {} | p99 old {} new {} | health {} ok {} failed | {} open page(s)",
                s.view.phase,
                s.view.share_new * 100.0,
                pct(s.old.error_rate_1m),
                pct(s.new.error_rate_1m),
                ms(s.old.p99_ms),
                ms(s.new.p99_ms),
                s.health_checks_passed,
                s.health_checks_failed,
                open,
            );
            let t_s = game.now_ms() as f64 / 1000.0;
            let line = log_line(t_s, "status", &status);
            let _ = writeln!(out, "{}", wrap_log_line(&line, DETAIL_COLUMN, WIDTH));
        }
        let _ = out.flush();
    }

    fn say(&mut self, line: &str) {
        to_stderr(&wrap_long_lines(line, WIDTH));
    }
}
