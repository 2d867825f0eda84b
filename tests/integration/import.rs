//! `rollsim import` and `import = "file.yaml"` in scenarios: the shipped example configs
//! become valid policies, what cannot be modelled is listed by name, bad YAML is located.

use super::{rollsim, write};
use predicates::prelude::*;
use rollsim::scenario::{load_text, parse, PolicyRule};
use std::path::Path;

const ARGO: &str = "scenarios/imports/argo-rollout.yaml";
const FLAGGER: &str = "scenarios/imports/flagger-canary.yaml";

/// A small scenario the imported blocks are appended to.
const BASE: &str =
    "[simulation]\nduration = \"6h\"\n\n[release]\nat = \"1h\"\nbad_probability = 0.5\n\n";

/// `rollsim import FILE`: (stdout, stderr), asserting success.
fn import(file: &str) -> (String, String) {
    let out = rollsim().arg("import").arg(file).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn imported_policies_validate_when_appended_to_a_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Argo's steps come as a canary rollout; Flagger's as its own traffic keys.
    for (file, name, kind, traffic) in [
        (
            ARGO,
            "orders-argo",
            "argo_analysis",
            "rollout = { strategy = \"canary\"",
        ),
        (FLAGGER, "orders-flagger", "flagger", "step_weight = "),
    ] {
        let (toml, _) = import(file);
        assert!(toml.contains(&format!("kind = \"{kind}\"")), "{toml}");
        assert!(toml.contains(traffic), "{toml}");
        let scn = write(dir.path(), "s.toml", &format!("{BASE}{toml}"));
        rollsim()
            .arg("validate")
            .arg(&scn)
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("1 policy: {name}")));
    }
}

#[test]
fn the_argo_example_maps_to_the_documented_values() {
    let (toml, _) = import(ARGO);
    let s = parse(&format!("{BASE}{toml}"), "t.toml").expect("valid");
    let p = &s.policies[0];
    let PolicyRule::ArgoAnalysis(a) = &p.rule else {
        panic!("{:?}", p.rule)
    };
    assert_eq!(a.interval_ms, 60_000);
    assert_eq!(a.failure_limit, 3);
    assert_eq!(a.count, None);
    // successCondition result[0] >= 0.98 on a success ratio: error ratio <= 0.02.
    let below = a.error_rate.success_below.expect("success condition");
    assert!(below > 0.02 && below < 0.020_000_000_001, "{below}");
    assert_eq!(a.latency_p99_ms.failure_above, Some(500.0));
    let rollsim::scenario::Strategy::Canary { steps } = &p.rollout.strategy else {
        panic!("{:?}", p.rollout)
    };
    let got: Vec<(f64, u64)> = steps.iter().map(|s| (s.weight, s.pause_ms)).collect();
    assert_eq!(got, vec![(0.1, 600_000), (0.5, 600_000), (1.0, 0)]);
}

