//! `rollsim gameday`: checks the flags, binds the listener, then plays the game with
//! [`rollsim::gameday::run`] and prints the scorecard.

use super::args::GamedayArgs;
use super::note;
use super::{command_line, default_out, load, pick_seed, policy_index, UsageError};
use anyhow::Result;
use rollsim::gameday::run::{run, GameDay};
use rollsim::gameday::runtime::bind;
use rollsim::gameday::scorecard;
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
    let (text, origin, scenario) = load(&a.scenario)?;
    if scenario.system.is_some() {
        // The live engine (`sim::Live`) steps one service's replication by its events; a
        // system's services are stepped together a scrape interval at a time, callees
        // first, by `sim::engine::system`, which has no live form yet. Run otherwise, the
        // game would play the file's template service alone and say nothing.
        return Err(UsageError(format!(
            "{}: `rollsim gameday` plays one service live; this file has [[services]], a \
             system, which a game day cannot play yet (use `rollsim trace` to follow one \
             run of the system, or `run`, `compare` or `sweep`)",
            a.scenario.display()
        ))
        .into());
    }
    let pager = match a.pager.as_deref() {
        Some(name) => Some((policy_index(&scenario, name, "--pager")?, name.to_string())),
        None => None,
    };
    let listener = match a.listen {
        Some(addr) => Some(
            bind(addr)
                .map_err(|e| UsageError(format!("--listen {addr}: cannot listen there: {e}")))?,
        ),
        None => None,
    };
    let seed = pick_seed(a.seed, &scenario);
    let played = run(GameDay {
        text,
        origin,
        seed,
        run: a.run,
        speed: if a.virtual_time { 0.0 } else { a.speed },
        listener,
        token: a.token.clone(),
        pager,
        dashboard: std::io::stdout().is_terminal() && !a.no_dashboard,
        out: a.dest.or(|| default_out(&a.scenario, "-gameday")),
        command: command_line(&redact_token(argv), seed),
        scenario,
    })?;
    let over = format!(
        "game over at {} of game time{}: the release was {}.",
        rollsim::report::findings::clock(played.game_end_ms as f64 / 1000.0),
        if played.ended_early {
            " (ended early; the rest of the horizon played out untouched)"
        } else {
            ""
        },
        if played.release_bad { "bad" } else { "good" }
    );
    // Printed as `run` prints its table: a reader that left (`| head -1`) stops the text,
    // not the report built after it.
    let width = rollsim::report::table::WIDTH;
    let mut text = format!("{}\n", super::experiment::wrap(&over, width));
    text.push_str(&scorecard::text(&played.rows));
    if let Some((team, policies)) = played.rows.split_first() {
        let standing = scorecard::standing(team, policies, &played.oracles);
        text.push_str(&format!("{}\n", super::experiment::wrap(&standing, width)));
    }
    text.push_str(&format!(
        "replay: {}\n",
        super::experiment::wrap_command(&played.replay, width)
    ));
    super::say(&text)?;
    let wrote = format!(
        "wrote {}/ (scorecard.html, scorecard.csv, actions.csv, trace.csv, events.csv, runs.csv)",
        played.dir.path().display()
    );
    note(super::experiment::wrap_long_lines(&wrote, width));
    super::report::after_command(played.dir.path(), None)
}
