//! `counter_reset`: a pod restart resets the new version's counters.
//!
//! `counter_reset` follows Prometheus' reset handling (`promql/functions.go`,
//! `extrapolatedRate`): between two samples of a counter, a fall (`curr < prev`) is a
//! reset and the increase is taken as `curr` (the counter counted from zero); otherwise it
//! is `curr - prev`. A scrape here is the increase between two consecutive samples. The
//! new version's pods are `max(1, round(share x replicas))`, equally loaded, so a pod's
//! counter at the last sample is the version's sum over the pods divided by their number
//! (the sum kept from the deploy: a rollback to zero forgets it). A restart lands at a
//! uniform point of the interval: the pod's counts before it are gone with the old
//! process. With `sum(rate(x))` (each pod its own series) the pod's fall is seen, so the
//! reading loses those counts (a dip); had the pod counted less before than after (a young
//! pod), it loses its whole earlier count instead. With `rate(sum(x))` only the sum is seen:
//! when the sum falls, the whole sum is read as new counts (a spike, roughly the version's
//! counts since the deploy), and when it does not, the pod's earlier count is subtracted
//! (a dip). Errors and requests are separate counters, so one may spike while the other

use super::SignalFaults;
use crate::signals::Served;

/// One counter of the new version across a restart of one of its `pods` pods: its sum over
/// the pods at the last sample (`sum_before`), the version's counts in the interval
/// (`interval`), the restarted pod's share of them (`pod_interval`) and those it counted
/// before the restart (`lost`, gone with the old process). Returns what the query reads
/// and the sum at this sample (see the module doc for Prometheus' rule).
pub fn reading_after_restart(
    sum_before: u64,
    pods: u64,
    interval: u64,
    pod_interval: u64,
    lost: u64,
    sum_then_rate: bool,
) -> (u64, u64) {
    let prev = sum_before / pods.max(1);
    let pod_interval = pod_interval.min(interval);
    let curr = pod_interval - lost.min(pod_interval);
    let others = interval - pod_interval;
    let sum_after = sum_before - prev + others + curr;
    let increase = |prev: u64, curr: u64| if curr < prev { curr } else { curr - prev };
    let reading = if sum_then_rate {
        increase(sum_before, sum_after)
    } else {
        others + increase(prev, curr)
    };
    (reading, sum_after)
}

impl SignalFaults {
    /// Adds what the new version `served` to its summed counters (a rollback to zero
    /// forgets them); returns the sums before. Called for every scrape, lost or not, as the
    /// pods count whether or not anyone reads them.
    pub fn count(&mut self, served: &Served) -> [u64; 2] {
        let Some(c) = &mut self.counters else {
            return [0, 0];
        };
        let before = *c;
        if served.share <= 0.0 {
            *c = [0, 0];
        } else {
            c[0] += served.requests[1];
            c[1] += served.errors[1].min(served.requests[1]);
        }
        before
    }
}
