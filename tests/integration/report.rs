//! Reports: `rollsim run` writes one, `rollsim report DIR` rebuilds it from the files of any
//! command (fixtures in `tests/data/report/` stand for compare, sweep and trace outputs), the
//! HTML is self-contained, and bad inputs are located by file and line with nothing written.

use super::rollsim;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a fixture directory (flat) into a fresh temporary directory.
fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let src = root().join("tests/data/report").join(name);
    for e in std::fs::read_dir(&src).expect("fixture exists") {
        let e = e.expect("entry");
        if e.path().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name())).expect("copy");
        }
    }
    (tmp, dir)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The HTML stands alone: no network reference, no script or stylesheet link, no image
/// file, and every chart is an inline `<svg>`.
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in [
        "http://", "https://", "<script", "<link", "<img", "<iframe", "url(",
    ] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
    let figures = html.matches("<figure").count();
    assert!(figures > 0, "no chart in the report");
    assert_eq!(
        figures,
        html.matches("<figure id=\"").count(),
        "every figure is named"
    );
    for fig in html.split("<figure").skip(1) {
        let body = fig.split("</figure>").next().unwrap_or("");
        assert!(body.contains("<svg "), "a figure without inline svg");
        assert!(body.contains("<text"), "a chart without any text");
    }
}

#[test]
fn a_run_writes_a_self_contained_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("q");
    let scenario = root().join("scenarios/quickstart.toml");
    rollsim()
        .args(["run", "--runs", "60", "--seed", "3", "--out"])
        .arg(&out)
        .arg(&scenario)
        .assert()
        .success()
        .stderr(predicate::str::contains("report.html"));
    let html = read(&out.join("report.html"));
    assert_self_contained(&html);
    for part in [
        "What each policy costs",
        "False positives against misses and downtime",
        "Summary table",
        "rollsim run",
        "<pre>",
    ] {
        assert!(html.contains(part), "report.html lacks {part}");
    }
    assert_eq!(read(&out.join("scenario.toml")), read(&scenario));
    let md = read(&out.join("report.md"));
    let mut charts = 0;
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let file = line
            .split("](")
            .nth(1)
            .and_then(|s| s.strip_suffix(')'))
            .expect("image link");
        let png = std::fs::read(out.join(file)).expect("the PNG a link names exists");
        assert_eq!(&png[1..4], b"PNG");
        assert!(out.join(file.replace(".png", ".svg")).is_file());
        charts += 1;
    }
    assert!(charts >= 2, "report.md shows {charts} charts");
}

#[test]
fn report_rebuilds_every_kind_of_output() {
    for (name, chart, text) in [
        ("compare", "comparison", "Paired comparison against none"),
        ("sweep-1d", "sweep", "Recommended for"),
        (
            "sweep-2d",
            "heatmap",
            "Sweep over policies.gate.error_rate_above and",
        ),
        ("trace", "timeline", "Timeline of one run"),
    ] {
        let (_tmp, dir) = fixture(name);
        rollsim()
            .arg("report")
            .arg(&dir)
            .assert()
            .success()
            .stdout(predicate::str::contains("report.html"));
        let html = read(&dir.join("report.html"));
        assert_self_contained(&html);
        assert!(html.contains(text), "{name}: report.html lacks {text}");
        assert!(
            html.contains(&format!("<figure id=\"{chart}\"")),
            "{name}: no {chart} chart"
        );
        assert!(dir.join(format!("charts/{chart}.png")).is_file());
        assert!(read(&dir.join("report.md")).contains(&format!("charts/{chart}.png")));
    }
}

#[test]
fn a_trace_shows_its_policy_threshold() {
    let (_tmp, dir) = fixture("trace");
    rollsim::report::build_report(&dir).expect("builds");
    let svg = read(&dir.join("charts/timeline.svg"));
    assert!(svg.contains("threshold of error-rate-2pct"));
}

#[test]
fn a_rebuild_replaces_stale_charts() {
    let (_tmp, dir) = fixture("sweep-1d");
    std::fs::create_dir_all(dir.join("charts")).expect("mkdir");
    std::fs::write(dir.join("charts/heatmap.svg"), "<svg/>").expect("write");
    std::fs::write(dir.join("charts/notes.txt"), "mine").expect("write");
    rollsim::report::build_report(&dir).expect("builds");
    assert!(!dir.join("charts/heatmap.svg").exists(), "stale chart kept");
    assert!(
        dir.join("charts/notes.txt").exists(),
        "a non-chart file was removed"
    );
    assert!(dir.join("charts/sweep.svg").exists());
}

#[test]
fn the_library_call_returns_what_it_wrote() {
    let (_tmp, dir) = fixture("trace");
    let files = rollsim::report::build_report(&dir).expect("builds");
    assert_eq!(files.html, dir.join("report.html"));
    assert_eq!(files.markdown, dir.join("report.md"));
    assert_eq!(
        files.charts,
        [
            dir.join("charts/timeline.svg"),
            dir.join("charts/timeline.png")
        ]
    );
}

/// Bad input: exit 2, `file:line: what`, and the directory left as it was.
fn rejects(dir: &Path, expected: &str) {
    let before = super::names(dir);
    rollsim()
        .arg("report")
        .arg(dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expected))
        .stderr(predicate::str::contains("panicked").not());
    assert_eq!(super::names(dir), before, "a failed report wrote files");
}

#[test]
fn malformed_csv_is_located_by_file_and_line() {
    let (_tmp, dir) = fixture("compare");
    let path = dir.join("summary.csv");
    let mut lines: Vec<String> = read(&path).lines().map(str::to_string).collect();
    lines[4] = "oracle,downtime_s,fast,1.0,2.0,2000".into();
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    rejects(&dir, &format!("{}:5: column `mean`: ", path.display()));

    let (_tmp, dir) = fixture("trace");
    let path = dir.join("events.csv");
    std::fs::write(&path, "t_s,kind,detail\n3600.0,deploy,a\n3700.0,rollback\n").expect("w");
    rejects(
        &dir,
        &format!("{}:3: found 2 fields, expected 3", path.display()),
    );

    let (_tmp, dir) = fixture("sweep-1d");
    let path = dir.join("recommendation.json");
    std::fs::write(&path, "{\"objective\": \"x\",\n \"met\": maybe}\n").expect("w");
    rejects(&dir, &format!("{}:2:", path.display()));
}

#[test]
fn a_directory_without_outputs_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    rejects(tmp.path(), "holds none of summary.csv, comparison.csv");
    let missing = tmp.path().join("nope");
    rollsim()
        .arg("report")
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: no such directory",
            missing.display()
        )));
}
