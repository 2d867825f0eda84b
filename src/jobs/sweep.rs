//! `sweep`: a checked [`Sweep`] run point by point into `sweep.csv` (appended and synced
//! as each point finishes, so a crash keeps every finished point), `--resume` to continue
//! one, and the objective's recommendation (`recommendation.json`).

use super::{JobError, Source};
use crate::experiment::objective::{self, Objective, PointResult, Recommendation};
use crate::experiment::shard::Shard;
use crate::experiment::sweep::{self, Sweep, SweepRow};
use crate::report::checksum::sha256_hex;
use crate::report::{rows, Destination, Manifest, OutputDir, PointRange, ReportError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub mod points;
use points::{PointSum, POINTS_FILE};

/// A sweep, checked, and where to write it.
#[derive(Debug, Clone)]
pub struct SweepJob {
    pub source: Source,
    pub sweep: Sweep,
    pub objective: Option<Objective>,
    /// The level constraints and ties are judged at (0.95 by default).
    pub confidence: f64,
    pub seed: u64,
    /// Runs per point.
    pub runs: u64,
    /// Run only this slice of the points.
    pub shard: Option<Shard>,
    pub out: Destination,
    /// Continue the sweep already in `out` (same command) instead of starting afresh.
    pub resume: bool,
    /// The `--param` values as given, recorded in the manifest (a resume must match them).
    pub params: Vec<String>,
    pub command: String,
}

/// A sweep whose output directory is ready: what is done and what is left.
pub struct Started<'a> {
    job: &'a SweepJob,
    pub dir: OutputDir,
    pub manifest: Manifest,
    /// Points already in `sweep.csv` (resumed), and the points left to run.
    pub done: Vec<usize>,
    pub todo: Vec<usize>,
    /// Resumed: what was found cut or edited, and so is dropped or run again.
    pub notes: Vec<String>,
}

/// What a finished sweep found.
pub struct Finished {
    pub dir: OutputDir,
    pub manifest: Manifest,
    /// Every point of this output, in point order.
    pub results: Vec<PointResult>,
    pub recommendation: Option<Recommendation>,
}

/// Reads `sweep.csv` rows, as `--resume` and `merge` do.
pub fn read_rows(path: &Path) -> Result<Vec<SweepRow>, ReportError> {
    Ok(rows::read::<SweepRow>(path)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

fn csv<T: serde::Serialize + serde::de::DeserializeOwned>(
    rows: &[T],
    header: bool,
) -> Result<Vec<u8>, ReportError> {
    rows::csv_text(rows, header).map_err(|source| ReportError::Csv {
        path: "sweep.csv".into(),
        source,
    })
}

/// `sweep.csv` rows as CSV text, with the header of a system's sweep (with `service`) or
/// a single service's when `header` says which.
fn sweep_csv(rows: &[SweepRow], header: Option<bool>) -> Result<Vec<u8>, ReportError> {
    let columns = header.map(SweepRow::columns);
    rows::csv_text_with(rows, columns.as_deref()).map_err(|source| ReportError::Csv {
        path: "sweep.csv".into(),
        source,
    })
}

impl SweepJob {
    fn manifest(&self) -> Manifest {
        let total = self.sweep.points.len() as u64;
        let slice = self.slice();
        let policies = self.sweep.policies.clone();
        let command = self.command.clone();
        Manifest {
            shard: self.shard.map(|s| s.to_string()),
            params: self.params.clone(),
            points: Some(PointRange {
                first: slice.start,
                count: slice.end - slice.start,
                total,
            }),
            ..self
                .source
                .manifest("sweep", self.seed, self.runs, policies, command)
        }
    }

    fn slice(&self) -> std::ops::Range<u64> {
        let total = self.sweep.points.len() as u64;
        self.shard.map(|s| s.range(total)).unwrap_or(0..total)
    }

    /// Prepares the output directory: a fresh `sweep.csv` (its header) and
    /// [`POINTS_FILE`], or with `resume` the points of the ones there whose rows match
    /// their checksums (after checking it is the same sweep), then the scenario and the
    /// manifest.
    pub fn start(&self) -> Result<Started<'_>, JobError> {
        let manifest = self.manifest();
        let csv_path = self.out.dir.join("sweep.csv");
        let system = self.sweep.is_system();
        let (dir, done, notes) = if self.resume {
            let dir = OutputDir::reopen(&self.out.dir)?;
            self.check_resumable(&manifest)?;
            let mut notes = vec![];
            let rows = points::read_appended::<SweepRow>(&csv_path, &mut notes)?;
            let sums =
                points::read_appended::<PointSum>(&self.out.dir.join(POINTS_FILE), &mut notes)?;
            let shown = csv_path.display().to_string();
            let kept = points::keep(rows, sums, self.sweep.rows_per_point(), &shown)?;
            notes.extend(kept.notes);
            // Only the points that check out are kept, atomically; the rest run again.
            dir.write("sweep.csv", &sweep_csv(&kept.rows, Some(system))?)?;
            dir.write(POINTS_FILE, &csv(&kept.sums, true)?)?;
            (dir, kept.done, notes)
        } else {
            let dir = self.out.prepare()?;
            dir.write("sweep.csv", &sweep_csv(&[], Some(system))?)?;
            dir.write(POINTS_FILE, &csv::<PointSum>(&[], true)?)?;
            (dir, vec![], vec![])
        };
        dir.write("scenario.toml", self.source.text.as_bytes())?;
        dir.write("manifest.json", &manifest.to_json())?;
        let todo = self
            .slice()
            .map(|i| i as usize)
            .filter(|i| !done.contains(i))
            .collect();
        Ok(Started {
            job: self,
            dir,
            manifest,
            done,
            todo,
            notes,
        })
    }

    /// A resumed sweep must be the very sweep in the directory.
    fn check_resumable(&self, manifest: &Manifest) -> Result<(), JobError> {
        let path = self.out.dir.join("manifest.json");
        let old: Manifest = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| {
                JobError::Input(format!(
                    "--resume: {} is not the manifest of a sweep; resume into the directory of an interrupted sweep",
                    path.display()
                ))
            })?;
        let same = old.kind == "sweep"
            && old.scenario_sha256 == manifest.scenario_sha256
            && old.seed == manifest.seed
            && old.runs == manifest.runs
            && old.params == manifest.params
            && old.points.map(|p| (p.first, p.count))
                == manifest.points.map(|p| (p.first, p.count));
        if same {
            Ok(())
        } else {
            Err(JobError::Input(format!(
                "--resume: {} holds a different sweep (scenario, seed, runs, --param or --shard differ); resume with the same command",
                self.out.dir.display()
            )))
        }
    }
}

