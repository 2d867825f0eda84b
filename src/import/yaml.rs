//! A read-only view of a YAML stream that knows where every node is and which nodes the
//! importer has read, so that every field it did not use can be listed by name.
//!
//! The importer walks the documents through [`Node`]s; each access marks the node it
//! returns as read. [`unread`] then walks the whole tree and returns every mapping entry
//! or sequence item never read (the top-most one of an unread subtree), which is how the
//! "never silently dropped" rule is enforced in one place rather than field by field.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use std::cell::RefCell;
use std::collections::HashSet;

/// A 1-based line and column in the YAML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// The deepest nesting of sequences and mappings accepted. A controller's config nests
/// a dozen levels at most; a tree thousands of levels deep would overflow the stack of
/// the code that builds, walks and drops it, so it is refused before it is built.
pub const MAX_DEPTH: usize = 128;

/// Parses every document of a YAML stream, keeping positions. A stream nested deeper
/// than [`MAX_DEPTH`] is an error at the node that goes past it.
pub fn parse(text: &str) -> Result<Vec<MarkedYaml<'_>>, SyntaxError> {
    check_depth(text)?;
    MarkedYaml::load_from_str(text).map_err(|e| SyntaxError {
        pos: Pos {
            line: e.marker().line(),
            col: e.marker().col() + 1,
        },
        message: e.info().to_string(),
    })
}

/// Walks the parser's events (no tree, no recursion) and refuses nesting deeper than
/// [`MAX_DEPTH`]. A syntax error is left to the loader, which reports it the same way.
fn check_depth(text: &str) -> Result<(), SyntaxError> {
    use saphyr_parser::{Event, Parser};
    let mut depth = 0usize;
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            return Ok(());
        };
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(SyntaxError {
                        pos: Pos {
                            line: span.start.line(),
                            col: span.start.col() + 1,
                        },
                        message: format!(
                            "nested more than {MAX_DEPTH} levels deep; a controller's config \
                             needs a dozen at most"
                        ),
                    });
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Which nodes were read (by address: the tree is never moved while it is borrowed).
#[derive(Debug, Default)]
pub struct Reads {
    read: RefCell<HashSet<usize>>,
    whole: RefCell<HashSet<usize>>,
}

fn addr(y: &MarkedYaml<'_>) -> usize {
    std::ptr::from_ref(y) as usize
}

impl Reads {
    fn mark(&self, y: &MarkedYaml<'_>) {
        self.read.borrow_mut().insert(addr(y));
    }
    fn mark_whole(&self, y: &MarkedYaml<'_>) {
        self.mark(y);
        self.whole.borrow_mut().insert(addr(y));
    }
    fn was_read(&self, y: &MarkedYaml<'_>) -> bool {
        self.read.borrow().contains(&addr(y))
    }
    fn was_read_whole(&self, y: &MarkedYaml<'_>) -> bool {
        self.whole.borrow().contains(&addr(y))
    }
}

/// One node of a document with its dotted path (`spec.metrics[1].provider`) and the
/// position of the key that names it (or of the node itself for sequence items).
#[derive(Clone)]
pub struct Node<'a, 't> {
    y: &'a MarkedYaml<'t>,
    pub path: String,
    pub pos: Pos,
    reads: &'a Reads,
}

fn pos_of(y: &MarkedYaml<'_>) -> Pos {
    Pos {
        line: y.span.start.line(),
        col: y.span.start.col() + 1,
    }
}

