//! Checksums: a shard edited after it was written is refused by `merge`, naming the file;
//! a sweep point whose rows were cut or edited runs again on `--resume`, and says so.

use super::rollsim;
use std::path::Path;

/// `rollsim merge DIRS... --out OUT`, asserted on by the caller.
fn merge(dirs: &[&Path], out: &Path) -> assert_cmd::assert::Assert {
    rollsim()
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .assert()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with its last line's last field changed as a cut would change it: `400`
/// becomes `4` (a one-digit field becomes another digit), and no newline at the end.
fn cut_last_field(text: &str) -> String {
    let body = text.trim_end_matches('\n');
    let (head, last) = body.rsplit_once(',').expect("a CSV line");
    let cut = match last.len() {
        0 | 1 => if last == "0" { "1" } else { "0" }.to_string(),
        _ => last[..1].to_string(),
    };
    format!("{head},{cut}")
}

#[test]
fn merge_refuses_a_shard_edited_after_it_was_written() {
    let t = tempfile::tempdir().expect("a temporary directory");
    // The quickstart's 20 runs into `name`, with `extra` flags (a shard).
    let run = |name: &str, extra: &[&str]| {
        let out = t.path().join(name);
        rollsim()
            .args(["run", "scenarios/quickstart.toml", "--runs", "20"])
            .args(["--seed", "3", "--quiet", "--out"])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        out
    };
    let (s1, s2) = (
        run("shard0", &["--shard", "0/2"]),
        run("shard1", &["--shard", "1/2"]),
    );
    let single = run("single", &[]);

    // Untouched, the shards merge into the single-machine runs.csv, with its checksum.
    let merged = t.path().join("merged");
    merge(&[&s1, &s2], &merged).success();
    let runs = read(&merged.join("runs.csv"));
    assert_eq!(runs, read(&single.join("runs.csv")));
    let sha = rollsim::report::checksum::sha256_hex(runs.as_bytes());
    for dir in [&merged, &single] {
        let m: serde_json::Value =
            serde_json::from_str(&read(&dir.join("manifest.json"))).expect("json");
        assert_eq!(m["sha256"]["runs.csv"], sha.as_str(), "{}", dir.display());
    }

    // One value of one row edited by hand: still a valid runs.csv, but not the shard's.
    let path = s2.join("runs.csv");
    let text = read(&path);
    let edited = text.replacen(",none,", ",oracle,", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, edited).expect("edited");
    let refused = t.path().join("refused");
    merge(&[&s1, &s2], &refused)
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}: does not match the SHA-256 recorded in {}",
            path.display(),
            s2.join("manifest.json").display()
        )));
    assert!(!refused.exists(), "nothing written");

    // A shard whose manifest records no checksum (an older or unfinished output).
    std::fs::write(&path, &text).expect("restored");
    let manifest = s1.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&read(&manifest)).expect("json");
    m.as_object_mut().expect("an object").remove("sha256");
    std::fs::write(&manifest, m.to_string()).expect("rewritten");
    merge(&[&s1, &s2], &refused)
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}: records no SHA-256 of runs.csv",
            manifest.display()
        )));
    assert!(!refused.exists(), "nothing written");
}

const SWEEP: [&str; 8] = [
    "sweep",
    "scenarios/quickstart.toml",
    "--runs",
    "12",
    "--seed",
    "2",
    "--param",
    "policies.error-rate-2pct.error_rate_above=0.01,0.02,0.04",
];

#[test]
fn resume_runs_again_a_point_whose_last_row_was_cut() {
    let t = tempfile::tempdir().expect("a temporary directory");
    let out = t.path().join("sweep");
    rollsim()
        .args(SWEEP)
        .args(["--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let csv_path = out.join("sweep.csv");
    let whole = read(&csv_path);
    let points = read(&out.join("sweep-points.csv"));
    assert_eq!(
        points.lines().count(),
        4,
        "a header and three points: {points}"
    );

    // The case: the file cut inside its last row (`12` to `1`, no newline). The
    // unterminated line is dropped, so point 2 lacks a row and runs again; the file ends
    // as it was.
    std::fs::write(&csv_path, cut_last_field(&whole)).expect("cut");
    let shown = csv_path.display().to_string();
    let lines = whole.lines().count();
    rollsim()
        .args(SWEEP)
        .args(["--quiet", "--resume", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains(format!(
            "rollsim: {shown}:{lines}: the last line was cut (no newline at its end); it is dropped"
        )))
        .stderr(predicates::str::contains(format!(
            "rollsim: point 2 in {shown} has "
        )))
        .stderr(predicates::str::contains(
            "resuming: 2 of 3 points already done",
        ));
    assert_eq!(read(&csv_path), whole);
    assert_eq!(read(&out.join("sweep-points.csv")), points);

    // The same row edited in place (the line whole): it reads, but its point no longer
    // matches its checksum, so it runs again.
    std::fs::write(&csv_path, cut_last_field(&whole) + "\n").expect("edited");
    rollsim()
        .args(SWEEP)
        .args(["--quiet", "--resume", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains(format!(
            "rollsim: point 2 in {shown} does not match its SHA-256 in sweep-points.csv (its rows were edited or cut after they were written); running it again"
        )))
        .stderr(predicates::str::contains(
            "resuming: 2 of 3 points already done",
        ));
    assert_eq!(read(&csv_path), whole);
    assert_eq!(read(&out.join("sweep-points.csv")), points);

    // A sweep shard edited after it finished is refused by merge, like a run's.
    let edited = whole.replacen(",none,", ",oracle,", 1);
    std::fs::write(&csv_path, edited).expect("edited");
    merge(&[&out], &t.path().join("merged"))
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{shown}: does not match the SHA-256 recorded in"
        )));
}
