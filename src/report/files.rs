//! The output directory and the files written into it, each atomically.
//!
//! Outputs never mix: every file rollsim writes into a directory is listed in the hidden
//! [`WRITTEN_LIST`] there (before it is written), so `--force` removes exactly what an
//! earlier command wrote (a `comparison.csv` of a `compare` does not survive into the
//! report of a later `run`) and never a user's other files. Temporary files are named
//! [`TMP_PREFIX`]`<pid>-...`; one left by a process that no longer runs (killed with -9
//! mid-write) is removed by the next command using the directory, so it neither blocks a
//! re-run nor lingers.

use super::checksum::Hashing;
use super::ReportError;
use crate::outcome::RunRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Gives a finished output the usual file mode (a temporary file is created owner-only),
/// so a report can be shared or served like any other file.
fn readable(f: &std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = f;
    Ok(())
}

/// The hidden file, in an output directory, that lists the files rollsim wrote there,
/// one name a line.
pub const WRITTEN_LIST: &str = ".rollsim-written";

/// The start of the name of every temporary file rollsim creates in an output directory;
/// the writing process's id follows.
pub const TMP_PREFIX: &str = ".rollsim-tmp-";

/// A temporary file in `dir` named for this process.
fn temp_in(dir: &Path) -> std::io::Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
        .tempfile_in(dir)
}

/// Whether `name` is a temporary file of a rollsim process that has gone (killed before
/// it could rename or remove it). Where process ids cannot be checked (no `/proc`), every
/// temporary file of another process counts as gone.
fn stale_temp(name: &str) -> bool {
    let Some(pid) = name
        .strip_prefix(TMP_PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return false;
    };
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    !(proc.join("self").exists() && proc.join(pid.to_string()).exists())
}

/// Removes the stale temporary files of `dir` (see [`stale_temp`]).
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if stale_temp(&e.file_name().to_string_lossy()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The names listed in `dir`'s [`WRITTEN_LIST`] that are plain file names (the list is a
/// file like any other: a name with a path in it is ignored, never followed).
fn written_list(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(WRITTEN_LIST)).unwrap_or_default();
    text.lines()
        .filter(|n| {
            !n.is_empty()
                && *n != "."
                && *n != ".."
                && !n.contains(['/', '\\', '\0'])
                && *n != WRITTEN_LIST
        })
        .map(str::to_string)
        .collect()
}