#[test]
fn unmodelled_fields_are_listed_by_name_on_stderr() {
    let (toml, err) = import(ARGO);
    let err = unwrapped(&err);
    for want in [
        "warning: scenarios/imports/argo-rollout.yaml:69:7: field spec.metrics[1].provider.web of AnalysisTemplate \"success-rate\": web metric providers are not modelled; this metric is skipped",
        "field spec.progressDeadlineSeconds of Rollout \"orders-argo\": the progress deadline is not modelled",
        "field spec.strategy.canary.trafficRouting of Rollout \"orders-argo\"",
        "field spec.metrics[0].successCondition of AnalysisTemplate \"success-rate\": `len(result) == 0 || result[0] >= 0.98`: with its no-data guard",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
    // The same list heads the TOML as comments.
    assert!(toml.contains(
        "#   scenarios/imports/argo-rollout.yaml:69:7: field spec.metrics[1].provider.web"
    ));
    let (_, err) = import(FLAGGER);
    let err = unwrapped(&err);
    for want in [
        "field spec.analysis.webhooks[0]: webhook \"acceptance-test\" (type pre-rollout) is not modelled",
        "field spec.analysis.webhooks[1]: webhook \"load-test\"",
        "field spec.progressDeadlineSeconds: the progress deadline is not modelled",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
}

/// The warnings with their continuation lines joined back.
fn unwrapped(err: &str) -> String {
    err.replace("\n  ", " ")
}

#[test]
fn the_printed_policy_and_its_warnings_fit_100_columns() {
    // Long warnings continue two columns in on stderr; long comments continue under
    // themselves, so the block still pastes into a scenario as it is.
    for file in [ARGO, FLAGGER] {
        let (toml, err) = import(file);
        for line in toml.lines().chain(err.lines()) {
            assert!(line.chars().count() <= 100, "{file}: {line}");
        }
        assert!(err.contains("\n  "), "{file}: a warning continues:\n{err}");
        assert!(
            toml.contains("\n#     "),
            "{file}: a note continues:\n{toml}"
        );
    }
    let (toml, _) = import(FLAGGER);
    assert!(
        toml.contains(
            "request_success_rate_min = 99.0             # spec.analysis.metrics[0].thresholdRange.min (line\n\
             \x20                                           #   30): percent\n"
        ),
        "{toml}"
    );
}

#[test]
fn bad_yaml_gives_file_line_col_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "bad.yaml",
        "kind: Canary\nspec:\n  analysis:\n    interval: 1m\n   threshold: 5\n",
    );
    rollsim()
        .arg("import")
        .arg(&f)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::starts_with(format!(
            "error: {}:5:4: ",
            f.display()
        )))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn nothing_usable_exits_2_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "web.yaml",
        "kind: AnalysisTemplate\nmetadata:\n  name: smoke\nspec:\n  metrics:\n  - name: smoke\n    successCondition: result.ok == true\n    provider:\n      web:\n        url: http://example.invalid/\n",
    );
    rollsim()
        .arg("import")
        .arg(&f)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("nothing rollsim can model remains"))
        .stderr(predicate::str::contains(
            "9:7: field spec.metrics[0].provider.web: web metric providers are not modelled; this metric is skipped",
        ));
    rollsim()
        .arg("import")
        .arg(dir.path().join("missing.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
}

#[test]
fn a_scenario_import_is_the_printed_policy() {
    let (toml, _) = import(FLAGGER);
    let pasted = parse(&format!("{BASE}{toml}"), "t.toml").expect("pasted");
    let referenced = load_text(
        &format!("{BASE}[[policies]]\nname = \"orders-flagger\"\nimport = \"imports/flagger-canary.yaml\"\n"),
        "scenarios/t.toml",
        Path::new("scenarios"),
    )
    .expect("imported");
    assert_eq!(pasted.policies, referenced.policies);
    assert!(pasted.warnings.is_empty());
    assert_eq!(referenced.warnings.len(), 5, "{:#?}", referenced.warnings);
    assert!(referenced.warnings[0]
        .ends_with("(policy \"orders-flagger\" imported at scenarios/t.toml:10:10)"));
}

#[test]
fn keys_beside_import_override_the_imported_ones() {
    let s = load_text(
        &format!("{BASE}[[policies]]\nname = \"f\"\nimport = \"imports/flagger-canary.yaml\"\nthreshold = 2\nuntil = \"end\"\n"),
        "scenarios/t.toml",
        Path::new("scenarios"),
    )
    .expect("valid");
    let PolicyRule::Flagger(f) = &s.policies[0].rule else {
        panic!()
    };
    assert_eq!(f.threshold, 2);
    assert_eq!(s.policies[0].until, rollsim::scenario::Until::End);
    let e = load_text(
        &format!("{BASE}[[policies]]\nname = \"f\"\nimport = \"imports/flagger-canary.yaml\"\nkind = \"threshold\"\n"),
        "scenarios/t.toml",
        Path::new("scenarios"),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(e.contains("t.toml:11:8: kind = \"threshold\", but \"imports/flagger-canary.yaml\" imports a \"flagger\" policy"), "{e}");
}

#[test]
fn scenario_import_problems_are_errors_at_the_key_and_in_the_yaml() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "bad.yaml",
        "kind: Canary\nspec:\n  analysis:\n    interval: 1m\n   threshold: 5\n",
    );
    let scn = write(
        dir.path(),
        "s.toml",
        "[[policies]]\nname = \"a\"\nimport = \"bad.yaml\"\n\n[[policies]]\nname = \"b\"\nimport = \"missing.yaml\"\n",
    );
    let yaml = dir.path().join("bad.yaml");
    rollsim()
        .arg("validate")
        .arg(&scn)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:3:10: cannot import \"bad.yaml\": {}:5:4: ",
            scn.display(),
            yaml.display()
        )))
        .stderr(predicate::str::contains(format!(
            "{}:7:10: cannot import \"missing.yaml\": cannot read",
            scn.display()
        )));
}

#[test]
fn validate_prints_each_unmodelled_field_once() {
    let out = rollsim()
        .arg("validate")
        .arg("scenarios/imported-configs.toml")
        .output()
        .expect("run");
    assert!(out.status.success());
    let err = unwrapped(&String::from_utf8_lossy(&out.stderr));
    let web = "field spec.metrics[1].provider.web of AnalysisTemplate \"success-rate\"";
    assert_eq!(err.matches(web).count(), 1, "{err}");
    assert!(err.contains("(policy \"argo-imported\" imported at scenarios/imported-configs.toml:"));
}
