//! Outputs: the output directory, `runs.csv`, `summary.csv`, `manifest.json`, and the
//! summary as a text table or JSON.
//!
//! Every file is written to a temporary file in the output directory and renamed into
//! place when complete, so a crash or a bad input never leaves a partial or clobbered file.

mod files;
mod summary;

pub use files::{Manifest, OutputDir, PointRange, RunsWriter};
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
    /// An input file (of `merge` or `report`) is missing or malformed.
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("cannot write {path}: {source}")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
}
