//! Reads Argo Rollouts `successCondition` / `failureCondition` expressions that compare the
//! measurement with a number.
//!
//! Argo evaluates them with expr-lang (`utils/evaluate/evaluate.go: EvalCondition`), with
//! `result` bound to the provider's value: a number for a Prometheus scalar, a list of numbers
//! for a vector (`metricproviders/prometheus/prometheus.go: processResponse`), hence
//! `result[0]`. rollsim's `argo_analysis` can model one comparison of that value with a
//! constant; the only other thing accepted is a guard for a result with no data
//! (`len(result) == 0 || ...`, `isNaN(result[0]) || ...`, `len(result) > 0 && ...`), whose
//! effect differs from rollsim's no-data rule and is therefore reported. Anything else is
//! refused with the reason, and the metric is not imported.

/// A comparison operator, with the measured value on the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// The operator with its operands swapped (`0.95 <= x` is `x >= 0.95`).
    fn swapped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// What a condition says about a result with no usable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// No guard: `result[0]` on an empty result cannot be evaluated, so the measurement is
    /// an Error (rollsim's rule for an interval without requests).
    None,
    /// `len(result) == 0 || ...`: an empty result makes the condition true.
    EmptyIsTrue,
    /// `isNaN(result[0]) || ...`: a NaN value (0/0) makes the condition true.
    NanIsTrue,
    /// `len(result) > 0 && ...`: an empty result makes the condition false.
    EmptyIsFalse,
    /// `!isNaN(result[0]) && ...`: a NaN value makes the condition false.
    NanIsFalse,
}

/// A recognised condition: `result <op> threshold`, with an optional no-data guard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub op: Cmp,
    pub threshold: f64,
    pub guard: Guard,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Cmp(&'static str),
    Or,
    And,
    Not,
    LParen,
    RParen,
    LBracket,
    RBracket,
}

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let next = cs.get(i + 1).copied();
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1
            }
            '|' if next == Some('|') => {
                out.push(Tok::Or);
                i += 2
            }
            '&' if next == Some('&') => {
                out.push(Tok::And);
                i += 2
            }
            '<' | '>' | '=' | '!' => {
                let two = next == Some('=');
                let op = match (c, two) {
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    ('>', true) => ">=",
                    ('>', false) => ">",
                    ('=', true) => "==",
                    ('!', true) => "!=",
                    ('!', false) => {
                        out.push(Tok::Not);
                        i += 1;
                        continue;
                    }
                    _ => return Err(format!("unexpected `{c}`")),
                };
                out.push(Tok::Cmp(op));
                i += if two { 2 } else { 1 };
            }
            c if c.is_ascii_digit() || c == '.' || c == '-' => {
                let start = i;
                i += 1;
                while i < cs.len()
                    && (cs[i].is_ascii_digit()
                        || cs[i] == '.'
                        || cs[i] == 'e'
                        || cs[i] == 'E'
                        || ((cs[i] == '-' || cs[i] == '+') && matches!(cs[i - 1], 'e' | 'E'))
                        || cs[i] == '_')
                {
                    i += 1;
                }
                let t: String = cs[start..i].iter().filter(|c| **c != '_').collect();
                let v: f64 = t.parse().map_err(|_| format!("`{t}` is not a number"))?;
                out.push(Tok::Num(v));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                    i += 1;
                }
                let w: String = cs[start..i].iter().collect();
                match w.as_str() {
                    "or" => out.push(Tok::Or),
                    "and" => out.push(Tok::And),
                    "not" => out.push(Tok::Not),
                    _ => out.push(Tok::Ident(w)),
                }
            }
            _ => return Err(format!("`{c}` is not understood")),
        }
    }
    Ok(out)
}

/// One clause of a condition.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Compare(Cmp, f64),
    Empty(bool),
    Nan(bool),
}

/// `result` or `result[0]`; returns the tokens consumed.
fn value_at(t: &[Tok]) -> Option<usize> {
    match t {
        [Tok::Ident(r), Tok::LBracket, Tok::Num(z), Tok::RBracket, ..]
            if r == "result" && *z == 0.0 =>
        {
            Some(4)
        }
        [Tok::Ident(r), ..] if r == "result" => Some(1),
        _ => None,
    }
}

fn cmp_of(op: &str) -> Option<Cmp> {
    match op {
        "<" => Some(Cmp::Lt),
        "<=" => Some(Cmp::Le),
        ">" => Some(Cmp::Gt),
        ">=" => Some(Cmp::Ge),
        _ => None,
    }
}

fn clause(t: &[Tok]) -> Option<Clause> {
    // Strip balanced outer parentheses.
    if let [Tok::LParen, inner @ .., Tok::RParen] = t {
        if let Some(c) = clause(inner) {
            return Some(c);
        }
    }
    // not / ! before isNaN(...)
    if let [Tok::Not, rest @ ..] = t {
        return match clause(rest)? {
            Clause::Nan(b) => Some(Clause::Nan(!b)),
            _ => None,
        };
    }
    // isNaN(value)
    if let [Tok::Ident(f), Tok::LParen, rest @ ..] = t {
        if f == "isNaN" {
            let n = value_at(rest)?;
            return (rest.len() == n + 1 && rest[n] == Tok::RParen).then_some(Clause::Nan(true));
        }
        // len(result) == 0, > 0, != 0, >= 1
        if f == "len" {
            if let [Tok::Ident(r), Tok::RParen, Tok::Cmp(op), Tok::Num(n)] = rest {
                if r != "result" {
                    return None;
                }
                let n = *n;
                return match *op {
                    "==" if n == 0.0 => Some(Clause::Empty(true)),
                    "<" if n == 1.0 => Some(Clause::Empty(true)),
                    "!=" | ">" if n == 0.0 => Some(Clause::Empty(false)),
                    ">=" if n == 1.0 => Some(Clause::Empty(false)),
                    _ => None,
                };
            }
            return None;
        }
    }
    // value op number, or number op value
    if let Some(n) = value_at(t) {
        if let [Tok::Cmp(op), Tok::Num(x)] = &t[n..] {
            return Some(Clause::Compare(cmp_of(op)?, *x));
        }
        return None;
    }
    if let [Tok::Num(x), Tok::Cmp(op), rest @ ..] = t {
        let n = value_at(rest)?;
        return (n == rest.len()).then_some(Clause::Compare(cmp_of(op)?.swapped(), *x));
    }
    None
}

