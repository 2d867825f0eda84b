//! Errors a scenario can produce, each naming where in the file it is.

pub use crate::check::Located;

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read at all. The reason is part of the message, not a
    /// source error, so `{:#}` prints it once.
    #[error("cannot read scenario {path}: {reason}")]
    Read { path: String, reason: String },
    /// The file was read but is not a valid scenario; every problem found is listed.
    #[error("{}", render(.origin, .problems))]
    Invalid {
        origin: String,
        problems: Vec<Located>,
    },
}

fn render(origin: &str, problems: &[Located]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{origin}:{}:{}: {}", p.line, p.col, p.message));
    }
    out
}
