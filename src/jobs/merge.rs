//! `merge`: shard outputs into the single-machine output.
//!
//! Every shard's `runs.csv` (or `sweep.csv`) must still have the SHA-256 its manifest
//! recorded. The shards' `runs.csv` rows are read in run order and the summary and the comparison
//! recomputed from them in that order (a sweep's `sweep.csv` rows in point order), so the
//! merged files are byte for byte what one machine would have written.

use super::sweep::points::{PointSum, POINTS_FILE};
use super::JobError;
use crate::experiment::merge::{self, Block};
use crate::experiment::sweep::SweepRow;
use crate::experiment::Summarizer;
use crate::outcome::RunRecord;
use crate::report::system::{EVENTS_FILE, GRAPH_FILE};
use crate::report::{
    checksum, comparison_csv, rows, summary_csv, Destination, Manifest, OutputDir, PointRange,
    ReportError,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// What to merge and where.
#[derive(Debug, Clone)]
pub struct MergeJob {
    /// The shard output directories, in any order.
    pub dirs: Vec<PathBuf>,
    pub out: Destination,
    pub command: String,
}

/// What a merge wrote.
pub struct Merged {
    pub dir: OutputDir,
    /// Shards merged.
    pub shards: usize,
    /// Runs (or, for a sweep, points) in the merged output.
    pub count: u64,
    /// Whether the shards were a sweep's.
    pub sweep: bool,
}

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
        // Located as `file:line:col`, as every input error is.
        ReportError::Input {
            path: format!("{}:{}:{}", path.display(), e.line(), e.column()),
            message: format!(
                "{}; expected the manifest.json a sharded run writes",
                crate::check::json_error_text(&e)
            ),
        }
    })
}

/// The shards in merge order (by first run or point), checked to be the blocks of one
/// experiment (or sweep): same scenario, seed and runs, then the same policies (or
/// `--param`), none interrupted, tiling the whole exactly.
fn ordered(
    dirs: &[PathBuf],
    manifests: Vec<Manifest>,
    sweep: bool,
) -> Result<Vec<(PathBuf, Manifest)>, ReportError> {
    let block = |d: &Path, m: &Manifest| -> Result<(Block, u64), ReportError> {
        if sweep {
            let p = m.points.ok_or_else(|| {
                input(
                    &d.join("manifest.json"),
                    "a sweep manifest without `points`",
                )
            })?;
            Ok((
                Block {
                    first: p.first,
                    count: p.count,
                },
                p.total,
            ))
        } else {
            Ok((
                Block {
                    first: m.first_run,
                    count: m.completed_runs,
                },
                m.runs,
            ))
        }
    };
    let mut shards = Vec::with_capacity(dirs.len());
    for (d, m) in dirs.iter().zip(manifests) {
        let (b, total) = block(d, &m)?;
        shards.push((d.clone(), m, b, total));
    }
    shards.sort_by_key(|s| s.2.first);
    let total = shards[0].3;
    let blocks: Vec<Block> = shards.iter().map(|s| s.2).collect();
    let sorted: Vec<(PathBuf, Manifest)> = shards.into_iter().map(|s| (s.0, s.1)).collect();
    let (first_dir, first) = &sorted[0];
    for (d, m) in &sorted {
        let same = m.kind == first.kind
            && m.scenario_sha256 == first.scenario_sha256
            && m.seed == first.seed
            && m.runs == first.runs
            && if sweep {
                m.params == first.params
            } else {
                m.policies == first.policies && m.baseline == first.baseline
            };
        if !same {
            let (what, fields) = if sweep {
                ("sweep", "scenario, seed, runs and --param must match")
            } else {
                (
                    "experiment",
                    "scenario, seed, runs, command kind and policies must match",
                )
            };
            return Err(input(
                &d.join("manifest.json"),
                format!(
                    "is not a shard of the same {what} as {} ({fields})",
                    first_dir.display()
                ),
            ));
        }
        if m.interrupted {
            return Err(input(
                &d.join("manifest.json"),
                if sweep {
                    "this shard was interrupted; finish it with its command and --resume before merging"
                } else {
                    "this shard was interrupted; rerun it before merging"
                },
            ));
        }
    }
    let (unit, whole) = if sweep {
        ("point", "sweep")
    } else {
        ("run", "experiment")
    };
    merge::tile(&blocks, total).map_err(|gap| {
        let at = match gap {
            merge::Gap::Starts { part, .. } => &sorted[part].0,
            merge::Gap::Short { .. } => &sorted[0].0,
        };
        input(&at.join("manifest.json"), gap.describe(unit, whole))
    })?;
    Ok(sorted)
}

