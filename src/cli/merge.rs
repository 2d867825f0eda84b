//! `rollsim merge`: shard outputs into the single-machine output ([`rollsim::jobs::merge`]).

use super::args::MergeArgs;
use super::note;
use super::{command_line, stop_flag};
use anyhow::Result;
use rollsim::jobs::merge::MergeJob;
use rollsim::report::Destination;

pub fn merge(a: &MergeArgs, argv: &[String]) -> Result<()> {
    let stop = stop_flag();
    let mut job = MergeJob {
        dirs: a.dirs.clone(),
        out: Destination {
            dir: a.out.clone(),
            force: a.force,
        },
        command: String::new(),
    };
    // The seed is the shards' (every manifest records it); the command line names it.
    job.command = command_line(argv, job.seed()?);
    let m = job.run(Some(&stop))?;
    if m.sweep {
        note(format_args!(
            "merged {} sweep shards ({} points) into {}/",
            m.shards,
            m.count,
            m.dir.path().display()
        ));
    } else {
        note(format_args!(
            "merged {} shards ({} runs) into {}/",
            m.shards,
            m.count,
            m.dir.path().display()
        ));
    }
    super::report::after_command(m.dir.path(), Some(&stop))
}
