//! "Did you mean `x`?" for a key or a value name that is one typo away from a known one.
//!
//! Applied to every unknown key and unknown variant of a scenario (serde's messages and the
//! policy kinds' own), so a misspelt key gets the nearest spelling besides the list.

/// Levenshtein distance in characters (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diag
            } else {
                1 + diag.min(above).min(row[j])
            };
            diag = above;
        }
    }
    row[b.len()]
}

/// The known name nearest to `typed`, when it is close enough to be a typo: at most one
/// edit per three characters typed (at least one). Ties go to the first in `known`.
pub fn nearest<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (typed.chars().count() / 3).max(1);
    known
        .into_iter()
        .map(|k| (distance(typed, k), k))
        .filter(|(d, k)| *d <= limit && *k != typed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `"; did you mean `x`?"` or nothing.
pub fn hint<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    nearest(typed, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

/// Adds the hint to serde's "unknown field `x`, expected ..." and "unknown variant `x`,
/// expected ..." messages (the names it lists are between backquotes).
pub fn amend(message: &str) -> String {
    let typed = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let Some(typed) = typed else {
        return message.to_string();
    };
    let listed = message
        .split_once("expected")
        .map(|(_, l)| l)
        .unwrap_or_default();
    let known = listed.split('`').skip(1).step_by(2);
    format!("{message}{}", hint(typed, known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("treshold", "threshold"), 1);
        assert_eq!(distance("failurs", "failures"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn suggests_only_near_misses() {
        assert_eq!(
            nearest("request_rat", ["name", "request_rate"]),
            Some("request_rate")
        );
        assert_eq!(nearest("fr", ["for", "window"]), Some("for"));
        assert_eq!(nearest("interval", ["window", "for"]), None);
    }

    #[test]
    fn amends_serde_messages() {
        assert_eq!(
            amend("unknown field `request_rat`, expected one of `name`, `request_rate`"),
            "unknown field `request_rat`, expected one of `name`, `request_rate`; did you mean `request_rate`?"
        );
        assert_eq!(
            amend("unknown variant `canry`, expected `canary` or `rolling`"),
            "unknown variant `canry`, expected `canary` or `rolling`; did you mean `canary`?"
        );
        assert_eq!(amend("invalid type: string"), "invalid type: string");
        assert_eq!(
            amend("unknown field `zzz`, expected `name`"),
            "unknown field `zzz`, expected `name`"
        );
    }
}