impl MergeJob {
    /// The master seed of the shards (the first one's manifest), for the command line
    /// the merged manifest records.
    pub fn seed(&self) -> Result<u64, JobError> {
        let first = self
            .dirs
            .first()
            .ok_or_else(|| JobError::Input("no shard directory to merge".into()))?;
        Ok(read_manifest(first)?.seed)
    }

    /// Checks the shards, then writes the merged output; nothing is written when a shard
    /// is missing, repeated, foreign or interrupted, or its rows no longer match the
    /// SHA-256 its manifest recorded (edited or cut after it was written).
    ///
    /// Once `stop` (Ctrl-C) is set it ends at the next shard with
    /// [`JobError::Interrupted`], and nothing is written: the merged rows go to a temporary
    /// file, removed, and the other files are written only after them.
    pub fn run(&self, stop: Option<&AtomicBool>) -> Result<Merged, JobError> {
        let check = || match stop {
            Some(s) if s.load(Ordering::SeqCst) => Err(JobError::Interrupted(format!(
                "stopped before the merge into {} was written; nothing written",
                self.out.dir.display()
            ))),
            _ => Ok(()),
        };
        if self.dirs.is_empty() {
            return Err(JobError::Input("no shard directory to merge".into()));
        }
        let mut manifests = Vec::with_capacity(self.dirs.len());
        for d in &self.dirs {
            // A read cut short by Ctrl-C is an interruption, not a bad shard.
            let m = read_manifest(d);
            check()?;
            manifests.push(m?);
        }
        let sweep = manifests.first().is_some_and(|m| m.kind == "sweep");
        let shards = ordered(&self.dirs, manifests, sweep)?;
        let data = if sweep { "sweep.csv" } else { "runs.csv" };
        // Every shard's rows are as they were written (before anything is written here).
        for (d, m) in &shards {
            check()?;
            checksum::verify(d, data, m.sha256.get(data).map(String::as_str))?;
        }
        check()?;
        let out = self.out.prepare()?;
        let (first_dir, first) = &shards[0];
        let (count, sha256) = if sweep {
            self.sweep(&out, &shards, &check)?
        } else {
            self.runs(&out, &shards, &check)?
        };
        if let Ok(text) = std::fs::read(first_dir.join("scenario.toml")) {
            out.write("scenario.toml", &text)?;
        }
        // A system's graph, and the traced run one machine would have picked: the first
        // shard's that has one (see `jobs::system`).
        if let Ok(bytes) = std::fs::read(first_dir.join(GRAPH_FILE)) {
            out.write(GRAPH_FILE, &bytes)?;
        }
        if let Some(bytes) = shards
            .iter()
            .find_map(|(d, _)| std::fs::read(d.join(EVENTS_FILE)).ok())
        {
            out.write(EVENTS_FILE, &bytes)?;
        }
        let manifest = Manifest {
            first_run: 0,
            completed_runs: first.runs,
            shard: None,
            points: first.points.map(|p| PointRange {
                first: 0,
                count: p.total,
                total: p.total,
            }),
            command: self.command.clone(),
            sha256: [(data.to_string(), sha256)].into_iter().collect(),
            ..first.clone()
        };
        out.write("manifest.json", &manifest.to_json())?;
        Ok(Merged {
            dir: out,
            shards: shards.len(),
            count,
            sweep,
        })
    }

