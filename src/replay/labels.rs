//! The labels of a recording: when deploys happened (and were promoted), and when the
//! service had incidents, as a CSV `start,end,kind`.
//!
//! `kind = deploy` and `kind = promoted` are instants (`end` empty); every other kind is
//! an incident window `[start, end]` named by its kind (`bad_release`, `outage`, ...).
//! Timestamps are written as in the metrics (RFC 3339 or Unix seconds).

use crate::recorded::{
    format_timestamp, parse_timestamp_in, read_tidy, InputError, Location, Problem, TidyCsv,
};

/// An incident window.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Start and end (inclusive) in Unix ms.
    pub start_ms: u64,
    pub end_ms: u64,
    /// The label's kind, as written (`bad_release`, `outage`, ...).
    pub kind: String,
    /// Where it is in the labels file (its line names it in outputs).
    pub at: Location,
}

/// An instant label (deploy or promotion) and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Instant {
    /// Unix ms.
    pub at_ms: u64,
    pub at: Location,
}

/// Everything a labels file says, deploys and promotions in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Labels {
    /// Deploys: each starts a watch with fresh policy state.
    pub deploys: Vec<Instant>,
    /// Promotions: each ends the watch of policies with `until = "promoted"`.
    pub promotions: Vec<Instant>,
    /// In file order.
    pub incidents: Vec<Incident>,
}

impl Labels {
    /// Parses a labels CSV; `origin` names it in messages. Every problem is listed.
    pub fn parse(text: &str, origin: &str) -> Result<Labels, InputError> {
        Labels::parse_in(text, origin, None)
    }

    /// [`Labels::parse`], reading timestamps without an offset in `tz` when given.
    pub fn parse_in(
        text: &str,
        origin: &str,
        tz: Option<&jiff::tz::TimeZone>,
    ) -> Result<Labels, InputError> {
        let at = |line: usize| Location::line(origin, line);
        let TidyCsv {
            columns: [si, ei, ki],
            rows,
            mut problems,
        } = read_tidy(text, origin, ["start", "end", "kind"])?;
        let mut labels = Labels::default();
        for (line, row) in rows {
            let here = at(line);
            let field = |i: usize| row.get(i).unwrap_or("");
            let kind = field(ki).to_string();
            let start = parse_timestamp_in(field(si), tz).map_err(|m| format!("start: {m}"));
            let end = match field(ei) {
                "" => Ok(None),
                e => parse_timestamp_in(e, tz)
                    .map(Some)
                    .map_err(|m| format!("end: {m}")),
            };
            let label = (|| -> Result<(), String> {
                let (start, end) = (start?, end?);
                match kind.as_str() {
                    "" => Err("empty kind; expected deploy, promoted or an incident kind such as bad_release".into()),
                    "deploy" | "promoted" => {
                        if end.is_some_and(|e| e != start) {
                            return Err(format!("a {kind} is an instant; leave end empty"));
                        }
                        let list = if kind == "deploy" {
                            &mut labels.deploys
                        } else {
                            &mut labels.promotions
                        };
                        list.push(Instant {
                            at_ms: start,
                            at: here.clone(),
                        });
                        Ok(())
                    }
                    _ => {
                        let Some(end) = end else {
                            return Err(format!(
                                "incident {kind:?} has no end; expected start,end,kind"
                            ));
                        };
                        if end < start {
                            return Err(format!(
                                "incident ends ({}) before it starts ({})",
                                format_timestamp(end),
                                format_timestamp(start)
                            ));
                        }
                        labels.incidents.push(Incident {
                            start_ms: start,
                            end_ms: end,
                            kind: kind.clone(),
                            at: here.clone(),
                        });
                        Ok(())
                    }
                }
            })();
            if let Err(message) = label {
                problems.push(Problem { at: here, message });
            }
        }
        for list in [&mut labels.deploys, &mut labels.promotions] {
            list.sort_by_key(|i| i.at_ms);
            for w in list.windows(2) {
                if w[0].at_ms == w[1].at_ms {
                    problems.push(Problem {
                        at: w[1].at.clone(),
                        message: format!(
                            "a second label at {} (the first is at {})",
                            format_timestamp(w[1].at_ms),
                            w[0].at
                        ),
                    });
                }
            }
        }
        InputError::unless(problems, labels)
    }

    /// Every label must touch the recorded span `[first - interval, last]`: an instant
    /// inside it, an incident overlapping it. The span starts one scrape interval before
    /// the first point because a new version's first scrape ends an interval after its
    /// deploy.
    pub fn check_range(&self, first: u64, last: u64, interval_ms: u64) -> Result<(), InputError> {
        let first_point = first;
        let first = first.saturating_sub(interval_ms);
        let span = format!(
            "the data runs from {} to {}",
            format_timestamp(first_point),
            format_timestamp(last)
        );
        let mut problems = Vec::new();
        for (what, list) in [("deploy", &self.deploys), ("promoted", &self.promotions)] {
            for i in list {
                if i.at_ms < first || i.at_ms > last {
                    problems.push(Problem {
                        at: i.at.clone(),
                        message: format!(
                            "{what} at {} is outside the data; {span}",
                            format_timestamp(i.at_ms)
                        ),
                    });
                }
            }
        }
        for i in &self.incidents {
            if i.end_ms < first || i.start_ms > last {
                problems.push(Problem {
                    at: i.at.clone(),
                    message: format!(
                        "incident {} from {} to {} is outside the data; {span}",
                        i.kind,
                        format_timestamp(i.start_ms),
                        format_timestamp(i.end_ms)
                    ),
                });
            }
        }
        problems.sort_by_key(|p| p.at.line);
        InputError::unless(problems, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_labels_read_deploys_and_incidents() {
        let l = Labels::parse(
            "start,end,kind\n600,,deploy\n60,,deploy\n700,900,bad_release\n800,,promoted\n",
            "l.csv",
        )
        .unwrap();
        assert_eq!(
            l.deploys.iter().map(|d| d.at_ms).collect::<Vec<_>>(),
            vec![60_000, 600_000]
        );
        assert_eq!(l.incidents[0].kind, "bad_release");
        assert_eq!(l.incidents[0].at.line, 4);
        assert_eq!(l.promotions.len(), 1);
        assert!(l.check_range(0, 1_000_000, 15_000).is_ok());
    }

    #[test]
    fn replay_labels_problems_are_located() {
        let e = Labels::parse(
            "start,end,kind\n600,700,deploy\n700,,outage\n900,800,outage\nnow,,deploy\n100,,\n",
            "l.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("l.csv:2: a deploy is an instant"), "{e}");
        assert!(e.contains("l.csv:3: incident \"outage\" has no end"), "{e}");
        assert!(e.contains("l.csv:4: incident ends"), "{e}");
        assert!(e.contains("l.csv:5: start: timestamp \"now\""), "{e}");
        assert!(e.contains("l.csv:6: empty kind"), "{e}");
        let l = Labels::parse("start,end,kind\n10,,deploy\n5000,6000,outage\n", "l.csv").unwrap();
        let e = l
            .check_range(60_000, 3_600_000, 15_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("l.csv:2: deploy at 1970-01-01T00:00:10Z is outside the data; the data runs from 1970-01-01T00:01:00Z to 1970-01-01T01:00:00Z"), "{e}");
        assert!(e.contains("l.csv:3: incident outage from"), "{e}");
    }
}
