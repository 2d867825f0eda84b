//! The NetflixACAJudge's statistics: the Mann-Whitney classifier of one metric and the
//! weighted-sum scorer, as `super` (the `kayenta` policy) applies them to each judgement.
//! Sources are listed in `super`'s documentation.

use super::spec::{Direction, NanStrategy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `MannWhitneyClassifier` as `NetflixACAJudge` builds it.
pub const TOLERANCE: f64 = 0.25;
pub const CONFIDENCE: f64 = 0.98;
/// `WeightedSumScorer.NODATA_THRESHOLD`, percent.
pub const NODATA_THRESHOLD: f64 = 50.0;

/// A metric's classification (`MetricClassificationLabel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Pass,
    High,
    Low,
    Nodata,
    Error,
}

/// A classification with its critical flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub label: Label,
    pub critical: bool,
}

/// The comparison settings of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub direction: Direction,
    pub nan_strategy: NanStrategy,
    pub critical: bool,
    pub allowed_decrease: f64,
    pub allowed_increase: f64,
    pub critical_decrease: f64,
    pub critical_increase: f64,
}

/// The all-observations-tied case of `wilcoxonDiff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllTied;

/// Average ranks (1-based), ties sharing the mean of their ranks.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// `MannWhitney.wilcoxonDiff`: the standardised rank-sum statistic of `x - mu` against `y`,
/// minus `quantile`.
pub fn wilcoxon_diff(mu: f64, quantile: f64, x: &[f64], y: &[f64]) -> Result<f64, AllTied> {
    let nx = x.len() as f64;
    let ny = y.len() as f64;
    let all: Vec<f64> = x.iter().map(|v| v - mu).chain(y.iter().copied()).collect();
    let dr = ranks(&all);
    let dz = dr[..x.len()].iter().sum::<f64>() - nx * (nx + 1.0) / 2.0 - nx * ny / 2.0;
    let correction = if dz > 0.0 {
        0.5
    } else if dz < 0.0 {
        -0.5
    } else {
        0.0
    };
    // tie groups: equal ranks
    let mut sorted = dr.clone();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        ties += t.powi(3) - t;
        i = j + 1;
    }
    let n = nx + ny;
    let sigma = ((nx * ny / 12.0) * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
    if sigma == 0.0 || sigma.is_nan() {
        return Err(AllTied);
    }
    Ok((dz - correction) / sigma - quantile)
}

/// `Precision.equals(x, 0)`: within one ulp of zero.
fn is_zero(x: f64) -> bool {
    x.abs() <= f64::from_bits(1)
}

/// Kayenta's `BrentSolver.solve` (a zeroin port), line for line.
fn brent<F>(ax: f64, bx: f64, fa: f64, fb: f64, mut f: F) -> Result<f64, AllTied>
where
    F: FnMut(f64) -> Result<f64, AllTied>,
{
    const MAX_ITERATIONS: i32 = 1000;
    const TOLERANCE: f64 = 1e-4;
    const EPSILON: f64 = 2.220446049250313e-16;
    let (mut a, mut b, mut fa, mut fb) = (ax, bx, fa, fb);
    let mut c = a;
    let mut fc = fa;
    if is_zero(fa) {
        return Ok(a);
    }
    if is_zero(fb) {
        return Ok(b);
    }
    for _ in 0..=MAX_ITERATIONS {
        let prev_step = b - a;
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * EPSILON * b.abs() + TOLERANCE / 2.0;
        let mut new_step = (c - b) / 2.0;
        if new_step.abs() <= tol_act || is_zero(fb) {
            return Ok(b);
        }
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let (mut p, mut q);
            if a == c {
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                q = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0));
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < (0.75 * cb * q - (tol_act * q).abs() / 2.0) && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }
        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b)?;
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            c = a;
            fc = fa;
        }
    }
    Ok(b)
}

/// The two-sided Mann-Whitney confidence interval and estimate of the shift `x - y`
/// (`MannWhitney.mannWhitneyUTest`): `(low, high, estimate)`.
pub fn mann_whitney(x: &[f64], y: &[f64], confidence: f64) -> Result<(f64, f64, f64), AllTied> {
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mu_min = min(x) - max(y);
    let mu_max = max(x) - min(y);
    let z = statrs_quantile((1.0 - confidence) / 2.0);
    let f = |zq: f64| move |mu: f64| wilcoxon_diff(mu, zq, x, y);
    let root = |zq: f64| -> Result<f64, AllTied> {
        let lower = wilcoxon_diff(mu_min, zq, x, y)?;
        let upper = wilcoxon_diff(mu_max, zq, x, y)?;
        if lower <= 0.0 {
            Ok(mu_min)
        } else if upper >= 0.0 {
            Ok(mu_max)
        } else {
            brent(mu_min, mu_max, lower, upper, f(zq))
        }
    };
    let low = root(-z)?;
    let high = root(z)?;
    let f_lower = wilcoxon_diff(mu_min, 0.0, x, y)?;
    let f_upper = wilcoxon_diff(mu_max, 0.0, x, y)?;
    let estimate = brent(mu_min, mu_max, f_lower, f_upper, f(0.0))?;
    Ok((low, high, estimate))
}

