//! Maps a problem found on a typed value back to its place in the TOML text.
//!
//! Validation works on typed structs and names a problem by its key path
//! (`policies[2].failures`); this module re-reads the text with `toml_edit`, which keeps
//! spans, and finds the line and column of the deepest part of that path that exists.

pub use crate::check::{line_col, Located, Problem, Seg};
use toml_edit::{Document, Item};

/// Locates every problem; a path that cannot be found points at the start of the file.
pub fn locate_all(text: &str, problems: Vec<Problem>) -> Vec<Located> {
    let doc = Document::parse(text).ok();
    problems
        .into_iter()
        .map(|p| {
            let offset = doc
                .as_ref()
                .and_then(|d| locate(d.as_item(), &p.path))
                .unwrap_or(0);
            let (line, col) = line_col(text, offset);
            Located {
                line,
                col,
                message: p.message,
            }
        })
        .collect()
}

fn locate(root: &Item, path: &[Seg]) -> Option<usize> {
    let mut item = root;
    let mut best = None;
    for seg in path {
        let next = match seg {
            Seg::Key(k) => item.get(k),
            Seg::Index(i) => item.get(*i),
        };
        match next {
            Some(n) => {
                item = n;
                if let Some(s) = n.span() {
                    best = Some(s.start);
                }
            }
            None => break,
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 11), (2, 6));
    }

    #[test]
    fn locates_nested_array_paths() {
        let t = "[service]\nreplicas = 3\n\n[[policies]]\nname = \"a\"\n\n[[policies]]\nname = \"b\"\nfailures = -1\n";
        let p = Problem {
            path: vec![Seg::Key("policies"), Seg::Index(1), Seg::Key("failures")],
            message: "x".into(),
        };
        let got = locate_all(t, vec![p]);
        assert_eq!((got[0].line, got[0].col), (9, 12));
    }
}
