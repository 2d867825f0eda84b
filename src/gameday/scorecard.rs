//! The scorecard: the team's game against every automatic policy of the scenario on the
//! very same world (same seed, same noise, same faults, the live injects included).

use crate::model::faults::FaultWindow;
use crate::outcome::RunRecord;
use crate::report::findings::clock;
use crate::report::{render_html, Doc, Section, Table};
use crate::sim::{replicate, Prepared, World};
use serde::Serialize;

/// The decision maker's name of the team's row.
pub const TEAM: &str = "team";

/// One row: what one decision maker's choices cost on the game's world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRow {
    pub decided_by: String,
    pub downtime_s: f64,
    pub failed_requests: u64,
    pub rollbacks: u32,
    pub false_positive_rollbacks: u32,
    pub missed_bad_release: bool,
    /// Unreadable reads + corrupted records + lost writes.
    pub data_harm: u64,
    /// From the bad release's onset to the first decision that acted on it.
    pub time_to_decide_s: Option<f64>,
    pub time_to_recover_s: Option<f64>,
    pub pages: u32,
}

impl From<&RunRecord> for ScoreRow {
    fn from(r: &RunRecord) -> Self {
        ScoreRow {
            decided_by: r.policy.clone(),
            downtime_s: r.downtime_s,
            failed_requests: r.failed_requests,
            rollbacks: r.rollbacks,
            false_positive_rollbacks: r.false_positive_rollbacks,
            missed_bad_release: r.missed_bad_release,
            data_harm: r.unreadable_reads + r.corrupted_records + r.lost_writes,
            time_to_decide_s: r.time_to_detect_s,
            time_to_recover_s: r.time_to_recover_s,
            pages: r.pages,
        }
    }
}

/// The world every automatic policy is scored on: the game's, plus its live injects.
pub fn world_with_injects(world: &World, injected: &[FaultWindow]) -> World {
    let mut w = world.clone();
    w.faults.extend_from_slice(injected);
    w
}

/// The team's record first, then each scenario policy replicated on the game's world.
pub fn score(p: &Prepared<'_>, world: &World, team: RunRecord) -> Vec<RunRecord> {
    let mut out = vec![team];
    out.extend(
        p.scenario
            .policies
            .iter()
            .map(|spec| replicate(p, world, spec)),
    );
    out
}

fn opt_s(v: Option<f64>) -> String {
    v.map_or("-".into(), clock)
}

/// The scorecard as a terminal table: the first column as wide as the longest name, so
/// the table fits 100 columns with names up to 24 characters and stays aligned with
/// longer ones.
pub fn text(rows: &[ScoreRow]) -> String {
    let head = "decided by";
    let w = rows
        .iter()
        .map(|r| r.decided_by.chars().count())
        .chain([head.len()])
        .max()
        .unwrap_or(head.len());
    let mut t = format!(
        "{head:<w$} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9} {:>8} {:>8} {:>5}\n",
        "downtime",
        "failed",
        "rollbacks",
        "false+",
        "missed",
        "data harm",
        "decide",
        "recover",
        "pages"
    );
    for r in rows {
        t.push_str(&format!(
            "{:<w$} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9} {:>8} {:>8} {:>5}\n",
            r.decided_by,
            clock(r.downtime_s),
            r.failed_requests,
            r.rollbacks,
            r.false_positive_rollbacks,
            if r.missed_bad_release { "yes" } else { "no" },
            r.data_harm,
            opt_s(r.time_to_decide_s),
            opt_s(r.time_to_recover_s),
            r.pages
        ));
    }
    t
}

/// Where the team stands among the automatic policies, the oracles (which know the truth)
/// aside: how many did better on downtime and on failed requests.
pub fn standing(team: &ScoreRow, policies: &[ScoreRow], oracles: &[String]) -> String {
    let real: Vec<&ScoreRow> = policies
        .iter()
        .filter(|r| !oracles.contains(&r.decided_by))
        .collect();
    let less_downtime = real
        .iter()
        .filter(|r| r.downtime_s < team.downtime_s)
        .count();
    let fewer_failed = real
        .iter()
        .filter(|r| r.failed_requests < team.failed_requests)
        .count();
    format!(
        "Of {} automatic policies{}, {} had less downtime than the team and {} failed fewer requests.",
        real.len(),
        if oracles.is_empty() {
            String::new()
        } else {
            " (the oracle, which knows the truth, aside)".to_string()
        },
        less_downtime,
        fewer_failed
    )
}

