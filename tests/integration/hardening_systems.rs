//! Regression tests for what a round of fuzzing found in systems of services and release
//! trains (mutated shipped system and train scenarios, generated fleets, chains and fans of
//! calls): each bad input is refused with its `file:line:col` and what was expected, exit
//! code 2, nothing written into a new `--out` and nothing touched in an existing one, even
//! with `--force`.

use super::{rollsim, write};

/// `checkout-payments-ledger.toml` with each `(from, to)` edit applied once (each must
/// apply), then `extra` appended.
fn system_with(edits: &[(&str, &str)], extra: &str) -> String {
    let mut text =
        std::fs::read_to_string("scenarios/checkout-payments-ledger.toml").expect("scenario");
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in the scenario");
        text = text.replacen(from, to, 1);
    }
    text + extra
}

/// `validate`, `run` into a new directory and `run --force` into a directory holding an
/// earlier file all refuse `text` with exactly `message` (after `error: FILE:`) on stderr
/// and exit code 2; the new directory is not made and the earlier file is left as it was.
fn refused(text: &str, message: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "bad.toml", text);
    let fresh = dir.path().join("fresh");
    let kept = dir.path().join("kept");
    std::fs::create_dir(&kept).expect("mkdir");
    let earlier = write(&kept, "runs.csv", "an earlier run\n");
    let runs = |out: &std::path::Path, force: bool| {
        let mut c = rollsim();
        c.arg("run")
            .arg(&f)
            .args(["--runs", "1", "--seed", "1", "--quiet", "--out"])
            .arg(out);
        if force {
            c.arg("--force");
        }
        c
    };
    let mut validate = rollsim();
    validate.arg("validate").arg(&f);
    for mut c in [validate, runs(&fresh, false), runs(&kept, true)] {
        c.assert()
            .code(2)
            .stdout("")
            .stderr(format!("error: {}:{message}\n", f.display()));
    }
    assert!(!fresh.exists(), "nothing may be written for a bad scenario");
    let left: Vec<_> = std::fs::read_dir(&kept).expect("kept").collect();
    assert_eq!(left.len(), 1, "only the earlier file stays");
    assert_eq!(
        std::fs::read_to_string(earlier).expect("earlier"),
        "an earlier run\n"
    );
}

/// A service named `system` took the name of the whole system's rows: `runs.csv` had two
/// `system` rows per run and policy, and the summaries mixed them.
#[test]
fn a_service_may_not_be_named_system() {
    refused(
        &system_with(&[("name = \"checkout\"", "name = \"system\"")], ""),
        "54:8: a service's name \"system\" names the whole system's rows in runs.csv and the \
         summaries; expected another name",
    );
}

/// An empty zone was accepted: it groups nothing a fault could name.
#[test]
fn a_zone_may_not_be_empty() {
    refused(
        &system_with(&[("zone = \"db-east\"", "zone = \"  \"")], ""),
        "64:8: a service's zone is empty; expected a zone's name, or no `zone` key",
    );
}

/// `@` separates a policy from its service in the summaries' rows (`POLICY@SERVICE`) and a
/// metric from its policy in objectives: a policy named `no@ne` made a single service's
/// report rank "services", and a service `pay@ments` made `none@pay@ments` ambiguous.
#[test]
fn names_may_not_hold_the_row_separator() {
    refused(
        &system_with(
            &[
                ("name = \"payments\"", "name = \"pay@ments\""),
                ("service = \"payments\"", "service = \"pay@ments\""),
            ],
            "",
        ),
        "62:8: a service's name \"pay@ments\" contains '@', which separates a policy from its \
         service in the summaries (POLICY@SERVICE); expected a name without '@'",
    );
    refused(
        &system_with(&[("name = \"oracle\"", "name = \"ora@cle\"")], ""),
        "91:8: a policy's name \"ora@cle\" contains '@', which separates a policy from its \
         service in the summaries (POLICY@SERVICE); expected a name without '@'",
    );
}

/// A bad name of a service after an entry with `count` is located at its own entry: the
/// check read the copies' index as the entry's and pointed at the first `[[services]]`.
#[test]
fn a_bad_name_after_copies_is_located_at_its_entry() {
    refused(
        &system_with(
            &[
                ("name = \"checkout\"\n", "name = \"checkout\"\ncount = 2\n"),
                (
                    "zone = \"db-east\"\nrelease",
                    "zone = \"db\\u0007east\"\nrelease",
                ),
            ],
            "",
        ),
        "74:8: a service's zone contains the control character '\\u{7}'; expected printable \
         characters only",
    );
}

/// A system's services are bounded (`count` copies included): 20,001 services of one
/// scrape tick each passed the service-tick limit, and checking them took minutes (the
/// names compared pairwise, the file copied once per service).
#[test]
fn a_system_has_a_bounded_number_of_services() {
    refused(
        &system_with(
            &[
                (
                    "name = \"payments\"\n",
                    "name = \"payments\"\ncount = 10000\n",
                ),
                ("name = \"ledger\"\n", "name = \"ledger\"\ncount = 10000\n"),
                ("service = \"payments\"", "service = \"payments-00001\""),
                ("service = \"ledger\"", "service = \"ledger-00001\""),
            ],
            "",
        ),
        "63:9: the system has 20001 services (each entry's `count` copies), over the limit of \
         10000 services; if you mean it, raise it with [limits] services = 20001 (see README, \
         Limits and safety)",
    );
    refused(
        &system_with(&[], "\n[limits]\nservices = 2\n"),
        "71:1: the system has 3 services (each entry's `count` copies), over the limit of 2 \
         services; if you mean it, raise it with [limits] services = 3 (see README, Limits and \
         safety)",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let at_limit = write(
        dir.path(),
        "ok.toml",
        &system_with(&[], "\n[limits]\nservices = 3\n"),
    );
    rollsim().arg("validate").arg(at_limit).assert().code(0);
}

/// Calls are bounded per run (calls x scrape ticks): one service with 100,000 calls passed
/// every limit and a single run took half a minute.
#[test]
fn a_system_has_a_bounded_number_of_call_ticks() {
    refused(
        &system_with(&[], "\n[limits]\ncall_ticks_per_run = 11519\n"),
        "53:1: 2 calls x 5760 scrape ticks is 11520 call-ticks per run, over the limit of \
         11519; fewer calls, a longer scrape_interval or a shorter duration keeps runs fast; if \
         you mean it, raise it with [limits] call_ticks_per_run = 11520 (see README, Limits and \
         safety)",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let at_limit = write(
        dir.path(),
        "ok.toml",
        &system_with(&[], "\n[limits]\ncall_ticks_per_run = 11520\n"),
    );
    rollsim().arg("validate").arg(at_limit).assert().code(0);
}
