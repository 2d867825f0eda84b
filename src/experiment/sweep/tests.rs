use super::*;

#[test]
fn ranges_and_lists() {
    let p: Param = "policies.gate.error_rate_above=0.005..0.05:10"
        .parse()
        .expect("range");
    assert_eq!(p.values.len(), 10);
    assert_eq!(p.values[0], 0.005);
    assert_eq!(p.values[6], 0.035);
    assert_eq!(p.values[9], 0.05);
    let p: Param = "service.request_rate=10, 20,40".parse().expect("list");
    assert_eq!(p.values, vec![10.0, 20.0, 40.0]);
    let e = |s: &str| s.parse::<Param>().unwrap_err().0;
    assert!(e("x=1..2").contains("expected PATH=LOW..HIGH:POINTS"));
    assert!(e("x=a,b").contains("\"a\" is not a number"));
    assert!(e("x").contains("no '='"));
}

/// Rows of `sweep` when every point simulates every policy (the plain way).
fn rows_simulating_everything(sweep: &Sweep, seed: u64, runs: u64) -> Vec<SweepRow> {
    (0..sweep.points.len())
        .flat_map(|i| {
            let opts = Options::new(seed, 0..runs);
            let r = super::super::run(&sweep.points[i].scenario, &opts, |_| Ok::<(), ()>(()));
            match r {
                Ok(r) => sweep.rows(i, &r.summary),
                Err(()) => unreachable!("the sink never fails"),
            }
        })
        .collect()
}

fn sweep_rows(sweep: &Sweep, seed: u64, runs: u64) -> Vec<SweepRow> {
    let todo: Vec<usize> = (0..sweep.points.len()).collect();
    let mut rows = Vec::new();
    let done = sweep.run(seed, runs, &todo, None, None, |r| {
        rows.extend_from_slice(r);
        Ok::<(), ()>(())
    });
    assert_eq!(done, Ok(todo.len()));
    rows
}

const TWO_RULES: &str = "[simulation]\nduration = \"3h\"\n\
    [signals]\nnoise_sd = 0.3\n\
    [release]\nat = \"1h\"\nbad_probability = 0.3\n\
    [[policies]]\nname = \"gate\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n\
    [[policies]]\nname = \"probes\"\nkind = \"consecutive\"\nfailures = 3\n";

#[test]
fn a_sweep_of_one_rule_equals_simulating_every_policy_at_every_point() {
    let base = scenario::parse(TWO_RULES, "t").expect("valid");
    // One policy's parameter (the other policy is simulated once), then a field every
    // policy's runs depend on (each point simulates everything), then two parameters.
    for params in [
        vec!["policies.probes.failures=1..4:4"],
        vec!["release.bad_probability=0.1,0.9"],
        vec![
            "policies.gate.error_rate_above=0.01,0.03",
            "policies.probes.failures=2,5",
        ],
    ] {
        let params = params.iter().map(|p| p.parse().expect("param")).collect();
        let sweep = Sweep::new(TWO_RULES, "t", Path::new("."), &base, params).expect("sweep");
        assert_eq!(
            sweep_rows(&sweep, 11, 40),
            rows_simulating_everything(&sweep, 11, 40)
        );
    }
}

const SYSTEM: &str = "[simulation]\nduration = \"3h\"\n\
    [signals]\nnoise_sd = 0.3\n\
    [release]\nat = \"1h\"\nbad_probability = 0.3\n\
    [[services]]\nname = \"api\"\nrequest_rate = 30.0\n\
    calls = [{ service = \"db\", fraction = 0.5 }]\n\
    [[services]]\nname = \"db\"\n\
    [[policies]]\nname = \"gate\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n\
    [[policies]]\nname = \"probes\"\nkind = \"consecutive\"\nfailures = 3\n";

#[test]
fn a_system_sweep_equals_simulating_every_policy_at_every_point() {
    let base = scenario::parse(SYSTEM, "t").expect("valid");
    for params in [
        vec!["policies.probes.failures=1..3:3"],
        vec!["services.db.release.bad_probability=0.1,0.9"],
        vec![
            "policies.gate.error_rate_above=0.01,0.03",
            "services.api.request_rate=20,40",
        ],
    ] {
        let params = params.iter().map(|p| p.parse().expect("param")).collect();
        let sweep = Sweep::new(SYSTEM, "t", Path::new("."), &base, params).expect("sweep");
        let rows = sweep_rows(&sweep, 5, 20);
        assert_eq!(rows.len(), sweep.points.len() * sweep.rows_per_point());
        assert_eq!(rows, rows_simulating_everything(&sweep, 5, 20));
        let services: Vec<_> = rows[..3 * sweep.metrics().count()]
            .chunks(sweep.metrics().count())
            .map(|c| c[0].service.clone())
            .collect();
        assert_eq!(
            services,
            [Some("system".into()), Some("api".into()), Some("db".into())]
        );
    }
}

#[test]
fn only_the_policies_a_point_changes_are_simulated_again() {
    let base = scenario::parse(TWO_RULES, "t").expect("valid");
    let at = |v: u32| {
        let text = TWO_RULES.replace("failures = 3", &format!("failures = {v}"));
        scenario::parse(&text, "t").expect("valid")
    };
    let known = Known::new(&base, Summary { policies: vec![] });
    let (subset, changed) = known.changed(&at(5));
    assert_eq!(changed, vec![1]);
    assert_eq!(subset.policies, vec![at(5).policies[1].clone()]);
    assert_eq!(known.changed(&at(3)).1, Vec::<usize>::new());
    let mut other = base.clone();
    other.signals.noise_sd = 0.4;
    assert_eq!(known.changed(&other).1, vec![0, 1]);

    // In a system, a policy's copies in the services are part of it.
    let base = scenario::parse(SYSTEM, "t").expect("valid");
    let at = |v: u32| {
        let text = SYSTEM.replace("failures = 3", &format!("failures = {v}"));
        scenario::parse(&text, "t").expect("valid")
    };
    let known = Known::new(&base, Summary { policies: vec![] });
    let (subset, changed) = known.changed(&at(5));
    assert_eq!(changed, vec![1]);
    let system = subset.system.as_deref().expect("a system");
    for s in &system.services {
        assert_eq!(s.scenario.policies.len(), 1);
        assert_eq!(s.scenario.policies[0].name, "probes");
    }
    let mut other = base.clone();
    if let Some(s) = other.system.as_deref_mut() {
        s.services[1].scenario.policies[0].name = "renamed".into();
    }
    assert_eq!(known.changed(&other).1, vec![0]);
}
