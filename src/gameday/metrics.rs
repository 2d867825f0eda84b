//! `GET /metrics`: the game's counters in the OpenMetrics text format (which Prometheus
//! scrapes natively), encoded by the `prometheus-client` crate.
//!
//! Metric names follow Prometheus conventions, so a team's real alert rules and Grafana
//! panels can point at a game with few changes:
//! - `rollsim_requests_total{version, status}`: requests served, by `old`/`new` and `ok`/`error`;
//! - `rollsim_request_duration_seconds{version}`: a latency histogram (default buckets);
//! - `rollsim_health_checks_total{result}`: probes of the new version, `pass`/`fail`;
//! - `rollsim_rollout_weight`: share of traffic on the new version (0 to 1);
//! - `rollsim_deploy_info{service, phase, attempt}`: 1, with the rollout's state as labels;
//! - `rollsim_game_time_seconds`: simulated time since the start of the game;
//! - with `[service] capacity_rps`, from the deploy while the new version exists:
//!   `rollsim_cpu{version}`, `rollsim_saturation{version}`, `rollsim_queue_length{version}`,
//!   the last interval's true gauges, named as a recording's `cpu`, `saturation` and
//!   `queue_length` series (`old_*` for `version="old"`).

use crate::signals::gauges::GaugeLevels;
use crate::sim::{Counters, LiveView, LATENCY_BUCKETS_S};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The content type of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const VERSIONS: [&str; 2] = ["old", "new"];

/// One gauge of a version's levels.
type Reading = fn(&GaugeLevels) -> f64;

#[derive(Debug)]
struct Snapshot {
    service: String,
    counters: Counters,
    view: LiveView,
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = &self.counters;
        {
            let mut m = enc.encode_descriptor(
                "rollsim_requests",
                "Requests served, by version and status.",
                None,
                MetricType::Counter,
            )?;
            for (v, name) in VERSIONS.iter().enumerate() {
                let ok = c.requests[v] - c.errors[v].min(c.requests[v]);
                for (status, n) in [("ok", ok), ("error", c.errors[v])] {
                    let labels = [("version", *name), ("status", status)];
                    m.encode_family(&labels)?
                        .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
                }
            }
        }
        {
            let mut m = enc.encode_descriptor(
                "rollsim_request_duration_seconds",
                "Request latency, by version.",
                None,
                MetricType::Histogram,
            )?;
            for (v, name) in VERSIONS.iter().enumerate() {
                let cumulative = &c.latency_buckets[v];
                let mut buckets = Vec::with_capacity(LATENCY_BUCKETS_S.len() + 1);
                let mut below = 0;
                for (le, &n) in LATENCY_BUCKETS_S.iter().zip(cumulative) {
                    buckets.push((*le, n - below));
                    below = n;
                }
                buckets.push((f64::INFINITY, c.requests[v] - below));
                let labels = [("version", *name)];
                m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                    c.latency_sum_s[v],
                    c.requests[v],
                    &buckets,
                    None,
                )?;
            }
        }
        {
            let mut m = enc.encode_descriptor(
                "rollsim_health_checks",
                "Health checks of the new version, by result.",
                None,
                MetricType::Counter,
            )?;
            for (i, result) in ["pass", "fail"].iter().enumerate() {
                let labels = [("result", *result)];
                m.encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&c.health_checks[i], None)?;
            }
        }
        enc.encode_descriptor(
            "rollsim_rollout_weight",
            "Share of traffic on the new version, 0 to 1.",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&self.view.share_new)?;
        {
            let mut m = enc.encode_descriptor(
                "rollsim_deploy",
                "The release's deploy: 1, with its state as labels.",
                None,
                MetricType::Info,
            )?;
            let attempt = self.view.attempt.to_string();
            let labels = [
                ("service", self.service.as_str()),
                ("phase", self.view.phase),
                ("attempt", attempt.as_str()),
                ("paused", if self.view.paused { "true" } else { "false" }),
            ];
            m.encode_info(&labels)?;
        }
        if let Some(levels) = &c.gauges {
            let gauges: [(&str, &str, Reading); 3] = [
                (
                    "rollsim_cpu",
                    "CPU busy, as a share of the version's cores.",
                    |g| g.cpu,
                ),
                (
                    "rollsim_saturation",
                    "Demand over capacity of the version's replicas.",
                    |g| g.saturation,
                ),
                (
                    "rollsim_queue_length",
                    "Requests waiting per replica of the version.",
                    |g| g.queue_length,
                ),
            ];
            for (name, help, read) in gauges {
                let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
                for (v, version) in VERSIONS.iter().enumerate() {
                    let labels = [("version", *version)];
                    m.encode_family(&labels)?.encode_gauge(&read(&levels[v]))?;
                }
            }
        }
        enc.encode_descriptor(
            "rollsim_game_time_seconds",
            "Simulated seconds since the start of the game.",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&(self.view.now_ms as f64 / 1000.0))?;
        Ok(())
    }
}

/// The exposition of one instant of the game.
pub fn encode(service: &str, counters: &Counters, view: &LiveView) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot {
        service: service.to_string(),
        counters: counters.clone(),
        view: view.clone(),
    }));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}
