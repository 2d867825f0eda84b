//! `rollsim tune`: the flags checked into a [`TuneJob`] (parameters, objective, gates and
//! exports all checked before anything is written), the search run with a progress bar,
//! then the winner, the runner-ups it beat and the runs each had printed, and `--emit`
//! files written beside the report.

use super::args::{EmitFormat, ExportArgs, TuneArgs};
use super::experiment::{wrap_command, wrap_long_lines};
use super::gate::{self, Gates};
use super::{command_line, default_out, load_source, pick_seed, progress, stop_flag, UsageError};
use anyhow::Result;
use rollsim::experiment::objective::{self, Goal};
use rollsim::experiment::stats::Estimate;
use rollsim::experiment::tune::{setting, Outcome, Tune, TuneParam};
use rollsim::experiment::{PolicySummary, Summary};
use rollsim::export::{self, Format};
use rollsim::jobs::tune::{Finished, TuneJob};
use rollsim::jobs::JobError;
use rollsim::report::table;
use std::fmt::Write as _;
use std::io::Write;

fn format_of(e: EmitFormat) -> Format {
    match e {
        EmitFormat::Argo => Format::Argo,
        EmitFormat::Flagger => Format::Flagger,
        EmitFormat::Prometheus => Format::Prometheus,
        EmitFormat::Scenario => Format::Scenario,
    }
}

pub fn tune(a: &TuneArgs, argv: &[String]) -> Result<()> {
    let source = load_source(&a.scenario)?;
    // The policy first: the objective and the gates are read for it, and would blame
    // themselves for a misspelt --policy.
    super::policy_index(&source.scenario, &a.policy, "--policy")?;
    let policies = source.policies();
    let params: Vec<TuneParam> = a
        .params
        .iter()
        .map(|p| TuneParam::parse(p, &a.policy))
        .collect::<Result<_, _>>()
        .map_err(|e| UsageError(e.0))?;
    let level = objective::check_confidence(a.confidence)
        .map_err(|e| UsageError(format!("--confidence: {e}")))?;
    let (text, flag) = match (&a.objective, &source.scenario.objective) {
        (Some(o), _) => (o.clone(), "--objective"),
        (None, Some(o)) => (o.clone(), "the scenario's [objective]"),
        (None, None) => {
            return Err(UsageError(
                "no objective: give --objective \"min METRIC s.t. METRIC <= VALUE\" or an [objective] table in the scenario".into(),
            )
            .into())
        }
    };
    let obj = objective::parse(&text, Some(&a.policy), &policies)
        .map_err(|e| UsageError(format!("{flag}: {e}")))?;
    let gates = Gates::check(&a.gate, Some(&a.policy), &policies)?;
    let dir = a.scenario.parent().unwrap_or(std::path::Path::new(""));
    let tune = Tune::new(
        &source.text,
        &source.origin,
        dir,
        &source.scenario,
        &a.policy,
        params,
        obj,
        level,
    )
    .map_err(|e| UsageError(e.0))?;
    // An export the policy's kind cannot take is refused before anything runs.
    if let Some(p) = source.scenario.policies.iter().find(|p| p.name == a.policy) {
        for e in &a.emit {
            export::export(format_of(*e), p, &source.text, &[]).map_err(|e| UsageError(e.0))?;
        }
    }
    let seed = pick_seed(a.seed, &source.scenario);
    let runs = a.runs.unwrap_or(source.scenario.runs);
    let job = TuneJob {
        source,
        tune,
        seed,
        runs,
        out: a.dest.or(|| default_out(&a.scenario, "-tune")),
        params: a.params.clone(),
        command: command_line(argv, seed),
    };
    let stop = stop_flag();
    let bar = progress::bar(job.tune.work(runs), "candidate-runs", a.quiet);
    let tick = |d: u64| bar.set_position(d);
    let run = job.run(Some(&stop), Some(&tick));
    bar.finish_and_clear();
    let Finished { dir, outcome, .. } = run.map_err(|e| match e {
        JobError::Interrupted(m) => anyhow::Error::from(super::Interrupted(m)),
        e => e.into(),
    })?;
    let mut written = vec!["tune.csv".to_string(), "tune.png".into()];
    if let Some(w) = outcome.winner {
        written.push("tuned.toml".into());
        let tuned = job
            .tune
            .scenario_text(&job.source.text, w)
            .map_err(|e| UsageError(e.0))?;
        let scn = rollsim::scenario::parse_at(&tuned, &job.source.origin, dir_of(&a.scenario))?;
        if let Some(p) = scn.policies.iter().find(|p| p.name == a.policy) {
            for e in &a.emit {
                let f = format_of(*e);
                let header = header(&job, &outcome, w);
                let text = export::export(f, p, &tuned, &header).map_err(|e| UsageError(e.0))?;
                dir.write(f.file_name(), text.as_bytes())?;
                written.push(f.file_name().into());
            }
        }
    }
    super::printed(print(&job, &outcome))?;
    super::note(format_args!(
        "wrote {}/ ({})",
        dir.path().display(),
        written.join(", ")
    ));
    let checked = match outcome.winner {
        Some(w) => gates.on_summary(&Summary {
            policies: vec![PolicySummary {
                policy: job.tune.policy.clone(),
                metrics: outcome.standings[w].estimates.clone(),
            }],
        }),
        None if !gates.list.is_empty() => {
            return Err(gate::AssertionFailed(
                "no candidate meets the objective's constraints, so no winner to assert on".into(),
            )
            .into())
        }
        None => vec![],
    };
    gate::finish(&checked, true)
}

