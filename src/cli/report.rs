//! `rollsim report DIR [--open]`: (re)builds the report of an output directory.

use super::args::ReportArgs;
use super::note;
use anyhow::Result;
use rollsim::report::{build_report, build_report_until};
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Builds the report of a directory an experiment command just wrote, and says where;
/// Ctrl-C (`stop`) ends it before anything of the report is written.
pub fn after_command(dir: &Path, stop: Option<&AtomicBool>) -> Result<()> {
    let files = build_report_until(dir, stop)?;
    super::note(format_args!("report: {}", files.html.display()));
    Ok(())
}

pub fn report(args: &ReportArgs) -> Result<()> {
    let files = build_report(&args.dir)?;
    let wrote = format!(
        "wrote {} and {} ({} chart files in {}/charts)",
        files.html.display(),
        files.markdown.display(),
        files.charts.len(),
        args.dir.display()
    );
    note(super::experiment::wrap_long_lines(
        &wrote,
        rollsim::report::table::WIDTH,
    ));
    // A reader that left (`| head`) does not stop `--open`.
    super::say(&format!("{}\n", files.html.display()))?;
    if args.open {
        open(&files.html);
    }
    Ok(())
}
/// Opens `path` with the desktop's opener; says so plainly when there is none (a server,
/// a container) instead of failing: the report is written either way.
fn open(path: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(opener).is_file()))
        .unwrap_or(false);
    if !found {
        note(format_args!(
            "rollsim: cannot open the report: no `{opener}` on PATH; open {} in a browser",
            path.display()
        ));
        return;
    }
    match std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => note(format_args!("opened {} with {opener}", path.display())),
        Err(e) => note(format_args!(
            "rollsim: cannot open the report with {opener}: {e}; open {} in a browser",
            path.display()
        )),
    }
}
