//! `actions.csv`: the commands of a game at their game instants. `rollsim trace
//! --actions` replays it on the same seed, which reproduces the game event for event.

use super::game::Action;
use crate::recorded::{read_tidy, InputError, Location, Problem};
use crate::report::csv_bytes;
use crate::scenario::Scenario;
use crate::sim::command::{Command, Timed};

/// The recording of a game's actions: an [`Action`] per row, in the order they applied.
pub fn write(actions: &[Action]) -> Result<Vec<u8>, csv::Error> {
    csv_bytes(actions)
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
                at: Location::line(origin, *line),
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
            name => match Command::from_name(name) {
                Some(c) => c,
                None => {
                    problem(format!(
                        "unknown action {name:?}; expected {}",
                        Command::names()
                    ));
                    continue;
                }
            },
        };
        if out.last().is_some_and(|t| t.at_ms > at_ms) {
            problem(format!(
                "at_ms {at_ms} is before the previous action's; a recording is in time order"
            ));
            continue;
        }
        out.push(Timed { at_ms, command });
    }
    InputError::unless(problems, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gameday::game::Source;

    fn scenario() -> Scenario {
        crate::gameday::test_scenario("1h", "inject_only = true")
    }

    fn action(at_ms: u64, command: Command, fault: Option<&str>) -> Action {
        Action {
            at_ms,
            command,
            action: command.name(),
            fault: fault.map(String::from),
            duration_ms: match command {
                Command::Inject { duration_ms, .. } => Some(duration_ms),
                _ => None,
            },
            source: Source::Http,
            done: true,
            detail: "ok".into(),
        }
    }

    #[test]
    fn a_written_recording_reads_back_as_its_script() {
        let inject = Command::Inject {
            fault: 0,
            duration_ms: 300_000,
        };
        let actions = [
            action(60_000, Command::Pause, None),
            action(60_000, inject, Some("db-slow")),
            action(90_000, Command::Flag { on: false }, None),
            action(120_000, Command::Rollback, None),
        ];
        let bytes = write(&actions).expect("written");
        let text = String::from_utf8(bytes).expect("UTF-8");
        assert!(text.starts_with("at_ms,action,fault,duration_ms,source,done,detail\n"));
        assert!(
            text.contains("60000,inject,db-slow,300000,http,true,ok\n"),
            "{text}"
        );
        let script = read(&text, "a.csv", &scenario()).expect("read back");
        let want: Vec<Timed> = actions
            .iter()
            .map(|a| Timed {
                at_ms: a.at_ms,
                command: a.command,
            })
            .collect();
        assert_eq!(script, want);
    }

    #[test]
    fn a_bad_recording_names_every_line_and_what_was_expected() {
        let text = "at_ms,action,fault,duration_ms\n\
                    soon,rollback,,\n\
                    1000,rollbak,,\n\
                    2000,inject,disk,5000\n\
                    3000,inject,db-slow,0\n\
                    5000,pause,,\n\
                    4000,resume,,\n";
        let e = read(text, "a.csv", &scenario())
            .expect_err("rejected")
            .to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines,
            [
                "a.csv:2: at_ms \"soon\" is not a whole number of milliseconds",
                "a.csv:3: unknown action \"rollbak\"; expected rollback, promote, pause, resume, ack, deploy, flag_on, flag_off or inject",
                "a.csv:4: no fault named \"disk\"; expected one of: db-slow",
                "a.csv:5: duration_ms \"0\" is not a whole number of milliseconds above 0",
                "a.csv:7: at_ms 4000 is before the previous action's; a recording is in time order",
            ]
        );
    }
}
