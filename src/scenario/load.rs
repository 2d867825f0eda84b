//! The load step and the parse: [`load`] reads a scenario file and the YAML files its
//! policies import; [`parse_with`] is a pure function of texts (the scenario's and the
//! imports already read), so a scenario can be checked without touching the disk.

use super::error::{Located, ScenarioError};
use super::imports::Imports;
use super::raw::RawScenario;
use super::{limits, policies, services, span, validate, Scenario};
use serde::Deserialize;
use std::path::Path;
use toml::de::{DeTable, Deserializer};
use toml::Spanned;

/// Reads a scenario file as text; invalid UTF-8 is a problem at its `file:line:col`.
pub fn read(path: &Path) -> Result<String, ScenarioError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ScenarioError::Read {
        path: origin.clone(),
        reason: e.to_string(),
    })?;
    crate::check::decode(bytes).map_err(|l| ScenarioError::Invalid {
        origin,
        problems: vec![l],
    })
}

/// Reads, parses and checks a scenario file, with the files its policies import.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = read(path)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    load_text(&text, &path.display().to_string(), dir)
}

/// The load step for text in hand (a file already read, a sweep point): reads the files
/// its policies import, relative to `dir`, then parses.
pub fn load_text(text: &str, origin: &str, dir: &Path) -> Result<Scenario, ScenarioError> {
    parse_with(text, origin, &Imports::read(text, dir))
}

/// [`load_text`] under its former name (callers that parse a sweep point with imports).
pub fn parse_at(text: &str, origin: &str, dir: &Path) -> Result<Scenario, ScenarioError> {
    load_text(text, origin, dir)
}

/// Parses and checks scenario text that imports nothing; `origin` names it in messages.
/// A policy's `import` is an error here: files are read by [`load`].
pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    parse_with(text, origin, &Imports::default())
}

/// Parses and checks scenario text whose imports are already read: no I/O.
pub fn parse_with(text: &str, origin: &str, imports: &Imports) -> Result<Scenario, ScenarioError> {
    let invalid = |problems: Vec<Located>| ScenarioError::Invalid {
        origin: origin.to_string(),
        problems,
    };
    if let Some(at) = limits::too_deep(text) {
        return Err(invalid(vec![limits::too_deep_at(text, at)]));
    }
    let doc = DeTable::parse(text).map_err(|e| invalid(vec![policies::toml_error(text, &e, 0)]))?;
    let whole = doc.span();
    let mut root = doc.into_inner();
    let entries = root.remove("policies");
    let raw = RawScenario::deserialize(Deserializer::from(Spanned::new(whole, root)))
        .map_err(|e| invalid(vec![policies::toml_error(text, &e, 0)]))?;
    let raw_policies = match entries {
        Some(v) => policies::read_all(v, text, imports).map_err(invalid)?,
        None => Vec::new(),
    };
    let warnings = policies::warnings(&raw_policies, text, origin);
    let bounds = limits::Limits::of(raw.limits.as_ref());
    let checked = if services::is_system(&raw) {
        let copy = raw.clone();
        validate::validate(raw, &raw_policies)
            .and_then(|s| services::attach(s, &copy, &raw_policies))
    } else {
        validate::validate(raw, &raw_policies)
    };
    let checked = checked.and_then(|s| limits::within(s, &bounds));
    let mut scn = checked.map_err(|mut problems| {
        policies::annotate(&raw_policies, &mut problems);
        let mut located = span::locate_all(text, problems);
        // In file order, whatever order the sections were checked in.
        located.sort_by_key(|l| (l.line, l.col));
        invalid(located)
    })?;
    scn.warnings.splice(0..0, warnings);
    Ok(scn)
}
