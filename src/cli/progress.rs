//! The progress bar: on stderr, with rate and ETA; hidden when stderr is not a terminal
//! or with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar over `total` units named `unit`.
pub fn bar(total: u64, unit: &str, quiet: bool) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}}) {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}