/// Splits at top-level `||` or `&&` (one kind only).
fn split(t: &[Tok]) -> Result<(Vec<&[Tok]>, Option<bool>), String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut joiner: Option<bool> = None; // Some(true) = or
    for (i, tok) in t.iter().enumerate() {
        match tok {
            Tok::LParen | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBracket => depth -= 1,
            Tok::Or | Tok::And if depth == 0 => {
                let or = *tok == Tok::Or;
                if joiner.is_some_and(|j| j != or) {
                    return Err("it mixes `||` and `&&`".into());
                }
                joiner = Some(or);
                parts.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&t[start..]);
    Ok((parts, joiner))
}

/// Reads a condition, or says why rollsim cannot model it.
pub fn parse(s: &str) -> Result<Condition, String> {
    let toks = tokens(s)?;
    if toks.is_empty() {
        return Err("it is empty".into());
    }
    let (parts, joiner) = split(&toks)?;
    if parts.len() > 2 {
        return Err("it has more than one test besides a no-data guard".into());
    }
    let clauses: Vec<Clause> = parts
        .iter()
        .map(|p| {
            clause(p).ok_or_else(|| {
                "it is not a comparison of `result` or `result[0]` with a number".to_string()
            })
        })
        .collect::<Result<_, _>>()?;
    let compares: Vec<(Cmp, f64)> = clauses
        .iter()
        .filter_map(|c| match c {
            Clause::Compare(op, x) => Some((*op, *x)),
            _ => None,
        })
        .collect();
    let [(op, threshold)] = compares[..] else {
        return Err("it needs exactly one comparison of `result` with a number".into());
    };
    if !threshold.is_finite() {
        return Err("its threshold is not a finite number".into());
    }
    let guard = match (clauses.iter().find(|c| !matches!(c, Clause::Compare(..))), joiner) {
        (None, _) => Guard::None,
        (Some(Clause::Empty(true)), Some(true)) => Guard::EmptyIsTrue,
        (Some(Clause::Nan(true)), Some(true)) => Guard::NanIsTrue,
        (Some(Clause::Empty(false)), Some(false)) => Guard::EmptyIsFalse,
        (Some(Clause::Nan(false)), Some(false)) => Guard::NanIsFalse,
        _ => return Err("its no-data guard is not one of `len(result) == 0 ||`, `isNaN(result[0]) ||`, `len(result) > 0 &&`, `!isNaN(result[0]) &&`".into()),
    };
    Ok(Condition {
        op,
        threshold,
        guard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (Cmp, f64, Guard) {
        match parse(s) {
            Ok(c) => (c.op, c.threshold, c.guard),
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn plain_comparisons_are_recognised() {
        assert_eq!(ok("result[0] < 0.05"), (Cmp::Lt, 0.05, Guard::None));
        assert_eq!(ok("result[0] >= 0.95"), (Cmp::Ge, 0.95, Guard::None));
        assert_eq!(ok("result > 10"), (Cmp::Gt, 10.0, Guard::None));
        assert_eq!(ok("result[0]<=1e-2"), (Cmp::Le, 0.01, Guard::None));
        assert_eq!(ok("(result[0] < 0.5)"), (Cmp::Lt, 0.5, Guard::None));
    }

    #[test]
    fn a_number_on_the_left_is_turned_around() {
        assert_eq!(ok("0.95 <= result[0]"), (Cmp::Ge, 0.95, Guard::None));
        assert_eq!(ok("0.05 > result[0]"), (Cmp::Lt, 0.05, Guard::None));
    }

    #[test]
    fn no_data_guards_are_recognised() {
        assert_eq!(
            ok("len(result) == 0 || result[0] >= 0.95"),
            (Cmp::Ge, 0.95, Guard::EmptyIsTrue)
        );
        assert_eq!(
            ok("isNaN(result[0]) || result[0] < 0.01"),
            (Cmp::Lt, 0.01, Guard::NanIsTrue)
        );
        assert_eq!(
            ok("result[0] >= 0.95 or len(result) == 0"),
            (Cmp::Ge, 0.95, Guard::EmptyIsTrue)
        );
        assert_eq!(
            ok("len(result) > 0 && result[0] < 0.05"),
            (Cmp::Lt, 0.05, Guard::EmptyIsFalse)
        );
        assert_eq!(
            ok("!isNaN(result[0]) && result[0] < 0.05"),
            (Cmp::Lt, 0.05, Guard::NanIsFalse)
        );
    }

    #[test]
    fn other_expressions_are_refused_with_a_reason() {
        for s in [
            "",
            "result[1] < 0.05",
            "result[0] < 0.05 && result[0] > 0.01",
            "result.successful == true",
            "result[0] == 1",
            "all(result, {# < 0.05})",
            "len(result) == 0 && result[0] < 0.05",
            "asFloat(result) < 3",
            "result[0] < 0.05 || len(result) == 0 && isNaN(result[0])",
            "default(result[0], 0) < 0.05",
        ] {
            assert!(parse(s).is_err(), "{s} should be refused");
        }
    }
}
