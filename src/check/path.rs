//! Key paths (`policies[2].failures`): where a problem found on a typed value lies, named
//! before the text is consulted (the scenario maps a path back to `line:col`).

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(&'static str),
    Index(usize),
}

/// A problem named by its key path, before it is located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: Vec<Seg>,
    pub message: String,
}

/// A key path (`policies[2].failures`), located in the text once checking is done.
pub type Path = Vec<Seg>;

/// `base` followed by the key `key`.
pub fn at(base: &[Seg], key: &'static str) -> Path {
    let mut p = base.to_vec();
    p.push(Seg::Key(key));
    p
}

/// `base` followed by the array index `i`.
pub fn idx(base: &[Seg], i: usize) -> Path {
    let mut p = base.to_vec();
    p.push(Seg::Index(i));
    p
}