/// The standard normal quantile.
pub(super) fn statrs_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal as StdNormal};
    match StdNormal::new(0.0, 1.0) {
        Ok(n) => n.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// `EffectSizes.meanRatio(control, experiment)`: NaN when either mean is 0.
fn mean_ratio(control: &[f64], experiment: &[f64]) -> f64 {
    let (c, e) = (mean(control), mean(experiment));
    if c == 0.0 || e == 0.0 {
        f64::NAN
    } else {
        e / c
    }
}

/// `MannWhitneyClassifier.addGaussianNoise`, from a fixed-seed stream.
fn add_noise(values: &[f64], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let sd = values.first().copied().unwrap_or(0.0) * 1e-5;
    match Normal::new(0.0, sd) {
        Ok(n) => values.iter().map(|v| v + n.sample(rng)).collect(),
        Err(_) => values.to_vec(),
    }
}

fn distinct(v: &[f64]) -> usize {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.dedup();
    s.len()
}

/// `NetflixACAJudge.classifyMetric` + `MannWhitneyClassifier.classify` on raw series
/// (NaN = missing).
pub fn classify(control: &[f64], experiment: &[f64], s: &Settings) -> Classification {
    let prep = |v: &[f64]| -> Vec<f64> {
        match s.nan_strategy {
            NanStrategy::Remove => v.iter().copied().filter(|x| !x.is_nan()).collect(),
            NanStrategy::None => v
                .iter()
                .map(|x| if x.is_nan() { 0.0 } else { *x })
                .collect(),
        }
    };
    let control = prep(control);
    let experiment = prep(experiment);
    let pass = Classification {
        label: Label::Pass,
        critical: false,
    };
    if experiment.is_empty() || control.is_empty() {
        return match s.nan_strategy {
            NanStrategy::Remove => Classification {
                label: Label::Nodata,
                critical: s.critical,
            },
            NanStrategy::None => pass,
        };
    }
    let mut se = experiment.clone();
    let mut sc = control.clone();
    se.sort_by(f64::total_cmp);
    sc.sort_by(f64::total_cmp);
    if se == sc {
        return pass;
    }
    let mut union = experiment.clone();
    union.extend_from_slice(&control);
    if distinct(&union) == 1 {
        return pass;
    }
    let (experiment, control) = if distinct(&experiment) == 1 && distinct(&control) == 1 {
        let mut rng = ChaCha8Rng::seed_from_u64(0x006b_6179_656e_7461);
        (
            add_noise(&experiment, &mut rng),
            add_noise(&control, &mut rng),
        )
    } else {
        (experiment, control)
    };
    let Ok((low, high, estimate)) = mann_whitney(&experiment, &control, CONFIDENCE) else {
        return Classification {
            label: Label::Error,
            critical: false,
        };
    };
    let effect = mean_ratio(&control, &experiment);
    let bound = TOLERANCE * estimate.abs();
    let high_ok = matches!(s.direction, Direction::Increase | Direction::Either)
        && low > bound
        && (effect.is_nan() || effect >= s.allowed_increase);
    let low_ok = matches!(s.direction, Direction::Decrease | Direction::Either)
        && high < -bound
        && (effect.is_nan() || effect <= s.allowed_decrease);
    if high_ok {
        let critical = s.critical && (effect.is_nan() || effect >= s.critical_increase);
        Classification {
            label: Label::High,
            critical,
        }
    } else if low_ok {
        let critical = s.critical && (effect.is_nan() || effect <= s.critical_decrease);
        Classification {
            label: Label::Low,
            critical,
        }
    } else {
        pass
    }
}

/// `WeightedSumScorer.score` for one group holding every metric.
pub fn score(results: &[Classification]) -> f64 {
    if results.is_empty() {
        return 100.0;
    }
    if results.iter().any(|r| r.critical && r.label != Label::Pass) {
        return 0.0;
    }
    let count = |l: Label| results.iter().filter(|r| r.label == l).count();
    let nodata = count(Label::Nodata) as f64 / results.len() as f64 * 100.0;
    if nodata >= NODATA_THRESHOLD {
        return 0.0;
    }
    let pass = count(Label::Pass);
    let total = pass + count(Label::High) + count(Label::Low);
    let s = if total == 0 {
        100.0
    } else {
        pass as f64 / total as f64 * 100.0
    };
    (s * 100.0).round() / 100.0
}
