//! A whole game day as one library call: play one run's world live, then write the
//! scorecard, the recorded actions (replayable with `rollsim trace --actions`), the
//! game's timeline and its manifest.

use super::runtime::{play, Options};
use super::scorecard::{self, ScoreRow};
use super::ui::{Dashboard, LogUi, Ui};
use super::{recording, team_spec, Game};
use crate::report::table::WIDTH;
use crate::report::wrap::wrap_command;
use crate::report::{rows, Destination, Manifest, OutputDir, ReportError};
use crate::scenario::{PolicyRule, Scenario};
use crate::sim::{Prepared, World};
use std::net::TcpListener;

/// A game day, checked: which world, how it is paced and steered, where it is written.
pub struct GameDay {
    /// The checked scenario played.
    pub scenario: Scenario,
    /// The scenario file's text (copied as `scenario.toml`) and how it is named.
    pub text: String,
    pub origin: String,
    /// The master seed.
    pub seed: u64,
    /// Which run's world is played (run `run` of `rollsim run` with the same seed).
    pub run: u64,
    /// Game seconds per wall second; 0 for virtual time (the game moves when told).
    pub speed: f64,
    /// Serve the HTTP API and `/metrics` on this (already bound) listener.
    pub listener: Option<TcpListener>,
    /// The secret every control request must carry.
    pub token: Option<String>,
    /// The policy whose rule pages the team, and its name (for the replay command).
    pub pager: Option<(usize, String)>,
    /// The ratatui dashboard (a terminal), else plain log lines.
    pub dashboard: bool,
    pub out: Destination,
    /// The command line that started it (its token hidden), recorded in the manifest.
    pub command: String,
}

/// Why a game day failed.
#[derive(Debug, thiserror::Error)]
pub enum GameDayError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The game loop failed (the terminal, the HTTP server).
    #[error("{0}")]
    Play(String),
}

/// What a finished game day found.
pub struct Played {
    pub dir: OutputDir,
    /// The team first, then every automatic policy on the game's world.
    pub rows: Vec<ScoreRow>,
    /// The policies that know the truth (bounds, not choices).
    pub oracles: Vec<String>,
    /// The command that replays the game's recording.
    pub replay: String,
    /// When the game ended, and whether before the horizon.
    pub game_end_ms: u64,
    pub ended_early: bool,
    pub release_bad: bool,
}

/// Plays the game to its end and writes its output directory.
pub fn run(g: GameDay) -> Result<Played, GameDayError> {
    let scn = &g.scenario;
    let dir = g.out.prepare()?;
    let prepared = Prepared::new(scn);
    let world = World::for_run(scn, g.seed, g.run);
    let team = team_spec(scn, g.pager.as_ref().map(|p| p.0));
    let mut game = Game::new(&prepared, &world, &team);
    let virtual_time = g.speed == 0.0;
    let mut ui: Box<dyn Ui> = if g.dashboard {
        let speed = if virtual_time {
            "virtual".to_string()
        } else {
            format!("{}x", g.speed)
        };
        Box::new(Dashboard::new(scn, speed))
    } else {
        Box::new(LogUi::new(scn, true))
    };
    // The world's seed is the facilitator's secret: on their terminal before the game
    // starts (so a game that crashes can still be reproduced), never on the dashboard or
    // the API, which players see; the scorecard reveals it at the end.
    ui.facilitator(&format!(
        "facilitator only: seed {}, run {}; this game's world again:\n{}",
        g.seed,
        g.run,
        wrap_command(&g.command, WIDTH)
    ));
    ui.say(&format!(
        "game day: {} ({}); {}",
        scn.service.name,
        g.origin,
        if virtual_time {
            "virtual time: `advance 10m` or POST /api/advance moves it".to_string()
        } else {
            format!("{}x real time", g.speed)
        }
    ));
    let options = Options {
        speed: g.speed,
        listen: g.listener,
        token: g.token.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(GameDayError::Runtime)?;
    let ended_early = runtime
        .block_on(play(&mut game, scn, options, ui.as_mut()))
        .map_err(|e| GameDayError::Play(format!("{e:#}")))?;
    drop(ui);
    let game_end_ms = game.now_ms();
    let (end, actions) = game.finish();

    // The scorecard: every automatic policy on the game's world, live injects included.
    let scored_world = scorecard::world_with_injects(&world, &end.injected);
    let mut team_record = end.record;
    team_record.faults = scored_world.faults.len() as u32;
    let records = scorecard::score(&prepared, &scored_world, team_record);
    let rows: Vec<ScoreRow> = records.iter().map(ScoreRow::from).collect();

    let oracles: Vec<String> = scn
        .policies
        .iter()
        .filter(|p| matches!(p.rule, PolicyRule::Oracle { .. }))
        .map(|p| p.name.clone())
        .collect();
    let actions_path = dir.path().join("actions.csv");
    let mut replay = vec![
        "rollsim".to_string(),
        "trace".into(),
        g.origin.clone(),
        "--seed".into(),
        g.seed.to_string(),
        "--run".into(),
        g.run.to_string(),
        "--actions".into(),
        actions_path.display().to_string(),
    ];
    if let Some((_, name)) = &g.pager {
        replay.extend(["--pager".to_string(), name.clone()]);
    }
    let replay =
        shlex::try_join(replay.iter().map(String::as_str)).unwrap_or_else(|_| replay.join(" "));
    let fault_name = |i: usize| scn.faults.get(i).map_or(String::new(), |f| f.name.clone());
    let n_world = world.faults.len();
    let context = scorecard::Context {
        service: &scn.service.name,
        seed: g.seed,
        release_bad: world.release_bad,
        oracles: oracles.clone(),
        faults: scored_world
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                (
                    fault_name(f.fault),
                    f.start_ms as f64 / 1000.0,
                    f.end_ms as f64 / 1000.0,
                    i >= n_world,
                )
            })
            .collect(),
        actions: actions
            .iter()
            .map(|x| {
                let what = match &x.fault {
                    Some(f) => format!("{} {f}", x.action),
                    None => x.action.to_string(),
                };
                let did = if x.done {
                    x.detail.clone()
                } else {
                    format!("nothing ({})", x.detail)
                };
                (x.at_ms as f64 / 1000.0, what, did)
            })
            .collect(),
        command: &g.command,
        replay: &replay,
    };

    rows::write(&dir, "scorecard.csv", &rows)?;
    dir.write(
        "scorecard.html",
        scorecard::html(&rows, &context).as_bytes(),
    )?;
    rows::write_bytes(&dir, "actions.csv", recording::write(&actions))?;
    rows::write(&dir, "runs.csv", &records)?;
    rows::write(&dir, "trace.csv", &end.trace.rows)?;
    rows::write(&dir, "events.csv", &end.trace.events)?;
    dir.write("scenario.toml", g.text.as_bytes())?;
    let manifest = Manifest {
        interrupted: ended_early,
        ..Manifest::single_run(
            "gameday",
            &g.origin,
            &g.text,
            g.seed,
            g.run,
            records.iter().map(|r| r.policy.clone()).collect(),
            g.command.clone(),
        )
    };
    dir.write("manifest.json", &manifest.to_json())?;
    Ok(Played {
        dir,
        rows,
        oracles,
        replay,
        game_end_ms,
        ended_early,
        release_bad: world.release_bad,
    })
}