/// What the page says about the game besides the table.
pub struct Context<'a> {
    pub service: &'a str,
    pub seed: u64,
    pub release_bad: bool,
    /// Policies that know the truth (`oracle`): shown, not ranked.
    pub oracles: Vec<String>,
    /// Every fault of the game, revealed: (name, start s, end s, injected live).
    pub faults: Vec<(String, f64, f64, bool)>,
    /// The team's commands: (game time s, action, detail).
    pub actions: Vec<(f64, String, String)>,
    pub command: &'a str,
    pub replay: &'a str,
}

/// `scorecard.html`: a self-contained page.
pub fn html(rows: &[ScoreRow], c: &Context<'_>) -> String {
    let mut table = Table {
        header: [
            "decided by",
            "downtime",
            "failed requests",
            "rollbacks",
            "false-positive rollbacks",
            "missed bad release",
            "data harm",
            "time to decide",
            "time to recover",
            "pages",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: vec![],
    };
    for r in rows {
        table.rows.push(vec![
            r.decided_by.clone(),
            clock(r.downtime_s),
            r.failed_requests.to_string(),
            r.rollbacks.to_string(),
            r.false_positive_rollbacks.to_string(),
            if r.missed_bad_release { "yes" } else { "no" }.into(),
            r.data_harm.to_string(),
            opt_s(r.time_to_decide_s),
            opt_s(r.time_to_recover_s),
            r.pages.to_string(),
        ]);
    }
    let team = rows.first();
    let mut verdict = vec![format!(
        "The release was {}. Every row played the same world: the same traffic, noise and faults (seed {}).",
        if c.release_bad { "bad" } else { "good" },
        c.seed
    )];
    if let Some(team) = team {
        verdict.push(standing(team, &rows[1..], &c.oracles));
    }
    let faults = Table {
        header: vec!["fault".into(), "start".into(), "end".into(), "how".into()],
        rows: c
            .faults
            .iter()
            .map(|(n, a, b, live)| {
                vec![
                    n.clone(),
                    clock(*a),
                    clock(*b),
                    if *live { "injected live" } else { "scheduled" }.into(),
                ]
            })
            .collect(),
    };
    let actions = Table {
        header: vec!["game time".into(), "action".into(), "what it did".into()],
        rows: c
            .actions
            .iter()
            .map(|(t, a, d)| vec![clock(*t), a.clone(), d.clone()])
            .collect(),
    };
    let doc = Doc {
        title: format!("Game day scorecard: {}", c.service),
        facts: vec![
            ("seed".into(), c.seed.to_string()),
            ("command".into(), c.command.into()),
            ("replay".into(), c.replay.into()),
        ],
        sections: vec![
            Section {
                heading: "Scorecard".into(),
                text: verdict,
                table: Some(table),
                ..Section::default()
            },
            table_or_words(
                "The faults (hidden during the game)",
                faults,
                c.faults.is_empty(),
                "No fault occurred.",
            ),
            table_or_words(
                "What the team did",
                actions,
                c.actions.is_empty(),
                "The team sent no command.",
            ),
        ],
        scenario_text: None,
    };
    render_html(&doc)
}

/// A section of the scorecard's page: `table`, or `none` in words when it has no row.
fn table_or_words(heading: &str, table: Table, empty: bool, none: &str) -> Section {
    Section {
        heading: heading.into(),
        text: if empty { vec![none.into()] } else { vec![] },
        table: (!empty).then_some(table),
        ..Section::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(who: &str, downtime_s: f64, failed_requests: u64) -> ScoreRow {
        ScoreRow {
            decided_by: who.into(),
            downtime_s,
            failed_requests,
            rollbacks: 0,
            false_positive_rollbacks: 0,
            missed_bad_release: false,
            data_harm: 0,
            time_to_decide_s: None,
            time_to_recover_s: None,
            pages: 0,
        }
    }

    #[test]
    fn the_team_is_ranked_against_real_policies_only() {
        let team = row("team", 480.0, 3461);
        let policies = [
            row("none", 8700.0, 14106),
            row("oracle", 300.0, 3000),
            row("fast-rule", 420.0, 3500),
            row("slow-rule", 3210.0, 3400),
        ];
        assert_eq!(
            standing(&team, &policies, &["oracle".to_string()]),
            "Of 3 automatic policies (the oracle, which knows the truth, aside), 1 had less downtime than the team and 1 failed fewer requests."
        );
        assert_eq!(
            standing(&team, &policies, &[]),
            "Of 4 automatic policies, 2 had less downtime than the team and 2 failed fewer requests."
        );
    }
}
