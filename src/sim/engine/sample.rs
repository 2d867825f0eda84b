//! The sample events of a replication: a service's scrape tick (the interval's truth,
//! its score and its scrape) and a health check of the new version. Both read the model
//! and hand observations to the policy through the response; neither changes the model.

use super::Replication;
use crate::model::service::Interval;
use crate::model::system::CalleeState;
use crate::model::{GaugeTruth, ServiceModel, VersionTruth};
use crate::policy::{Scrape, VersionSample};
use crate::response::Run;
use crate::signals::gauges::GaugeLevels;
use crate::signals::{ProbeTruth, Served};
use crate::sim::agenda::Event;
use crate::sim::queue::Phase as At;
use crate::sim::trace::TraceRow;

impl Replication<'_, '_> {
    /// The scrape interval `[t, t + dt)` of service `s`: the scrapes due reach the
    /// policy, then the model draws the interval's truth, the scorer counts it, and the
    /// signals draw its scrape.
    pub(super) fn tick(&mut self, t: u64, s: usize) {
        let share = self.deliver_due(t, s);
        self.draw_interval(t, s, share);
    }

    /// [`Self::tick`] for a service whose traffic is keyed by block (a service of a
    /// system): the interval is pooled where nobody observes its counts (see
    /// `pooled.rs`). A tick of its own, so that a single service's, the hottest loop of
    /// all, carries neither the check nor the pooled path inlined into it.
    pub(super) fn tick_keyed(&mut self, t: u64, s: usize) {
        let share = self.deliver_due(t, s);
        if !self.pooled_tick(t, s, share) {
            self.draw_interval(t, s, share);
        }
    }

    /// The first step of a tick: the scrapes due at `t` reach the policy; returns the
    /// share of service `s`'s release now.
    #[inline(always)]
    fn deliver_due(&mut self, t: u64, s: usize) -> f64 {
        let dt = self.p.scenario.scrape_interval_ms;
        self.next_ticks[s] = t + dt;
        let r = self.services[s].release;

        // 1. Observations whose delay has passed reach the policy (read where they wait:
        // the fields are borrowed one by one, the scrape from the signals).
        while let Some(p) = self.signals.peek_due(t) {
            let seen = self.in_system && self.reads_scrapes;
            if let (true, Some(old), Some(new)) = (seen, &p.scrape.old, &p.scrape.new) {
                let requests = old.requests + new.requests;
                if requests > 0 {
                    self.seen_error = Some((old.errors + new.errors) as f64 / requests as f64);
                }
            }
            let release = &mut self.releases[r];
            if p.attempt == release.attempt && self.response.watching(release) {
                let run = Run {
                    service: &mut self.services[release.service()],
                    release,
                    scorer: &mut self.scorer,
                    agenda: &mut self.agenda,
                };
                self.response.observe_scrape(t, &p.scrape, run);
            }
            self.signals.delivered();
        }
        self.releases[r].update_share(t)
    }

    /// The rest of a tick: the true state over `[t, t + dt)` at `share`, scored (a block
    /// nobody observes, whose truth is constant, at once), and its scrape drawn.
    #[inline(always)]
    fn draw_interval(&mut self, t: u64, s: usize, share: f64) {
        let dt = self.p.scenario.scrape_interval_ms;
        let r = self.services[s].release;
        if self.services[s].starts_block(t)
            && self.services[s].start_block(t, &self.releases[r])
            && self.unobserved_block(t, s)
        {
            self.skip_block(t, s);
            return;
        }
        let release = &mut self.releases[r];
        let service = &mut self.services[s];
        let iv = service.interval(t, dt, release);
        if let Some(onset) = iv.onset_ms {
            self.scorer.onset(onset);
        }
        let level = service.level(&iv, share);
        if self.in_system {
            if !release.exists() {
                self.seen_error = None;
            }
            self.last = CalleeState {
                share,
                truth: iv.with_data(),
            };
        }
        self.scorer.interval(dt, iv.total(), iv.failed(), &level);

        // 3. The scrape of this interval, delivered after the metric delay.
        let mut served = Served {
            requests: iv.served.requests,
            errors: iv.served.errors,
            mu: [iv.truth[0].latency_mu, iv.truth[1].latency_mu],
            share,
            gauges: None,
        };
        if self.signals.needs().gauges && release.exists() {
            let level = |g: GaugeTruth| GaugeLevels {
                cpu: g.cpu,
                saturation: g.saturation,
                queue_length: g.queue_length,
            };
            served.gauges = service
                .gauges(t, release)
                .map(|[o, n]| [level(o), level(n)]);
        }
        // Scrapes run only while the new version exists; before, the game draws its own.
        let scraped = self.signals.needs().scrapes && release.exists();
        let observed = if scraped {
            let gap = service.effects().metrics_gap;
            self.signals.scrape(t, dt, release.attempt, &served, gap)
        } else {
            None
        };
        if let Some(x) = &mut self.exposition {
            let p99 = |v: Option<VersionSample>| v.and_then(|v| v.latency_p99_ms);
            let seen = [
                observed.and_then(|o| p99(o.old)),
                observed.and_then(|o| p99(o.new)),
            ];
            x.tick(t, &served, seen, !scraped);
        }
        if let Some(tr) = self.agenda.trace.as_mut().filter(|tr| !tr.events_only) {
            tr.rows.push(row(&self.p.model, t, share, &iv, observed));
        }
    }