/// Strips tags (`!!str 5`) so a tagged value reads as its content.
fn untag<'a, 't>(y: &'a MarkedYaml<'t>) -> &'a MarkedYaml<'t> {
    match &y.data {
        YamlData::Tagged(_, inner) => untag(inner),
        _ => y,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A scalar as text, whatever YAML typed it as (`5`, `"5"`, `5m`).
fn scalar_text(y: &MarkedYaml<'_>) -> Option<String> {
    match &untag(y).data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

impl<'a, 't> Node<'a, 't> {
    /// The root of a document; it counts as read.
    pub fn root(y: &'a MarkedYaml<'t>, reads: &'a Reads) -> Self {
        reads.mark(y);
        Node {
            y,
            path: String::new(),
            pos: pos_of(y),
            reads,
        }
    }

    /// The value under `key` of a mapping, marked as read.
    pub fn get(&self, key: &str) -> Option<Node<'a, 't>> {
        let YamlData::Mapping(m) = &untag(self.y).data else {
            return None;
        };
        m.iter().find_map(|(k, v)| {
            (scalar_text(k).as_deref() == Some(key)).then(|| {
                self.reads.mark(v);
                Node {
                    y: v,
                    path: join(&self.path, key),
                    pos: pos_of(k),
                    reads: self.reads,
                }
            })
        })
    }

    /// Whether a mapping has `key`, without marking it read.
    pub fn has(&self, key: &str) -> bool {
        let YamlData::Mapping(m) = &untag(self.y).data else {
            return false;
        };
        m.keys().any(|k| scalar_text(k).as_deref() == Some(key))
    }

    /// The items of a sequence, each marked as read (empty for anything else).
    pub fn items(&self) -> Vec<Node<'a, 't>> {
        let YamlData::Sequence(s) = &untag(self.y).data else {
            return Vec::new();
        };
        s.iter()
            .enumerate()
            .map(|(i, v)| {
                self.reads.mark(v);
                Node {
                    y: v,
                    path: format!("{}[{i}]", self.path),
                    pos: pos_of(v),
                    reads: self.reads,
                }
            })
            .collect()
    }

    /// The keys of a mapping, in order (nothing is marked).
    pub fn keys(&self) -> Vec<String> {
        let YamlData::Mapping(m) = &untag(self.y).data else {
            return Vec::new();
        };
        m.keys().filter_map(scalar_text).collect()
    }

    /// Marks this node and everything under it as read: used for fields that have been
    /// reported already or that have no bearing on a decision (`metadata`).
    pub fn read_whole(&self) {
        self.reads.mark_whole(self.y);
    }

    /// The scalar as text (a number or boolean is given as YAML wrote it).
    pub fn text(&self) -> Option<String> {
        scalar_text(self.y)
    }

    /// The scalar, tags stripped; `None` for a mapping, a sequence or an alias.
    fn scalar(&self) -> Option<&'a Scalar<'t>> {
        match &untag(self.y).data {
            YamlData::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A string scalar (numbers and booleans are not strings here).
    pub fn str(&self) -> Option<&'a str> {
        self.scalar()?.as_str()
    }

    /// An integer scalar.
    pub fn int(&self) -> Option<i64> {
        self.scalar()?.as_integer()
    }

    /// A number scalar (integer or float).
    pub fn number(&self) -> Option<f64> {
        match self.scalar()? {
            Scalar::Integer(i) => Some(*i as f64),
            Scalar::FloatingPoint(f) => Some(f.into_inner()),
            _ => None,
        }
    }

    /// A boolean scalar.
    pub fn bool(&self) -> Option<bool> {
        self.scalar()?.as_bool()
    }

    /// Whether the node is null or absent-like (`~`, `null`, empty value).
    pub fn is_null(&self) -> bool {
        self.scalar().is_some_and(Scalar::is_null)
    }

    /// Whether the node is a mapping.
    pub fn is_mapping(&self) -> bool {
        matches!(&untag(self.y).data, YamlData::Mapping(_))
    }
}

/// A field nobody read: its path and where its key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub path: String,
    pub pos: Pos,
}

/// Every mapping entry and sequence item of `root` that was not read, top-most only.
pub fn unread(root: &MarkedYaml<'_>, reads: &Reads) -> Vec<Unread> {
    let mut out = Vec::new();
    walk(root, "", reads, &mut out);
    out
}

fn walk(y: &MarkedYaml<'_>, path: &str, reads: &Reads, out: &mut Vec<Unread>) {
    if reads.was_read_whole(y) {
        return;
    }
    // Each child with its path and the node whose position names it (a mapping entry's
    // key, a sequence item itself).
    let children: Vec<(String, &MarkedYaml<'_>, &MarkedYaml<'_>)> = match &untag(y).data {
        YamlData::Mapping(m) => m
            .iter()
            .map(|(k, v)| {
                let key = scalar_text(k).unwrap_or_else(|| "?".into());
                (join(path, &key), v, k)
            })
            .collect(),
        YamlData::Sequence(s) => s
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{path}[{i}]"), v, v))
            .collect(),
        _ => vec![],
    };
    for (p, v, named_at) in children {
        if reads.was_read(v) {
            walk(v, &p, reads, out);
        } else {
            out.push(Unread {
                path: p,
                pos: pos_of(named_at),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_one_based_positions() {
        let e = parse("a: 1\nb: [1, 2\n").err().map(|e| e.pos);
        assert!(matches!(e, Some(Pos { line, .. }) if line >= 2), "{e:?}");
        let e = parse("a: b: c\n").err();
        assert_eq!(e.map(|e| e.pos), Some(Pos { line: 1, col: 5 }));
    }

    #[test]
    fn nesting_is_bounded_before_the_tree_is_built() {
        // At the limit: fine, in block and flow style.
        let block = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        assert!(parse(&block).is_ok());
        let flow = format!(
            "a: {}{}\n",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(&flow).is_ok());
        // One past it: the node that goes past, located. The k-th `- ` starts at 2k-1.
        let e = parse(&format!("{}x\n", "- ".repeat(MAX_DEPTH + 1))).err();
        assert_eq!(
            e.as_ref().map(|e| e.pos),
            Some(Pos {
                line: 1,
                col: 2 * (MAX_DEPTH + 1) - 1
            })
        );
        assert!(e.is_some_and(|e| e.message.contains("nested more than 128 levels")));
        // The example: 17,000 levels, which overflowed the stack.
        let e = parse(&format!("{}x\n", "- ".repeat(17_000))).err();
        assert_eq!(e.map(|e| e.pos.col), Some(2 * (MAX_DEPTH + 1) - 1));
        let mappings: String = (0..200)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        let e = parse(&format!("{mappings}{}x\n", "  ".repeat(200))).err();
        assert_eq!(
            e.map(|e| e.pos),
            Some(Pos {
                line: MAX_DEPTH + 1,
                col: 2 * MAX_DEPTH + 1
            })
        );
    }

    #[test]
    fn unread_lists_top_most_unread_fields_with_positions() {
        let docs =
            parse("spec:\n  a: 1\n  b:\n    c: 2\n    d: 3\n  e: [x, y]\n").unwrap_or_default();
        let reads = Reads::default();
        let root = Node::root(&docs[0], &reads);
        let spec = root.get("spec").map(|s| {
            s.get("a");
            let b = s.get("b");
            b.and_then(|b| b.get("c")).map(|c| c.int())
        });
        assert_eq!(spec, Some(Some(Some(2))));
        let got: Vec<(String, usize, usize)> = unread(&docs[0], &reads)
            .into_iter()
            .map(|u| (u.path, u.pos.line, u.pos.col))
            .collect();
        assert_eq!(
            got,
            vec![("spec.b.d".to_string(), 5, 5), ("spec.e".to_string(), 6, 3)]
        );
    }

    #[test]
    fn scalars_read_as_yaml_typed_them() {
        let docs = parse("a: 5\nb: \"5\"\nc: 0.5\nd: 5m\ne: true\n").unwrap_or_default();
        let reads = Reads::default();
        let r = Node::root(&docs[0], &reads);
        let get = |k: &str| r.get(k);
        assert_eq!(get("a").and_then(|n| n.int()), Some(5));
        assert_eq!(get("b").and_then(|n| n.int()), None);
        assert_eq!(get("b").and_then(|n| n.text()), Some("5".into()));
        assert_eq!(get("c").and_then(|n| n.number()), Some(0.5));
        assert_eq!(get("d").and_then(|n| n.str()), Some("5m"));
        assert_eq!(get("e").and_then(|n| n.bool()), Some(true));
    }
}
