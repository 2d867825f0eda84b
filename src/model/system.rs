//! What a service's callees do to its requests: a share of the caller's requests call each
//! callee, and a call that fails (after its retries) or outlasts its timeout fails the
//! caller's request; a slower callee makes the caller slower by the time it adds.
//!
//! With independent callees, a caller's request fails for its calls with probability
//! `1 - Π(1 - f_i q_i^(1 + r_i))`, where `f_i` is the share of requests that call callee
//! `i`, `r_i` its retries and `q_i` the probability that one attempt fails: the callee's
//! error probability, or its latency beyond the timeout, mixed over its two versions by
//! its traffic share (each attempt lands on a version independently). Every attempt is a
//! request at the callee: a call costs `1 + q + ... + q^r` requests on average
//! ([`expected_attempts`]), and [`demand`] sums them into each service's rate. Pure
//! functions, but for what a call remembers between intervals ([`CallMemo`]): the same
//! numbers, computed again only when their inputs changed.

use super::{Effects, ServiceModel, VersionTruth};
use crate::scenario::{Call, System};
use crate::sim::rng::sample::TailCache;

/// What a service's callees do to its requests in one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Upstream {
    /// Probability that a request fails because a call failed.
    pub error: f64,
    /// Multiplier of the service's latency for the time its callees add beyond healthy.
    pub latency_factor: f64,
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream {
            error: 0.0,
            latency_factor: 1.0,
        }
    }
}

impl Upstream {
    /// The service's own fault effects with its callees' added: their failures as a
    /// dependency's errors, their slowness as a latency factor. The infrastructure flag
    /// stays the service's own (a callee's trouble is not a fault of this service).
    pub fn apply(&self, own: &Effects) -> Effects {
        Effects {
            dependency_error: 1.0 - (1.0 - own.dependency_error) * (1.0 - self.error),
            latency_factor: own.latency_factor * self.latency_factor,
            ..*own
        }
    }
}

/// A callee as its callers see it in one interval: its share on the new version and the
/// truth of both versions (with its data store's errors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalleeState {
    pub share: f64,
    pub truth: [VersionTruth; 2],
}

impl Default for CalleeState {
    fn default() -> Self {
        let healthy = VersionTruth {
            error_prob: 0.0,
            latency_mu: 0.0,
        };
        CalleeState {
            share: 0.0,
            truth: [healthy; 2],
        }
    }
}

/// The probability that one call of `callee` (its `model`) fails: an error, or no answer
/// within `timeout_ms`, on the version the call lands on.
pub fn attempt_failure(callee: &CalleeState, model: &ServiceModel, timeout_ms: Option<u64>) -> f64 {
    CallMemo::default().attempt_failure(callee, model, timeout_ms)
}

/// What one call makes of its callee's state in an interval: the probability that one
/// attempt fails ([`attempt_failure`]), that the call fails after its retries
/// ([`call_failure`]), and its expected attempts ([`expected_attempts`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub q: f64,
    pub fails: f64,
    pub attempts: f64,
}

/// What makes two calls alike to their callee: every call of one class (the same callee,
/// timeout and retries) makes the same [`Attempt`] of the callee's state, whatever its
/// caller and its share of the caller's requests, so a system computes it once per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallClass {
    /// The callee's index in [`System::services`].
    pub callee: usize,
    pub timeout_ms: Option<u64>,
    pub retries: u32,
}

impl From<&Call> for CallClass {
    fn from(c: &Call) -> Self {
        CallClass {
            callee: c.callee,
            timeout_ms: c.timeout_ms,
            retries: c.retries,
        }
    }
}

/// A system's calls grouped into their classes (see [`CallClass`]), resolved once per
/// experiment: a fleet's thousands of calls fall into a few hundred classes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallClasses {
    classes: Vec<CallClass>,
    /// Each service's calls' classes, in the order of its calls.
    of_call: Vec<Vec<usize>>,
    /// Every service's calls as (fraction, class), services in file order, and where
    /// each service's start: what a caller's interval reads, in one array.
    flat: Vec<(f64, usize)>,
    starts: Vec<usize>,
    /// Each service's classes as a callee, in the order they first appear.
    of_callee: Vec<Vec<usize>>,
}

