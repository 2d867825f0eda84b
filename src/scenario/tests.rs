//! The parse as a user meets it: messages with `line:col` for policy keys (each kind's
//! own), "did you mean", imports resolved by the load step only, invalid UTF-8 located.

use super::*;
use std::path::Path;

/// The whole message of a scenario that does not parse.
fn error_of(text: &str) -> String {
    match parse(text, "s.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_unknown_policy_key_lists_the_kinds_keys_and_the_nearest() {
    let e = error_of("[[policies]]\nname = \"c\"\nkind = \"consecutive\"\nfailurs = 3\n");
    assert_eq!(
        e,
        "s.toml:4:1: unknown field `failurs`; a `consecutive` policy takes failures, besides \
         the keys of every policy (kind, import, name, until, rollout, action, unsafe_rollback, \
         checkpoint, max_auto_rollbacks, freeze_after, retry_backoff, human_after_first_rollback, \
         pipeline_retries, hold_on_dependency, hold_at_most); did you mean `failures`?"
    );
    let e = error_of("[[policies]]\nname = \"n\"\nkind = \"none\"\nuntl = \"end\"\n");
    assert!(
        e.starts_with("s.toml:4:1: unknown field `untl`; a `none` policy takes no parameters"),
        "{e}"
    );
    assert!(e.ends_with("did you mean `until`?"), "{e}");
}

#[test]
fn a_key_of_another_kind_is_located_at_its_value() {
    let e = error_of(
        "[[policies]]\nname = \"t\"\nkind = \"threshold\"\nerror_rate_above = 0.1\nfailures = 2\n",
    );
    assert_eq!(
        e,
        "s.toml:5:12: `failures` does not apply to kind `threshold`; expected only \
         error_rate_above, latency_p99_above, window, for, requests_below, cpu_above, saturation_above, queue_above, min_requests, on_no_data, alarm_at_start"
    );
}

#[test]
fn a_wrong_type_in_a_kinds_key_or_a_common_key_is_located_at_the_value() {
    let e = error_of("[[policies]]\nname = \"c\"\nkind = \"consecutive\"\nfailures = \"three\"\n");
    assert!(
        e.starts_with("s.toml:4:12: invalid type: string \"three\", expected i64"),
        "{e}"
    );
    let e = error_of("[[policies]]\nname = \"t\"\nkind = \"threshold\"\nerror_rate_above = 0.1\nwindow = \"5 parsecs\"\n");
    assert!(
        e.starts_with("s.toml:5:10: invalid duration \"5 parsecs\""),
        "{e}"
    );
    let e =
        error_of("[[policies]]\nname = \"c\"\nkind = \"consecutive\"\nmax_auto_rollbacks = true\n");
    assert!(
        e.starts_with("s.toml:4:22: invalid type: boolean `true`, expected i64"),
        "{e}"
    );
    // Every policy's problems are reported, in file order.
    let e = error_of("[[policies]]\nname = \"a\"\nkind = \"none\"\nfailures = 1\nwindow = \"1m\"\n\n[[policies]]\nname = \"b\"\nkind = \"oracle\"\nreactoin = \"1m\"\n");
    let lines: Vec<&str> = e
        .lines()
        .map(|l| l.split(": ").next().unwrap_or(""))
        .collect();
    assert_eq!(lines, ["s.toml:4:12", "s.toml:5:10", "s.toml:10:1"], "{e}");
}

#[test]
fn kind_is_required_and_a_misspelt_kind_gets_a_suggestion() {
    let e = error_of("[[policies]]\nname = \"x\"\n");
    assert!(
        e.starts_with("s.toml:1:1: missing field `kind`; expected a policy kind"),
        "{e}"
    );
    let e = error_of("[[policies]]\nname = \"x\"\nkind = \"treshold\"\n");
    assert!(
        e.starts_with("s.toml:3:8: unknown variant `treshold`, expected one of `none`"),
        "{e}"
    );
    assert!(e.ends_with("; did you mean `threshold`?"), "{e}");
}

#[test]
fn unknown_keys_anywhere_get_the_nearest_spelling() {
    let e = error_of("[service]\nrequest_rat = 5\n");
    assert!(
        e.starts_with("s.toml:2:1: unknown field `request_rat`, expected one of"),
        "{e}"
    );
    assert!(e.ends_with("; did you mean `request_rate`?"), "{e}");
    let e = error_of("[rollout]\nstrategy = \"canry\"\n");
    assert!(e.ends_with("; did you mean `canary`?"), "{e}");
}

const FLAGGER_YAML: &str = "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: web\nspec:\n  analysis:\n    interval: 1m\n    threshold: 5\n    metrics:\n    - name: request-success-rate\n      thresholdRange:\n        min: 99\n      interval: 1m\n";

#[test]
fn parse_reads_no_file_and_parse_with_takes_the_imports_read_before() {
    let text = "[[policies]]\nname = \"f\"\nimport = \"canary.yaml\"\nthreshold = 2\n";
    let e = parse(text, "dir/s.toml").expect_err("parse reads no file");
    assert!(
        e.to_string()
            .starts_with("dir/s.toml:3:10: `import = \"canary.yaml\"` reads a file"),
        "{e}"
    );
    let mut imports = Imports::default();
    let imported = crate::import::import_str(FLAGGER_YAML, "canary.yaml").expect("yaml");
    imports.insert("canary.yaml", &imported);
    let s = parse_with(text, "dir/s.toml", &imports).expect("imported");
    let PolicyRule::Flagger(f) = &s.policies[0].rule else {
        panic!("{:?}", s.policies[0].rule)
    };
    assert_eq!(f.threshold, 2, "the key beside `import` wins");
    assert_eq!(f.request_success_rate_min, Some(99.0));
    // A problem in an imported value points at the `import` line and names the file.
    let bad = FLAGGER_YAML.replace("threshold: 5", "threshold: 5000000");
    let mut imports = Imports::default();
    imports.insert(
        "canary.yaml",
        &crate::import::import_str(&bad, "canary.yaml").expect("yaml"),
    );
    let own = "[[policies]]\nname = \"f\"\nimport = \"canary.yaml\"\n";
    let e = parse_with(own, "dir/s.toml", &imports).expect_err("out of range");
    assert_eq!(
        e.to_string(),
        "dir/s.toml:3:10: threshold = 5000000 is out of range; expected an integer from \
         -2147483648 to 1000000 (in the policy imported from canary.yaml)"
    );
}

#[test]
fn invalid_utf8_is_located_once_in_the_scenario_and_in_an_imported_yaml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scn = dir.path().join("s.toml");
    std::fs::write(&scn, b"[service]\nname = \"caf\xE9\"\n").expect("write");
    let e = load(&scn).expect_err("not UTF-8").to_string();
    assert_eq!(
        e,
        format!(
            "{}:2:12: invalid UTF-8 (byte 0xE9); expected a text file in UTF-8",
            scn.display()
        )
    );
    let yaml = dir.path().join("c.yaml");
    std::fs::write(&yaml, [FLAGGER_YAML.as_bytes(), b"# \xFF\n"].concat()).expect("write");
    std::fs::write(&scn, "[[policies]]\nname = \"f\"\nimport = \"c.yaml\"\n").expect("write");
    let e = load(&scn).expect_err("YAML not UTF-8").to_string();
    assert_eq!(
        e,
        format!(
            "{}:3:10: cannot import \"c.yaml\": {}:14:3: invalid UTF-8 (byte 0xFF); expected a text file in UTF-8",
            scn.display(),
            yaml.display()
        )
    );
    assert!(load(Path::new("/nonexistent/s.toml")).is_err());
}
