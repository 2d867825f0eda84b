//! `rollsim sweep`: one or two scenario fields over ranges or lists, every point on the
//! same seed (so points differ by the parameter, not by luck), results streamed to
//! `sweep.csv` as each point finishes, `--resume` to continue, and an objective that
//! recommends a value.

use super::args::SweepArgs;
use super::{
    command_line, default_out, load, pick_seed, progress, stop_flag, Interrupted, UsageError,
};
use anyhow::{Context, Result};
use rollsim::experiment::objective::{self, PointResult, Recommendation};
use rollsim::experiment::stats::Estimate;
use rollsim::experiment::{self as exp, Options};
use rollsim::report::{Manifest, OutputDir, PointRange, ReportError};
use rollsim::scenario::{self, edit, Scenario};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

/// One swept parameter.
#[derive(Debug, Clone, PartialEq)]
struct Param {
    path: String,
    values: Vec<f64>,
}

/// Rounds away float noise from range arithmetic (0.035000000000000003 -> 0.035).
fn tidy(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(12 - v.abs().log10().ceil() as i32);
    (v * scale).round() / scale
}

fn parse_param(s: &str) -> Result<Param, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "--param {s:?}: {why}; expected PATH=LOW..HIGH:POINTS or PATH=A,B,C, e.g. policies.gate.error_rate_above=0.005..0.05:10"
        ))
    };
    let (path, spec) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
    let path = path.trim().to_string();
    let num = |x: &str| x.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let values = if let Some((range, n)) = spec.split_once(':') {
        let (lo, hi) = range
            .split_once("..")
            .ok_or_else(|| bad("a range needs LOW..HIGH"))?;
        let (lo, hi) = (
            num(lo).ok_or_else(|| bad("LOW is not a number"))?,
            num(hi).ok_or_else(|| bad("HIGH is not a number"))?,
        );
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| bad("POINTS is not a whole number"))?;
        if !(1..=10_000).contains(&n) {
            return Err(bad("POINTS must be from 1 to 10000"));
        }
        if n == 1 {
            vec![lo]
        } else {
            (0..n)
                .map(|i| tidy(lo + (hi - lo) * i as f64 / (n - 1) as f64))
                .collect()
        }
    } else {
        spec.split(',')
            .map(|x| num(x).ok_or_else(|| bad(&format!("{:?} is not a number", x.trim()))))
            .collect::<Result<Vec<_>, _>>()?
    };
    if path.is_empty() || values.is_empty() {
        return Err(bad("empty path or no values"));
    }
    Ok(Param { path, values })
}

/// One row of `sweep.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    point: usize,
    param: String,
    value: f64,
    param2: Option<String>,
    value2: Option<f64>,
    policy: String,
    metric: String,
    mean: Option<f64>,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    n: u64,
}

/// A sweep point: its parameter values and checked scenario.
struct Point {
    values: Vec<f64>,
    scenario: Scenario,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn rows_of(point: usize, params: &[Param], values: &[f64], s: &exp::Summary) -> Vec<Row> {
    let mut rows = Vec::new();
    for p in &s.policies {
        for (metric, e) in &p.metrics {
            rows.push(Row {
                point,
                param: params[0].path.clone(),
                value: values[0],
                param2: params.get(1).map(|p| p.path.clone()),
                value2: values.get(1).copied(),
                policy: p.policy.clone(),
                metric: metric.to_string(),
                mean: finite(e.mean),
                ci95_low: finite(e.ci95_low),
                ci95_high: finite(e.ci95_high),
                n: e.n,
            });
        }
    }
    rows
}

fn read_rows(path: &Path) -> Result<Vec<Row>, ReportError> {
    let input = |message: String| ReportError::Input {
        path: path.display().to_string(),
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| input(e.to_string()))?;
    reader
        .deserialize::<Row>()
        .map(|r| {
            r.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                input(format!("line {line}: {e}"))
            })
        })
        .collect()
}

