//! Inputs that used to crash or allocate without bound are refused with their location
//! and exit code 2, nothing written: YAML nested 17,000 levels deep (in `import` and in a
//! scenario that imports it), a recording with one far-future timestamp (in `replay` and
//! `calibrate`).

use super::{rollsim, write};
use predicates::prelude::*;

/// `- - - ... x`, 17,000 levels: the 129th `- ` (the first past the limit) is at 1:257.
fn deep_yaml() -> String {
    format!("{}x\n", "- ".repeat(17_000))
}

#[test]
fn yaml_nested_17000_levels_is_refused_with_its_position() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let deep = write(dir.path(), "deep.yaml", &deep_yaml());
    rollsim()
        .arg("import")
        .arg(&deep)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:1:257: nested more than 128 levels deep",
            deep.display()
        )))
        .stderr(predicate::str::contains("overflow").not());
}

#[test]
fn a_scenario_importing_deep_yaml_is_refused_by_validate_and_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write(dir.path(), "deep.yaml", &deep_yaml());
    let scenario = write(
        dir.path(),
        "s.toml",
        "[simulation]\nduration = \"6h\"\n\n[release]\nat = \"1h\"\n\n[[policies]]\nname = \"imported\"\nimport = \"deep.yaml\"\n",
    );
    for cmd in [vec!["validate"], vec!["run", "--runs", "1", "--quiet"]] {
        let out = dir.path().join(format!("out-{}", cmd[0]));
        let mut c = rollsim();
        c.args(&cmd).arg(&scenario);
        if cmd[0] == "run" {
            c.arg("--out").arg(&out);
        }
        c.assert().code(2).stderr(predicate::str::contains(
            "deep.yaml:1:257: nested more than 128 levels deep",
        ));
        assert!(!out.exists(), "{cmd:?} wrote nothing");
    }
}

#[test]
fn a_far_future_timestamp_is_refused_by_replay_and_calibrate() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let metrics = write(
        dir.path(),
        "far.csv",
        "timestamp,series,value\n0,requests,10\n15,requests,10\n30,requests,10\n100000000000,requests,10\n",
    );
    let expected = format!(
        "{}:5: requests at 5138-11-16T09:46:40Z comes 6666666664 lost scrapes of 15s",
        metrics.display()
    );
    let out = dir.path().join("replay");
    rollsim()
        .args(["replay", "--policies", "scenarios/replay/policies.toml"])
        .arg(&metrics)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expected.as_str()))
        .stderr(predicate::str::contains("over 2000000 scrape intervals"));
    assert!(!out.exists());
    let out = dir.path().join("calibrate");
    rollsim()
        .arg("calibrate")
        .arg(&metrics)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expected.as_str()));
    assert!(!out.exists());
}
