//! The game loop on tokio: the single owner of the [`Game`], paced by a [`Clock`].
//!
//! Every change to the game goes through one channel and is applied by this loop alone,
//! so concurrent HTTP requests, key presses and typed commands are serialized: each
//! applies at one game instant, after every event before it. Reads (`/metrics`,
//! `/api/state`) come from the snapshot the loop publishes after every change: after a
//! request, and after a frame that moved game time (never once per read).

use super::console::{self, Typed};
use super::game::{Game, Source};
use super::server::{router, serve, Shared};
use super::ui::Ui;
use crate::scenario::Scenario;
use crate::sim::command::{Applied, Command};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Game time against the wall clock: `speed` game seconds per wall second, plus whatever
/// was skipped. Speed 0 is virtual time: the game moves only when told to.
#[derive(Debug, Clone)]
pub struct Clock {
    origin: Instant,
    speed: f64,
    skipped_ms: u64,
}

impl Clock {
    pub fn new(speed: f64) -> Self {
        Clock {
            origin: Instant::now(),
            speed,
            skipped_ms: 0,
        }
    }

    pub fn now_ms(&self) -> u64 {
        let paced = self.origin.elapsed().as_secs_f64() * 1000.0 * self.speed;
        self.skipped_ms.saturating_add(paced as u64)
    }

    /// Jumps `ms` of game time ahead.
    pub fn skip(&mut self, ms: u64) {
        self.skipped_ms = self.skipped_ms.saturating_add(ms);
    }
}

/// What a player or the facilitator asks of the game.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Request {
    Command(Command, Source),
    Advance(u64),
    End,
}

/// The game's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// What the command did, and the game time it applied at.
    Applied(Applied, u64),
    /// The game time after an advance or at the end.
    Now(u64),
}

/// A request on its way to the game, with where to answer.
pub struct ToGame {
    pub request: Request,
    pub reply: Option<oneshot::Sender<Reply>>,
}

impl ToGame {
    /// A request from a typed line; `None` and a message for a line that does not parse.
    pub fn typed(scenario: &Scenario, line: &str) -> Result<ToGame, String> {
        let request = match console::parse(scenario, line)? {
            Typed::Command(c) => Request::Command(c, Source::Console),
            Typed::Advance(ms) => Request::Advance(ms),
            Typed::End => Request::End,
        };
        Ok(ToGame {
            request,
            reply: None,
        })
    }
}

/// What readers see: the state as JSON and the metrics exposition, of one instant.
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub state: String,
    pub metrics: String,
}

impl Published {
    fn of(game: &Game<'_>) -> Self {
        Published {
            state: serde_json::to_string(&game.state()).unwrap_or_else(|e| {
                serde_json::json!({ "error": format!("state not serializable: {e}") }).to_string()
            }),
            metrics: game.metrics(),
        }
    }
}

/// How the game is played.
#[derive(Debug)]
pub struct Options {
    /// Game seconds per wall second; 0 for virtual time.
    pub speed: f64,
    /// Where to serve the HTTP API: bound by the caller, so that a taken port is reported
    /// before anything else happens.
    pub listen: Option<std::net::TcpListener>,
    pub token: Option<String>,
}

/// Binds `addr` for [`Options::listen`].
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Wall time between frames (dashboard redraws, snapshot publications, pacing steps).
const FRAME: Duration = Duration::from_millis(100);

/// Plays `game` until its horizon, `end` or Ctrl-C. Returns whether it ended early.
pub async fn play(
    game: &mut Game<'_>,
    scenario: &Scenario,
    options: Options,
    ui: &mut dyn Ui,
) -> Result<bool> {
    let (to_game, mut inbox) = mpsc::channel::<ToGame>(1024);
    let (publish, published) = watch::channel(Arc::new(Published::of(game)));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = match options.listen {
        Some(listener) => {
            let listener =
                tokio::net::TcpListener::from_std(listener).context("--listen: the socket")?;
            let local = listener.local_addr().context("--listen")?;
            ui.say(&format!(
                "listening on http://{local} (GET /metrics, GET /api/state, POST /api/rollback ...)"
            ));
            let app = router(Shared::new(
                to_game.clone(),
                published.clone(),
                options.token.clone(),
                scenario,
            ));
            Some(tokio::spawn(serve(listener, app, stopped)))
        }
        None => None,
    };
    ui.start(to_game.clone());
    drop(to_game);

    let virtual_time = options.speed == 0.0;
    let mut clock = Clock::new(options.speed);
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut ended = false;
    let mut open = true;
    // The game time last published: a frame that did not move the game publishes nothing.
    let mut published_at = game.now_ms();
    loop {
        // A frame moves the game to the clock and shows it; a request shows its own change.
        let mut tick = false;
        tokio::select! {
            _ = frame.tick() => { tick = true; }
            msg = inbox.recv(), if open => {
                open = msg.is_some();
                if !open && virtual_time {
                    // Nothing can move virtual time any more (stdin is closed and no HTTP
                    // server listens): waiting would hang, so the game ends as on `end`.
                    ui.say("no more commands can arrive (stdin closed, no --listen): ending the game as on `end`");
                    ended = true;
                }
                if let Some(msg) = msg {
                    game.advance_to(clock.now_ms());
                    let reply = match msg.request {
                        Request::Command(c, source) => Reply::Applied(game.apply(c, source), game.now_ms()),
                        Request::Advance(ms) => {
                            clock.skip(ms);
                            game.advance_to(clock.now_ms());
                            Reply::Now(game.now_ms())
                        }
                        Request::End => {
                            ended = true;
                            Reply::Now(game.now_ms())
                        }
                    };
                    // Readers see the change before its requester hears back.
                    ui.frame(game);
                    publish.send_replace(Arc::new(Published::of(game)));
                    published_at = game.now_ms();
                    if let Some(r) = msg.reply {
                        let _ = r.send(reply);
                    }
                }
            }
            _ = &mut ctrl_c => { ended = true; }
        }
        if tick {
            game.advance_to(clock.now_ms());
            ui.frame(game);
            if game.now_ms() != published_at {
                publish.send_replace(Arc::new(Published::of(game)));
                published_at = game.now_ms();
            }
        }
        if ended || game.finished() {
            break;
        }
    }
    ui.stop();
    let _ = stop.send(());
    // The server stops within its shutdown grace, whatever its clients do.
    if let Some(server) = server {
        if let Err(e) = server.await {
            ui.say(&format!("the HTTP server stopped with an error: {e}"));
        }
    }
    Ok(ended && !game.finished())
}