fn dir_of(p: &std::path::Path) -> &std::path::Path {
    p.parent().unwrap_or(std::path::Path::new(""))
}

/// The comment header of an export: how the values were chosen.
fn header(job: &TuneJob, o: &Outcome, w: usize) -> Vec<String> {
    let s = &o.standings[w];
    vec![
        format!(
            "Chosen by rollsim tune: policy {:?}, {}",
            job.tune.policy,
            setting(&job.tune.params, &job.tune.candidates[w].values)
        ),
        format!(
            "scenario {}, seed {}, {} runs",
            job.source.origin, o.seed, s.runs
        ),
        // On its own line: with the path, it would pass 100 columns.
        format!("scenario sha256 {}", job.source.sha256()),
        format!("objective: {}", job.tune.objective.text),
        format!(
            "constraints judged on the upper {}% bound",
            (job.tune.level * 1000.0).round() / 10.0
        ),
        // Wrapped as printed, within 100 columns once behind `# `: each line a comment.
        format!(
            "reproduce with: {}",
            wrap_command(&job.command, table::WIDTH - 2)
        ),
    ]
}

/// A number with about four significant digits (0.0142, 2.718, 27.18, 2719); zero as `0`
/// (a paired difference of candidates that decided alike on every run).
fn g(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

fn ci(e: &Estimate) -> String {
    if e.n == 0 || !e.mean.is_finite() {
        return "-".into();
    }
    format!("{} [{}, {}]", g(e.mean), g(e.ci95_low), g(e.ci95_high))
}

/// Runner-ups printed (every candidate is in tune.csv).
const SHOWN: usize = 6;

fn print(job: &TuneJob, o: &Outcome) -> Result<()> {
    let t = &job.tune;
    let name = |i: usize| setting(&t.params, &t.candidates[i].values);
    let metric = &t.objective.target.metric;
    let get = |i: usize, m: &str| {
        o.standings[i]
            .estimates
            .iter()
            .find(|(k, _)| *k == m)
            .map(|(_, e)| *e)
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "tune {:?}: {} candidates, seed {}, up to {} runs each\nobjective: {} (constraints on the upper {}% bound)\n",
        t.policy,
        t.candidates.len(),
        o.seed,
        o.runs,
        t.objective.text,
        (t.level * 1000.0).round() / 10.0
    );
    let _ = writeln!(s, "successive halving on common random numbers:");
    for (r, round) in o.rounds.iter().enumerate() {
        let _ = writeln!(
            s,
            "  round {r}: {} candidates x {} runs{}",
            round.alive.len(),
            round.runs,
            match round.dropped.len() {
                0 => String::new(),
                n => format!("; the worst {n} dropped"),
            }
        );
    }
    let constraint_words = |i: usize| -> String {
        o.standings[i]
            .constraints
            .iter()
            .map(|b| {
                let side = if b.upper { "upper" } else { "lower" };
                match b.bound {
                    Some(v) => format!(
                        "{} {} ({side} bound {})",
                        if b.met { "✓" } else { "✗" },
                        b.what,
                        g(v)
                    ),
                    None => format!("✗ {} (no data)", b.what),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match o.winner {
        Some(w) => {
            let _ = writeln!(s, "\nwinner: {} ({} runs)", name(w), o.standings[w].runs);
            let _ = writeln!(
                s,
                "  {metric} {}",
                get(w, metric).map(|e| ci(&e)).unwrap_or_default()
            );
            if !t.objective.constraints.is_empty() {
                let _ = writeln!(s, "  {}", constraint_words(w));
            }
            if o.tied.len() > 1 {
                // One tied candidate a line: a setting can be long.
                let _ = writeln!(
                    s,
                    "  tied (paired difference includes 0; the fewest false-positive rollbacks chosen):"
                );
                for &i in o.tied.iter().filter(|&&i| i != w) {
                    let _ = writeln!(s, "    {}", name(i));
                }
            }
        }
        None => {
            let _ = writeln!(
                s,
                "\nno candidate meets every constraint on its bound; the closest finalists are below"
            );
        }
    }
    let _ = writeln!(
        s,
        "\nrunner-ups: {metric} mean [95% CI]; vs winner: the paired difference on the same runs"
    );
    let mut others: Vec<usize> = (0..t.candidates.len())
        .filter(|i| Some(*i) != o.winner)
        .collect();
    // Finalists first, then by the round that dropped them (latest first).
    others.sort_by_key(|&i| {
        (
            std::cmp::Reverse(o.standings[i].dropped_in.unwrap_or(usize::MAX)),
            i,
        )
    });
    let sign = match t.objective.goal {
        Goal::Min => "+",
        Goal::Max => "",
    };
    // Each runner-up as the winner is shown: its setting, then its objective (and the
    // paired difference from the winner), then its constraints, each on its own line.
    for i in others.into_iter().take(SHOWN) {
        let st = &o.standings[i];
        let why = match st.dropped_in {
            None => "finalist".to_string(),
            Some(r) => format!("dropped in round {r}"),
        };
        let vs = st
            .vs_winner
            .map(|d| {
                format!(
                    "; vs winner {}{} [{}, {}]",
                    if d.mean > 0.0 { sign } else { "" },
                    g(d.mean),
                    g(d.ci95_low),
                    g(d.ci95_high)
                )
            })
            .unwrap_or_default();
        let _ = writeln!(s, "  {} ({why}, {} runs)", name(i), st.runs);
        let _ = writeln!(
            s,
            "    {metric} {}{vs}",
            get(i, metric).map(|e| ci(&e)).unwrap_or_default()
        );
        if !t.objective.constraints.is_empty() {
            let _ = writeln!(s, "    {}", constraint_words(i));
        }
    }
    if t.candidates.len() > SHOWN + 1 {
        let _ = writeln!(
            s,
            "  ... and {} more, every one in tune.csv",
            t.candidates.len() - SHOWN - 1
        );
    }
    let mut s = wrap_long_lines(&s, table::WIDTH);
    let _ = writeln!(
        s,
        "\nreproduce with: {}",
        wrap_command(&job.command, table::WIDTH)
    );
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `rollsim export SCENARIO --policy NAME --emit FORMAT`: the policy in the controller's
/// syntax on stdout, headed by where it came from.
pub fn export(a: &ExportArgs) -> Result<()> {
    let source = load_source(&a.scenario)?;
    let i = super::policy_index(&source.scenario, &a.policy, "--policy")?;
    let header = vec![
        format!(
            "Exported by rollsim export: policy {:?} of {}",
            a.policy, source.origin
        ),
        format!("scenario sha256 {}", source.sha256()),
        "rollsim import reads this file back into the same policy".to_string(),
    ];
    let text = export::export(
        format_of(a.emit),
        &source.scenario.policies[i],
        &source.text,
        &header,
    )
    .map_err(|e| UsageError(e.0))?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
