//! Positions in written text: a problem at a line and column, the line and column of a
//! byte offset, and bytes decoded as UTF-8 with the first invalid byte located.
//!
//! `std::fs::read_to_string` says only "stream did not contain valid UTF-8"; a scenario or
//! an imported YAML with a stray Latin-1 byte deserves its `file:line:col`, like every other
//! problem in it. Both readers (`scenario`, `import`) use these, so they live below both.

use std::fmt;

/// One problem at a position in the file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Decodes `bytes`; an invalid sequence is reported at the line and column where it starts.
pub fn decode(bytes: Vec<u8>) -> Result<String, Located> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, col) = line_col(before, valid);
        let bad = bytes.get(valid).copied().unwrap_or_default();
        Located {
            line,
            col,
            message: format!("invalid UTF-8 (byte 0x{bad:02X}); expected a text file in UTF-8"),
        }
    })
}

/// A JSON error's text without the " at line L column C" serde_json ends it with: for a
/// message that is already located (`file:line:col`, or the value it is about), where the
/// position in words would repeat it or, for a value parsed on its own, mislead.
pub fn json_error_text(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&at).unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_the_first_invalid_byte() {
        assert_eq!(decode(b"a = 1\n".to_vec()).as_deref(), Ok("a = 1\n"));
        let e = decode(b"a = 1\nname = \"caf\xE9\"\n".to_vec()).unwrap_err();
        assert_eq!((e.line, e.col), (2, 12));
        assert_eq!(
            e.message,
            "invalid UTF-8 (byte 0xE9); expected a text file in UTF-8"
        );
        // A multi-byte character before it counts as one column.
        let e = decode("é\u{20}".bytes().chain([0xFF]).collect()).unwrap_err();
        assert_eq!((e.line, e.col), (1, 3));
    }
}
