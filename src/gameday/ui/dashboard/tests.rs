//! The dashboard drawn on a test backend, and its keys.

use super::render::short;
use super::*;
use crate::gameday::team_spec;
use crate::scenario::parse;
use crate::sim::{Prepared, World};
use ratatui::backend::TestBackend;

/// A release that is bad for sure, a rollout that takes its time, a rule that pages.
const SCENARIO: &str = r#"
[simulation]
duration = "2h"
scrape_interval = "15s"

[service]
name = "checkout"
request_rate = 40.0
baseline_error_rate = 0.002
latency_p50 = "60ms"
latency_p99 = "300ms"
replicas = 8

[slo]
error_rate = 0.01
latency_p99 = "800ms"

[release]
at = "10m"
bad_probability = 1.0
bake = "30m"

[release.bad]
error_rate = 0.2

[rollout]
strategy = "canary"
steps = [
  { weight = 10, pause = "30m" },
  { weight = 50, pause = "30m" },
  { weight = 100 },
]

[[faults]]
name = "db-slow"
kind = "infra_latency"
at = "100m"
duration = "5m"
latency_factor = 2.0

[[policies]]
name = "error-rate-2pct"
kind = "threshold"
error_rate_above = 0.02
window = "5m"
for = "1m"
"#;

fn scenario() -> Scenario {
    parse(SCENARIO, "t.toml").expect("a valid scenario")
}

fn panel<'a>(scenario: &'a Scenario, input: &'a Input) -> Panel<'a> {
    Panel {
        scenario,
        speed: "600x",
        status: "listening on http://127.0.0.1:9184",
        input,
    }
}

