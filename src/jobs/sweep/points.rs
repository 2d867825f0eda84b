//! Per-point checksums of a sweep: `sweep-points.csv` beside `sweep.csv`.
//!
//! Each finished point's rows are appended to `sweep.csv` and synced, then a line with
//! the point, its number of rows and the SHA-256 of those rows as written is appended to
//! `sweep-points.csv` and synced. `--resume` keeps a point only when its rows in
//! `sweep.csv` hash to its line; any other point (cut short by a crash, or edited or cut
//! after it was written, such as a last row's `400` cut to `4`) runs again, and the
//! resume says which and why.

use super::csv;
use crate::experiment::sweep::SweepRow;
use crate::report::checksum::sha256_hex;
use crate::report::{rows, ReportError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file, in a sweep's output directory, of the points' checksums.
pub const POINTS_FILE: &str = "sweep-points.csv";

/// One line of [`POINTS_FILE`]: a finished point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointSum {
    pub point: u64,
    /// Its rows in `sweep.csv`.
    pub rows: u64,
    /// SHA-256 (hex) of those rows as written there, without the header.
    pub sha256: String,
}

impl PointSum {
    /// The line of a point whose rows were written to `sweep.csv` as `bytes`.
    pub fn of(point: u64, rows: usize, bytes: &[u8]) -> PointSum {
        PointSum {
            point,
            rows: rows as u64,
            sha256: sha256_hex(bytes),
        }
    }
}

/// Points run again that are named one by one; the rest are counted.
const MAX_NOTES: usize = 10;

/// What a resumed sweep keeps of the files it finds.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The points kept, ascending.
    pub done: Vec<usize>,
    /// Their rows, in file order.
    pub rows: Vec<SweepRow>,
    /// Their checksums, in point order.
    pub sums: Vec<PointSum>,
    /// Why each point found in `sweep.csv` but not kept runs again.
    pub notes: Vec<String>,
}

