//! The latency of a healthy version fitted from its scraped p99 (see [`super::fit`]'s
//! module doc): the p99's level, and its squared deviations regressed on `1 / requests`
//! to tell sampling error from other noise.

use super::Sample;
use crate::sim::rng::sample::Z99;

/// Fewest scrapes with a latency a latency fit accepts.
pub const MIN_LATENCY_SCRAPES: usize = 50;

/// The latency of a healthy version, from its scraped p99.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// The p99's level: `exp` of the mean of `ln p99`.
    pub p99_ms: f64,
    /// The median that, with the p99, gives the log-sd the sampling noise shows.
    pub p50_ms: f64,
    /// Whether the p99's noise fixed the log-sd (else the default p99/p50 ratio of 5, or
    /// all of the noise taken as sampling error: see the fit's notes).
    pub identified: bool,
    /// Root mean square log-sd of a scraped p99 from sampling (what the model draws).
    pub sampling_sd: f64,
    /// Log-sd of the p99's noise beyond sampling (the model draws none).
    pub extra_sd: f64,
    /// Scrapes with a latency.
    pub scrapes: usize,
}

/// `q(1 - q) / φ(z_q)²` at `q = 0.99`: a scraped p99 of `n` requests has a log variance
/// of `σ²` times this over `n` (`sim::rng::sample::scraped_p99`).
fn p99_sampling_factor() -> f64 {
    let phi = (-0.5 * Z99 * Z99).exp() / (2.0 * std::f64::consts::PI).sqrt();
    0.99 * 0.01 / (phi * phi)
}

/// The latency's level and log-sd from the scraped p99 (see the module doc).
pub(super) fn latency_fit(s: &[Sample], notes: &mut Vec<String>) -> Option<Latency> {
    let pts: Vec<(f64, f64)> = s
        .iter()
        .filter(|x| x.requests > 0)
        .filter_map(|x| {
            x.latency_p99_ms
                .filter(|&p| p > 0.0 && p.is_finite())
                .map(|p| (1.0 / x.requests as f64, p.ln()))
        })
        .collect();
    if pts.len() < MIN_LATENCY_SCRAPES {
        if !pts.is_empty() {
            notes.push(format!(
                "{} scrapes have a latency, fewer than {MIN_LATENCY_SCRAPES}: latency is not fitted",
                pts.len()
            ));
        }
        return None;
    }
    let n = pts.len() as f64;
    let level = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let v: Vec<f64> = pts.iter().map(|p| (p.1 - level).powi(2)).collect();
    let mv = v.iter().sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxv: f64 = pts.iter().zip(&v).map(|(p, v)| (p.0 - mx) * (v - mv)).sum();
    let c = p99_sampling_factor();
    let default_sigma = 5f64.ln() / Z99;
    // How much traffic varies between scrapes: with too little, sampling error and
    // other noise cannot be told apart.
    let spread = (sxx / n).sqrt() / mx;
    let (sigma, extra2, identified) = if spread >= 0.05 && sxx > 0.0 {
        let b = sxv / sxx;
        if b > 0.0 {
            ((b / c).sqrt(), (mv - b * mx).max(0.0), true)
        } else {
            notes.push("the p99's noise does not shrink with traffic as sampling error does: its log-sd is not identified, so latency_p50 is written at the default ratio p99 / 5".into());
            (default_sigma, mv, false)
        }
    } else {
        notes.push(format!(
            "traffic varies too little between scrapes (1/requests' coefficient of variation {spread:.3}) to tell the p99's sampling error from other noise: all of it is taken as sampling error, which fixes latency_p50 (a lower bound of it if there is other noise)"
        ));
        ((mv / (c * mx)).sqrt(), 0.0, false)
    };
    let sampling_sd = sigma * (c * mx).sqrt();
    let extra_sd = extra2.sqrt();
    if extra_sd > 0.5 * sampling_sd && identified {
        notes.push(format!(
            "the p99 varies beyond its sampling error (extra log-sd {extra_sd:.3} against {sampling_sd:.3}): the model draws no such latency noise, so simulated p99s are steadier than recorded ones"
        ));
    }
    Some(Latency {
        p99_ms: level.exp(),
        p50_ms: (level - sigma * Z99).exp(),
        identified,
        sampling_sd,
        extra_sd,
        scrapes: pts.len(),
    })
}