impl Started<'_> {
    /// Runs the points left, appending each to `sweep.csv` as it finishes (and its
    /// checksum to [`POINTS_FILE`]), then reads the file back, records its SHA-256 in the
    /// manifest and judges the objective. `progress` gets the runs finished so far (of
    /// `todo.len() * runs`). Stopped (even after the last point, while reading back), it
    /// fails with [`JobError::Interrupted`] and the files keep every finished point.
    pub fn run(
        mut self,
        stop: Option<&AtomicBool>,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> Result<Finished, JobError> {
        let job = self.job;
        let csv_path = self.dir.path().join("sweep.csv");
        let mut csv_file = Appender::open(&csv_path)?;
        let mut sums = Appender::open(&self.dir.path().join(POINTS_FILE))?;
        let finished = job
            .sweep
            .run(job.seed, job.runs, &self.todo, stop, progress, |rows| {
                let bytes = sweep_csv(rows, None)?;
                csv_file.append(&bytes)?;
                let point = rows.first().map_or(0, |r| r.point);
                sums.append(&csv(&[PointSum::of(point, rows.len(), &bytes)], false)?)?;
                Ok::<(), JobError>(())
            })?;
        if finished < self.todo.len() {
            self.manifest.interrupted = true;
            self.dir.write("manifest.json", &self.manifest.to_json())?;
            return Err(JobError::Interrupted(format!(
                "stopped after {finished} of {} points; continue with the same command and --resume",
                self.todo.len()
            )));
        }
        let stopped = || stop.is_some_and(|s| s.load(Ordering::SeqCst));
        let after_points = || {
            JobError::Interrupted(format!(
                "every point is in {}, but the command stopped before the recommendation and the report; finish them with the same command and --resume (no point runs again)",
                csv_path.display()
            ))
        };
        if stopped() {
            return Err(after_points());
        }
        let bytes = std::fs::read(&csv_path).map_err(|source| ReportError::Read {
            path: csv_path.display().to_string(),
            source,
        })?;
        let rows: Vec<SweepRow> = rows::parse(&bytes, &csv_path.display().to_string())?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        // Every point is in: the checksum makes the output whole (`merge` needs it).
        self.manifest
            .sha256
            .insert("sweep.csv".into(), sha256_hex(&bytes));
        drop(bytes);
        self.dir.write("manifest.json", &self.manifest.to_json())?;
        if stopped() {
            return Err(after_points());
        }
        let results = sweep::results(&rows);
        drop(rows);
        if stopped() {
            return Err(after_points());
        }
        let recommendation = job.objective.as_ref().map(|o| {
            let mut r = objective::recommend(o, &results, job.confidence);
            if let Some(p) = r.point.and_then(|i| job.sweep.points.get(i)) {
                r.paste = job.sweep.paste(&job.source.text, &p.values);
                for p in &r.paste {
                    r.message.push('\n');
                    r.message.push_str(&p.describe());
                }
            }
            r
        });
        if let Some(r) = &recommendation {
            let mut json = serde_json::to_vec_pretty(r).unwrap_or_default();
            json.push(b'\n');
            self.dir.write("recommendation.json", &json)?;
        }
        Ok(Finished {
            dir: self.dir,
            manifest: self.manifest,
            results,
            recommendation,
        })
    }
}

/// A file appended to and synced a block at a time, so a crash keeps every whole block.
struct Appender {
    file: std::fs::File,
    path: PathBuf,
}

impl Appender {
    fn open(path: &Path) -> Result<Self, ReportError> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| ReportError::Write {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Appender {
            file,
            path: path.to_path_buf(),
        })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), ReportError> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| ReportError::Write {
                path: self.path.display().to_string(),
                source,
            })
    }
}