    /// A health check of the new version on service `s` at `t`.
    pub(super) fn health_check(&mut self, t: u64, s: usize) {
        let interval = self.p.scenario.health_check.interval_ms;
        let k = t / interval;
        let r = self.services[s].release;
        let exists = self.releases[r].exists();
        let watching = exists && self.response.watching(&self.releases[r]);
        // A game day shows every probe of the new version, watched by the policy or not.
        let shown = self.exposition.is_some() && exists;
        if !(watching || shown) && self.exposition.is_none() {
            // Nobody reads this check, nor any before an event makes the policy watch.
            self.parked_probes[s] = Some(k + 1);
            self.probes_parked = true;
            return;
        }
        self.agenda
            .at_in(t + interval, At::Probe, Event::HealthCheck { service: s });
        if !(watching || shown) {
            return;
        }
        let u = self.signals.probe_draw(k);
        // The truth at the probe's own instant: every change up to `t` shows at once (the
        // baseline is the one drawn at the tick of the interval that holds `t`).
        let service = &self.services[s];
        let now = service.truth_at(t, &self.releases[r]);
        if let Some(onset) = now.onset_ms {
            // The probe may act on a defect before the next tick counts its onset.
            self.scorer.onset(onset);
        }
        let truth = now.truth[1];
        let effects = service.effects();
        let probe = ProbeTruth {
            error_prob: truth.error_prob,
            latency_mu: truth.latency_mu,
            flapping: effects.flapping,
            capacity_loss: effects.capacity_loss,
        };
        let ok = self.signals.probe(u, &probe);
        if let Some(x) = &mut self.exposition {
            x.health_check(ok);
        }
        if !watching {
            return;
        }
        if let Some(tr) = self.agenda.trace.as_mut().filter(|tr| !tr.events_only) {
            tr.health_checks.push((t, ok));
        }
        let (response, run) = self.run(r);
        response.observe_probe(t, ok, run);
    }
}

/// The timeline's row of one interval: the truth beside what the scrape showed.
pub(super) fn row(
    model: &ServiceModel,
    t: u64,
    share: f64,
    iv: &Interval,
    observed: Option<Scrape>,
) -> TraceRow {
    let truth: [VersionTruth; 2] = iv.with_data();
    let new = observed.and_then(|s| s.new);
    let old = observed.and_then(|s| s.old);
    let seen = new.filter(|o| o.requests > 0);
    TraceRow {
        t_s: t as f64 / 1000.0,
        share_new: share,
        true_error_rate_old: truth[0].error_prob,
        true_error_rate_new: truth[1].error_prob,
        observed_error_rate_new: seen.map(|o| o.errors as f64 / o.requests as f64),
        true_p99_old_ms: model.p99(truth[0].latency_mu),
        true_p99_new_ms: model.p99(truth[1].latency_mu),
        observed_p99_new_ms: seen.and_then(|o| o.latency_p99_ms),
        requests: iv.total(),
        failed_requests: iv.failed(),
        observed_requests_new: new.map(|o| o.requests),
        observed_errors_new: new.map(|o| o.errors),
        observed_requests_old: old.map(|o| o.requests),
        observed_errors_old: old.map(|o| o.errors),
        observed_p99_old_ms: old.and_then(|o| o.latency_p99_ms),
        observed_gauges: match (old, new) {
            (Some(o), Some(n)) if n.gauges.cpu.is_some() => Some([o.gauges, n.gauges]),
            _ => None,
        },
    }
}
