//! The command line as text. Every argument must be UTF-8: the command line is recorded in
//! every manifest and printed as the `reproduce with:` line, which must paste back as the
//! same command. clap's own refusal ("invalid UTF-8 was detected in one or more
//! arguments") does not say which argument, and a path it accepts would be recorded
//! mangled; so an argument that is not UTF-8 is refused before anything runs, named by its
//! flag (`--out: not valid UTF-8`) or, for a positional one, by its value name
//! (`SCENARIO: not valid UTF-8`).

use super::args::Cli;
use clap::error::{ContextKind, ContextValue};
use clap::parser::ValueSource;
use clap::CommandFactory;
use std::ffi::OsString;

/// Every argument as text, or the refusal naming the first one that is not UTF-8.
pub fn text_args(args: Vec<OsString>) -> Result<Vec<String>, String> {
    let lossy: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args.iter().position(|a| a.to_str().is_none()) {
        None => Ok(lossy),
        Some(bad) => Err(format!("{}: not valid UTF-8", name_of(&lossy, bad))),
    }
}

/// What argument `bad` of the command line is: `--flag` for a flag's value, the value
/// name for a positional argument, else its position.
fn name_of(argv: &[String], bad: usize) -> String {
    let arg = &argv[bad];
    if let Some((flag, _)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
        return flag.to_string();
    }
    if arg.starts_with('-') {
        return format!("argument {bad} ({arg:?})");
    }
    parsed_name(argv, bad)
        .or_else(|| {
            argv[..bad]
                .last()
                .filter(|p| p.starts_with("--") && !p.contains('='))
                .cloned()
        })
        .unwrap_or_else(|| format!("argument {bad}"))
}

/// The argument clap gives argument `bad` to (replaced by a marker), or the argument clap
/// refuses the marker for (`--runs` cannot be a number of runs).
fn parsed_name(argv: &[String], bad: usize) -> Option<String> {
    const MARKER: &str = "\u{fffd}not-utf-8\u{fffd}";
    let mut argv = argv.to_vec();
    argv[bad] = MARKER.to_string();
    let mut cmd = Cli::command();
    cmd.build();
    match cmd.clone().try_get_matches_from(&argv) {
        Ok(top) => {
            let (mut m, mut c) = (&top, &cmd);
            loop {
                let hit = c.get_arguments().find(|a| {
                    let id = a.get_id().as_str();
                    m.try_contains_id(id).unwrap_or(false)
                        && m.value_source(id) == Some(ValueSource::CommandLine)
                        && m.get_raw(id)
                            .is_some_and(|mut v| v.any(|v| v.to_str() == Some(MARKER)))
                });
                if let Some(a) = hit {
                    return Some(match a.get_long() {
                        Some(long) => format!("--{long}"),
                        None => a
                            .get_value_names()
                            .and_then(|v| v.first())
                            .map_or_else(|| a.get_id().as_str().to_uppercase(), |v| v.to_string()),
                    });
                }
                let (name, sub) = m.subcommand()?;
                c = c.find_subcommand(name)?;
                m = sub;
            }
        }
        Err(e) => match e.get(ContextKind::InvalidArg)? {
            ContextValue::String(s) => s.split_whitespace().next().map(str::to_string),
            _ => None,
        },
    }
}
