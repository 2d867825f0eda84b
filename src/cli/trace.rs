//! `rollsim trace`: one run of one policy as a timeline.

use super::args::TraceArgs;
use anyhow::Result;

pub fn trace(_a: &TraceArgs, _argv: &[String]) -> Result<()> {
    anyhow::bail!("trace is not built yet")
}
