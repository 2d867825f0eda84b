//! Outputs: the output directory, `runs.csv`, `summary.csv`, `manifest.json`, the
//! summary as a text table or JSON, and the report (`report.html`, `report.md`, charts)
//! rebuilt from whatever of those files a directory holds.
//!
//! Every file is written to a temporary file in the output directory and renamed into
//! place when complete, so a crash or a bad input never leaves a partial or clobbered file.

mod builder;
pub mod charts;
pub mod checksum;
mod files;
pub mod findings;
mod html;
pub mod human;
pub mod inputs;
mod markdown;
pub mod metrics;
pub mod ranking;
pub mod rows;
mod summary;
pub mod system;
pub mod table;
pub mod tables;
pub mod train;
pub mod verdict;
pub mod wrap;

pub use builder::{build_report, build_report_until, ReportFiles};
pub(crate) use builder::{Doc, Section, Table};
pub use files::{csv_bytes, Destination, Manifest, OutputDir, PointRange, RunsWriter};
pub(crate) use html::render as render_html;
pub use summary::{
    comparison_csv, comparison_json, ranked_table, summary_csv, summary_json, summary_table,
};

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "output directory {path} is not empty; choose another --out or pass --force to overwrite"
    )]
    NotEmpty { path: String },
    #[error("cannot use output directory {path}: {source}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A missing or malformed input (of `merge` or `report`); `path` is `file:line` (or
    /// `file:line:col`) where the problem is, so it can be fixed without guessing.
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    /// Stopped (Ctrl-C) before anything of the report was written.
    #[error(
        "stopped before the report of {path} was written; build it with `rollsim report {path}`"
    )]
    Interrupted { path: String },
    /// A chart could not be drawn (a bug or an impossible value, never bad input).
    #[error("cannot draw chart {name}: {message}")]
    Chart { name: String, message: String },
    #[error("cannot write {path}: {source}")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
}

impl ReportError {
    /// Whether the input (a file, a flag) was at fault, not the machine: a non-empty or
    /// unusable `--out` (one that names a file), a malformed input. The CLI's exit code 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ReportError::NotEmpty { .. } | ReportError::Input { .. } => true,
            ReportError::Dir { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists
            ),
            _ => false,
        }
    }
}
