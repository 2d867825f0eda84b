//! `rollsim import`: a controller's YAML in, the equivalent policy (TOML) on stdout, what
//! cannot be modelled on stderr.

use super::note;
use super::UsageError;
use anyhow::Result;
use rollsim::report::table::WIDTH;
use rollsim::report::wrap::wrap_long_lines;
use std::io::Write;
use std::path::Path;

/// Prints the imported policy; a file that cannot be read, parsed or used is bad input.
pub fn import(path: &Path) -> Result<()> {
    let imported = rollsim::import::import_file(path).map_err(|e| UsageError(e.to_string()))?;
    for n in imported.rendered_notes() {
        note(wrap_long_lines(&format!("warning: {n}"), WIDTH));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(imported.to_toml().as_bytes())?;
    out.flush()?;
    Ok(())
}