    /// Concatenates `runs.csv` in run order and recomputes the summary and comparison;
    /// returns the runs and the SHA-256 of the merged `runs.csv`.
    fn runs(
        &self,
        out: &OutputDir,
        shards: &[(PathBuf, Manifest)],
        check: &dyn Fn() -> Result<(), JobError>,
    ) -> Result<(u64, String), JobError> {
        let first = &shards[0].1;
        let baseline = first
            .baseline
            .as_ref()
            .and_then(|b| first.policies.iter().position(|p| p == b))
            .unwrap_or(0);
        let mut summarizer: Option<Summarizer> = None;
        let mut writer = out.runs_writer()?;
        for (d, _) in shards {
            check()?;
            let records: Vec<RunRecord> = rows::read::<RunRecord>(&d.join("runs.csv"))?
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            let summarizer = summarizer.get_or_insert_with(|| {
                Summarizer::system(first.policies.clone(), baseline, &services_of(&records))
            });
            summarizer.add_records(&records);
            writer.write(&records)?;
        }
        check()?;
        let sha256 = writer.finish()?;
        let summarizer =
            summarizer.unwrap_or_else(|| Summarizer::system(first.policies.clone(), baseline, &[]));
        rows::write_bytes(out, "summary.csv", summary_csv(&summarizer.summary()))?;
        if first.baseline.is_some() {
            rows::write_bytes(
                out,
                "comparison.csv",
                comparison_csv(&summarizer.comparison()),
            )?;
        }
        Ok((first.runs, sha256))
    }

    /// Concatenates `sweep.csv` in point order, with the points' checksums; returns the
    /// points and the SHA-256 of the merged `sweep.csv`.
    fn sweep(
        &self,
        out: &OutputDir,
        shards: &[(PathBuf, Manifest)],
        check: &dyn Fn() -> Result<(), JobError>,
    ) -> Result<(u64, String), JobError> {
        let mut all = Vec::new();
        for (d, _) in shards {
            check()?;
            all.extend(super::sweep::read_rows(&d.join("sweep.csv"))?);
        }
        let mut sums = Vec::new();
        for point in all.chunk_by(|a, b| a.point == b.point) {
            let bytes = csv_err(rows::csv_text(point, false), out, "sweep.csv")?;
            sums.push(PointSum::of(point[0].point, point.len(), &bytes));
        }
        // A system's rows carry a `service` column that a single service's leave out.
        let columns = SweepRow::columns(all.iter().any(|r| r.service.is_some()));
        let bytes = csv_err(rows::csv_text_with(&all, Some(&columns)), out, "sweep.csv")?;
        check()?;
        out.write("sweep.csv", &bytes)?;
        rows::write_bytes(out, POINTS_FILE, rows::csv_text(&sums, true))?;
        Ok((
            shards[0].1.points.map_or(0, |p| p.total),
            checksum::sha256_hex(&bytes),
        ))
    }
}

/// A CSV text that could not be formatted, as a [`ReportError::Csv`] naming the file.
fn csv_err(
    bytes: Result<Vec<u8>, csv::Error>,
    out: &OutputDir,
    name: &str,
) -> Result<Vec<u8>, ReportError> {
    bytes.map_err(|source| ReportError::Csv {
        path: out.path().join(name).display().to_string(),
        source,
    })
}

/// The services of a system's records, in the order of the first run's first policy
/// (none for a single service).
fn services_of(records: &[RunRecord]) -> Vec<String> {
    let Some(first) = records.first() else {
        return Vec::new();
    };
    records
        .iter()
        .take_while(|r| r.run == first.run && r.policy == first.policy)
        .filter_map(|r| r.service.clone())
        .filter(|s| s != "system")
        .collect()
}
