//! A release train: the truth of a run's train ([`TrainWorld`], drawn from its own named
//! streams, never from a policy's or a review policy's choices) and its simulation
//! ([`simulate_train`]): releases in sequence through one deploy pipeline, each release
//! run by the one-release engine ([`super::replicate`]) with its own world, latent causes
//! active through the releases they show in, reviews after rollbacks that may find and
//! fix them, a freeze and a queue.
//!
//! Only the releases' slots are simulated: between them nothing is observed, and the
//! train's own state (queue, latent causes, reviews, freeze) moves by its events alone, so
//! skipping the time between slots draws nothing and changes nothing.
//!
//! Common random numbers: merge times come from the `Train` stream; each release's cause,
//! seed and latent showing from its own `TrainRelease` stream keyed by its index; each
//! latent cause's appearances from its `Latent` stream; each review's time and finding
//! from a `Review` stream keyed by the release's index. The same release reviewed under
//! two policies takes the same time and finds the same thing.

use super::rng::{run_seed, stream, stream_at, Stream};
use super::world::World;
use super::{replicate_promoted, replicate_system_release, Prepared};
use crate::model::faults::{realize, FaultWindow};
use crate::outcome::train::{ServiceTrainRow, TrainRecord, WeekRow};
use crate::outcome::RunRecord;
use crate::scenario::train::{Appears, Arrivals, ReviewPolicy, Train};
use crate::scenario::Scenario;
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Exp};
use std::collections::HashMap;

const DAY_MS: u64 = 86_400_000;
const WEEK_MS: u64 = 7 * DAY_MS;
const HOUR_MS: f64 = 3_600_000.0;

/// Why a release of the train is bad, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Good,
    CodeDefect,
    ConfigChange,
}

/// One release of a train, as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRelease {
    /// When its change merged (train time, ms from Monday 00:00 of week 0).
    pub merge_ms: u64,
    /// In a system, the service it releases (its index in the system's services): the
    /// train's services in turn, drawing nothing; 0 for a single service.
    pub service: usize,
    pub cause: Cause,
    /// The seed of its one-release world (its traffic, noise, faults, retries).
    pub seed: u64,
    /// One uniform draw per latent cause: the cause shows in this release when present
    /// and the draw is below its `shows_probability`.
    pub shows: Vec<f64>,
    /// The review after it, if one is held: engineer time, and a uniform draw (found when
    /// below `find_probability`).
    pub review_ms: u64,
    pub review_draw: f64,
    /// A uniform draw: under `misattributed_only`, the team notices that its rollback was
    /// of a fine release when the draw is below `notice_probability`.
    pub notice_draw: f64,
}

/// The truth of one run of a train, whatever the policy or review policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainWorld {
    pub run: u64,
    pub seed: u64,
    pub releases: Vec<TrainRelease>,
    /// Each latent cause's appearance times, sorted.
    pub appearances: Vec<Vec<u64>>,
}

impl TrainWorld {
    /// The train of run `run` of an experiment with master seed `master_seed`.
    pub fn for_run(train: &Train, master_seed: u64, run: u64) -> Self {
        let seed = run_seed(master_seed, run);
        let merges = merge_times(train, &mut stream(seed, Stream::Train));
        let releases = merges
            .into_iter()
            .enumerate()
            .map(|(i, merge_ms)| {
                let mut r = stream_at(seed, i as u64, Stream::TrainRelease);
                let u: f64 = r.random();
                let cause = if u < train.code_defect_probability {
                    Cause::CodeDefect
                } else if u < train.code_defect_probability + train.config_change_probability {
                    Cause::ConfigChange
                } else {
                    Cause::Good
                };
                let release_seed = r.next_u64();
                let shows = train.latent.iter().map(|_| r.random()).collect();
                let mut v = stream_at(seed, i as u64, Stream::Review);
                let review_ms = train.review.time.sample(&mut v);
                let review_draw = v.random();
                let notice_draw = v.random();
                TrainRelease {
                    merge_ms,
                    service: train
                        .services
                        .get(i % train.services.len().max(1))
                        .copied()
                        .unwrap_or(0),
                    cause,
                    seed: release_seed,
                    shows,
                    review_ms,
                    review_draw,
                    notice_draw,
                }
            })
            .collect();
        let appearances = train
            .latent
            .iter()
            .enumerate()
            .map(|(l, lat)| match lat.appears {
                Appears::At(t) => vec![t],
                Appears::Rate(rate) => {
                    let mut r = stream_at(seed, l as u64, Stream::Latent);
                    let mut out = Vec::new();
                    if let Ok(gap) = Exp::new(rate) {
                        let mut t = 0.0;
                        loop {
                            t += gap.sample(&mut r);
                            if t >= train.horizon_ms as f64 {
                                break;
                            }
                            out.push(t as u64);
                        }
                    }
                    out
                }
            })
            .collect();
        TrainWorld {
            run,
            seed,
            releases,
            appearances,
        }
    }

