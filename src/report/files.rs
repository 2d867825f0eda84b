//! The output directory and the files written into it, each atomically.

use super::ReportError;
use crate::outcome::RunRecord;
use serde::{Deserialize, Serialize};
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

/// A checked output directory.
#[derive(Debug, Clone)]
pub struct OutputDir {
    path: PathBuf,
}

impl OutputDir {
    /// Creates `path` if needed; refuses a non-empty directory unless `force`.
    pub fn prepare(path: &Path, force: bool) -> Result<Self, ReportError> {
        let shown = path.display().to_string();
        let dir_err = |source| ReportError::Dir {
            path: shown.clone(),
            source,
        };
        match std::fs::read_dir(path) {
            Ok(mut entries) => {
                if entries.next().is_some() && !force {
                    return Err(ReportError::NotEmpty { path: shown });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(path).map_err(dir_err)?
            }
            Err(e) => return Err(dir_err(e)),
        }
        // Fail now, before any simulation, if the directory cannot take a file.
        NamedTempFile::new_in(path).map_err(dir_err)?;
        Ok(OutputDir {
            path: path.to_path_buf(),
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` to `name` atomically (temporary file, then rename).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
        let target = self.path.join(name);
        let err = |source| ReportError::Write {
            path: target.display().to_string(),
            source,
        };
        let mut tmp = NamedTempFile::new_in(&self.path).map_err(err)?;
        tmp.write_all(bytes).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        readable(tmp.as_file()).map_err(err)?;
        tmp.persist(&target).map_err(|e| err(e.error))?;
        Ok(target)
    }

    /// Starts `runs.csv`; rows are streamed to a temporary file renamed on `finish`.
    pub fn runs_writer(&self) -> Result<RunsWriter, ReportError> {
        let target = self.path.join("runs.csv");
        let tmp = NamedTempFile::new_in(&self.path).map_err(|source| ReportError::Write {
            path: target.display().to_string(),
            source,
        })?;
        let file = tmp.reopen().map_err(|source| ReportError::Write {
            path: target.display().to_string(),
            source,
        })?;
        Ok(RunsWriter {
            csv: csv::Writer::from_writer(std::io::BufWriter::new(file)),
            tmp,
            target,
        })
    }
}

/// Streams [`RunRecord`] rows into `runs.csv`.
pub struct RunsWriter {
    csv: csv::Writer<std::io::BufWriter<std::fs::File>>,
    tmp: NamedTempFile,
    target: PathBuf,
}

impl RunsWriter {
    /// Appends rows.
    pub fn write(&mut self, rows: &[RunRecord]) -> Result<(), ReportError> {
        for r in rows {
            self.csv.serialize(r).map_err(|source| ReportError::Csv {
                path: self.target.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    /// Flushes and renames the file into place.
    pub fn finish(mut self) -> Result<PathBuf, ReportError> {
        let target = self.target.clone();
        let err = |source| ReportError::Write {
            path: target.display().to_string(),
            source,
        };
        self.csv.flush().map_err(err)?;
        drop(self.csv);
        readable(self.tmp.as_file()).map_err(err)?;
        self.tmp.persist(&self.target).map_err(|e| err(e.error))?;
        Ok(self.target)
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
        use sha2::Digest;
        Manifest {
            rollsim_version: env!("CARGO_PKG_VERSION").into(),
            kind: kind.into(),
            scenario: origin.into(),
            scenario_sha256: format!("{:x}", sha2::Sha256::digest(text.as_bytes())),
            seed,
            runs: 1,
            first_run: run,
            completed_runs: 1,
            interrupted: false,
            policies,
            baseline: None,
            shard: None,
            params: vec![],
            points: None,
            command,
        }
    }

    /// The manifest as pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}
