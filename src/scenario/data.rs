//! Checks the `[data]` section: formats, the versions that read and write them, and
//! whether the migrations can be applied in the order they run.
//!
//! The order check replays the schema (the set of formats the store can hold) through the
//! migrations and the code deploy in time order, so "a contract before its expand", "a
//! backfill into a format nobody added" and "new code that writes a format the schema does
//! not have yet" are caught here, with the key that is wrong.

use super::raw::{
    MigrationAt, MigrationKind, OnUnknown, RawCodeVersion, RawData, RawOnUnknown, UnsafeRollback,
};
use super::span::Seg;
use super::{CodeVersion, DataSpec, Migration, MigrationStep, MigrationWhen, UnknownShares};
use crate::check::{at, idx, Checker};

/// Interns format names in order of first appearance.
struct Formats(Vec<String>);

impl Formats {
    fn id(&mut self, name: &str) -> usize {
        match self.0.iter().position(|f| f == name) {
            Some(i) => i,
            None => {
                self.0.push(name.to_string());
                self.0.len() - 1
            }
        }
    }
}

fn version(
    c: &mut Checker,
    f: &mut Formats,
    path: &[Seg],
    v: &Option<RawCodeVersion>,
) -> CodeVersion {
    let v = v.clone().unwrap_or(RawCodeVersion {
        reads: vec!["v1".into()],
        writes: "v1".into(),
        on_unknown: None,
    });
    if v.reads.is_empty() {
        c.fail(
            at(path, "reads"),
            "`reads` is empty; expected the formats this version reads, e.g. [\"v1\"]",
        );
    }
    let mut reads = 0u64;
    for r in &v.reads {
        reads |= 1 << f.id(r).min(63);
    }
    let writes = f.id(&v.writes);
    if !v.reads.contains(&v.writes) {
        c.fail(
            at(path, "reads"),
            format!(
                "this version writes {:?} but does not read it; expected `reads` to include {:?}",
                v.writes, v.writes
            ),
        );
    }
    CodeVersion {
        reads,
        writes,
        on_unknown: match &v.on_unknown {
            None => UnknownShares::all(OnUnknown::Error),
            Some(RawOnUnknown::One(b)) => UnknownShares::all(*b),
            Some(RawOnUnknown::Shares(s)) => {
                let p = at(path, "on_unknown");
                let share =
                    |c: &mut Checker, k: &'static str, v: Option<f64>| c.prob(at(&p, k), k, v, 0.0);
                let sh = UnknownShares {
                    error: share(c, "error", s.error),
                    ignore_unknown: share(c, "ignore_unknown", s.ignore_unknown),
                    misread: share(c, "misread", s.misread),
                };
                let sum = sh.error + sh.ignore_unknown + sh.misread;
                if (sum - 1.0).abs() > 1e-9 {
                    c.fail(p.clone(), format!("on_unknown shares sum to {sum}; expected error + ignore_unknown + misread = 1"));
                }
                sh
            }
        },
    }
}

