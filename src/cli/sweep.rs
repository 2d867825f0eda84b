//! `rollsim sweep`: one or two scenario fields over ranges or lists.

use super::args::SweepArgs;
use anyhow::Result;

pub fn sweep(_a: &SweepArgs, _argv: &[String]) -> Result<()> {
    anyhow::bail!("sweep is not built yet")
}