/// Removes what rollsim wrote in `dir` before (its [`WRITTEN_LIST`]), and the same in
/// its subdirectories that have a list (a report's `charts/`), which go too once empty.
/// Nothing else is touched.
fn remove_previous(dir: &Path) -> std::io::Result<()> {
    for name in written_list(dir) {
        let path = dir.join(&name);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => std::fs::remove_file(&path)?,
            _ => {}
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let sub = e.path();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && sub.join(WRITTEN_LIST).is_file() {
                remove_previous(&sub)?;
                let _ = std::fs::remove_dir(&sub);
            }
        }
    }
    match std::fs::remove_file(dir.join(WRITTEN_LIST)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Where a command writes its files: the directory and whether what rollsim wrote there
/// before may be replaced (`--out`, `--force`). The two always travel together, from the
/// command line through a job to [`OutputDir::prepare`].
#[derive(Debug, Clone)]
pub struct Destination {
    pub dir: PathBuf,
    /// Overwrite files in a non-empty directory.
    pub force: bool,
}

impl Destination {
    /// The directory, checked and ready for new files ([`OutputDir::prepare`]).
    pub fn prepare(&self) -> Result<OutputDir, ReportError> {
        OutputDir::prepare(&self.dir, self.force)
    }

    /// What [`Self::prepare`] would refuse, touching nothing ([`OutputDir::check`]).
    pub fn check(&self) -> Result<(), ReportError> {
        OutputDir::check(&self.dir, self.force)
    }
}

/// A checked output directory.
#[derive(Debug, Clone)]
pub struct OutputDir {
    path: PathBuf,
}

impl OutputDir {
    /// A directory for a new output: creates `path` if needed and refuses a non-empty one
    /// unless `force`, which removes what rollsim wrote there before (the files of its
    /// [`WRITTEN_LIST`]) and keeps everything else. Stale temporary files of ours are
    /// removed first and do not count.
    pub fn prepare(path: &Path, force: bool) -> Result<Self, ReportError> {
        let shown = path.display().to_string();
        let dir_err = |source| ReportError::Dir {
            path: shown.clone(),
            source,
        };
        match std::fs::read_dir(path) {
            Ok(_) => {
                remove_stale_temps(path);
                if force {
                    remove_previous(path).map_err(dir_err)?;
                } else {
                    let others = std::fs::read_dir(path)
                        .map_err(dir_err)?
                        .flatten()
                        .any(|e| e.file_name() != WRITTEN_LIST);
                    if others {
                        return Err(ReportError::NotEmpty { path: shown });
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(path).map_err(dir_err)?
            }
            Err(e) => return Err(dir_err(e)),
        }
        Self::checked(path)
    }

    /// What [`Self::prepare`] would refuse, checked without touching anything: for a
    /// command that computes everything before it writes, so a bad `--out` fails before
    /// the work and Ctrl-C during the work leaves an earlier output (even with `--force`)
    /// as it was.
    pub fn check(path: &Path, force: bool) -> Result<(), ReportError> {
        let shown = path.display().to_string();
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let others = entries.flatten().any(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name != WRITTEN_LIST && !stale_temp(&name)
                });
                if others && !force {
                    return Err(ReportError::NotEmpty { path: shown });
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ReportError::Dir {
                path: shown,
                source,
            }),
        }
    }

    /// An existing output to add to or rewrite files of (a report built beside a run's
    /// data, a resumed sweep): created if needed, nothing removed but stale temporary
    /// files of ours.
    pub fn reopen(path: &Path) -> Result<Self, ReportError> {
        if let Err(e) = std::fs::create_dir_all(path) {
            return Err(ReportError::Dir {
                path: path.display().to_string(),
                source: e,
            });
        }
        remove_stale_temps(path);
        Self::checked(path)
    }

    /// Fails now, before any simulation, if the directory cannot take a file.
    fn checked(path: &Path) -> Result<Self, ReportError> {
        temp_in(path).map_err(|source| ReportError::Dir {
            path: path.display().to_string(),
            source,
        })?;
        Ok(OutputDir {
            path: path.to_path_buf(),
        })
    }

    /// Adds `name` to the directory's [`WRITTEN_LIST`] (before the file is written, so a
    /// file on disk is always listed).
    fn record(&self, name: &str) -> Result<(), ReportError> {
        let mut names = written_list(&self.path);
        if names.iter().any(|n| n == name) {
            return Ok(());
        }
        names.push(name.to_string());
        let target = self.path.join(WRITTEN_LIST);
        let err = |source| ReportError::Write {
            path: target.display().to_string(),
            source,
        };
        let mut tmp = temp_in(&self.path).map_err(err)?;
        tmp.write_all((names.join("\n") + "\n").as_bytes())
            .map_err(err)?;
        readable(tmp.as_file()).map_err(err)?;
        tmp.persist(&target).map_err(|e| err(e.error))?;
        Ok(())
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` to `name` atomically (temporary file, then rename), listed in the
    /// directory's [`WRITTEN_LIST`].
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
        let target = self.path.join(name);
        let err = |source| ReportError::Write {
            path: target.display().to_string(),
            source,
        };
        self.record(name)?;
        let mut tmp = temp_in(&self.path).map_err(err)?;
        tmp.write_all(bytes).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        readable(tmp.as_file()).map_err(err)?;
        tmp.persist(&target).map_err(|e| err(e.error))?;
        Ok(target)
    }

    /// Starts `runs.csv`; rows are streamed to a temporary file renamed on `finish`.
    pub fn runs_writer(&self) -> Result<RunsWriter, ReportError> {
        let target = self.path.join("runs.csv");
        self.record("runs.csv")?;
        let tmp = temp_in(&self.path).map_err(|source| ReportError::Write {
            path: target.display().to_string(),
            source,
        })?;
        let file = tmp.reopen().map_err(|source| ReportError::Write {
            path: target.display().to_string(),
            source,
        })?;
        let csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Hashing::new(std::io::BufWriter::new(file)));
        Ok(RunsWriter {
            csv,
            tmp,
            target,
            header: false,
        })
    }
}

/// The header of `runs.csv`: every field for a system's rows; for a single service
/// today's columns, without `service` and [`RunRecord::SYSTEM_METRICS`] (which its rows
/// leave out).
fn runs_columns(system: bool) -> Vec<&'static str> {
    super::rows::columns::<RunRecord>()
        .iter()
        .copied()
        .filter(|c| {
            system || (*c != "service" && !RunRecord::SYSTEM_METRICS.iter().any(|(m, _)| m == c))
        })
        .collect()
}

/// Streams [`RunRecord`] rows into `runs.csv`, hashing them on the way.
pub struct RunsWriter {
    csv: csv::Writer<Hashing<std::io::BufWriter<std::fs::File>>>,
    tmp: NamedTempFile,
    target: PathBuf,
    /// Whether the header line is written: with the first rows (a system's rows carry
    /// more columns than a single service's), or at `finish` when no run finished, so a
    /// run stopped before its first run still leaves a `runs.csv` that reads back.
    header: bool,
}

impl RunsWriter {
    fn header(&mut self, system: bool) -> Result<(), ReportError> {
        if !self.header {
            self.header = true;
            self.csv
                .write_record(runs_columns(system))
                .map_err(|source| ReportError::Csv {
                    path: self.target.display().to_string(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Appends rows.
    pub fn write(&mut self, rows: &[RunRecord]) -> Result<(), ReportError> {
        if let Some(first) = rows.first() {
            self.header(first.service.is_some())?;
        }
        for r in rows {
            self.csv.serialize(r).map_err(|source| ReportError::Csv {
                path: self.target.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    /// Flushes and renames the file into place; returns the SHA-256 (hex) of its bytes,
    /// for the manifest.
    pub fn finish(mut self) -> Result<String, ReportError> {
        self.header(false)?;
        let target = self.target.clone();
        let err = |source| ReportError::Write {
            path: target.display().to_string(),
            source,
        };
        let hashing = self.csv.into_inner().map_err(|e| err(e.into_error()))?;
        let (mut file, sha256) = hashing.finish();
        file.flush().map_err(err)?;
        drop(file);
        readable(self.tmp.as_file()).map_err(err)?;
        self.tmp.persist(&self.target).map_err(|e| err(e.error))?;
        Ok(sha256)
    }
}

/// What made an output, so that anyone can reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub rollsim_version: String,
    /// Which command wrote it: run, compare, sweep, trace or merge.
    pub kind: String,
    pub scenario: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    pub seed: u64,
    /// Runs asked for (all shards together for a sharded run).
    pub runs: u64,
    /// First run index in this output.
    pub first_run: u64,
    /// Runs in this output (fewer than asked when interrupted, one shard's when sharded).
    pub completed_runs: u64,
    /// Whether the run was stopped early (Ctrl-C); the files hold what finished.
    pub interrupted: bool,
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// `i/n` when this output is one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The swept parameters (for a sweep).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// For a sweep: the first point in this output and how many there are, of all points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<PointRange>,
    /// The command line that produced the output.
    pub command: String,
    /// SHA-256 of each data file as written (`runs.csv`, a finished sweep's
    /// `sweep.csv`): `merge` refuses a shard whose file no longer matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sha256: BTreeMap<String, String>,
}

/// Rows as a whole CSV file (header from the row type's fields).
pub fn csv_bytes<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Which sweep points an output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointRange {
    pub first: u64,
    pub count: u64,
    pub total: u64,
}

impl Manifest {
    /// The manifest of a command `kind` that ran `runs` runs from run 0, all of them,
    /// uninterrupted, on the scenario `origin` (its text `text`, hashed here) with `seed`:
    /// the one place a manifest is built, so every command records the same fields the
    /// same way. A command sets what differs with struct update syntax
    /// (`Manifest { shard, ..Manifest::new(...) }`).
    pub fn new(
        kind: &str,
        origin: &str,
        text: &str,
        seed: u64,
        runs: u64,
        policies: Vec<String>,
        command: String,
    ) -> Self {
        use sha2::Digest;
        Manifest {
            rollsim_version: env!("CARGO_PKG_VERSION").into(),
            kind: kind.into(),
            scenario: origin.into(),
            scenario_sha256: format!("{:x}", sha2::Sha256::digest(text.as_bytes())),
            seed,
            runs,
            first_run: 0,
            completed_runs: runs,
            interrupted: false,
            policies,
            baseline: None,
            shard: None,
            params: vec![],
            points: None,
            command,
            sha256: BTreeMap::new(),
        }
    }

    /// The manifest of an output of one run (`trace`, `gameday`): `kind`, the scenario's
    /// origin and text, the seed and run, the policies in it and the command.
    pub fn single_run(
        kind: &str,
        origin: &str,
        text: &str,
        seed: u64,
        run: u64,
        policies: Vec<String>,
        command: String,
    ) -> Self {
        Manifest {
            first_run: run,
            ..Manifest::new(kind, origin, text, seed, 1, policies, command)
        }
    }

    /// The manifest as pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// No process has this id (Linux allows at most 2^22).
    const GONE: &str = ".rollsim-tmp-999999999-abc123";

    #[test]
    fn stale_temporary_files_of_ours_do_not_block_a_new_output() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join(GONE), "half a runs.csv").unwrap();
        let mine = format!("{TMP_PREFIX}{}-xyz", std::process::id());
        assert!(stale_temp(GONE));
        assert!(!stale_temp(&mine), "a live process's file is not stale");
        assert!(!stale_temp(".tmpAbC123"), "not one of ours");
        let dir = OutputDir::prepare(t.path(), false).unwrap();
        assert!(names(t.path()).is_empty(), "{:?}", names(t.path()));
        dir.write("summary.csv", b"x\n").unwrap();
        assert_eq!(names(t.path()), [WRITTEN_LIST, "summary.csv"]);
        // A user's file still makes it not empty.
        std::fs::write(t.path().join(GONE), "again").unwrap();
        assert!(matches!(
            OutputDir::prepare(t.path(), false),
            Err(ReportError::NotEmpty { .. })
        ));
        assert!(!t.path().join(GONE).exists(), "removed all the same");
    }

    #[test]
    fn force_removes_what_rollsim_wrote_and_nothing_else() {
        let t = tempfile::tempdir().unwrap();
        let dir = OutputDir::prepare(t.path(), false).unwrap();
        dir.write("comparison.csv", b"old\n").unwrap();
        dir.write("summary.csv", b"old\n").unwrap();
        let mut runs = dir.runs_writer().unwrap();
        runs.write(&[]).unwrap();
        runs.finish().unwrap();
        let charts = OutputDir::reopen(&t.path().join("charts")).unwrap();
        charts.write("bars.svg", b"<svg/>").unwrap();
        std::fs::write(t.path().join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(t.path().join("mine")).unwrap();
        // A list naming files outside the directory is not followed.
        let outside = tempfile::NamedTempFile::new().unwrap();
        let mut list = std::fs::read_to_string(t.path().join(WRITTEN_LIST)).unwrap();
        list.push_str(&format!("{}\n../escape\n", outside.path().display()));
        std::fs::write(t.path().join(WRITTEN_LIST), list).unwrap();

        let dir = OutputDir::prepare(t.path(), true).unwrap();
        assert_eq!(names(t.path()), ["mine", "notes.txt"]);
        assert!(outside.path().exists());
        dir.write("summary.csv", b"new\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(t.path().join(WRITTEN_LIST)).unwrap(),
            "summary.csv\n"
        );
    }

    #[test]
    fn checking_refuses_as_prepare_does_and_touches_nothing() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("new");
        OutputDir::check(&missing, false).unwrap();
        assert!(!missing.exists(), "not created");
        // Stale temporary files of ours and the list alone do not count.
        std::fs::write(t.path().join(GONE), "half").unwrap();
        std::fs::write(t.path().join(WRITTEN_LIST), "trace.csv\n").unwrap();
        OutputDir::check(t.path(), false).unwrap();
        std::fs::write(t.path().join("trace.csv"), "earlier").unwrap();
        assert!(matches!(
            OutputDir::check(t.path(), false),
            Err(ReportError::NotEmpty { .. })
        ));
        OutputDir::check(t.path(), true).unwrap();
        assert_eq!(names(t.path()), [GONE, WRITTEN_LIST, "trace.csv"]);
    }

    #[test]
    fn reopening_keeps_every_output() {
        let t = tempfile::tempdir().unwrap();
        let dir = OutputDir::prepare(t.path(), false).unwrap();
        dir.write("sweep.csv", b"a\n").unwrap();
        let again = OutputDir::reopen(t.path()).unwrap();
        again.write("report.html", b"<html>").unwrap();
        assert_eq!(names(t.path()), [WRITTEN_LIST, "report.html", "sweep.csv"]);
        assert_eq!(
            std::fs::read_to_string(t.path().join(WRITTEN_LIST)).unwrap(),
            "sweep.csv\nreport.html\n"
        );
    }
}