/// Checks `[data]`; `release_ms` is when the new code first deploys.
pub(super) fn check(c: &mut Checker, path: &[Seg], d: &RawData, release_ms: u64) -> DataSpec {
    let mut f = Formats(Vec::new());
    let old = version(c, &mut f, &at(path, "old"), &d.old);
    let new = version(c, &mut f, &at(path, "new"), &d.new);
    if !new.reads(old.writes) {
        c.fail(
            at(&at(path, "new"), "reads"),
            format!(
                "the new version reads none of what the old version writes ({:?}); expected `reads` to include {:?}",
                f.0[old.writes], f.0[old.writes]
            ),
        );
    }

    let mut migrations = Vec::new();
    // (order key, index): when each migration runs relative to the code deploy.
    let mut order: Vec<((u64, u8), usize)> = Vec::new();
    for (i, m) in d.migrations.iter().enumerate() {
        let p = idx(&at(path, "migrations"), i);
        let set = [
            ("adds", m.adds.is_some()),
            ("from", m.from.is_some()),
            ("to", m.to.is_some()),
            ("rate", m.rate.is_some()),
            ("stop_on_rollback", m.stop_on_rollback.is_some()),
            ("drops", m.drops.is_some()),
            ("into", m.into.is_some()),
            ("data_loss", m.data_loss.is_some()),
        ];
        let mut need = |c: &mut Checker, key: &'static str, v: &Option<String>| -> usize {
            match v {
                Some(name) => f.id(name),
                None => {
                    c.fail(
                        p.clone(),
                        format!("a {:?} migration needs `{key}` (a format name)", m.kind),
                    );
                    0
                }
            }
        };
        let (kind, step) = match m.kind {
            MigrationKind::Expand => {
                c.only(&p, "expand", &set, &["adds"]);
                (
                    "expand",
                    MigrationStep::Expand {
                        adds: need(c, "adds", &m.adds),
                    },
                )
            }
            MigrationKind::Backfill => {
                c.only(
                    &p,
                    "backfill",
                    &set,
                    &["from", "to", "rate", "stop_on_rollback"],
                );
                let from = need(c, "from", &m.from);
                let to = need(c, "to", &m.to);
                let rate_per_s = c.number(at(&p, "rate"), "rate", m.rate, 100.0, 0.0, true);
                let step = MigrationStep::Backfill {
                    from,
                    to,
                    rate_per_s,
                    stop_on_rollback: m.stop_on_rollback.unwrap_or(true),
                };
                ("backfill", step)
            }
            MigrationKind::Contract => {
                c.only(&p, "contract", &set, &["drops", "into", "data_loss"]);
                let drops = need(c, "drops", &m.drops);
                let into = need(c, "into", &m.into);
                let step = MigrationStep::Contract {
                    drops,
                    into,
                    data_loss: m.data_loss.unwrap_or(true),
                };
                ("contract", step)
            }
        };
        let when = match m.at {
            None | Some(MigrationAt::WithRelease) => MigrationWhen::WithRelease,
            Some(MigrationAt::AfterPromotion) => MigrationWhen::AfterPromotion {
                delay_ms: m.delay.map(|d| d.0).unwrap_or(0),
            },
            Some(MigrationAt::Time(t)) => MigrationWhen::At(t.0),
        };
        if m.delay.is_some() && !matches!(m.at, Some(MigrationAt::AfterPromotion)) {
            c.fail(
                at(&p, "delay"),
                "`delay` applies only to `at = \"after_promotion\"`",
            );
        }
        let key = match when {
            MigrationWhen::At(t) => (t, 0),
            MigrationWhen::WithRelease => (release_ms, 1),
            MigrationWhen::AfterPromotion { delay_ms } => (release_ms.saturating_add(delay_ms), 3),
        };
        order.push((key, i));
        migrations.push(Migration {
            name: m.name.clone().unwrap_or_else(|| format!("{kind}-{i}")),
            when,
            step,
        });
    }
    if f.0.len() > 64 {
        c.fail(
            path.to_vec(),
            "more than 64 data formats; expected at most 64",
        );
    }

    // Replay the schema in time order; the new code deploys at (release, 2).
    order.push(((release_ms, 2), usize::MAX));
    order.sort();
    // At the start the store holds what the old version writes; a version may list
    // formats it can read before they exist (a forward-compatible reader).
    let mut schema: u64 = 1 << old.writes.min(63);
    let has = |schema: u64, i: usize| schema & (1 << i.min(63)) != 0;
    let name = |i: usize| f.0.get(i).cloned().unwrap_or_default();
    for (_, i) in order {
        if i == usize::MAX {
            if !has(schema, new.writes) {
                c.fail(
                    at(&at(path, "new"), "writes"),
                    format!(
                        "the new version writes {:?} before any migration adds it; expected an `expand` with adds = {:?} before the release",
                        name(new.writes),
                        name(new.writes)
                    ),
                );
            }
            continue;
        }
        let p = idx(&at(path, "migrations"), i);
        match migrations[i].step {
            MigrationStep::Expand { adds } => {
                if has(schema, adds) {
                    c.fail(
                        at(&p, "adds"),
                        format!(
                            "format {:?} already exists when this expand runs",
                            name(adds)
                        ),
                    );
                }
                schema |= 1 << adds.min(63);
            }
            MigrationStep::Backfill { from, to, .. } => {
                for (key, fmt) in [("from", from), ("to", to)] {
                    if !has(schema, fmt) {
                        c.fail(
                            at(&p, key),
                            format!("backfill uses format {:?} before its expand (or after its contract); expected a migration order in which it exists", name(fmt)),
                        );
                    }
                }
            }
            MigrationStep::Contract { drops, into, .. } => {
                if !has(schema, into) {
                    c.fail(
                        at(&p, "into"),
                        format!("contract into {:?} comes before the expand that adds it; expected expand, then contract", name(into)),
                    );
                }
                if !has(schema, drops) {
                    c.fail(
                        at(&p, "drops"),
                        format!(
                            "contract drops {:?}, which does not exist at that point",
                            name(drops)
                        ),
                    );
                }
                if drops == new.writes {
                    c.fail(
                        at(&p, "drops"),
                        format!(
                            "contract drops {:?}, which the new version still writes",
                            name(drops)
                        ),
                    );
                }
                if !new.reads(into) {
                    c.fail(
                        at(&p, "into"),
                        format!(
                            "records become {:?}, which the new version does not read",
                            name(into)
                        ),
                    );
                }
                schema &= !(1 << drops.min(63));
            }
        }
    }

    let dp = |k: &'static str| at(path, k);
    DataSpec {
        formats: f.0,
        initial_records: c.int(
            dp("initial_records"),
            "data.initial_records",
            d.initial_records,
            1_000_000,
            0,
            u64::MAX >> 12,
        ),
        write_fraction: c.prob(
            dp("write_fraction"),
            "data.write_fraction",
            d.write_fraction,
            0.1,
        ),
        read_fraction: c.prob(
            dp("read_fraction"),
            "data.read_fraction",
            d.read_fraction,
            0.8,
        ),
        recent_read_fraction: c.prob(
            dp("recent_read_fraction"),
            "data.recent_read_fraction",
            d.recent_read_fraction,
            0.3,
        ),
        recent_window_ms: c.positive(
            dp("recent_window"),
            "data.recent_window",
            d.recent_window,
            3_600_000,
        ),
        rewrite_fraction: c.prob(
            dp("rewrite_fraction"),
            "data.rewrite_fraction",
            d.rewrite_fraction,
            0.1,
        ),
        on_unsafe_rollback: d.on_unsafe_rollback.unwrap_or(UnsafeRollback::Proceed),
        old,
        new,
        migrations,
    }
}