fn to_points(rows: &[Row]) -> Vec<PointResult> {
    let mut by_point: BTreeMap<usize, PointResult> = BTreeMap::new();
    for r in rows {
        let p = by_point.entry(r.point).or_insert_with(|| {
            let mut values = vec![(r.param.clone(), r.value)];
            if let (Some(p2), Some(v2)) = (&r.param2, r.value2) {
                values.push((p2.clone(), v2));
            }
            PointResult {
                point: r.point,
                values,
                estimates: BTreeMap::new(),
            }
        });
        p.estimates.insert(
            (r.policy.clone(), r.metric.clone()),
            Estimate {
                mean: r.mean.unwrap_or(f64::NAN),
                ci95_low: r.ci95_low.unwrap_or(f64::NAN),
                ci95_high: r.ci95_high.unwrap_or(f64::NAN),
                n: r.n,
            },
        );
    }
    by_point.into_values().collect()
}

/// The columns of `sweep.csv` (a test ties them to [`Row`]).
const HEADER: [&str; 11] = [
    "point",
    "param",
    "value",
    "param2",
    "value2",
    "policy",
    "metric",
    "mean",
    "ci95_low",
    "ci95_high",
    "n",
];

fn csv_bytes(rows: &[Row], header: bool) -> Result<Vec<u8>> {
    // The header is written even with no rows, so appended rows always follow one.
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(vec![]);
    if header {
        w.write_record(HEADER)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

pub fn sweep(a: &SweepArgs, argv: &[String]) -> Result<()> {
    let c = &a.common;
    let (text, origin, base) = load(&c.scenario)?;
    if a.params.len() > 2 {
        return Err(UsageError(
            "--param is given more than twice; a sweep has one or two parameters".into(),
        )
        .into());
    }
    let params: Vec<Param> = a
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<_, _>>()?;
    let seed = pick_seed(c.seed, &base);
    let runs = c.runs.unwrap_or(base.runs);

    // Every point's scenario is built and checked before anything runs or is written.
    let mut combos: Vec<Vec<f64>> = params[0].values.iter().map(|v| vec![*v]).collect();
    if let Some(p2) = params.get(1) {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                p2.values
                    .iter()
                    .map(move |v| [c.clone(), vec![*v]].concat())
            })
            .collect();
    }
    let mut points = Vec::with_capacity(combos.len());
    for values in combos {
        let mut t = text.clone();
        for (p, v) in params.iter().zip(&values) {
            t = edit::set_number(&t, &p.path, *v)
                .map_err(|e| UsageError(format!("--param {}: {e}", p.path)))?;
        }
        let label = params
            .iter()
            .zip(&values)
            .map(|(p, v)| format!("{}={v}", p.path))
            .collect::<Vec<_>>()
            .join(", ");
        let dir = c.scenario.parent().unwrap_or(std::path::Path::new(""));
        let scenario = scenario::parse_at(&t, &format!("{origin} with {label}"), dir)
            .map_err(|e| UsageError(format!("--param {label} makes the scenario invalid:\n{e}")))?;
        if scenario
            .policies
            .iter()
            .map(|p| &p.name)
            .ne(base.policies.iter().map(|p| &p.name))
        {
            return Err(UsageError(format!(
                "--param {label} changes the policies; sweep values, not names"
            ))
            .into());
        }
        points.push(Point { values, scenario });
    }
    let names: Vec<String> = base.policies.iter().map(|p| p.name.clone()).collect();
    // The policy the sweep tunes, for the objective's default.
    let tuned = params[0]
        .path
        .strip_prefix("policies.")
        .and_then(|r| r.split('.').next())
        .map(|p| match p.parse::<usize>() {
            Ok(i) => names.get(i).cloned().unwrap_or_default(),
            Err(_) => p.to_string(),
        })
        .filter(|p| names.contains(p));
    let objective = match &a.objective {
        Some(o) => Some(
            objective::parse(o, tuned.as_deref(), &names)
                .map_err(|e| UsageError(format!("--objective: {e}")))?,
        ),
        None => None,
    };

    let total = points.len() as u64;
    let slice = c.shard.map(|s| s.range(total)).unwrap_or(0..total);
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| default_out(&c.scenario, "-sweep"));
    let manifest = Manifest {
        rollsim_version: env!("CARGO_PKG_VERSION").into(),
        kind: "sweep".into(),
        scenario: origin.clone(),
        scenario_sha256: format!("{:x}", Sha256::digest(text.as_bytes())),
        seed,
        runs,
        first_run: 0,
        completed_runs: runs,
        interrupted: false,
        policies: names.clone(),
        baseline: None,
        shard: c.shard.map(|s| s.to_string()),
        params: a.params.clone(),
        points: Some(PointRange {
            first: slice.start,
            count: slice.end - slice.start,
            total,
        }),
        command: command_line(argv, seed),
    };
    let csv_path = out.join("sweep.csv");
    let (dir, done) = if a.resume {
        let dir = OutputDir::prepare(&out, true)?;
        let old: Manifest = serde_json::from_str(
            &std::fs::read_to_string(out.join("manifest.json")).with_context(|| {
                format!("--resume: cannot read {}/manifest.json", out.display())
            })?,
        )
        .with_context(|| {
            format!(
                "--resume: {}/manifest.json is not a sweep manifest",
                out.display()
            )
        })?;
        let same = old.kind == "sweep"
            && old.scenario_sha256 == manifest.scenario_sha256
            && old.seed == seed
            && old.runs == runs
            && old.params == manifest.params
            && old.points.map(|p| (p.first, p.count))
                == manifest.points.map(|p| (p.first, p.count));
        if !same {
            return Err(UsageError(format!(
                "--resume: {} holds a different sweep (scenario, seed, runs, --param or --shard differ); resume with the same command",
                out.display()
            ))
            .into());
        }
        let rows = if csv_path.exists() {
            read_rows(&csv_path)?
        } else {
            vec![]
        };
        let per_point = names.len() * rollsim::outcome::RunRecord::METRICS.len();
        let mut count: BTreeMap<usize, usize> = BTreeMap::new();
        for r in &rows {
            *count.entry(r.point).or_default() += 1;
        }
        let complete: Vec<usize> = count
            .into_iter()
            .filter(|(_, n)| *n == per_point)
            .map(|(p, _)| p)
            .collect();
        // Keep only complete points (a crash can leave a partial one), atomically.
        let kept: Vec<Row> = rows
            .into_iter()
            .filter(|r| complete.contains(&r.point))
            .collect();
        dir.write("sweep.csv", &csv_bytes(&kept, true)?)?;
        eprintln!(
            "resuming: {} of {} points already done",
            complete.len(),
            slice.end - slice.start
        );
        (dir, complete)
    } else {
        let dir = OutputDir::prepare(&out, c.force)?;
        dir.write("sweep.csv", &csv_bytes(&[], true)?)?;
        (dir, vec![])
    };
    dir.write("scenario.toml", text.as_bytes())?;
    dir.write("manifest.json", &manifest.to_json())?;

    let stop = stop_flag();
    let todo: Vec<usize> = slice
        .clone()
        .map(|i| i as usize)
        .filter(|i| !done.contains(i))
        .collect();
    let bar = progress::bar(todo.len() as u64 * runs, "runs", c.quiet);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&csv_path)
        .with_context(|| format!("cannot append to {}", csv_path.display()))?;
    for (k, &i) in todo.iter().enumerate() {
        let p = &points[i];
        let offset = k as u64 * runs;
        let tick = |d: u64| bar.set_position(offset + d);
        let opts = Options {
            seed,
            runs: 0..runs,
            baseline: 0,
            stop: Some(&stop),
            progress: Some(&tick),
        };
        let r = exp::run(&p.scenario, &opts, |_| {
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|e| match e {});
        if r.interrupted || stop.load(Ordering::SeqCst) {
            bar.finish_and_clear();
            return Err(Interrupted(format!(
                "stopped after {k} of {} points; continue with the same command and --resume",
                todo.len()
            ))
            .into());
        }
        file.write_all(&csv_bytes(
            &rows_of(i, &params, &p.values, &r.summary),
            false,
        )?)?;
        file.sync_data()?;
    }
    bar.finish_and_clear();

    let rows = read_rows(&csv_path)?;
    let results = to_points(&rows);
    let recommendation = objective
        .as_ref()
        .map(|o| objective::recommend(o, &results));
    if let Some(r) = &recommendation {
        dir.write("recommendation.json", &{
            let mut v = serde_json::to_vec_pretty(r)?;
            v.push(b'\n');
            v
        })?;
    }
    print(
        c.json,
        &params,
        &results,
        tuned.as_deref().unwrap_or(&names[0]),
        recommendation.as_ref(),
        &manifest,
    )?;
    eprintln!(
        "wrote {}/ (sweep.csv{})",
        dir.path().display(),
        if recommendation.is_some() {
            ", recommendation.json"
        } else {
            ""
        }
    );
    super::report::after_command(dir.path())
}

