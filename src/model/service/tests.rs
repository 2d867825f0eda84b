use super::*;
use crate::model::release::ReleaseSpec;
use crate::model::Effects;
use crate::scenario::parse;

#[test]
fn the_truth_at_an_instant_has_every_change_since_the_tick() {
    // A drifting baseline, a slow leak from the deploy at 0, an outage from 20 s.
    let s = match parse(
        "[simulation]\nscrape_interval = \"15s\"\n\
         [service]\nbaseline_error_rate = 0.01\n\
         [signals]\nnoise_sd = 0.5\n\
         [release]\nat = \"0s\"\nbad_probability = 1.0\n\
         [release.bad]\nerror_rate = 0.5\nramp = \"60s\"\n\
         [[faults]]\nkind = \"dependency_outage\"\nerror_rate = 0.5\n\
         at = \"20s\"\nduration = \"20s\"\n",
        "t",
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let model = ServiceModel::new(&s);
    let windows = [FaultWindow {
        fault: 0,
        start_ms: 20_000,
        end_ms: 40_000,
    }];
    let mut service = Service::new(0, &s, &model, &windows, 7, None);
    let spec = ReleaseSpec {
        service: 0,
        bad: true,
        gates_every_step: false,
        passes_early: false,
        bake_ms: 0,
        oracle_after_ms: None,
        after_promotion: Vec::new(),
    };
    let mut release = Release::new(0, spec, &s.rollout, s.service.replicas);
    let mut agenda = Agenda::new(None);
    release.deploy(0, &mut agenda);
    assert!(release.share_step(0, 1, 0, &mut agenda).is_some());

    // At the tick: the interval's truth. The drift moved the baseline off 0.01.
    let first = service.interval(0, 15_000, &release);
    assert_eq!(
        service.truth_at(0, &release),
        Moment {
            truth: first.truth,
            onset_ms: Some(0)
        }
    );
    let shared = first.truth[0].error_prob;
    assert!((shared - 0.01).abs() > 1e-6, "drifted baseline {shared}");

    // 10 s later: the same baseline (drawn once per interval), the leak at 10 s of 60.
    let none = Effects::default();
    let at_10s = service.truth_at(10_000, &release).truth;
    assert_eq!(at_10s[0], first.truth[0]);
    assert_eq!(
        at_10s[1],
        model.version(shared, &none, model.intensity(10_000))
    );
    assert!(at_10s[1].error_prob > first.truth[1].error_prob);

    // The next interval draws a new baseline; the outage at 20 s shows at 20 s.
    let second = service.interval(15_000, 15_000, &release);
    let shared = second.truth[0].error_prob;
    assert_ne!(shared, first.truth[0].error_prob);
    service.set_fault(20_000, 0, true, &mut agenda);
    let at_20s = service.truth_at(20_000, &release).truth;
    let with_outage = 1.0 - (1.0 - shared) * 0.5;
    assert!((at_20s[0].error_prob - with_outage).abs() < 1e-12);
    let leak = 0.5 * model.intensity(20_000);
    let expected_new = 1.0 - (1.0 - with_outage) * (1.0 - leak);
    assert!((at_20s[1].error_prob - expected_new).abs() < 1e-12);

    // The defect removed (a fix, the flag off): at once, the new version is the old.
    assert!(release.remove_defect());
    let fixed = service.truth_at(25_000, &release);
    assert_eq!(fixed.onset_ms, None);
    let fixed = fixed.truth;
    assert_eq!(fixed[1], fixed[0]);
    assert_eq!(fixed[0], at_20s[0]);
}

#[test]
fn a_slot_at_its_clock_time_reads_its_gauges_at_that_time() {
    // A train's slot starting at 14:00 (the day's peak): its gauges are those of the rate
    // then, not of the run's start (02:00 past the trough).
    let s = match parse(
        "[simulation]\nduration = \"2h\"\n\
         [service]\nrequest_rate = 100.0\ndiurnal_amplitude = 0.5\npeak_hour = 14.0\n\
         replicas = 4\ncapacity_rps = 50.0\n",
        "t",
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let model = ServiceModel::new(&s);
    let clock = 14 * 3_600_000;
    let service = Service::new(0, &s, &model, &[], 7, None).with_clock(clock);
    let spec = ReleaseSpec {
        service: 0,
        bad: false,
        gates_every_step: false,
        passes_early: false,
        bake_ms: 0,
        oracle_after_ms: None,
        after_promotion: Vec::new(),
    };
    let release = Release::new(0, spec, &s.rollout, s.service.replicas);
    let Some([old, _]) = service.gauges(0, &release) else {
        panic!("a capacity gives gauges")
    };
    // 150 requests/s against 4 x 50: utilisation 0.75.
    assert!((old.saturation - 0.75).abs() < 1e-9, "{}", old.saturation);
}
