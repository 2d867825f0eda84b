//! `rollsim sweep`: one or two scenario fields over ranges or lists, every point on the
//! same seed; the library ([`rollsim::jobs::sweep`]) runs it into `sweep.csv` and judges
//! the objective; this module builds the checked sweep from the flags and prints.

use super::args::SweepArgs;
use super::experiment::{wrap_command, wrap_long_lines};
use super::gate::{self, Gates};
use super::note;
use super::{command_line, default_out, load_source, pick_seed, progress, stop_flag, UsageError};
use anyhow::Result;
use rollsim::experiment::objective::{self, PointResult, Recommendation};
use rollsim::experiment::sweep::{Param, Sweep};
use rollsim::jobs::sweep::{Finished, SweepJob};
use rollsim::report::{table, Manifest};
use std::collections::BTreeMap;
use std::io::Write;

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

pub fn sweep(a: &SweepArgs, argv: &[String]) -> Result<()> {
    let c = &a.common;
    let b = &c.base;
    let source = load_source(&b.scenario)?;
    let params: Vec<Param> = a
        .params
        .iter()
        .map(|p| p.parse())
        .collect::<Result<_, _>>()
        .map_err(|e: rollsim::experiment::sweep::SweepError| UsageError(e.0))?;
    let confidence = objective::check_confidence(a.confidence)
        .map_err(|e| UsageError(format!("--confidence: {e}")))?;
    let seed = pick_seed(b.seed, &source.scenario);
    let dir = b.scenario.parent().unwrap_or(std::path::Path::new(""));
    // Every point's scenario is built and checked before anything runs or is written.
    let sweep = Sweep::new(&source.text, &source.origin, dir, &source.scenario, params)
        .map_err(|e| UsageError(e.0))?;
    super::check_objective_metrics(&source)?;
    let objective = objective_of(a.objective.as_deref(), &source.scenario, &sweep)?;
    let from_scenario = a.objective.is_none() && objective.is_some();
    let gates = Gates::check(&a.gate, sweep.tuned.as_deref(), &sweep.policies)?;
    let job = SweepJob {
        runs: b.runs.unwrap_or(source.scenario.runs),
        source,
        sweep,
        objective,
        confidence,
        seed,
        shard: c.shard,
        out: b.dest.or(|| default_out(&b.scenario, "-sweep")),
        resume: a.resume,
        params: a.params.clone(),
        command: command_line(argv, seed),
    };
    let started = job.start()?;
    for n in &started.notes {
        note(format_args!("rollsim: {n}"));
    }
    if a.resume {
        note(format_args!(
            "resuming: {} of {} points already done",
            started.done.len(),
            started.done.len() + started.todo.len()
        ));
    }
    let stop = stop_flag();
    let bar = progress::bar(started.todo.len() as u64 * job.runs, "runs", c.base.quiet);
    let tick = |d: u64| bar.set_position(d);
    let run = started.run(Some(&stop), Some(&tick));
    bar.finish_and_clear();
    let Finished {
        dir,
        manifest,
        results,
        recommendation,
    } = run?;
    let tuned = job.sweep.tuned.as_deref().unwrap_or(&job.sweep.policies[0]);
    // A reader that left (`| head`) stops the table, not the report.
    super::printed(print(
        c.json,
        &job.sweep.params,
        &results,
        tuned,
        recommendation.as_ref().map(|r| (r, from_scenario)),
        &manifest,
    ))?;
    super::note(format_args!(
        "wrote {}/ (sweep.csv{})",
        dir.path().display(),
        if recommendation.is_some() {
            ", recommendation.json"
        } else {
            ""
        }
    ));
    super::report::after_command(dir.path(), Some(&stop))?;
    gate::finish(
        &gates.on_points(
            &results,
            recommendation.as_ref().and_then(|r| r.point),
            confidence,
        ),
        !c.json,
    )
}

/// The sweep's objective: `--objective`, else the scenario's `[objective]` read for the
/// tuned policy (its metrics without `@POLICY` are the tuned policy's). A scenario
/// objective that names no policy, in a sweep that tunes none of several, cannot say whose
/// metric it means: the sweep then runs without a recommendation and says so.
fn objective_of(
    flag: Option<&str>,
    scenario: &rollsim::scenario::Scenario,
    sweep: &Sweep,
) -> Result<Option<objective::Objective>> {
    let tuned = sweep.tuned.as_deref();
    if let Some(o) = flag {
        return objective::parse(o, tuned, &sweep.policies)
            .map(Some)
            .map_err(|e| UsageError(format!("--objective: {e}")).into());
    }
    let Some(o) = &scenario.objective else {
        return Ok(None);
    };
    match objective::parse(o, tuned, &sweep.policies) {
        Ok(obj) => Ok(Some(obj)),
        Err(e) if tuned.is_none() => {
            note(format_args!(
                "note: no recommendation: the scenario's [objective] ({o}) does not say which \
                 policy's metrics it means and the sweep tunes no policy ({e}); give \
                 --objective with METRIC@POLICY"
            ));
            Ok(None)
        }
        Err(e) => Err(UsageError(format!("the scenario's [objective]: {e}")).into()),
    }
}

fn print(
    json: bool,
    params: &[Param],
    points: &[PointResult],
    policy: &str,
    rec: Option<(&Recommendation, bool)>,
    manifest: &Manifest,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let pts: Vec<serde_json::Value> = points
            .iter()
            .map(|p| {
                let mut pol = serde_json::Map::new();
                for ((policy, metric), e) in &p.estimates {
                    let entry = pol.entry(policy.clone()).or_insert_with(|| serde_json::json!({}));
                    entry[metric] = serde_json::json!({"mean": finite(e.mean), "ci95_low": finite(e.ci95_low), "ci95_high": finite(e.ci95_high), "n": e.n});
                }
                serde_json::json!({"point": p.point, "values": p.values.iter().map(|(k, v)| (k.clone(), *v)).collect::<BTreeMap<_, _>>(), "policies": pol})
            })
            .collect();
        let v = serde_json::json!({"seed": manifest.seed, "runs": manifest.runs, "points": pts, "recommendation": rec.map(|r| r.0)});
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let params: Vec<String> = params.iter().map(|p| p.path.clone()).collect();
    writeln!(
        out,
        "policy {policy}, {} runs per point, seed {}\n",
        manifest.runs, manifest.seed
    )?;
    write!(
        out,
        "{}",
        table::sweep_table(&params, points, policy, &table::SWEEP_METRICS, table::WIDTH)
    )?;
    if let Some((r, from_scenario)) = rec {
        let whose = if from_scenario {
            " (the scenario's [objective]; --objective overrides it)"
        } else {
            ""
        };
        let text = format!("objective{whose}: {}\n{}", r.objective, r.message);
        writeln!(out, "\n{}", wrap_long_lines(&text, table::WIDTH))?;
    }
    writeln!(
        out,
        "\nreproduce with: {}",
        wrap_command(&manifest.command, table::WIDTH)
    )?;
    Ok(())
}