    /// The one-release world of release `i` deployed at train time `start_ms`, with the
    /// latent causes of `shown` (a bit per latent cause) acting up from the slot's start
    /// for their fault's own duration (drawn for every latent cause, in order, from the
    /// release's `LatentSpell` stream), cut at the slot's end.
    fn release_world(
        &self,
        scenario: &Scenario,
        train: &Train,
        i: usize,
        shown: u64,
        start_ms: u64,
    ) -> World {
        let r = &self.releases[i];
        let mut faults = realize(
            &scenario.faults,
            scenario.duration_ms,
            &mut stream(r.seed, Stream::Faults),
        );
        let mut spells = stream_at(self.seed, i as u64, Stream::LatentSpell);
        for (l, lat) in train.latent.iter().enumerate() {
            let spell = scenario
                .faults
                .get(lat.fault)
                .map_or(u64::MAX, |f| f.duration.sample(&mut spells));
            if shown & (1 << l) != 0 && spell > 0 {
                faults.push(FaultWindow {
                    fault: lat.fault,
                    start_ms: 0,
                    end_ms: spell.min(scenario.duration_ms),
                });
            }
        }
        World {
            run: self.run,
            seed: r.seed,
            release_bad: r.cause != Cause::Good,
            faults,
            // Train time 0 is a Monday 00:00; model time 0 a Thursday 00:00.
            clock_ms: start_ms + 4 * DAY_MS,
        }
    }
}

/// Merge times within working hours over the horizon: working time is laid end to end
/// (working days only) and merges are placed on it evenly or as a Poisson process.
fn merge_times<R: Rng + ?Sized>(train: &Train, rng: &mut R) -> Vec<u64> {
    let day_ms = 86_400_000u64;
    let len = u64::from(train.working_hours.1 - train.working_hours.0) * 3_600_000;
    let gap = len as f64 / train.releases_per_day;
    let days = train.horizon_ms.div_ceil(day_ms);
    let working: Vec<u64> = (0..days)
        .map(|d| d * day_ms)
        .filter(|&t| train.working_day(t))
        .collect();
    let exp = Exp::new(1.0 / gap).ok();
    let mut out = Vec::new();
    let mut w = match (train.arrivals, &exp) {
        (Arrivals::Poisson, Some(e)) => e.sample(rng),
        _ => gap / 2.0,
    };
    loop {
        let k = (w / len as f64) as usize;
        let Some(&day) = working.get(k) else { break };
        let t = day
            + u64::from(train.working_hours.0) * 3_600_000
            + (w - (k as u64 * len) as f64) as u64;
        if t >= train.horizon_ms {
            break;
        }
        out.push(t);
        w += match (train.arrivals, &exp) {
            (Arrivals::Poisson, Some(e)) => e.sample(rng),
            _ => gap,
        };
    }
    out
}

/// One train of one (policy, review policy) pair: its record and its weeks.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRun {
    pub record: TrainRecord,
    pub weeks: Vec<WeekRow>,
    /// In a system, a row per service of the system (file order); empty for one service.
    pub services: Vec<ServiceTrainRow>,
}

/// The one-release outcomes of one policy in one train world (its record and when it was
/// last promoted), by (release, latent causes shown, deploy time when the traffic varies
/// with the time of day or week or the policy may page the on-call, else 0): a release's outcome depends on nothing else, so
/// every review policy of a policy shares them where they deploy it alike.
pub type ReleaseCache = HashMap<(usize, u64, u64), (RunRecord, Option<u64>)>;

/// Whether any service's traffic varies with the time of day or week (then a release's
/// outcome depends on when it deploys).
fn traffic_varies(s: &Scenario) -> bool {
    let varies =
        |s: &Scenario| s.service.diurnal_amplitude > 0.0 || s.service.weekly_amplitude > 0.0;
    varies(s)
        || s.system
            .iter()
            .flat_map(|x| x.services.iter())
            .any(|x| varies(&x.scenario))
}

/// Whether policy `k` may page the on-call human in the scenario or any of its services:
/// then a release's outcome depends on when it deploys too (the night and the weekend of
/// its slot's clock).
fn may_page(s: &Scenario, k: usize) -> bool {
    let pages = |s: &Scenario| s.policies.get(k).is_some_and(|p| p.may_page());
    pages(s)
        || s.system
            .iter()
            .flat_map(|x| x.services.iter())
            .any(|x| pages(&x.scenario))
}

