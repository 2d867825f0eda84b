//! Text broken to fit the terminal's width (100 columns, [`super::table::WIDTH`]): prose
//! at spaces, a command line with shell continuations so it can be pasted as printed, and
//! log lines with their continuations under the detail. Every command's terminal output
//! goes through these, the game day's log included.

/// A command line broken with shell continuations (` \`) to fit `width`, so it can be
/// pasted as printed.
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
    for word in &words {
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
