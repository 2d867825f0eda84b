//! The tidy CSV of recorded input (`timestamp,series,value`; `#` comments), read with its
//! columns located and every row's line kept, so each problem names `file:line`.

use super::{parse_timestamp_in, InputError, Location, Point, Problem, Recording, SeriesName};

/// A tidy CSV read with its required columns located: every readable row with its line,
/// and a problem for every row that could not be read.
pub struct TidyCsv<const N: usize> {
    /// Index of each required column, in the order asked for.
    pub columns: [usize; N],
    pub rows: Vec<(usize, csv::StringRecord)>,
    pub problems: Vec<Problem>,
}

/// Reads `text` as CSV with `#` comments and finds the `required` columns; a header that
/// lacks one is an error at the header's line.
pub fn read_tidy<const N: usize>(
    text: &str,
    origin: &str,
    required: [&str; N],
) -> Result<TidyCsv<N>, InputError> {
    let at = |line: usize| Location::line(origin, line);
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| InputError::one(at(1), format!("cannot read the CSV header: {e}")))?
        .clone();
    let header_line = text
        .lines()
        .position(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map_or(1, |i| i + 1);
    let mut columns = [0; N];
    for (slot, name) in columns.iter_mut().zip(required) {
        *slot = headers.iter().position(|h| h == name).ok_or_else(|| {
            InputError::one(
                at(header_line),
                format!(
                    "the header is {:?}; expected the columns {}",
                    headers.iter().collect::<Vec<_>>().join(","),
                    required.join(",")
                ),
            )
        })?;
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for row in rdr.records() {
        match row {
            Ok(r) => rows.push((r.position().map_or(0, |p| p.line() as usize), r)),
            Err(e) => problems.push(Problem {
                at: at(e.position().map_or(0, |p| p.line() as usize)),
                message: format!("cannot read the row: {e}"),
            }),
        }
    }
    Ok(TidyCsv {
        columns,
        rows,
        problems,
    })
}

/// Parses the tidy CSV (`timestamp,series,value`) into a recording, reading timestamps
/// without an offset in `tz` when given.
pub(super) fn parse_csv(
    text: &str,
    origin: &str,
    tz: Option<&jiff::tz::TimeZone>,
) -> Result<Recording, InputError> {
    let at = |line: usize| Location::line(origin, line);
    let TidyCsv {
        columns: [ti, si, vi],
        rows,
        mut problems,
    } = read_tidy(text, origin, ["timestamp", "series", "value"])?;
    let mut rec = Recording::default();
    for (line, row) in rows {
        let field = |i: usize| row.get(i).unwrap_or("");
        let result = (|| -> Result<(SeriesName, u64, f64), String> {
            let name = SeriesName::parse(field(si))?;
            let at_ms = parse_timestamp_in(field(ti), tz)?;
            let raw = field(vi);
            if raw.is_empty() {
                return Err(format!(
                    "empty value for {name}; leave the row out instead (a missing point is a lost scrape)"
                ));
            }
            let v: f64 = raw
                .parse()
                .map_err(|_| format!("value {raw:?} of {name} is not a number"))?;
            Ok((name, at_ms, name.check(v)?))
        })();
        match result {
            Ok((name, at_ms, value)) => rec.series.entry(name).or_default().points.push(Point {
                at_ms,
                value,
                at: at(line),
            }),
            Err(message) => problems.push(Problem {
                at: at(line),
                message,
            }),
        }
    }
    InputError::unless(problems, rec)
}
