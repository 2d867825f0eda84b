use super::*;

fn input(times_s: &[u64]) -> Input {
    Input {
        interval_ms: 15_000,
        samples: times_s
            .iter()
            .map(|&t| Sample {
                at_ms: t * 1000,
                requests: 10,
                errors: 0,
                latency_p99_ms: None,
            })
            .collect(),
        has_errors: true,
        breaks: vec![],
    }
}

#[test]
fn calibrate_selection_keeps_stretches_and_breaks_between_them() {
    let all = input(&[15, 30, 45, 60, 75, 90, 105, 120, 135, 150]);
    // Two stretches, overlapping ones merged, and a window left out of the second.
    let sel = Selection::new(
        vec![(15_000, 30_000), (25_000, 45_000), (90_000, 150_000)],
        vec![(110_000, 125_000)],
    );
    let got = all.select(&sel);
    let times: Vec<u64> = got.samples.iter().map(|x| x.at_ms / 1000).collect();
    assert_eq!(times, vec![15, 30, 45, 90, 105, 135, 150]);
    assert_eq!(
        got.breaks,
        vec![3, 5],
        "after 45 s (stretch) and 105 s (exclusion)"
    );
    assert!(got.same_stretch(1) && !got.same_stretch(3) && got.same_stretch(4));
    // Selecting again keeps the breaks even where nothing more is left out.
    assert_eq!(got.select(&Selection::default()).breaks, vec![3, 5]);
    // No selection: everything, one stretch.
    let whole = all.select(&Selection::default());
    assert_eq!((whole.samples.len(), whole.breaks.len()), (10, 0));
}

#[test]
fn calibrate_gaps_between_stretches_are_not_lost_scrapes() {
    // 300 scrapes, a lost one at 100, then an hour left out, then 300 more.
    let mut t: Vec<u64> = (1..=300).filter(|&i| i != 100).map(|i| i * 15).collect();
    t.extend((541..=840).map(|i| i * 15));
    let mut x = input(&t);
    for (i, s) in x.samples.iter_mut().enumerate() {
        s.requests = 100 + (i as u64 * 7919) % 13;
        s.errors = (i as u64 * 104_729) % 3;
    }
    let sel = Selection::new(vec![], vec![(300 * 15_000 + 1, 540 * 15_000)]);
    let f = fit::fit(&x.select(&sel)).expect("fits");
    assert_eq!(f.lost, 1);
    assert_eq!(f.covered_ms, 600 * 15_000);
    assert!((f.missing_scrape_probability - 1.0 / 600.0).abs() < 1e-12);
    // Without the exclusion, the hour's 240 slots are lost scrapes too.
    assert_eq!(fit::fit(&x).expect("fits").lost, 241);
}
