//! `[[policies]]` entries with `import = "file.yaml"`: the policy comes from an Argo
//! Rollouts or Flagger YAML file (`crate::import`), read relative to the scenario file.
//!
//! Reading the files is the load step's ([`Imports::read`], called by
//! `scenario::load`); parsing only looks the files up here, so `scenario::parse` reads
//! nothing. The imported keys are exactly those `rollsim import` prints (the same TOML
//! text is parsed), and keys written beside `import` override them, so `until = "end"`,
//! `on_inconclusive = "rollback"` or a sweep's parameter apply to an imported policy too.
//! Choices: a YAML that cannot be read, parsed or used is an error of the scenario, at the
//! `import` key, carrying the YAML's own `file:line:col`; fields the import cannot model
//! are warnings on [`crate::scenario::Scenario::warnings`], printed once by the commands
//! that load the scenario, so a scenario stays runnable with them as `rollsim import`
//! output does.

use std::path::Path;
use toml::de::{DeTable, DeValue};

/// The YAML files a scenario's policies import, read by the load step.
#[derive(Debug, Clone, Default)]
pub struct Imports {
    /// (file as written in `import`, the import or why it failed).
    files: Vec<(String, Result<ImportedText, String>)>,
}

/// One imported file as the scenario uses it.
#[derive(Debug, Clone)]
pub struct ImportedText {
    /// The file's path as shown in messages.
    pub shown: String,
    /// The `[[policies]]` block `rollsim import` prints for it.
    pub toml: String,
    /// Its notes, `file:line:col: field PATH: MESSAGE`.
    pub notes: Vec<String>,
}

impl ImportedText {
    /// The imported policy's table (the first `[[policies]]` entry of [`Self::toml`]).
    pub(super) fn table(&self) -> Option<DeTable<'_>> {
        let doc = DeTable::parse(&self.toml).ok()?.into_inner();
        let DeValue::Array(entries) = doc.get("policies")?.get_ref() else {
            return None;
        };
        match entries.first()?.get_ref() {
            DeValue::Table(t) => Some(t.clone()),
            _ => None,
        }
    }
}

/// The `import` strings of a scenario's text, in order, without repeats; a text that does
/// not parse has none (parsing reports why).
fn written(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let Ok(doc) = DeTable::parse(text) else {
        return out;
    };
    let Some(DeValue::Array(entries)) = doc.get_ref().get("policies").map(|p| p.get_ref()) else {
        return out;
    };
    for e in entries.iter() {
        if let Some(file) = e.get_ref().get("import").and_then(|f| f.get_ref().as_str()) {
            if !out.iter().any(|o| o == file) {
                out.push(file.to_string());
            }
        }
    }
    out
}

impl Imports {
    /// Reads and imports every file the policies of `text` import, relative to `dir`.
    /// Failures are kept, to be reported at the `import` key that names the file.
    pub fn read(text: &str, dir: &Path) -> Imports {
        let files = written(text)
            .into_iter()
            .map(|file| {
                let got = crate::import::import_file(&dir.join(&file))
                    .map(|imp| ImportedText {
                        shown: imp.origin.clone(),
                        toml: imp.to_toml(),
                        notes: imp.rendered_notes(),
                    })
                    .map_err(|e| e.to_string());
                (file, got)
            })
            .collect();
        Imports { files }
    }

    /// Adds an import done elsewhere (a YAML text imported with `crate::import::import_str`),
    /// under the name a scenario's `import` gives it.
    pub fn insert(&mut self, written: &str, imported: &crate::import::Imported) {
        self.files.retain(|(f, _)| f != written);
        self.files.push((
            written.to_string(),
            Ok(ImportedText {
                shown: imported.origin.clone(),
                toml: imported.to_toml(),
                notes: imported.rendered_notes(),
            }),
        ));
    }

    /// The import of `written`, or the message for its `import` key.
    pub(super) fn get(&self, written: &str) -> Result<&ImportedText, String> {
        match self.files.iter().find(|(f, _)| f == written) {
            Some((_, Ok(t))) => Ok(t),
            Some((_, Err(e))) => Err(format!("cannot import {written:?}: {e}")),
            None => Err(format!(
                "`import = {written:?}` reads a file, which parsing text does not do; expected the scenario loaded from its file (`scenario::load`)"
            )),
        }
    }
}