/// The state of one latent cause during a train.
#[derive(Debug, Clone, Default)]
struct LatentState {
    /// The start of the present occurrence, once it has appeared.
    since: Option<u64>,
    /// Occurrences appearing at or before this time are gone (fixed).
    fixed_at: Option<u64>,
    /// A fix found by a review, effective when that review ends.
    pending_fix: Option<u64>,
    /// Whether the present occurrence has already had a release rolled back.
    hurt: bool,
}

/// Simulates the train of `world` under the scenario's policy `k` and review policy
/// `review`.
pub fn simulate_train(
    p: &Prepared<'_>,
    train: &Train,
    world: &TrainWorld,
    k: usize,
    review: ReviewPolicy,
    cache: &mut ReleaseCache,
) -> TrainRun {
    let s = p.scenario;
    let spec = &s.policies[k];
    let mut services: Vec<ServiceTrainRow> = s
        .system
        .iter()
        .flat_map(|sys| sys.services.iter())
        .map(|svc| ServiceTrainRow {
            run: world.run,
            policy: spec.name.clone(),
            review: review.name().to_string(),
            service: svc.name.clone(),
            ..ServiceTrainRow::default()
        })
        .collect();
    let slot = s.duration_ms;
    let varies = traffic_varies(s) || may_page(s, k);
    let weeks_n = train.weeks() as usize;
    let mut weeks: Vec<WeekRow> = (0..weeks_n)
        .map(|w| WeekRow {
            run: world.run,
            policy: spec.name.clone(),
            review: review.name().to_string(),
            week: w as u64,
            ..WeekRow::default()
        })
        .collect();
    let mut rec = TrainRecord {
        run: world.run,
        seed: world.seed,
        policy: spec.name.clone(),
        review: review.name().to_string(),
        releases: world.releases.len() as u32,
        ..TrainRecord::default()
    };
    let mut latent: Vec<LatentState> = vec![LatentState::default(); train.latent.len()];
    let (mut free_at, mut hold_until, mut freeze_until) = (0u64, 0u64, 0u64);
    let mut recent_rollbacks: Vec<u64> = Vec::new();
    let (mut lead_sum, mut lead_n, mut rec_sum, mut rec_n) = (0.0, 0u32, 0.0, 0u32);
    let (mut rollbacks, mut fps, mut downtime, mut failed_requests) = (0u64, 0u64, 0.0, 0u64);
    let mut deployed = 0usize;
    for (i, r) in world.releases.iter().enumerate() {
        let start = train.next_working(r.merge_ms.max(free_at).max(hold_until).max(freeze_until));
        if start + slot > train.horizon_ms {
            break;
        }
        deployed = i + 1;
        let waiting = world.releases[i + 1..]
            .iter()
            .take_while(|q| q.merge_ms <= start)
            .count() as u32;
        rec.max_queue = rec.max_queue.max(waiting);
        // Which latent causes are present, and which show in this release.
        let mut shown = 0u64;
        for (l, st) in latent.iter_mut().enumerate() {
            if let Some(f) = st.pending_fix.filter(|&f| f <= start) {
                st.pending_fix = None;
                st.since = None;
                st.fixed_at = Some(f);
                st.hurt = false;
            }
            if st.since.is_none() {
                st.since = world.appearances[l]
                    .iter()
                    .copied()
                    .find(|&a| st.fixed_at.is_none_or(|f| a > f))
                    .filter(|&a| a <= start);
            }
            if st.since.is_some() && r.shows[l] < train.latent[l].shows_probability {
                shown |= 1 << l;
            }
        }
        let clock = if varies { start } else { 0 };
        let (one, promoted) = cache.entry((i, shown, clock)).or_insert_with(|| {
            let w = world.release_world(s, train, i, shown, start);
            if s.system.is_some() {
                let bad = r.cause != Cause::Good;
                let (mut rows, promoted) = replicate_system_release(p, &w, k, r.service, bad);
                // The system's row: only the releasing service deploys, so its counts are
                // that service's; downtime and failed requests are what the users saw.
                let record = if rows.is_empty() {
                    RunRecord::new(world.run, r.seed, &spec.name, bad, 0)
                } else {
                    rows.swap_remove(0)
                };
                (record, promoted)
            } else {
                replicate_promoted(p, &w, spec)
            }
        });
        let one = &*one;
        let end = start + slot;
        free_at = end;
        let week = &mut weeks[((start / WEEK_MS) as usize).min(weeks_n - 1)];
        rec.deployments += 1;
        week.deployments += 1;
        if shown != 0 {
            rec.latent_shown += 1;
        }
        let failed = one.rollbacks > 0
            || one.roll_forwards > 0
            || one.flags_off > 0
            || one.missed_bad_release;
        // In production at the slot's end: its last deploy was not rolled back. Its lead
        // time ends when it was last promoted (the slot's end if it never was).
        let in_production = one.rollbacks < one.deploy_attempts.max(1);
        if in_production {
            let live = promoted.map_or(end, |t| start + t);
            lead_sum += (live - r.merge_ms) as f64 / HOUR_MS;
            lead_n += 1;
        }
        if failed {
            rec.failed_deployments += 1;
            week.failed_deployments += 1;
            if let Some(t) = one.time_to_recover_s {
                rec_sum += t / 3600.0;
                rec_n += 1;
            }
        }
        rollbacks += u64::from(one.rollbacks);
        fps += u64::from(one.false_positive_rollbacks);
        week.rollbacks += one.rollbacks;
        week.false_positive_rollbacks += one.false_positive_rollbacks;
        rec.misattributed_rollbacks += one.misattributed_rollbacks;
        rec.pages += one.pages;
        downtime += one.downtime_s;
        week.downtime_s += one.downtime_s;
        failed_requests += one.failed_requests;
        week.failed_requests += one.failed_requests;
        if let Some(row) = services.get_mut(r.service) {
            row.deployments += 1;
            row.failed_deployments += u32::from(failed);
            row.rollbacks += one.rollbacks;
            row.false_positive_rollbacks += one.false_positive_rollbacks;
            row.latent_shown += u32::from(shown != 0);
        }
        if one.rollbacks == 0 && one.pages == 0 {
            continue;
        }
        // A rolled-back release: recurrences of a latent cause left in place, the freeze.
        if one.rollbacks > 0 {
            for (l, st) in latent.iter_mut().enumerate() {
                if shown & (1 << l) != 0 {
                    if st.hurt {
                        rec.recurrences += 1;
                        week.recurrences += 1;
                    }
                    st.hurt = true;
                }
            }
            if let Some(f) = train.freeze {
                recent_rollbacks.retain(|&t| t + f.window_ms > end);
                recent_rollbacks.push(end);
                if recent_rollbacks.len() as u32 >= f.rollbacks {
                    freeze_until = end + f.duration_ms;
                    rec.freezes += 1;
                    recent_rollbacks.clear();
                }
            }
        }
        // The review of an incident (a rollback, or a page a person answered).
        let reviewed = match review {
            ReviewPolicy::EveryRollback => true,
            ReviewPolicy::MisattributedOnly => {
                one.false_positive_rollbacks > 0 && r.notice_draw < train.review.notice_probability
            }
            ReviewPolicy::None => false,
        };
        if reviewed {
            let hours = r.review_ms as f64 / HOUR_MS;
            rec.reviews += 1;
            rec.review_hours += hours;
            week.reviews += 1;
            week.review_hours += hours;
            let done = end + r.review_ms;
            if train.review.hold_releases {
                hold_until = hold_until.max(done);
            }
            if r.review_draw < train.review.find_probability {
                for (l, st) in latent.iter_mut().enumerate() {
                    if shown & (1 << l) != 0 && st.pending_fix.is_none() {
                        st.pending_fix = Some(done);
                        rec.latent_fixed += 1;
                    }
                }
            }
        }
    }
    rec.queued_at_end = (world.releases.len() - deployed) as u32;
    let weeks_f = train.horizon_weeks();
    rec.deployments_per_week = f64::from(rec.deployments) / weeks_f;
    rec.lead_time_h = (lead_n > 0).then(|| lead_sum / f64::from(lead_n));
    rec.change_failure_rate = (rec.deployments > 0)
        .then(|| f64::from(rec.failed_deployments) / f64::from(rec.deployments));
    rec.recovery_time_h = (rec_n > 0).then(|| rec_sum / f64::from(rec_n));
    rec.rollbacks_per_week = rollbacks as f64 / weeks_f;
    rec.false_positive_rollbacks_per_week = fps as f64 / weeks_f;
    rec.downtime_s_per_week = downtime / weeks_f;
    rec.failed_requests_per_week = failed_requests as f64 / weeks_f;
    for w in &mut weeks {
        w.change_failure_rate =
            (w.deployments > 0).then(|| f64::from(w.failed_deployments) / f64::from(w.deployments));
    }
    TrainRun {
        record: rec,
        weeks,
        services,
    }
}

/// Every (policy, review policy) pair's train in run `run`, policies outer, review
/// policies inner (the order of every output).
pub fn simulate_train_run(
    p: &Prepared<'_>,
    train: &Train,
    master_seed: u64,
    run: u64,
) -> Vec<TrainRun> {
    let world = TrainWorld::for_run(train, master_seed, run);
    let mut out = Vec::new();
    for k in 0..p.scenario.policies.len() {
        let mut cache = ReleaseCache::new();
        for &review in &train.reviews {
            out.push(simulate_train(p, train, &world, k, review, &mut cache));
        }
    }
    out
}
