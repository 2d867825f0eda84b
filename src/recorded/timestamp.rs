//! Timestamps of recorded input: Unix seconds or RFC 3339 in, integer Unix milliseconds
//! kept, RFC 3339 UTC out.

/// Parses a timestamp: Unix seconds (decimals allowed) or RFC 3339 with an offset, into
/// Unix milliseconds (rounded to the nearest millisecond).
pub fn parse_timestamp(s: &str) -> Result<u64, String> {
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
    let ts: jiff::Timestamp = t.parse().map_err(|e| {
        format!(
            "timestamp {t:?} is not RFC 3339 ({e}); expected e.g. 2024-06-03T10:00:15Z or Unix seconds"
        )
    })?;
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
