//! Timestamps of recorded input: Unix seconds or RFC 3339 in, integer Unix milliseconds
//! kept, RFC 3339 UTC out. A date and time without an offset (`2024-06-03 10:00:15`, as
//! many exports write local time) is refused unless a time zone is given (`--timezone`),
//! since guessing one would shift every label against the metrics; in that zone, a time
//! that a daylight-saving change skips or repeats is refused too.

use jiff::tz::TimeZone;

/// The time zone named `name` (an IANA name such as `Europe/Paris`, or `UTC`), from the
/// time zone database built into the binary, so a recording reads the same on every
/// machine.
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    jiff::tz::db().get(name).map_err(|e| {
        format!(
            "unknown time zone {name:?} ({e}); expected an IANA name such as Europe/Paris or UTC"
        )
    })
}

/// Parses a timestamp: Unix seconds (decimals allowed) or RFC 3339 with an offset, into
/// Unix milliseconds (rounded to the nearest millisecond). A timestamp without an offset
/// is refused (see [`parse_timestamp_in`]).
pub fn parse_timestamp(s: &str) -> Result<u64, String> {
    parse_timestamp_in(s, None)
}

/// [`parse_timestamp`], reading a date and time without an offset in `tz` when given.
pub fn parse_timestamp_in(s: &str, tz: Option<&TimeZone>) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty timestamp; expected RFC 3339 or Unix seconds".into());
    }
    let numeric = t
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E');
    if numeric {
        return match t.parse::<f64>() {
            Ok(x) => unix_seconds(x),
            Err(_) => Err(format!(
                "timestamp {t:?} is not a number; expected RFC 3339 or Unix seconds"
            )),
        };
    }
    let ts: jiff::Timestamp = match t.parse() {
        Ok(ts) => ts,
        Err(e) => match (t.parse::<jiff::civil::DateTime>(), tz) {
            (Ok(_), None) => {
                return Err(format!(
                    "timestamp {t:?} has no offset; write one (2024-06-03T10:00:15Z, +02:00) or name the time zone it is in with --timezone (e.g. --timezone Europe/Paris)"
                ))
            }
            (Ok(dt), Some(tz)) => tz.to_ambiguous_timestamp(dt).unambiguous().map_err(|_| {
                format!(
                    "timestamp {t:?} does not name one instant in {} (a daylight-saving change skips or repeats it); write its offset",
                    tz.iana_name().unwrap_or("the time zone")
                )
            })?,
            (Err(_), _) => {
                return Err(format!(
                    "timestamp {t:?} is not RFC 3339 ({e}); expected e.g. 2024-06-03T10:00:15Z or Unix seconds"
                ))
            }
        },
    };
    let ms = ts.as_millisecond();
    let rounded = if ts.subsec_nanosecond() % 1_000_000 >= 500_000 {
        ms + 1
    } else {
        ms
    };
    u64::try_from(rounded).map_err(|_| format!("timestamp {t:?} is before 1970"))
}

/// Unix seconds to milliseconds.
pub fn unix_seconds(x: f64) -> Result<u64, String> {
    if !x.is_finite() {
        return Err(format!("timestamp {x} is not a finite number of seconds"));
    }
    if x < 0.0 {
        return Err(format!("timestamp {x} is before 1970"));
    }
    // Far beyond any real date; keeps every sum of times far from overflow.
    if x > 1.0e11 {
        return Err(format!(
            "timestamp {x} is beyond the year 5000; expected Unix seconds"
        ));
    }
    Ok((x * 1000.0).round() as u64)
}

/// Formats Unix milliseconds as RFC 3339 UTC (milliseconds shown only when not zero).
pub fn format_timestamp(ms: u64) -> String {
    match i64::try_from(ms)
        .ok()
        .and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
    {
        Some(t) if ms % 1000 == 0 => format!("{t:.0}"),
        Some(t) => format!("{t:.3}"),
        None => format!("{}", ms as f64 / 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_without_offset_needs_a_time_zone() {
        let e = parse_timestamp("2024-06-03 10:00:15").unwrap_err();
        assert!(
            e.contains("has no offset") && e.contains("--timezone"),
            "{e}"
        );
        let paris = time_zone("Europe/Paris").expect("bundled");
        // June: Paris is UTC+2.
        assert_eq!(
            parse_timestamp_in("2024-06-03 10:00:15", Some(&paris)),
            parse_timestamp("2024-06-03T08:00:15Z")
        );
        assert_eq!(
            parse_timestamp_in("2024-01-03T10:00:00.250", Some(&paris)),
            parse_timestamp("2024-01-03T09:00:00.250Z")
        );
        // An offset wins over the zone; Unix seconds have none to read.
        assert_eq!(
            parse_timestamp_in("2024-06-03T10:00:15Z", Some(&paris)),
            parse_timestamp("2024-06-03T10:00:15Z")
        );
        assert_eq!(
            parse_timestamp_in("1717408815", Some(&paris)),
            Ok(1_717_408_815_000)
        );
        // 2024-03-31 02:30 does not exist in Paris; 2024-10-27 02:30 happens twice.
        for t in ["2024-03-31 02:30:00", "2024-10-27 02:30:00"] {
            let e = parse_timestamp_in(t, Some(&paris)).unwrap_err();
            assert!(e.contains("Europe/Paris") && e.contains("daylight"), "{e}");
        }
        let e = time_zone("Mars/Olympus").unwrap_err();
        assert!(e.contains("unknown time zone \"Mars/Olympus\""), "{e}");
        assert!(time_zone("UTC").is_ok());
    }
}