impl CallClasses {
    /// The classes of `system`'s calls, numbered in the order they first appear (callers
    /// in file order, each caller's calls in order).
    pub fn new(system: &System) -> Self {
        let n = system.services.len();
        let mut index = std::collections::HashMap::new();
        let mut classes = Vec::new();
        let mut of_callee = vec![Vec::new(); n];
        let of_call = system
            .services
            .iter()
            .map(|s| {
                s.calls
                    .iter()
                    .map(|c| {
                        let class = CallClass::from(c);
                        *index.entry(class).or_insert_with(|| {
                            classes.push(class);
                            of_callee[c.callee].push(classes.len() - 1);
                            classes.len() - 1
                        })
                    })
                    .collect()
            })
            .collect();
        let mut flat = Vec::new();
        let mut starts = vec![0];
        for (s, of) in system.services.iter().zip(&of_call) {
            flat.extend(s.calls.iter().zip(of).map(|(c, &k)| (c.fraction, k)));
            starts.push(flat.len());
        }
        CallClasses {
            classes,
            of_call,
            of_callee,
            flat,
            starts,
        }
    }

    /// Every class, by number.
    pub fn classes(&self) -> &[CallClass] {
        &self.classes
    }

    /// The class of each call of service `s`, in the order of its calls.
    pub fn of_calls(&self, s: usize) -> &[usize] {
        &self.of_call[s]
    }

    /// Each call of service `s` as its fraction of the service's requests and its class,
    /// in the order of its calls.
    pub fn calls_of(&self, s: usize) -> &[(f64, usize)] {
        &self.flat[self.starts[s]..self.starts[s + 1]]
    }

    /// The classes whose callee is service `s`.
    pub fn of_callee(&self, s: usize) -> &[usize] {
        &self.of_callee[s]
    }
}

/// What every call of one class reads of its callee in an interval: the [`Attempt`], and
/// the median latency the call adds beyond the callee's healthy median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallView {
    pub attempt: Attempt,
    pub extra_ms: f64,
}

impl CallView {
    /// Not computed yet.
    const UNSET: CallView = CallView {
        attempt: Attempt {
            q: f64::NAN,
            fails: f64::NAN,
            attempts: f64::NAN,
        },
        extra_ms: f64::NAN,
    };

    /// What a call of `class` reads of `callee` (its `model`), computed afresh.
    pub fn fresh(callee: &CalleeState, model: &ServiceModel, class: &CallClass) -> Self {
        CallView {
            attempt: CallMemo::default().attempt(callee, model, class),
            extra_ms: Median::new(model).extra_ms(callee),
        }
    }
}

/// What one class of calls of a system remembers from one interval to the next, so that
/// a system's step computes again only what changed: a callee's latency tail beyond the
/// timeout (an `erfc`) changes only with its latency (a fault, a defect), while its error
/// probability drifts every interval. Every number is the one computed afresh, bit for
/// bit: each is kept with the exact inputs it was computed from. One memo serves one
/// class (one callee model, one timeout, one number of retries): see [`CallClass`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CallMemo {
    /// The callee state last asked for and what the call made of it.
    state: Option<(CalleeState, Attempt)>,
    /// Each version's latency tail beyond the timeout, by its log-mean.
    late: [TailCache; 2],
}

impl CallMemo {
    /// What a call of `class` makes of `callee` (its `model`) in an interval, remembered.
    pub fn attempt(
        &mut self,
        callee: &CalleeState,
        model: &ServiceModel,
        class: &CallClass,
    ) -> Attempt {
        if let Some((s, a)) = self.state {
            if s == *callee {
                return a;
            }
        }
        let q = self.attempt_failure(callee, model, class.timeout_ms);
        let a = Attempt {
            q,
            fails: call_failure(q, class.retries),
            attempts: expected_attempts(q, class.retries),
        };
        self.state = Some((*callee, a));
        a
    }

