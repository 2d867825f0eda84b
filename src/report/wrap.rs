//! Text broken to fit the terminal's width (100 columns, [`super::table::WIDTH`]): prose
//! at spaces, a command line with shell continuations so it can be pasted as printed, and
//! log lines with their continuations under the detail. Every command's terminal output
//! goes through these, the game day's log included.

/// A command line broken with shell continuations (` \`) to fit `width`, so it can be
/// pasted as printed; a flag stays on the line of its value (`--seed 42`, never `--seed \`
/// then `42`).
pub fn wrap_command(command: &str, width: usize) -> String {
    let first = width.saturating_sub("reproduce with: ".len() + 2);
    let mut out = String::new();
    let mut line = String::new();
    let mut limit = first;
    // Break between words, never inside a quoted one.
    let words: Vec<String> = shlex::split(command)
        .map(|ws| {
            ws.iter()
                .map(|w| {
                    shlex::try_quote(w)
                        .map(|q| q.into_owned())
                        .unwrap_or_else(|_| w.clone())
                })
                .collect()
        })
        .unwrap_or_else(|| vec![command.to_string()]);
    // A flag and the value after it are one unit to place.
    let mut units: Vec<String> = Vec::with_capacity(words.len());
    let mut rest = words.into_iter().peekable();
    while let Some(word) = rest.next() {
        let flag = word.starts_with("--") && !word.contains('=');
        match rest.peek() {
            Some(value) if flag && !value.starts_with('-') => {
                let value = rest.next().unwrap_or_default();
                units.push(format!("{word} {value}"));
            }
            _ => units.push(word),
        }
    }
    for word in &units {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > limit {
            out.push_str(&line);
            out.push_str(" \\\n   ");
            line.clear();
            limit = width - 6;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// Each line of `text` longer than `width` broken at spaces (see [`wrap`]), its
/// continuation lines indented two spaces past the line's own indentation; shorter lines
/// (a TOML snippet, a table) are kept as they are.
pub fn wrap_long_lines(text: &str, width: usize) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            if line.chars().count() <= width {
                return line.to_string();
            }
            let indent = line.len() - line.trim_start().len();
            let pad = " ".repeat(indent + 2);
            let body = wrap(line.trim_start(), width.saturating_sub(indent + 2).max(20));
            format!(
                "{}{}",
                &line[..indent],
                body.replace('\n', &format!("\n{pad}"))
            )
        })
        .collect();
    lines.join("\n")
}

/// Breaks text into lines of at most `width` characters at spaces (a word longer than
/// the width stays whole).
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// A log line (`HH:MM:SS  kind  detail`, its detail from column `indent`) broken to fit
/// `width`: the detail's ` | `-separated parts are kept whole where they fit (a part too
/// long for a line is broken at spaces), and every continuation line starts at column
/// `indent`, under the detail, so the time and the kind stay alone on the left.
pub fn wrap_log_line(line: &str, indent: usize, width: usize) -> String {
    if line.chars().count() <= width {
        return line.to_string();
    }
    let split = line
        .char_indices()
        .nth(indent)
        .map_or(line.len(), |(i, _)| i);
    let (head, detail) = line.split_at(split);
    let room = width.saturating_sub(indent).max(20);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for part in detail.split(" | ") {
        let joined = if current.is_empty() {
            part.chars().count()
        } else {
            current.chars().count() + 3 + part.chars().count()
        };
        if joined <= room {
            if !current.is_empty() {
                current.push_str(" | ");
            }
            current.push_str(part);
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        let mut pieces: Vec<String> = wrap(part, room).split('\n').map(String::from).collect();
        current = pieces.pop().unwrap_or_default();
        lines.extend(pieces);
    }
    lines.push(current);
    let pad = format!("\n{}", " ".repeat(indent));
    format!("{head}{}", lines.join(&pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_breaks_between_flags_never_inside_one() {
        let command = "rollsim run rollsim-demo/scenario.toml --runs 500 --out \
                       rollsim-demo-rerun --seed 42";
        // It broke after `--seed`, leaving `42` alone on the next line.
        assert_eq!(
            wrap_command(command, 100),
            "rollsim run rollsim-demo/scenario.toml --runs 500 --out rollsim-demo-rerun \\\n   \
             --seed 42"
        );
        let command = "rollsim sweep scenarios/quickstart.toml --param \
                       'policies.error-rate-2pct.for=60..600:4' --runs 400 --seed 3 --objective \
                       'min downtime_s s.t. false_positive_rollbacks <= 0.1' --quiet";
        let got = wrap_command(command, 100);
        assert_eq!(
            got,
            "rollsim sweep scenarios/quickstart.toml \\\n   \
             --param 'policies.error-rate-2pct.for=60..600:4' --runs 400 --seed 3 \\\n   \
             --objective 'min downtime_s s.t. false_positive_rollbacks <= 0.1' --quiet"
        );
        // Pasted back, it is the same command.
        let joined = got.replace(" \\\n   ", " ");
        assert_eq!(shlex::split(&joined), shlex::split(command));
        // A flag followed by another flag is a word of its own: `--quiet` may end a line.
        assert_eq!(
            wrap_command("rollsim run scenarios/a.toml --quiet --force", 56),
            "rollsim run scenarios/a.toml --quiet \\\n   --force"
        );
    }

    #[test]
    fn a_long_log_line_keeps_its_parts_whole_under_the_detail() {
        let line = "00:27:00  status         rolling 10% new | errors old 0.30% new 3.55% | \
                    p99 old 303ms new 256ms | health 42 ok 0 failed | 0 open page(s)";
        assert_eq!(
            wrap_log_line(line, 25, 100),
            "00:27:00  status         rolling 10% new | errors old 0.30% new 3.55% | p99 old 303ms new 256ms\n\
             \x20                        health 42 ok 0 failed | 0 open page(s)"
        );
        // A short line is untouched; a part longer than the room is broken at spaces.
        assert_eq!(
            wrap_log_line("00:00:00  deploy  x", 25, 100),
            "00:00:00  deploy  x"
        );
        let words = ["word"; 30].join(" ");
        let long = format!("00:00:00  note           {words}");
        let got = wrap_log_line(&long, 25, 60);
        assert!(got.lines().all(|l| l.chars().count() <= 60), "{got}");
        assert!(
            got.lines().skip(1).all(|l| l.starts_with(&" ".repeat(25))),
            "{got}"
        );
        assert_eq!(got.split_whitespace().filter(|w| *w == "word").count(), 30);
    }
}
