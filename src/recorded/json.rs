//! Where a value lies in a JSON text (Prometheus responses and CloudWatch exports are
//! often one long line): line and column of byte offsets, found in one pass, and the
//! [`Location`] of a value borrowed from the text, which both JSON readers name in every
//! problem.

use super::{InputError, Location, Problem};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::cell::RefCell;

/// A JSON text being read from `origin`: locates the values `serde_json` lends from it.
pub(super) struct JsonText<'t, 'p> {
    text: &'t str,
    origin: String,
    positions: RefCell<&'p mut LineCol<'t>>,
}

impl<'t, 'p> JsonText<'t, 'p> {
    /// `text` read from `origin`, its values located through `positions` (a reader's test
    /// counts the bytes scanned).
    pub(super) fn new(text: &'t str, origin: &str, positions: &'p mut LineCol<'t>) -> Self {
        JsonText {
            text,
            origin: origin.to_string(),
            positions: RefCell::new(positions),
        }
    }

    /// The location of byte `offset` of the text.
    pub(super) fn at(&self, offset: usize) -> Location {
        let (line, col) = self.positions.borrow_mut().at(offset);
        Location {
            origin: self.origin.clone(),
            line,
            col: Some(col),
        }
    }

    /// The location of a value borrowed from the text.
    pub(super) fn locate(&self, raw: &RawValue) -> Location {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        self.at(offset)
    }

    /// A syntax or shape error of the whole text, located where `serde_json` stopped:
    /// `what` says what the text should have been.
    pub(super) fn error(&self, e: serde_json::Error, what: &str) -> InputError {
        InputError::one(
            Location {
                origin: self.origin.clone(),
                line: e.line(),
                col: Some(e.column()),
            },
            format!("{what}: {}", crate::check::json_error_text(&e)),
        )
    }
}

/// One entry of a JSON array read as a `T`, or `None` and a problem at `here` (where the
/// entry is): `what` says what the entry should have been, serde's reason follows. A bad
/// entry is skipped so that the reader goes on to find the others' problems.
pub(super) fn read_entry<'a, T: Deserialize<'a>>(
    raw: &'a RawValue,
    here: &Location,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match serde_json::from_str(raw.get()) {
        Ok(entry) => Some(entry),
        Err(e) => {
            problems.push(Problem {
                at: here.clone(),
                message: format!("{what}: {e}"),
            });
            None
        }
    }
}

/// 1-based line and column (in characters) of byte offsets in one text, asked in
/// increasing order (as a parser meets values): each call scans only the text since the
/// previous one, so locating every value of a file costs one pass over it, not one pass
/// per value. An offset before the previous one starts again from the top (correct,
/// only slower).
pub(crate) struct LineCol<'t> {
    text: &'t str,
    /// The byte offset reached, and its line and column.
    offset: usize,
    line: usize,
    col: usize,
    /// Bytes scanned so far: the work done, for the test that it stays linear.
    scanned: usize,
}

impl<'t> LineCol<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        LineCol {
            text,
            offset: 0,
            line: 1,
            col: 1,
            scanned: 0,
        }
    }

    /// Line and column of byte `offset` (clamped to the text and to a character start).
    pub(crate) fn at(&mut self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset < self.offset {
            (self.offset, self.line, self.col) = (0, 1, 1);
        }
        let piece = &self.text[self.offset..offset];
        self.scanned += piece.len();
        for c in piece.chars() {
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
        self.offset = offset;
        (self.line, self.col)
    }

    #[cfg(test)]
    pub(crate) fn scanned(&self) -> usize {
        self.scanned
    }
}