    /// [`attempt_failure`], the tails beyond the timeout remembered.
    fn attempt_failure(
        &mut self,
        callee: &CalleeState,
        model: &ServiceModel,
        timeout_ms: Option<u64>,
    ) -> f64 {
        let sigma = model.latency_sigma;
        let mut fails = |i: usize| {
            let v = &callee.truth[i];
            let late = timeout_ms.map_or(0.0, |t| self.late[i].get(v.latency_mu, sigma, t as f64));
            1.0 - (1.0 - v.error_prob) * (1.0 - late)
        };
        let (old, new) = (fails(0), fails(1));
        (1.0 - callee.share) * old + callee.share * new
    }
}

/// The median latency a callee's calls take beyond its healthy median, remembered: it
/// depends on the callee's state alone (not on the call), and changes only with its
/// latency (a fault, a defect, a canary's share), so its `exp` is computed once per
/// callee and change, bit for bit the number computed afresh.
#[derive(Debug, Clone, Copy)]
pub struct Median {
    /// The callee's healthy median (ms).
    healthy: f64,
    /// The last mixed log-mean asked for and its median.
    mu: f64,
    median: f64,
}

impl Median {
    /// The memo of a callee whose model is `model`.
    pub fn new(model: &ServiceModel) -> Self {
        Median {
            healthy: model.latency_mu.exp(),
            mu: f64::NAN,
            median: f64::NAN,
        }
    }

    /// The median latency a call adds beyond the callee's healthy median when the callee
    /// is in state `callee`: the median of the call's latency is that of its log-mean
    /// mixed over the versions.
    pub fn extra_ms(&mut self, callee: &CalleeState) -> f64 {
        let mu = (1.0 - callee.share) * callee.truth[0].latency_mu
            + callee.share * callee.truth[1].latency_mu;
        if mu != self.mu {
            self.mu = mu;
            self.median = mu.exp();
        }
        self.median - self.healthy
    }
}

/// What every class of a system's calls reads of its callee now (see [`CallClass`]),
/// with each class's memo and each callee's [`Median`]: a system's step refreshes a
/// callee's classes once its interval is drawn, and every call of the class, in the
/// caller's interval and in the next interval's demand, reads the same view.
#[derive(Debug, Clone)]
pub struct ClassViews {
    memos: Vec<CallMemo>,
    /// By service (as a callee).
    medians: Vec<Median>,
    views: Vec<CallView>,
}

impl ClassViews {
    /// Every class's view of its callee's state `state(callee)` (with the callee's model).
    pub fn new<'a>(
        classes: &CallClasses,
        state: impl Fn(usize) -> (&'a CalleeState, &'a ServiceModel),
    ) -> Self {
        let mut views = ClassViews {
            memos: vec![CallMemo::default(); classes.classes.len()],
            medians: (0..classes.of_callee.len())
                .map(|callee| Median::new(state(callee).1))
                .collect(),
            // Every class has a callee: each is set below.
            views: vec![CallView::UNSET; classes.classes.len()],
        };
        for callee in 0..classes.of_callee.len() {
            let (s, model) = state(callee);
            views.refresh(classes, callee, s, model);
        }
        views
    }

    /// The classes whose callee is service `callee` read its new state `state` (its model
    /// `model`) from now on.
    pub fn refresh(
        &mut self,
        classes: &CallClasses,
        callee: usize,
        state: &CalleeState,
        model: &ServiceModel,
    ) {
        let of = &classes.of_callee[callee];
        if of.is_empty() {
            return;
        }
        let extra_ms = self.medians[callee].extra_ms(state);
        for &c in of {
            self.views[c] = CallView {
                attempt: self.memos[c].attempt(state, model, &classes.classes[c]),
                extra_ms,
            };
        }
    }

    /// What the calls of class `class` read now.
    pub fn view(&self, class: usize) -> &CallView {
        &self.views[class]
    }
}

/// The probability that a call fails after `retries` further independent attempts.
pub fn call_failure(attempt: f64, retries: u32) -> f64 {
    attempt.powi(retries as i32 + 1)
}

/// The expected attempts of one call when each attempt fails with probability `attempt`
/// and a failed one is tried again up to `retries` times: `1 + q + ... + q^retries`
/// (exactly 1 without retries). Each attempt is a request at the callee.
pub fn expected_attempts(attempt: f64, retries: u32) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    for _ in 0..retries {
        term *= attempt;
        sum += term;
    }
    sum
}