fn print(
    json: bool,
    params: &[Param],
    points: &[PointResult],
    policy: &str,
    rec: Option<&Recommendation>,
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
        let v = serde_json::json!({"seed": manifest.seed, "runs": manifest.runs, "points": pts, "recommendation": rec});
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let metrics = [
        "false_positive_rollbacks",
        "missed_bad_release",
        "rollback_loops",
        "downtime_s",
        "failed_requests",
    ];
    let mut header: Vec<String> = params.iter().map(|p| p.path.clone()).collect();
    header.extend(metrics.iter().map(|m| m.to_string()));
    let mut table = vec![header];
    for p in points {
        let mut row: Vec<String> = p.values.iter().map(|(_, v)| v.to_string()).collect();
        for m in metrics {
            row.push(
                match p.estimates.get(&(policy.to_string(), m.to_string())) {
                    Some(e) if e.n > 0 => {
                        format!("{:.4} [{:.4}, {:.4}]", e.mean, e.ci95_low, e.ci95_high)
                    }
                    _ => "-".into(),
                },
            );
        }
        table.push(row);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    writeln!(
        out,
        "policy {policy}, {} runs per point, seed {}\n",
        manifest.runs, manifest.seed
    )?;
    for r in &table {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        writeln!(out, "{}", line.join("  "))?;
    }
    if let Some(r) = rec {
        writeln!(out, "\nobjective: {}\n{}", r.objective, r.message)?;
    }
    writeln!(out, "\nreproduce with: {}", manifest.command)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_the_row_fields() {
        let row = Row {
            point: 0,
            param: "p".into(),
            value: 1.0,
            param2: None,
            value2: None,
            policy: "x".into(),
            metric: "m".into(),
            mean: None,
            ci95_low: None,
            ci95_high: None,
            n: 0,
        };
        let mut w = csv::Writer::from_writer(vec![]);
        w.serialize(&row).expect("serialize");
        let text = String::from_utf8(w.into_inner().expect("bytes")).expect("utf8");
        assert_eq!(text.lines().next(), Some(HEADER.join(",").as_str()));
        let ours = String::from_utf8(csv_bytes(&[row], true).expect("bytes")).expect("utf8");
        assert_eq!(ours, text);
    }

    #[test]
    fn ranges_and_lists() {
        let p = parse_param("policies.gate.error_rate_above=0.005..0.05:10").expect("range");
        assert_eq!(p.values.len(), 10);
        assert_eq!(p.values[0], 0.005);
        assert_eq!(p.values[6], 0.035);
        assert_eq!(p.values[9], 0.05);
        let p = parse_param("service.request_rate=10, 20,40").expect("list");
        assert_eq!(p.values, vec![10.0, 20.0, 40.0]);
        assert!(parse_param("x=1..2")
            .unwrap_err()
            .0
            .contains("expected PATH=LOW..HIGH:POINTS"));
        assert!(parse_param("x=a,b")
            .unwrap_err()
            .0
            .contains("\"a\" is not a number"));
        assert!(parse_param("x").unwrap_err().0.contains("no '='"));
    }
}
