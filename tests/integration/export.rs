//! The round trip: `rollsim import` of what `rollsim export` / `tune --emit` wrote gives the
//! same policy, hence the same results on the same seed, for every format; emitted rule
//! files pass `promtool check rules`.

use assert_cmd::Command;
use rollsim::export::{export, Format};
use rollsim::scenario::Scenario;

const CONTROLLERS: &str = include_str!("../../scenarios/controllers.toml");

/// The scenario text without its policies (and its objective, which names them).
fn base() -> String {
    let mut doc: toml_edit::DocumentMut = CONTROLLERS.parse().expect("toml");
    doc.remove("policies");
    doc.remove("objective");
    doc.to_string()
}

fn with_policy(block: &str) -> Scenario {
    super::scenario(&format!("{}\n{block}", base()))
}

fn policy<'a>(s: &'a Scenario, name: &str) -> &'a rollsim::scenario::PolicySpec {
    s.policies.iter().find(|p| p.name == name).expect("policy")
}

/// Exports `name` in `format`, imports it back and checks the policy and 200 runs' summary.
fn round_trip(name: &str, format: Format) {
    let original = super::scenario(CONTROLLERS);
    let spec = policy(&original, name);
    let header = vec!["a test".to_string()];
    let text = export(format, spec, CONTROLLERS, &header).expect("exports");
    assert!(text.starts_with("# a test\n"), "{text}");
    let block = match format {
        Format::Scenario => text.clone(),
        _ => {
            let imp = rollsim::import::import_str(&text, "emitted.yaml")
                .unwrap_or_else(|e| panic!("{name} {format:?}: {e}\n{text}"));
            imp.to_toml()
        }
    };
    let alone = with_policy(&export(Format::Scenario, spec, CONTROLLERS, &[]).expect("toml"));
    let back = with_policy(&block);
    assert_eq!(back.policies.len(), 1);
    assert_eq!(
        &back.policies[0],
        policy(&alone, name),
        "{name} {format:?}:\n{text}\n{block}"
    );
    // Compared as printed: a metric no run has is NaN on both sides.
    let summary = |s: &Scenario| {
        let opts = rollsim::experiment::Options::new(3, 0..200);
        let r = rollsim::experiment::run(s, &opts, |_| Ok::<(), ()>(())).expect("run");
        format!("{:?}", r.summary)
    };
    assert_eq!(summary(&back), summary(&alone), "{name} {format:?}");
}

#[test]
fn argo_round_trips_background_and_step_analyses() {
    round_trip("argo-fl3", Format::Argo);
    round_trip("argo-step-analyses", Format::Argo);
}

#[test]
fn flagger_round_trips() {
    round_trip("flagger", Format::Flagger);
}

#[test]
fn prometheus_round_trips_thresholds_and_burn_rates() {
    round_trip("alert-rule-2pct", Format::Prometheus);
    round_trip("burn-rate-page", Format::Prometheus);
}

#[test]
fn scenario_round_trips_any_policy() {
    for name in ["kayenta", "ecs-breaker", "sequential"] {
        round_trip(name, Format::Scenario);
    }
}

fn promtool() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "this test needs `promtool` on PATH: install it with `apt-get install prometheus` \
                 (Debian/Ubuntu; `bash .ci/run` does this)"
            )
        })
}

#[test]
fn emitted_rule_files_pass_promtool() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["alert-rule-2pct", "burn-rate-page"] {
        let out = Command::cargo_bin("rollsim")
            .expect("binary")
            .args(["export", "scenarios/controllers.toml", "--policy", name])
            .args(["--emit", "prometheus"])
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let f = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&f, &out.stdout).expect("write");
        let check = std::process::Command::new(promtool())
            .args(["check", "rules"])
            .arg(&f)
            .output()
            .expect("promtool runs");
        assert!(
            check.status.success(),
            "promtool check rules {name}:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn a_format_the_policy_kind_cannot_take_is_refused() {
    Command::cargo_bin("rollsim")
        .expect("binary")
        .args(["export", "scenarios/controllers.toml", "--policy", "kayenta"])
        .args(["--emit", "prometheus"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "error: --emit prometheus: policy \"kayenta\" is of another kind; this format needs a threshold or burn_rate policy",
        ));
}