/// Each service's request rate in a system when call `k` of caller `i` (`c`) costs
/// `attempts(i, k, c)` requests at its callee: its users' rate plus its callers' calls
/// times their attempts, callers first. With one attempt per call it is, bit for bit, the
/// `request_rate` the scenario gave each service (the same sums in the same order).
pub fn demand(system: &System, attempts: impl FnMut(usize, usize, &Call) -> f64) -> Vec<f64> {
    let mut rate = Vec::new();
    demand_into(system, &mut rate, attempts);
    rate
}

/// [`demand`] written into `rate` (a system's engine asks at every interval: no
/// allocation).
pub fn demand_into(
    system: &System,
    rate: &mut Vec<f64>,
    mut attempts: impl FnMut(usize, usize, &Call) -> f64,
) {
    rate.clear();
    rate.resize(system.services.len(), 0.0);
    for &i in system.order.iter().rev() {
        let s = &system.services[i];
        rate[i] += s.users;
        for (k, c) in s.calls.iter().enumerate() {
            rate[c.callee] += c.fraction * rate[i] * attempts(i, k, c);
        }
    }
}

/// A system's request rates interval after interval, as [`demand_into`] computes them,
/// when only some vary: a service's rate follows its callers' retries only when a call
/// with retries lies on some path from its users to it (its own callers' calls included);
/// every other service's rate is the same at every interval (a call without retries
/// costs exactly one request). So once [`demand_into`] has computed every rate, an
/// interval computes again only the varying ones, from the same terms summed in the same
/// order: bit for bit [`demand_into`]'s. Resolved once per experiment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Demand {
    /// The services whose rate varies, callers first.
    varying: Vec<usize>,
    /// What adds up to each varying rate, in [`demand_into`]'s order.
    terms: Vec<Term>,
}

/// One addition to a varying service's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Term {
    /// Its users' requests.
    Users { service: usize, users: f64 },
    /// A call of `caller` (of class `class`) to `callee`, `fraction` of its requests.
    Call {
        caller: usize,
        callee: usize,
        fraction: f64,
        class: usize,
    },
}

impl Demand {
    /// The varying rates of `system`, whose calls fall into `classes`.
    pub fn new(system: &System, classes: &CallClasses) -> Self {
        let mut varies = vec![false; system.services.len()];
        for &i in system.order.iter().rev() {
            for c in &system.services[i].calls {
                if c.retries > 0 || varies[i] {
                    varies[c.callee] = true;
                }
            }
        }
        let mut demand = Demand::default();
        for &i in system.order.iter().rev() {
            let s = &system.services[i];
            if varies[i] {
                demand.varying.push(i);
                demand.terms.push(Term::Users {
                    service: i,
                    users: s.users,
                });
            }
            for (c, &class) in s.calls.iter().zip(&classes.of_call[i]) {
                if varies[c.callee] {
                    demand.terms.push(Term::Call {
                        caller: i,
                        callee: c.callee,
                        fraction: c.fraction,
                        class,
                    });
                }
            }
        }
        demand
    }

    /// The services whose rate varies from interval to interval, callers first.
    pub fn varying(&self) -> &[usize] {
        &self.varying
    }

    /// `rate`, as [`demand_into`] left it, with every varying rate computed again when a
    /// call of class `k` costs `attempts(k)` requests at its callee.
    pub fn update(&self, rate: &mut [f64], attempts: impl Fn(usize) -> f64) {
        for &v in &self.varying {
            rate[v] = 0.0;
        }
        for term in &self.terms {
            match *term {
                Term::Users { service, users } => rate[service] += users,
                Term::Call {
                    caller,
                    callee,
                    fraction,
                    class,
                } => rate[callee] += fraction * rate[caller] * attempts(class),
            }
        }
    }
}