/// The screen as text, one line per row.
fn screen(game: &Game<'_>, panel: &Panel, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, game, panel)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        for x in 0..width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

#[test]
fn the_dashboard_shows_the_game_as_it_goes() {
    let s = scenario();
    let prepared = Prepared::new(&s);
    let world = World::for_run(&s, 7, 0);
    let team = team_spec(&s, Some(0));
    let mut game = Game::new(&prepared, &world, &team);
    let input = Input::default();

    game.advance_to(5 * 60_000);
    let text = screen(&game, &panel(&s, &input), 120, 40);
    assert!(text.contains("checkout"), "{text}");
    assert!(text.contains("0:05:00 / 2:00:00"), "{text}");
    assert!(text.contains("600x"), "{text}");
    assert!(text.contains("phase not_deployed"), "{text}");
    assert!(text.contains("0% new"), "{text}");
    assert!(text.contains("pages none open"), "{text}");
    assert!(
        text.contains("listening on http://127.0.0.1:9184"),
        "{text}"
    );
    for (key, what) in KEYS {
        assert!(text.contains(&format!("{key} {what}")), "{key}: {text}");
    }

    // The bad release at 10% pages the team through the threshold rule.
    game.advance_to(30 * 60_000);
    let text = screen(&game, &panel(&s, &input), 120, 40);
    assert!(text.contains("phase rolling"), "{text}");
    assert!(text.contains("10% new"), "{text}");
    assert!(text.contains("deploy #1"), "{text}");
    assert!(text.contains("PAGE #1  rule fired  open "), "{text}");
    assert!(text.contains("1 OPEN (a acks)"), "{text}");
    assert!(text.contains("page         rule fired"), "{text}");
    let latest = game.feed().last().unwrap();
    assert!(text.contains(&latest.detail), "{latest:?}\n{text}");

    // A command: its result in the feed and among the actions; the page acked.
    game.apply(Command::Pause, Source::Console);
    game.apply(Command::Ack, Source::Console);
    let text = screen(&game, &panel(&s, &input), 120, 40);
    assert!(text.contains("PAUSED"), "{text}");
    assert!(text.contains("✓ pause: rollout paused"), "{text}");
    assert!(text.contains("pages none open, 1 acked"), "{text}");
    assert!(!text.contains("PAGE #1"), "{text}");
    assert!(text.contains("command"), "{text}");

    game.apply(Command::Rollback, Source::Http);
    game.advance_to(40 * 60_000);
    let text = screen(&game, &panel(&s, &input), 120, 40);
    assert!(text.contains("phase rolled_back"), "{text}");
    assert!(text.contains("rollback (http): "), "{text}");
}

#[test]
fn a_small_terminal_still_shows_the_essentials() {
    let s = scenario();
    let prepared = Prepared::new(&s);
    let world = World::for_run(&s, 7, 0);
    let team = team_spec(&s, Some(0));
    let mut game = Game::new(&prepared, &world, &team);
    game.advance_to(30 * 60_000);
    let input = Input {
        mode: Mode::Typing("inject db-slow 5m".into()),
        note: None,
    };
    let text = screen(&game, &panel(&s, &input), 80, 24);
    assert!(text.contains("phase rolling"), "{text}");
    assert!(text.contains("10% new"), "{text}");
    assert!(text.contains("PAGE #1"), "{text}");
    assert!(text.contains("q quit"), "{text}");
    assert!(text.contains(" : inject db-slow 5m"), "{text}");
    // Even a tiny one does not panic.
    screen(&game, &panel(&s, &input), 20, 5);
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(input: &mut Input, s: &Scenario, code: KeyCode) -> Option<Request> {
    on_key(input, s, key(code), true)
}

#[test]
fn single_keys_map_to_commands() {
    let s = scenario();
    let mut input = Input::default();
    let console = |c| Some(Request::Command(c, Source::Console));
    for (k, c) in [
        ('r', Command::Rollback),
        ('p', Command::Promote),
        ('s', Command::Pause),
        ('c', Command::Resume),
        ('a', Command::Ack),
        ('d', Command::Deploy),
        ('f', Command::Flag { on: false }),
    ] {
        assert_eq!(press(&mut input, &s, KeyCode::Char(k)), console(c), "{k}");
        assert_eq!(input.mode, Mode::Keys);
    }
    assert_eq!(
        on_key(&mut input, &s, key(KeyCode::Char('f')), false),
        console(Command::Flag { on: true })
    );
    assert_eq!(press(&mut input, &s, KeyCode::Char('x')), None);
    assert!(input.note.as_ref().is_some_and(|n| n.error));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(on_key(&mut input, &s, ctrl_c, true), Some(Request::End));
}

#[test]
fn quitting_asks_first() {
    let s = scenario();
    let mut input = Input::default();
    assert_eq!(press(&mut input, &s, KeyCode::Char('q')), None);
    assert_eq!(input.mode, Mode::ConfirmQuit);
    assert_eq!(press(&mut input, &s, KeyCode::Char('n')), None);
    assert_eq!(input.mode, Mode::Keys);
    press(&mut input, &s, KeyCode::Char('q'));
    assert_eq!(
        press(&mut input, &s, KeyCode::Char('y')),
        Some(Request::End)
    );
    assert_eq!(input.mode, Mode::Keys);
}

#[test]
fn the_command_line_takes_the_console_grammar() {
    let s = scenario();
    let mut input = Input::default();
    let typed = |input: &mut Input, text: &str| {
        press(input, &s, KeyCode::Char(':'));
        for ch in text.chars() {
            assert_eq!(press(input, &s, KeyCode::Char(ch)), None);
        }
        press(input, &s, KeyCode::Enter)
    };
    assert_eq!(
        typed(&mut input, "inject db-slow 5m"),
        Some(Request::Command(
            Command::Inject {
                fault: 0,
                duration_ms: 300_000
            },
            Source::Console
        ))
    );
    assert_eq!(input.mode, Mode::Keys);
    assert_eq!(
        typed(&mut input, "advance 10m"),
        Some(Request::Advance(600_000))
    );
    // Keys are text while typing: `r` does not roll back.
    press(&mut input, &s, KeyCode::Char(':'));
    assert_eq!(press(&mut input, &s, KeyCode::Char('r')), None);
    assert_eq!(input.mode, Mode::Typing("r".into()));
    // A line that does not parse stays, with the reason in the status line.
    assert_eq!(press(&mut input, &s, KeyCode::Enter), None);
    assert_eq!(input.mode, Mode::Typing("r".into()));
    let note = input.note.clone().expect("a parse error");
    assert!(
        note.error && note.text.contains("unknown command \"r\""),
        "{note:?}"
    );
    // Backspace edits, Esc cancels.
    press(&mut input, &s, KeyCode::Backspace);
    assert_eq!(input.mode, Mode::Typing(String::new()));
    press(&mut input, &s, KeyCode::Char('x'));
    press(&mut input, &s, KeyCode::Esc);
    assert_eq!(input.mode, Mode::Keys);
    assert_eq!(input.note, None);
    assert_eq!(typed(&mut input, "end"), Some(Request::End));
}

#[test]
fn times_read_as_clocks_and_spans() {
    assert_eq!(hms(0), "0:00:00");
    assert_eq!(hms(86_400_000), "24:00:00");
    assert_eq!(hms(3_723_000), "1:02:03");
    assert_eq!(short(45_000), "45s");
    assert_eq!(short(185_000), "3m05s");
    assert_eq!(short(3_720_000), "1h02m");
}