/// Reads a CSV file that a crash may have cut mid-line: a last line without its newline
/// is dropped (and said so in `notes`) before the rows are read. A missing file is no
/// rows.
pub fn read_appended<T: serde::de::DeserializeOwned>(
    path: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<T>, ReportError> {
    let shown = path.display().to_string();
    let mut bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(source) => {
            return Err(ReportError::Read {
                path: shown,
                source,
            })
        }
    };
    if bytes.last().is_some_and(|b| *b != b'\n') {
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let line = bytes[..whole].iter().filter(|b| **b == b'\n').count() + 1;
        notes.push(format!(
            "{shown}:{line}: the last line was cut (no newline at its end); it is dropped"
        ));
        bytes.truncate(whole);
    }
    Ok(rows::parse::<T>(&bytes, &shown)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// Of the rows and checksums a sweep left, the points to keep: every row of the point is
/// there (`per_point`), in one block that hashes to the point's checksum. `csv_name`
/// names `sweep.csv` in the notes.
pub fn keep(
    rows: Vec<SweepRow>,
    sums: Vec<PointSum>,
    per_point: usize,
    csv_name: &str,
) -> Result<Kept, ReportError> {
    let mut by_point: BTreeMap<u64, Vec<&SweepRow>> = BTreeMap::new();
    for r in &rows {
        by_point.entry(r.point).or_default().push(r);
    }
    let sums: BTreeMap<u64, PointSum> = sums.into_iter().map(|s| (s.point, s)).collect();
    let mut done = Vec::new();
    let mut notes = Vec::new();
    let mut more = 0usize;
    for (&point, point_rows) in &by_point {
        let owned: Vec<SweepRow> = point_rows.iter().map(|r| (*r).clone()).collect();
        let sha = sha256_hex(&csv(&owned, false)?);
        let why = match sums.get(&point) {
            None => Some(format!(
                "has {} of its {per_point} rows and no line in {POINTS_FILE} (the sweep stopped while it ran)",
                owned.len()
            )),
            Some(s) if s.rows as usize != per_point || owned.len() != per_point => Some(format!(
                "has {} rows where {POINTS_FILE} records {} and a point has {per_point}",
                owned.len(),
                s.rows
            )),
            Some(s) if s.sha256 != sha => Some(format!(
                "does not match its SHA-256 in {POINTS_FILE} (its rows were edited or cut after they were written)"
            )),
            Some(_) => None,
        };
        match why {
            None => done.push(point as usize),
            Some(_) if notes.len() == MAX_NOTES => more += 1,
            Some(why) => notes.push(format!(
                "point {point} in {csv_name} {why}; running it again"
            )),
        }
    }
    if more > 0 {
        notes.push(format!(
            "and {more} more point{} in {csv_name} run again",
            if more == 1 { "" } else { "s" }
        ));
    }
    let kept_rows = rows
        .into_iter()
        .filter(|r| done.binary_search(&(r.point as usize)).is_ok())
        .collect();
    let kept_sums = done
        .iter()
        .filter_map(|p| sums.get(&(*p as u64)).cloned())
        .collect();
    Ok(Kept {
        done,
        rows: kept_rows,
        sums: kept_sums,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(point: u64, metric: &str, n: u64) -> SweepRow {
        SweepRow {
            point,
            metric: metric.into(),
            n,
            ..SweepRow::default()
        }
    }

    fn sum(point: u64, rows: &[SweepRow]) -> PointSum {
        PointSum::of(point, rows.len(), &csv(rows, false).unwrap())
    }

    #[test]
    fn only_points_whose_rows_match_their_checksum_are_kept() {
        let p0 = vec![row(0, "a", 400), row(0, "b", 400)];
        let p1 = vec![row(1, "a", 400), row(1, "b", 400)];
        let p2 = vec![row(2, "a", 400), row(2, "b", 400)];
        let sums = [sum(0, &p0), sum(1, &p1), sum(2, &p2)];
        // Point 1's last row cut from 400 to 4; point 2 with no checksum line; point 3
        // with one of its two rows.
        let mut cut = p1.clone();
        cut[1].n = 4;
        let rows: Vec<SweepRow> =
            [p0.clone(), cut, p2[..].to_vec(), vec![row(3, "a", 400)]].concat();
        let kept = keep(rows, vec![sums[0].clone(), sums[1].clone()], 2, "sweep.csv").unwrap();
        assert_eq!(kept.done, vec![0]);
        assert_eq!(kept.rows, p0);
        assert_eq!(kept.sums, vec![sums[0].clone()]);
        assert_eq!(
            kept.notes,
            vec![
                "point 1 in sweep.csv does not match its SHA-256 in sweep-points.csv (its rows were edited or cut after they were written); running it again",
                "point 2 in sweep.csv has 2 of its 2 rows and no line in sweep-points.csv (the sweep stopped while it ran); running it again",
                "point 3 in sweep.csv has 1 of its 2 rows and no line in sweep-points.csv (the sweep stopped while it ran); running it again",
            ]
        );
    }

    #[test]
    fn points_run_again_are_named_up_to_ten_then_counted() {
        let rows: Vec<SweepRow> = (0..13).map(|p| row(p, "a", 1)).collect();
        let kept = keep(rows, vec![], 1, "sweep.csv").unwrap();
        assert!(kept.done.is_empty());
        assert_eq!(kept.notes.len(), 11);
        assert!(kept.notes[9].starts_with("point 9 in sweep.csv has 1 of its 1 rows"));
        assert_eq!(kept.notes[10], "and 3 more points in sweep.csv run again");
    }

    #[test]
    fn a_cut_last_line_is_dropped_and_said() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(POINTS_FILE);
        let p0 = vec![row(0, "a", 1)];
        let mut text = csv(&[sum(0, &p0)], true).unwrap();
        text.extend_from_slice(b"1,1,ab");
        std::fs::write(&path, &text).unwrap();
        let mut notes = vec![];
        let sums: Vec<PointSum> = read_appended(&path, &mut notes).unwrap();
        assert_eq!(sums, vec![sum(0, &p0)]);
        assert_eq!(
            notes,
            vec![format!(
                "{}:3: the last line was cut (no newline at its end); it is dropped",
                path.display()
            )]
        );
        let missing: Vec<PointSum> = read_appended(&t.path().join("none.csv"), &mut notes).unwrap();
        assert!(missing.is_empty());
    }
}
