//! `rollsim merge`: shard outputs into the single-machine output.
//!
//! The shards' `runs.csv` rows are concatenated in run order and the summary and the
//! comparison are recomputed from them in that order, so the merged files are byte for
//! byte what one machine would have written.

use super::args::MergeArgs;
use super::command_line;
use anyhow::{Context, Result};
use rollsim::experiment::Summarizer;
use rollsim::outcome::RunRecord;
use rollsim::report::{comparison_csv, summary_csv, Manifest, OutputDir, ReportError};
use std::path::Path;

fn input(path: &Path, message: impl Into<String>) -> ReportError {
    ReportError::Input {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read_manifest(dir: &Path) -> Result<Manifest, ReportError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        input(
            &path,
            format!("cannot read ({e}); expected the output directory of a sharded run"),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        input(
            &path,
            format!("line {} column {}: {e}", e.line(), e.column()),
        )
    })
}

pub fn merge(a: &MergeArgs, argv: &[String]) -> Result<()> {
    let mut shards = Vec::new();
    for d in &a.dirs {
        shards.push((d.clone(), read_manifest(d)?));
    }
    if shards[0].1.kind == "sweep" {
        return merge_sweep(a, argv, shards);
    }
    shards.sort_by_key(|(_, m)| m.first_run);
    let (first_dir, first) = &shards[0];
    for (d, m) in &shards {
        let same = m.scenario_sha256 == first.scenario_sha256
            && m.seed == first.seed
            && m.runs == first.runs
            && m.kind == first.kind
            && m.policies == first.policies
            && m.baseline == first.baseline;
        if !same {
            return Err(input(
                &d.join("manifest.json"),
                format!(
                    "is not a shard of the same experiment as {} (scenario, seed, runs, command kind and policies must match)",
                    first_dir.display()
                ),
            )
            .into());
        }
        if m.interrupted {
            return Err(input(
                &d.join("manifest.json"),
                "this shard was interrupted; rerun it before merging",
            )
            .into());
        }
    }
    // The shards must tile 0..runs exactly.
    let mut next = 0;
    for (d, m) in &shards {
        if m.first_run != next {
            return Err(input(
                &d.join("manifest.json"),
                format!("starts at run {} but run {next} is missing or repeated; expected all shards of one experiment", m.first_run),
            )
            .into());
        }
        next = m.first_run + m.completed_runs;
    }
    if next != first.runs {
        return Err(input(
            &first_dir.join("manifest.json"),
            format!(
                "the shards cover runs 0..{next} of {}; a shard is missing",
                first.runs
            ),
        )
        .into());
    }

    let out = OutputDir::prepare(&a.out, a.force)?;
    let baseline = first
        .baseline
        .as_ref()
        .and_then(|b| first.policies.iter().position(|p| p == b))
        .unwrap_or(0);
    let mut summarizer = Summarizer::new(first.policies.clone(), baseline);
    let mut writer = out.runs_writer()?;
    for (d, _) in &shards {
        let path = d.join("runs.csv");
        let mut reader = csv::Reader::from_path(&path).map_err(|e| input(&path, e.to_string()))?;
        let mut records = Vec::new();
        for row in reader.deserialize::<RunRecord>() {
            let r = row.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                input(&path, format!("line {line}: {e}"))
            })?;
            records.push(r);
        }
        summarizer.add_records(&records);
        writer.write(&records)?;
    }
    writer.finish()?;
    out.write(
        "summary.csv",
        &summary_csv(&summarizer.summary()).context("summary.csv")?,
    )?;
    if first.baseline.is_some() {
        out.write(
            "comparison.csv",
            &comparison_csv(&summarizer.comparison()).context("comparison.csv")?,
        )?;
    }
    if let Ok(text) = std::fs::read(first_dir.join("scenario.toml")) {
        out.write("scenario.toml", &text)?;
    }
    let manifest = Manifest {
        kind: first.kind.clone(),
        first_run: 0,
        completed_runs: first.runs,
        shard: None,
        command: command_line(argv, first.seed),
        ..first.clone()
    };
    out.write("manifest.json", &manifest.to_json())?;
    eprintln!(
        "merged {} shards ({} runs) into {}/",
        shards.len(),
        first.runs,
        out.path().display()
    );
    super::report::after_command(out.path())
}

/// Sweep shards hold disjoint blocks of points: their `sweep.csv` rows, concatenated in
/// point order, are the single-machine `sweep.csv`.
fn merge_sweep(
    a: &MergeArgs,
    argv: &[String],
    mut shards: Vec<(std::path::PathBuf, Manifest)>,
) -> Result<()> {
    shards.sort_by_key(|(_, m)| m.points.map(|p| p.first).unwrap_or(0));
    let (first_dir, first) = &shards[0];
    let mut next = 0;
    let mut total = 0;
    for (d, m) in &shards {
        let p = m.points.ok_or_else(|| {
            input(
                &d.join("manifest.json"),
                "a sweep manifest without `points`",
            )
        })?;
        let same = m.kind == "sweep"
            && m.scenario_sha256 == first.scenario_sha256
            && m.seed == first.seed
            && m.runs == first.runs
            && m.params == first.params;
        if !same {
            return Err(input(
                &d.join("manifest.json"),
                format!("is not a shard of the same sweep as {} (scenario, seed, runs and --param must match)", first_dir.display()),
            )
            .into());
        }
        if p.first != next {
            return Err(input(
                &d.join("manifest.json"),
                format!("starts at point {} but point {next} is missing or repeated; expected all shards of one sweep", p.first),
            )
            .into());
        }
        next = p.first + p.count;
        total = p.total;
    }
    if next != total {
        return Err(input(
            &first_dir.join("manifest.json"),
            format!("the shards cover points 0..{next} of {total}; a shard is missing"),
        )
        .into());
    }
    let out = OutputDir::prepare(&a.out, a.force)?;
    let mut merged: Vec<u8> = Vec::new();
    for (i, (d, _)) in shards.iter().enumerate() {
        let path = d.join("sweep.csv");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| input(&path, format!("cannot read ({e})")))?;
        let mut lines = text.split_inclusive('\n');
        let header = lines.next().unwrap_or_default();
        if i == 0 {
            merged.extend_from_slice(header.as_bytes());
        }
        for l in lines {
            merged.extend_from_slice(l.as_bytes());
        }
    }
    out.write("sweep.csv", &merged)?;
    if let Ok(text) = std::fs::read(first_dir.join("scenario.toml")) {
        out.write("scenario.toml", &text)?;
    }
    let manifest = Manifest {
        shard: None,
        points: Some(rollsim::report::PointRange {
            first: 0,
            count: total,
            total,
        }),
        command: command_line(argv, first.seed),
        ..first.clone()
    };
    out.write("manifest.json", &manifest.to_json())?;
    eprintln!(
        "merged {} sweep shards ({total} points) into {}/",
        shards.len(),
        out.path().display()
    );
    super::report::after_command(out.path())
}
