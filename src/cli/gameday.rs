//! `rollsim gameday`: plays one run's world live, then writes the scorecard, the recorded
//! actions (replayable with `rollsim trace --actions`) and the game's timeline.

use super::args::GamedayArgs;
use super::{command_line, default_out, load, pick_seed, policy_index, UsageError};
use anyhow::{Context, Result};
use rollsim::gameday::runtime::{bind, play, Options};
use rollsim::gameday::scorecard::{self, ScoreRow};
use rollsim::gameday::ui::{Dashboard, LogUi, Ui};
use rollsim::gameday::{recording, team_spec, Game};
use rollsim::report::{csv_bytes, Manifest, OutputDir};
use rollsim::sim::{Prepared, World};
use std::io::IsTerminal;

/// Checks the flags that clap cannot: the speed, and a token for a non-loopback address.
fn check(a: &GamedayArgs) -> Result<()> {
    if !(a.speed.is_finite() && a.speed > 0.0 && a.speed <= 1e6) {
        return Err(UsageError(format!(
            "--speed {}: expected game seconds per wall second, above 0 and at most 1000000 (or --virtual)",
            a.speed
        ))
        .into());
    }
    if a.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(UsageError("--token: expected a non-empty secret".into()).into());
    }
    if let Some(addr) = a.listen {
        if !addr.ip().is_loopback() && a.token.is_none() {
            return Err(UsageError(format!(
                "--listen {addr}: not a loopback address, so anyone who can reach it could steer the game; set ROLLSIM_GAMEDAY_TOKEN=SECRET or pass --token SECRET (then every control request needs Authorization: Bearer SECRET)"
            ))
            .into());
        }
    }
    Ok(())
}

/// The command line with the token's value hidden: it is recorded in the manifest and the
/// scorecard, which are shared after the game.
fn redact_token(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut hide_next = false;
    for arg in argv {
        if hide_next {
            out.push("REDACTED".to_string());
            hide_next = false;
        } else if arg == "--token" {
            out.push(arg.clone());
            hide_next = true;
        } else if arg.starts_with("--token=") {
            out.push("--token=REDACTED".to_string());
        } else {
            out.push(arg.clone());
        }
    }
    out
}

pub fn gameday(a: &GamedayArgs, argv: &[String]) -> Result<()> {
    check(a)?;
    let (text, origin, scn) = load(&a.scenario)?;
    let pager = a
        .pager
        .as_deref()
        .map(|name| policy_index(&scn, name, "--pager"))
        .transpose()?;
    let listener = match a.listen {
        Some(addr) => Some(
            bind(addr)
                .map_err(|e| UsageError(format!("--listen {addr}: cannot listen there: {e}")))?,
        ),
        None => None,
    };
    let seed = pick_seed(a.seed, &scn);
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| default_out(&a.scenario, "-gameday"));
    let dir = OutputDir::prepare(&out, a.force)?;

    let prepared = Prepared::new(&scn);
    let world = World::for_run(&scn, seed, a.run);
    let team = team_spec(&scn, pager);
    let mut game = Game::new(&prepared, &world, &team);
    let mut ui: Box<dyn Ui> = if std::io::stdout().is_terminal() && !a.no_dashboard {
        let speed = if a.virtual_time {
            "virtual".to_string()
        } else {
            format!("{}x", a.speed)
        };
        Box::new(Dashboard::new(&scn, speed))
    } else {
        Box::new(LogUi::new(&scn, true))
    };
    ui.say(&format!(
        "game day: {} ({}), seed {seed}, run {}; {}",
        scn.service.name,
        a.scenario.display(),
        a.run,
        if a.virtual_time {
            "virtual time: `advance 10m` or POST /api/advance moves it".to_string()
        } else {
            format!("{}x real time", a.speed)
        }
    ));
    let options = Options {
        speed: if a.virtual_time { 0.0 } else { a.speed },
        listen: listener,
        token: a.token.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let ended_early = runtime.block_on(play(&mut game, &scn, options, ui.as_mut()))?;
    drop(ui);
    let game_end_ms = game.now_ms();
    let (end, actions) = game.finish();

    // The scorecard: every automatic policy on the game's world, live injects included.
    let scored_world = scorecard::world_with_injects(&world, &end.injected);
    let mut team_record = end.record;
    team_record.faults = scored_world.faults.len() as u32;
    let records = scorecard::score(&prepared, &scored_world, team_record);
    let rows: Vec<ScoreRow> = records.iter().map(ScoreRow::from).collect();

    let command = command_line(&redact_token(argv), seed);
    let oracles: Vec<String> = scn
        .policies
        .iter()
        .filter(|p| matches!(p.rule, rollsim::scenario::PolicyRule::Oracle { .. }))
        .map(|p| p.name.clone())
        .collect();
    let actions_path = dir.path().join("actions.csv");
    let mut replay = vec![
        "rollsim".to_string(),
        "trace".into(),
        a.scenario.display().to_string(),
        "--seed".into(),
        seed.to_string(),
        "--run".into(),
        a.run.to_string(),
        "--actions".into(),
        actions_path.display().to_string(),
    ];
    if let Some(p) = &a.pager {
        replay.extend(["--pager".to_string(), p.clone()]);
    }
    let replay =
        shlex::try_join(replay.iter().map(String::as_str)).unwrap_or_else(|_| replay.join(" "));
    let fault_name = |i: usize| scn.faults.get(i).map_or(String::new(), |f| f.name.clone());
    let n_world = world.faults.len();
    let context = scorecard::Context {
        service: &scn.service.name,
        seed,
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
        command: &command,
        replay: &replay,
    };

    dir.write("scorecard.csv", &csv_bytes(&rows).context("scorecard.csv")?)?;
    dir.write(
        "scorecard.html",
        scorecard::html(&rows, &context).as_bytes(),
    )?;
    dir.write(
        "actions.csv",
        &recording::write(&actions).context("actions.csv")?,
    )?;
    dir.write("runs.csv", &csv_bytes(&records).context("runs.csv")?)?;
    dir.write(
        "trace.csv",
        &csv_bytes(&end.trace.rows).context("trace.csv")?,
    )?;
    dir.write(
        "events.csv",
        &csv_bytes(&end.trace.events).context("events.csv")?,
    )?;
    dir.write("scenario.toml", text.as_bytes())?;
    let manifest = Manifest {
        interrupted: ended_early,
        ..Manifest::single_run(
            "gameday",
            &origin,
            &text,
            seed,
            a.run,
            records.iter().map(|r| r.policy.clone()).collect(),
            command,
        )
    };
    dir.write("manifest.json", &manifest.to_json())?;

    println!(
        "game over at {} of game time{}: the release was {}.",
        rollsim::report::findings::clock(game_end_ms as f64 / 1000.0),
        if ended_early {
            " (ended early; the rest of the horizon played out untouched)"
        } else {
            ""
        },
        if world.release_bad { "bad" } else { "good" }
    );
    print!("{}", scorecard::text(&rows));
    if let Some((team, policies)) = rows.split_first() {
        println!("{}", scorecard::standing(team, policies, &oracles));
    }
    println!("replay: {replay}");
    eprintln!(
        "wrote {}/ (scorecard.html, scorecard.csv, actions.csv, trace.csv, events.csv, runs.csv)",
        dir.path().display()
    );
    super::report::after_command(dir.path())
}
