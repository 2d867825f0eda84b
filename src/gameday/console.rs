//! Typed commands (`rollback`, `inject db-slow 5m`, ...): one grammar for the dashboard's
//! command line, stdin in plain-log mode, and the names the HTTP API uses.

use crate::scenario::Scenario;
use crate::sim::command::Command;

/// What a typed line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    Command(Command),
    /// Move game time forward by this many milliseconds.
    Advance(u64),
    /// End the game now.
    End,
}

/// The grammar, for help texts and error messages.
pub const HELP: &str = "rollback | promote | pause | resume | ack | deploy | flag on | flag off | \
inject FAULT DURATION | advance DURATION | end";

/// Resolves a fault's name to its index in the scenario.
pub fn fault_index(scenario: &Scenario, name: &str) -> Result<usize, String> {
    scenario
        .faults
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = scenario.faults.iter().map(|f| f.name.as_str()).collect();
            if names.is_empty() {
                format!("no fault named {name:?}: the scenario has no [[faults]] to inject")
            } else {
                format!(
                    "no fault named {name:?}; expected one of: {}",
                    names.join(", ")
                )
            }
        })
}

/// Parses a duration such as `5m`, `90s` or `1h 30m`.
pub fn duration_ms(text: &str) -> Result<u64, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration like 90s, 5m or 1h ({e})"))?;
    Ok(d.as_millis().min(u128::from(u64::MAX)) as u64)
}

/// Parses one typed line.
pub fn parse(scenario: &Scenario, line: &str) -> Result<Typed, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let simple = |c| Ok(Typed::Command(c));
    match words.as_slice() {
        ["rollback"] => simple(Command::Rollback),
        ["promote"] => simple(Command::Promote),
        ["pause"] => simple(Command::Pause),
        ["resume"] => simple(Command::Resume),
        ["ack"] => simple(Command::Ack),
        ["deploy"] => simple(Command::Deploy),
        ["flag", "on"] => simple(Command::Flag { on: true }),
        ["flag", "off"] => simple(Command::Flag { on: false }),
        ["inject", name, rest @ ..] if !rest.is_empty() => {
            let fault = fault_index(scenario, name)?;
            let duration_ms = duration_ms(&rest.join(" "))?;
            super::game::check_inject_ms(scenario, duration_ms)?;
            Ok(Typed::Command(Command::Inject { fault, duration_ms }))
        }
        ["advance", rest @ ..] if !rest.is_empty() => {
            Ok(Typed::Advance(duration_ms(&rest.join(" "))?))
        }
        ["end"] | ["quit"] | ["q"] => Ok(Typed::End),
        [] => Err(format!("empty command; expected {HELP}")),
        _ => Err(format!(
            "unknown command {:?}; expected {HELP}",
            line.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        crate::gameday::test_scenario("2h", "at = \"30m\"\nlatency_factor = 2.0")
    }

    #[test]
    fn typed_commands_parse_with_fault_names_and_durations() {
        let s = scenario();
        assert_eq!(
            parse(&s, "inject db-slow 1h 30m"),
            Ok(Typed::Command(Command::Inject {
                fault: 0,
                duration_ms: 5_400_000
            }))
        );
        assert_eq!(
            parse(&s, " flag off "),
            Ok(Typed::Command(Command::Flag { on: false }))
        );
        assert_eq!(parse(&s, "advance 90s"), Ok(Typed::Advance(90_000)));
        assert_eq!(parse(&s, "q"), Ok(Typed::End));
    }

    #[test]
    fn bad_commands_say_what_was_expected() {
        let s = scenario();
        let e = parse(&s, "inject disk 5m").unwrap_err();
        assert!(
            e.contains("no fault named \"disk\"; expected one of: db-slow"),
            "{e}"
        );
        let e = parse(&s, "inject db-slow soon").unwrap_err();
        assert!(e.contains("\"soon\" is not a duration"), "{e}");
        let e = parse(&s, "inject db-slow 500000000000y").unwrap_err();
        assert!(e.contains("is longer than the game (2h)"), "{e}");
        // Durations as every message writes them (`check::duration_text`), not "2days".
        let e = parse(&s, "inject db-slow 2d").unwrap_err();
        assert!(e.contains("48h is longer than the game (2h)"), "{e}");
        let e = parse(&s, "inject db-slow 0s").unwrap_err();
        assert!(e.contains("must be above zero"), "{e}");
        let e = parse(&s, "rollbak").unwrap_err();
        assert!(
            e.contains("unknown command \"rollbak\"; expected rollback |"),
            "{e}"
        );
    }
}
