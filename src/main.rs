//! The `rollsim` binary: parse the command line, call the library, map errors to exit codes.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    // `std::env::args` panics on an argument that is not UTF-8: one is refused here,
    // named by its flag, before clap (whose message names none) or anything else runs.
    let argv = match cli::text_args(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(cli::EXIT_BAD_INPUT as u8);
        }
    };
    let parsed = cli::Cli::parse_from(&argv);
    match cli::dispatch(parsed, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`rollsim run ... | head`) is not a failure.
            if cli::is_closed_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", said_once(&e));
            ExitCode::from(cli::exit_code(&e) as u8)
        }
    }
}

/// `println!` and `eprintln!` panic when their pipe is closed (`rollsim run ... 2>&1 |
/// head`): that is the reader leaving, not a failure, so the process ends quietly with
/// exit code 0, as a closed stdout does in `main`. Every other panic keeps its message.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        if message.starts_with("failed printing to") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// The error and its causes as `{:#}` writes them, each said once: a cause whose text the
/// message already ends with (`cannot use output directory X: Not a directory`, whose
/// source is that very `Not a directory`) is not repeated.
fn said_once(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}
