//! `actions.csv`: the commands of a game at their game instants. `rollsim trace
//! --actions` replays it on the same seed, which reproduces the game event for event.

use super::game::Action;
use crate::recorded::{read_tidy, InputError, Location, Problem};
use crate::scenario::Scenario;
use crate::sim::command::{Command, Timed};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Row {
    at_ms: u64,
    action: String,
    fault: Option<String>,
    duration_ms: Option<u64>,
    source: String,
    done: bool,
    detail: String,
}

/// The recording of a game's actions.
pub fn write(actions: &[Action]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(vec![]);
    for a in actions {
        w.serialize(Row {
            at_ms: a.at_ms,
            action: a.action.to_string(),
            fault: a.fault.clone(),
            duration_ms: a.duration_ms,
            source: format!("{:?}", a.source).to_lowercase(),
            done: a.done,
            detail: a.detail.clone(),
        })?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Reads a recording (`origin` names it in messages); every problem is reported as
/// `file:line: what was expected`.
pub fn read(text: &str, origin: &str, scenario: &Scenario) -> Result<Vec<Timed>, InputError> {
    let tidy = read_tidy(text, origin, ["at_ms", "action", "fault", "duration_ms"])?;
    let [at_col, action_col, fault_col, duration_col] = tidy.columns;
    let mut problems = tidy.problems;
    let mut out: Vec<Timed> = Vec::new();
    for (line, r) in &tidy.rows {
        let mut problem = |message: String| {
            problems.push(Problem {
                at: Location {
                    origin: origin.to_string(),
                    line: *line,
                    col: None,
                },
                message,
            })
        };
        let field = |i: usize| r.get(i).unwrap_or("");
        let Ok(at_ms) = field(at_col).parse::<u64>() else {
            problem(format!(
                "at_ms {:?} is not a whole number of milliseconds",
                field(at_col)
            ));
            continue;
        };
        let command = match field(action_col) {
            "rollback" => Command::Rollback,
            "promote" => Command::Promote,
            "pause" => Command::Pause,
            "resume" => Command::Resume,
            "ack" => Command::Ack,
            "deploy" => Command::Deploy,
            "flag_on" => Command::Flag { on: true },
            "flag_off" => Command::Flag { on: false },
            "inject" => {
                let fault = match super::console::fault_index(scenario, field(fault_col)) {
                    Ok(f) => f,
                    Err(e) => {
                        problem(e);
                        continue;
                    }
                };
                match field(duration_col).parse::<u64>() {
                    Ok(duration_ms) if duration_ms > 0 => Command::Inject { fault, duration_ms },
                    _ => {
                        problem(format!(
                            "duration_ms {:?} is not a whole number of milliseconds above 0",
                            field(duration_col)
                        ));
                        continue;
                    }
                }
            }
            other => {
                problem(format!(
                    "unknown action {other:?}; expected rollback, promote, pause, resume, ack, deploy, flag_on, flag_off or inject"
                ));
                continue;
            }
        };
        if out.last().is_some_and(|t| t.at_ms > at_ms) {
            problem(format!(
                "at_ms {at_ms} is before the previous action's; a recording is in time order"
            ));
            continue;
        }
        out.push(Timed { at_ms, command });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(InputError { problems })
    }
}