/// What the callees do to a caller whose healthy median latency is `caller_p50_ms`:
/// `calls` pairs each call's fraction of the caller's requests with what it reads of its
/// callee ([`ClassViews::view`]).
pub fn upstream<'a>(
    calls: impl Iterator<Item = (f64, &'a CallView)>,
    caller_p50_ms: f64,
) -> Upstream {
    let mut ok = 1.0;
    let mut extra_ms = 0.0;
    for (fraction, view) in calls {
        ok *= 1.0 - fraction * view.attempt.fails;
        extra_ms += fraction * view.extra_ms;
    }
    Upstream {
        error: 1.0 - ok,
        latency_factor: (1.0 + extra_ms / caller_p50_ms).max(0.01),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn model() -> ServiceModel {
        match parse(
            "[service]\nlatency_p50 = \"20ms\"\nlatency_p99 = \"100ms\"\n",
            "t",
        ) {
            Ok(s) => ServiceModel::new(&s),
            Err(e) => panic!("{e}"),
        }
    }

    fn state(m: &ServiceModel, share: f64, p_old: f64, p_new: f64) -> CalleeState {
        let v = |p| VersionTruth {
            error_prob: p,
            latency_mu: m.latency_mu,
        };
        CalleeState {
            share,
            truth: [v(p_old), v(p_new)],
        }
    }

    fn call(fraction: f64, retries: u32, timeout_ms: Option<u64>) -> Call {
        Call {
            callee: 0,
            fraction,
            retries,
            timeout_ms,
        }
    }

    /// What `c` reads of `s` (its callee's state), computed afresh.
    fn fresh(c: &Call, s: &CalleeState, m: &ServiceModel) -> CallView {
        CallView::fresh(s, m, &CallClass::from(c))
    }

    #[test]
    fn independent_callees_fail_a_request_with_the_product_form() {
        let m = model();
        let a = state(&m, 0.25, 0.02, 0.4);
        let b = state(&m, 0.0, 0.1, 0.9);
        let calls = [call(0.6, 0, None), call(0.3, 2, None)];
        let views = [fresh(&calls[0], &a, &m), fresh(&calls[1], &b, &m)];
        let up = upstream(calls.iter().map(|c| c.fraction).zip(&views), 50.0);
        let qa = 0.75 * 0.02 + 0.25 * 0.4;
        let qb: f64 = 0.1;
        let expected = 1.0 - (1.0 - 0.6 * qa) * (1.0 - 0.3 * qb.powi(3));
        assert!(
            (up.error - expected).abs() < 1e-15,
            "{} vs {expected}",
            up.error
        );
        // Healthy latency on both: nothing added.
        assert!((up.latency_factor - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_memo_gives_the_fresh_numbers_bit_for_bit() {
        // Along a sequence of callee states (drifting errors, a slower version, a canary),
        // the remembered attempt failure and upstream equal the ones computed afresh.
        let m = model();
        let mut memo = CallMemo::default();
        let mut median = Median::new(&m);
        let c = call(0.4, 2, Some(60));
        let class = CallClass::from(&c);
        for k in 0..40 {
            let mut s = state(&m, [0.0, 0.2, 1.0][k % 3], 0.002 * k as f64, 0.01);
            if k % 7 < 3 {
                s.truth[1].latency_mu = m.latency_mu + 0.5;
            }
            for _ in 0..2 {
                let q = attempt_failure(&s, &m, c.timeout_ms);
                let kept = memo.attempt(&s, &m, &class);
                assert_eq!(q.to_bits(), kept.q.to_bits(), "state {k}");
                let attempts = expected_attempts(q, c.retries);
                assert_eq!(attempts.to_bits(), kept.attempts.to_bits());
                assert_eq!(call_failure(q, c.retries).to_bits(), kept.fails.to_bits());
                let view = CallView {
                    attempt: kept,
                    extra_ms: median.extra_ms(&s),
                };
                let once = upstream([(c.fraction, &fresh(&c, &s, &m))].into_iter(), 25.0);
                let again = upstream([(c.fraction, &view)].into_iter(), 25.0);
                assert_eq!(once.error.to_bits(), again.error.to_bits());
                assert_eq!(
                    once.latency_factor.to_bits(),
                    again.latency_factor.to_bits()
                );
            }
        }
    }

    /// A system of three services whose calls fall into four classes.
    fn alike() -> System {
        let text = "[[services]]\nname = \"a\"\nentry = true\n\
                    calls = [{ service = \"c\", fraction = 0.5, retries = 1, timeout = \"80ms\" },\
                             { service = \"b\", fraction = 0.2 }]\n\
                    [[services]]\nname = \"b\"\n\
                    calls = [{ service = \"c\", fraction = 0.9, retries = 1, timeout = \"80ms\" },\
                             { service = \"c\", fraction = 0.1, retries = 2, timeout = \"80ms\" },\
                             { service = \"c\", fraction = 0.3, retries = 1 }]\n\
                    [[services]]\nname = \"c\"\n";
        let s = match parse(text, "t") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        match s.system {
            Some(system) => *system,
            None => panic!("a system"),
        }
    }

    #[test]
    fn calls_alike_to_their_callee_share_a_class() {
        // Same callee, timeout and retries: one class, whatever the caller or fraction.
        let system = &alike();
        let classes = CallClasses::new(system);
        assert_eq!(classes.of_calls(0), &[0, 1]);
        assert_eq!(classes.of_calls(1), &[0, 2, 3]);
        assert!(classes.of_calls(2).is_empty());
        assert_eq!(classes.of_callee(2), &[0, 2, 3]);
        assert_eq!(classes.of_callee(1), &[1]);
        let c = CallClass {
            callee: 2,
            timeout_ms: Some(80),
            retries: 1,
        };
        assert_eq!(classes.classes()[0], c);
        assert_eq!(
            classes.classes()[3],
            CallClass {
                timeout_ms: None,
                ..c
            }
        );
        for (i, svc) in system.services.iter().enumerate() {
            for (call, &k) in svc.calls.iter().zip(classes.of_calls(i)) {
                assert_eq!(CallClass::from(call), classes.classes()[k]);
            }
        }
    }

    #[test]
    fn every_class_reads_the_fresh_view_of_its_callee() {
        // Classes refreshed callee by callee along changing states read, bit for bit,
        // what each would compute afresh.
        let system = alike();
        let classes = CallClasses::new(&system);
        let m = model();
        let mut states = [CalleeState::default(); 3];
        let mut views = ClassViews::new(&classes, |i| (&states[i], &m));
        for k in 0..30 {
            for (i, s) in states.iter_mut().enumerate() {
                *s = state(&m, [0.0, 0.3, 1.0][(k + i) % 3], 0.01 * k as f64, 0.2);
                if (k + i) % 4 == 0 {
                    s.truth[1].latency_mu = m.latency_mu + 0.7;
                }
                views.refresh(&classes, i, s, &m);
            }
            for (c, class) in classes.classes().iter().enumerate() {
                let fresh = CallView::fresh(&states[class.callee], &m, class);
                let kept = views.view(c);
                assert_eq!(fresh.attempt.q.to_bits(), kept.attempt.q.to_bits());
                assert_eq!(fresh.attempt.fails.to_bits(), kept.attempt.fails.to_bits());
                assert_eq!(
                    fresh.attempt.attempts.to_bits(),
                    kept.attempt.attempts.to_bits()
                );
                assert_eq!(fresh.extra_ms.to_bits(), kept.extra_ms.to_bits());
            }
        }
    }

    #[test]
    fn a_timeout_fails_the_calls_slower_than_it() {
        let m = model();
        let s = state(&m, 0.0, 0.0, 0.0);
        // The callee's p99 is 100 ms: a 100 ms timeout fails 1% of calls.
        let q = attempt_failure(&s, &m, Some(100));
        assert!((q - 0.01).abs() < 1e-9);
        let c = call(0.5, 1, Some(100));
        let up = upstream([(c.fraction, &fresh(&c, &s, &m))].into_iter(), 50.0);
        assert!((up.error - 0.5 * 0.01 * 0.01).abs() < 1e-12);
    }

    #[test]
    fn one_attempt_per_call_gives_the_scenarios_rates_bit_for_bit() {
        let text = "[[services]]\nname = \"a\"\nrequest_rate = 33.3\n\
                    calls = [{ service = \"b\", fraction = 0.37 }, { service = \"c\", fraction = 0.11 }]\n\
                    [[services]]\nname = \"b\"\ncalls = [{ service = \"c\", fraction = 0.7, retries = 2 }]\n\
                    [[services]]\nname = \"c\"\nrequest_rate = 1.9\nentry = true\n";
        let s = match parse(text, "t") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let Some(system) = s.system.as_deref() else {
            panic!("a system")
        };
        let d = demand(system, |_, _, _| 1.0);
        for (r, svc) in d.iter().zip(&system.services) {
            assert_eq!(r.to_bits(), svc.scenario.service.request_rate.to_bits());
        }
        // Two attempts on every call of b: c gets b's calls twice.
        let d2 = demand(system, |i, _, _| if i == 1 { 2.0 } else { 1.0 });
        let b = 33.3 * 0.37;
        assert!((d2[2] - (1.9 + 33.3 * 0.11 + 2.0 * 0.7 * b)).abs() < 1e-9);
    }

    #[test]
    fn the_varying_rates_are_demand_into_s_bit_for_bit() {
        // a calls c with retries and b without; b calls c with retries and d without; d
        // calls e without; c calls f without: c's rate varies, and f's through c's.
        let text = "[[services]]\nname = \"a\"\nentry = true\nrequest_rate = 40.0\n\
                    calls = [{ service = \"c\", fraction = 0.3, retries = 2 },\
                             { service = \"b\", fraction = 0.6 }]\n\
                    [[services]]\nname = \"b\"\nrequest_rate = 3.3\n\
                    calls = [{ service = \"c\", fraction = 0.7, retries = 1 },\
                             { service = \"d\", fraction = 0.45 }]\n\
                    [[services]]\nname = \"c\"\ncalls = [{ service = \"f\", fraction = 0.2 }]\n\
                    [[services]]\nname = \"d\"\ncalls = [{ service = \"e\", fraction = 0.9 }]\n\
                    [[services]]\nname = \"e\"\n\
                    [[services]]\nname = \"f\"\n";
        let s = match parse(text, "t") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let Some(system) = s.system.as_deref() else {
            panic!("a system")
        };
        let classes = CallClasses::new(system);
        let plan = Demand::new(system, &classes);
        // c varies (retried calls), and f through c; a, b, d and e never do.
        let mut varying = plan.varying().to_vec();
        varying.sort_unstable();
        assert_eq!(varying, [2, 5]);
        // Attempts of each class along some intervals: 1 without retries, else varying.
        let attempts = |round: usize, class: usize| {
            let k = classes.classes()[class];
            if k.retries == 0 {
                1.0
            } else {
                1.0 + 0.37 * ((round * 7 + class * 3) % 11) as f64 / 11.0
            }
        };
        let mut kept = Vec::new();
        demand_into(system, &mut kept, |i, j, _| {
            attempts(0, classes.of_calls(i)[j])
        });
        for round in 1..20 {
            plan.update(&mut kept, |class| attempts(round, class));
            let fresh = demand(system, |i, j, _| attempts(round, classes.of_calls(i)[j]));
            let bits = |r: &[f64]| r.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&kept), bits(&fresh), "round {round}");
        }
    }

    #[test]
    fn expected_attempts_are_the_geometric_sum() {
        assert_eq!(expected_attempts(0.7, 0), 1.0);
        assert!((expected_attempts(0.2, 2) - 1.24).abs() < 1e-15);
        // The closed form (1 - q^(r+1)) / (1 - q).
        let q: f64 = 0.35;
        assert!((expected_attempts(q, 5) - (1.0 - q.powi(6)) / (1.0 - q)).abs() < 1e-12);
        assert_eq!(expected_attempts(1.0, 3), 4.0);
    }

    #[test]
    fn a_slower_callee_adds_its_extra_time() {
        let m = model();
        let mut s = state(&m, 1.0, 0.0, 0.0);
        s.truth[1].latency_mu = m.latency_mu + 3f64.ln(); // 60 ms instead of 20 ms
        let c = call(0.5, 0, None);
        let up = upstream([(c.fraction, &fresh(&c, &s, &m))].into_iter(), 40.0);
        // Half the requests wait 40 ms more: the median moves by 20 ms of 40.
        assert!((up.latency_factor - 1.5).abs() < 1e-9);
    }
}
