//! The release train's model, each against a closed form or an exact count: the lead time
//! ends at promotion, a slot's traffic follows its time of day, a latent cause acts up for
//! its fault's own duration, a page a person answered starts a review, and under
//! `misattributed_only` the team notices a fine release with `notice_probability`.

use crate::scenario;
use crate::trains::{lossy, slot, train_runs, ORACLE};
use rollsim::outcome::train::TrainRecord;
use rollsim::scenario::Scenario;

/// The slot with an `inject_only` loss of 30% lasting `spell`, with `service` keys, the
/// `train` keys and the policies.
fn text(service: &str, spell: &str, train: &str, policies: &str) -> String {
    let fault = lossy("lossy", spell, "");
    let rest = format!("{fault}\n{train}\n\n{policies}");
    slot(&format!("request_rate = 20.0\n{service}"), &rest)
}

const ERRORS: &str = "[[policies]]\nname = \"errors\"\nkind = \"threshold\"\n\
                      error_rate_above = 0.05\nwindow = \"2m\"\nfor = \"1m\"\n";

fn records(s: &Scenario, runs: u64) -> Vec<TrainRecord> {
    train_runs(s, 5, runs).records
}

#[test]
fn lead_time_ends_when_the_release_is_promoted() {
    // Two merges a working day, each deployed at once: deploy at 5 min, promoted after the
    // 10-minute bake. No release is bad: every one reaches production 15 minutes after
    // its merge (the slot itself lasts an hour).
    let s = scenario(&text(
        "",
        "1h",
        "[train]\nhorizon = \"1w\"\nreleases_per_day = 2\ncode_defect_probability = 0.0\n\
         reviews = [\"none\"]",
        ORACLE,
    ));
    for r in records(&s, 5) {
        assert_eq!(r.deployments, 10);
        assert_eq!(r.lead_time_h, Some(0.25), "run {}", r.run);
    }
}

#[test]
fn a_slot_sees_the_traffic_of_its_time_of_day() {
    // Traffic peaks at 15:00 and swings by 80%: a release merged at 03:30 (working hours
    // 3 to 4) sees night traffic, one at 15:30 the peak. The failed requests (0.1%
    // baseline) follow the rate integrated over the slot: closed form below.
    let service = "diurnal_amplitude = 0.8\npeak_hour = 15.0";
    let train = |hours: &str| {
        format!(
            "[train]\nhorizon = \"2w\"\nreleases_per_day = 1\nworking_hours = {hours}\n\
             code_defect_probability = 0.0\nreviews = [\"none\"]"
        )
    };
    let failed = |hours: &str| -> f64 {
        let s = scenario(&text(service, "1h", &train(hours), ORACLE));
        let recs = records(&s, 40);
        recs.iter().map(|r| r.failed_requests_per_week).sum::<f64>() / recs.len() as f64
    };
    let (night, day) = (failed("[3, 4]"), failed("[15, 16]"));
    // The merge is at the middle of the hour; its slot runs an hour from there.
    let rate = |from_h: f64| -> f64 {
        (0..3600)
            .map(|s| {
                let h = from_h + f64::from(s) / 3600.0;
                1.0 + 0.8 * ((h - 15.0) / 24.0 * std::f64::consts::TAU).cos()
            })
            .sum::<f64>()
    };
    let want = rate(3.5) / rate(15.5);
    let got = night / day;
    assert!(
        (got - want).abs() < 0.1 * want,
        "night/day failed requests {got}, closed form {want}"
    );
}

#[test]
fn a_latent_cause_acts_up_for_its_faults_own_duration() {
    // Present from the start, shown in every release, never fixed: its fault (30% loss,
    // far over the 1% SLO) lasts 20 minutes of each one-hour slot, which is downtime. The
    // oracle never rolls a fine release back.
    let s = scenario(&text(
        "",
        "20m",
        "[train]\nhorizon = \"1w\"\nreleases_per_day = 2\ncode_defect_probability = 0.0\n\
         reviews = [\"none\"]\n\n[[train.latent]]\nfault = \"lossy\"\nat = \"0s\"",
        ORACLE,
    ));
    for r in records(&s, 5) {
        assert_eq!(r.latent_shown, 10);
        let per_release = r.downtime_s_per_week / 10.0;
        assert!(
            (per_release - 1200.0).abs() <= 15.0,
            "run {}: {per_release} s of downtime per release",
            r.run
        );
    }
}

#[test]
fn a_page_a_person_answered_starts_a_review() {
    // The error rule asks a person before rolling back; the person keeps a fine release
    // (right_call = 1), so nothing is rolled back, but every showing of the lossy cause
    // pages someone: an incident, reviewed under every_rollback, which finds the cause.
    let policy = format!("{ERRORS}checkpoint = \"rollback\"\n\n[human]\nright_call = 1.0\n");
    let s = scenario(&text(
        "",
        "1h",
        "[train]\nhorizon = \"1w\"\nreleases_per_day = 2\ncode_defect_probability = 0.0\n\
         reviews = [\"every_rollback\", \"none\"]\n\n[train.review]\nfind_probability = 1.0\n\n\
         [[train.latent]]\nfault = \"lossy\"\nat = \"0s\"",
        &policy,
    ));
    for pair in records(&s, 5).chunks(2) {
        let (every, none) = (&pair[0], &pair[1]);
        assert_eq!(
            (every.review.as_str(), none.review.as_str()),
            ("every_rollback", "none")
        );
        assert_eq!(every.rollbacks_per_week, 0.0);
        assert!(every.pages >= 1);
        // The first page is reviewed and the cause fixed: it shows in no later release.
        assert_eq!(every.reviews, 1, "run {}", every.run);
        assert_eq!(every.latent_fixed, 1);
        assert!(every.latent_shown < none.latent_shown);
        assert_eq!((none.reviews, none.latent_fixed), (0, 0));
    }
}

#[test]
fn misattributed_only_reviews_what_the_team_notices() {
    // The lossy cause shows in half the releases and the error rule rolls each back (a
    // fine release): the team reviews it only when it notices.
    let train = |notice: &str| {
        format!(
            "[train]\nhorizon = \"2w\"\nreleases_per_day = 2\ncode_defect_probability = 0.0\n\
             reviews = [\"misattributed_only\", \"none\"]\n\n[train.review]\n\
             find_probability = 0.0\nnotice_probability = {notice}\n\n[[train.latent]]\n\
             fault = \"lossy\"\nat = \"0s\"\nshows_probability = 0.5"
        )
    };
    let reviews = |notice: &str| -> (u32, u32) {
        let s = scenario(&text("", "1h", &train(notice), ERRORS));
        let recs = records(&s, 30);
        let rolled: u32 = recs
            .iter()
            .filter(|r| r.review == "none")
            .map(|r| r.latent_shown)
            .sum();
        let reviewed = recs.iter().map(|r| r.reviews).sum();
        (reviewed, rolled)
    };
    // Never noticed: misattributed_only is never reviewing. Always noticed (the
    // default): every rollback is reviewed (nothing is found, so the trains are alike).
    assert_eq!(reviews("0.0").0, 0);
    let (all, rolled) = reviews("1.0");
    assert_eq!(all, rolled);
    let (half, rolled) = reviews("0.5");
    let sd = (0.25 * f64::from(rolled)).sqrt();
    assert!(
        (f64::from(half) - 0.5 * f64::from(rolled)).abs() < 3.3 * sd,
        "{half} of {rolled} noticed"
    );
}
