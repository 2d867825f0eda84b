//! Import of real controller configs: an Argo Rollouts `AnalysisTemplate`,
//! `ClusterAnalysisTemplate` or `Rollout` (with the templates it references, when they are
//! in the same multi-document file), or a Flagger `Canary`, turned into the equivalent
//! rollsim policy.
//!
//! Users tune a policy in rollsim and carry it back to production, so the import must say
//! exactly what it did: every value written comes with the field it came from, and every
//! field rollsim cannot model (another metric provider, a condition it cannot read, a
//! webhook, header routing, a progress deadline, ...) is listed by name as a [`Note`],
//! never silently dropped. The rules of each controller are in [`argo`] and [`flagger`];
//! the field names and defaults were checked in the controllers' source (cited there).
//!
//! No I/O here except reading the file in [`import_file`]; rendering the policy as TOML
//! is [`Imported::to_toml`], which both `rollsim import` and a scenario's
//! `import = "file.yaml"` use, so the two always agree.

pub mod argo;
pub mod condition;
mod emit;
pub mod flagger;
pub mod prometheus;
pub mod promql;
mod yaml;

pub use yaml::Pos;

use std::path::Path;
use yaml::{Node, Reads};

/// Something in the YAML that rollsim does not model, or models differently, named by its
/// field path and position so the user can find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub pos: Pos,
    /// Dotted path inside its document (`spec.metrics[1].provider.web`).
    pub path: String,
    /// The document, in a file of several (`AnalysisTemplate "success-rate"`).
    pub doc: Option<String>,
    pub message: String,
}

impl Note {
    /// `file:line:col: field PATH: MESSAGE`, with `of KIND "NAME"` after the path in a
    /// file of several documents.
    pub fn render(&self, origin: &str) -> String {
        let doc = self
            .doc
            .as_ref()
            .map(|d| format!(" of {d}"))
            .unwrap_or_default();
        let field = if self.path.is_empty() {
            String::new()
        } else {
            format!("field {}{doc}: ", self.path)
        };
        format!(
            "{origin}:{}:{}: {field}{}",
            self.pos.line, self.pos.col, self.message
        )
    }
}

/// A value written for a policy key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    /// A list of integers (Flagger's `stepWeights`).
    Ints(Vec<i64>),
    Float(f64),
    /// A duration in milliseconds, written as a duration string.
    Dur(u64),
    /// A TOML value written verbatim (a `burn_rate` policy's `windows`).
    Raw(String),
}

/// One `key = value` of the policy and the field it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: &'static str,
    pub value: Value,
    /// Where the value came from (a field path and line, or how it was derived).
    pub source: String,
}

/// One canary step of the imported rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Percent of traffic on the new version.
    pub weight: i64,
    pub pause_ms: u64,
    /// After the pause: a step analysis (`analysis = true`) or a person (`approval = true`).
    pub gate: crate::check::StepGate,
    pub source: String,
}

/// The policy imported from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The file as named by the caller (used in notes).
    pub origin: String,
    /// The policy name (the resource's `metadata.name`).
    pub name: String,
    /// The rollsim policy kind (`argo_analysis` or `flagger`).
    pub kind: &'static str,
    /// Comment lines on what was read and how the model differs.
    pub header: Vec<String>,
    pub entries: Vec<Entry>,
    /// Canary steps when the YAML defines traffic steps.
    pub steps: Option<Vec<Step>>,
    /// Fields not modelled, in file order.
    pub notes: Vec<Note>,
}

impl Imported {
    /// What an importer read: the resource's `name` ("imported" when it has none), the
    /// rollsim `kind`, the header lines, the entries and the canary steps. The caller
    /// ([`import_str`]) fills in the origin and the notes.
    fn new(
        name: &str,
        kind: &'static str,
        header: Vec<String>,
        entries: Vec<Entry>,
        steps: Option<Vec<Step>>,
    ) -> Imported {
        Imported {
            origin: String::new(),
            name: if name.is_empty() { "imported" } else { name }.into(),
            kind,
            header,
            entries,
            steps,
            notes: Vec::new(),
        }
    }

    /// The `[[policies]]` block with a comment on every value (see `emit`).
    pub fn to_toml(&self) -> String {
        emit::render(self)
    }

    /// Every note as `file:line:col: field PATH: MESSAGE`.
    pub fn rendered_notes(&self) -> Vec<String> {
        self.notes.iter().map(|n| n.render(&self.origin)).collect()
    }
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The YAML is not well formed.
    #[error("{origin}:{}:{}: {message}", .pos.line, .pos.col)]
    Syntax {
        origin: String,
        pos: Pos,
        message: String,
    },
    /// Nothing rollsim can model remains; the notes say what was skipped and why.
    #[error("{}", render_unusable(.origin, .pos, .message, .notes))]
    Unusable {
        origin: String,
        pos: Pos,
        message: String,
        notes: Vec<Note>,
    },
}

fn render_unusable(origin: &str, pos: &Pos, message: &str, notes: &[Note]) -> String {
    let mut s = format!("{origin}:{}:{}: {message}", pos.line, pos.col);
    for n in notes {
        s.push('\n');
        s.push_str(&n.render(origin));
    }
    s
}

/// Reads and imports a YAML file; `path` names it in every message.
/// Invalid UTF-8 is a syntax error at the first bad byte.
pub fn import_file(path: &Path) -> Result<Imported, ImportError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: origin.clone(),
        source,
    })?;
    let text = crate::check::decode(bytes).map_err(|l| ImportError::Syntax {
        origin: origin.clone(),
        pos: Pos {
            line: l.line,
            col: l.col,
        },
        message: l.message,
    })?;
    import_str(&text, &origin)
}

/// Collects notes while a document is mapped.
#[derive(Debug, Default)]
pub(crate) struct Notes(Vec<Note>);

impl Notes {
    /// A note on a field.
    pub(crate) fn add(&mut self, n: &Node<'_, '_>, message: impl Into<String>) {
        self.0.push(Note {
            pos: n.pos,
            path: n.path.clone(),
            doc: None,
            message: message.into(),
        });
    }

    /// A note on a field that is skipped with everything under it.
    pub(crate) fn skip(&mut self, n: &Node<'_, '_>, message: impl Into<String>) {
        n.read_whole();
        self.add(n, message);
    }
}

/// A document of the stream with its kind and name.
pub(crate) struct Doc<'a, 't> {
    y: &'a saphyr::MarkedYaml<'t>,
    pub node: Node<'a, 't>,
    pub kind: String,
    pub name: String,
    /// Whether the importer used this document.
    pub used: std::cell::Cell<bool>,
}

/// Imports YAML text; `origin` names it in messages.
pub fn import_str(text: &str, origin: &str) -> Result<Imported, ImportError> {
    let docs = yaml::parse(text).map_err(|e| ImportError::Syntax {
        origin: origin.to_string(),
        pos: e.pos,
        message: e.message,
    })?;
    let reads = Reads::default();
    let mut notes = Notes::default();
    let mut all: Vec<Doc> = Vec::new();
    for d in &docs {
        let node = Node::root(d, &reads);
        if node.is_null() {
            continue;
        }
        let kind = node.get("kind").and_then(|k| k.text()).unwrap_or_default();
        node.get("apiVersion");
        let name = node
            .get("metadata")
            .map(|m| {
                m.read_whole();
                m.get("name").and_then(|n| n.text()).unwrap_or_default()
            })
            .unwrap_or_default();
        all.push(Doc {
            y: d,
            node,
            kind,
            name,
            used: std::cell::Cell::new(false),
        });
    }
    let first = all
        .first()
        .map(|d| d.node.pos)
        .unwrap_or(Pos { line: 1, col: 1 });
    let has = |k: &str| all.iter().any(|d| d.kind == k);
    let result = if all
        .iter()
        .any(|d| d.kind.is_empty() && d.node.has("groups"))
    {
        prometheus::import(&all, &mut notes)
    } else if has("Canary") {
        flagger::import(&all, &mut notes)
    } else if has("Rollout") || has("AnalysisTemplate") || has("ClusterAnalysisTemplate") {
        argo::import(&all, &mut notes)
    } else {
        Err(Unusable {
            pos: first,
            message: "nothing to import: expected a document of kind AnalysisTemplate, \
                      ClusterAnalysisTemplate or Rollout (Argo Rollouts), Canary (Flagger), or a \
                      Prometheus rule file (`groups:` of alerting rules)"
                .into(),
        })
    };
    for d in &all {
        if !d.used.get() {
            let named = if d.name.is_empty() {
                String::new()
            } else {
                format!(" named {:?}", d.name)
            };
            d.node.read_whole();
            let at = d.node.get("kind").unwrap_or_else(|| d.node.clone());
            if d.kind.is_empty() {
                notes.add(&at, "a document without `kind` is not imported");
            } else {
                notes.add(
                    &at,
                    format!("a {:?} document{named} is not imported", d.kind),
                );
            }
            continue;
        }
        for u in yaml::unread(d.y, &reads) {
            notes.0.push(Note {
                message: explain(&u.path),
                pos: u.pos,
                path: u.path,
                doc: None,
            });
        }
    }
    let mut notes = notes.0;
    if all.len() > 1 {
        for n in &mut notes {
            let d = all.iter().rev().find(|d| d.node.pos <= n.pos);
            n.doc = d.map(|d| format!("{} {:?}", d.kind, d.name));
        }
    }
    notes.sort_by(|a, b| a.pos.cmp(&b.pos).then(a.path.cmp(&b.path)));
    notes.dedup();
    match result {
        Ok(mut imp) => {
            imp.origin = origin.to_string();
            imp.notes = notes;
            Ok(imp)
        }
        Err(u) => Err(ImportError::Unusable {
            origin: origin.to_string(),
            pos: u.pos,
            message: u.message,
            notes,
        }),
    }
}

/// The importers' failure: nothing usable, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unusable {
    pub pos: Pos,
    pub message: String,
}

/// Why a field nobody read is not imported, by its name.
fn explain(path: &str) -> String {
    let key = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or(path);
    let msg = match key {
        "progressDeadlineSeconds" | "progressDeadlineAbort" => {
            "the progress deadline is not modelled: a rollout in rollsim never stalls; ignored"
        }
        "trafficRouting" => {
            "traffic routing is not modelled: rollsim sends exactly each step's weight to the new version; ignored"
        }
        "replicas" => {
            "the replica count belongs to the scenario (`service.replicas`); ignored"
        }
        "template" | "selector" | "workloadRef" | "minReadySeconds" | "revisionHistoryLimit"
        | "targetRef" | "service" | "autoscalerRef" | "ingressRef" | "routeRef"
        | "upstreamRef" => {
            "describes the workload, not the rollback decision: rollsim models the service in the scenario; ignored"
        }
        "canaryService" | "stableService" | "maxSurge" | "maxUnavailable"
        | "scaleDownDelaySeconds" | "scaleDownDelayRevisionLimit"
        | "abortScaleDownDelaySeconds" | "dynamicStableScale" | "antiAffinity"
        | "canaryMetadata" | "stableMetadata" | "pingPong" | "minPodsPerReplicaSet"
        | "replicaProgressThreshold" | "primaryReadyThreshold" | "canaryReadyThreshold" => {
            "pod and service management is not modelled; ignored"
        }
        "measurementRetention" | "analysisRunMetadata" | "analysis" | "args" => {
            "only changes what is kept, labelled or passed on: no effect on the decision; ignored"
        }
        "headers" | "authentication" | "timeout" | "insecure" | "address" | "secretRef" => {
            "a connection setting of the metric provider: no effect on what rollsim simulates; ignored"
        }
        "rangeQuery" => {
            "a range query returns many values (`result[0]` is the oldest); not modelled; ignored"
        }
        "status" => "the controller's status, not configuration; ignored",
        "provider" | "metricsServer" => {
            "the mesh or metrics provider is not modelled: rollsim measures the new version directly; ignored"
        }
        "revertOnDeletion" | "suspend" | "paused" | "restartAt" | "rollbackWindow" => {
            "a lifecycle switch rollsim does not model; ignored"
        }
        _ => "not modelled by rollsim; ignored",
    };
    msg.to_string()
}

/// Parses a Go duration (`time.ParseDuration`: "1m30s", "300ms", "1.5h", "0") into whole
/// milliseconds; a remainder below a millisecond is an error.
pub fn go_duration_ms(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a Go duration such as \"30s\", \"5m\" or \"1h30m\"");
    if t == "0" {
        return Ok(0);
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || t.starts_with('-') {
        return Err(bad());
    }
    let mut ns: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let num: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        ns += num * unit;
        rest = &rest[u..];
    }
    let ms = ns / 1e6;
    if (ms - ms.round()).abs() > 1e-9 {
        return Err(format!(
            "{s:?} is finer than a millisecond; rollsim counts whole milliseconds"
        ));
    }
    if ms > MAX_MS as f64 {
        return Err(format!("{s:?} is longer than 10 years"));
    }
    Ok(ms.round() as u64)
}

/// The longest duration a scenario accepts (`scenario::raw::parse_duration`).
pub const MAX_MS: u64 = 10 * 365 * 86_400_000;

/// What the importers' unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{import_str, Imported, Value};

    /// Imports `yaml`, failing the test with the error.
    pub fn ok(yaml: &str) -> Imported {
        match import_str(yaml, "t.yaml") {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        }
    }

    /// The value written for `key`.
    pub fn get<'a>(i: &'a Imported, key: &str) -> Option<&'a Value> {
        i.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_as_go_does() {
        assert_eq!(go_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(go_duration_ms("300ms"), Ok(300));
        assert_eq!(go_duration_ms("1.5h"), Ok(5_400_000));
        assert_eq!(go_duration_ms("0"), Ok(0));
        assert_eq!(go_duration_ms("2h45m"), Ok(9_900_000));
        assert!(go_duration_ms("5").is_err());
        assert!(go_duration_ms("5 m").is_err());
        assert!(go_duration_ms("-5s").is_err());
        assert!(go_duration_ms("1d").is_err());
        assert_eq!(go_duration_ms("2000us"), Ok(2));
        assert!(go_duration_ms("1500us").is_err());
        assert!(go_duration_ms("1ns").is_err());
    }

    /// The importers write durations with `check::duration_text`, which a scenario reads
    /// back to the same milliseconds, days and the longest accepted duration included.
    #[test]
    fn durations_round_trip_through_rollsim_strings() {
        for ms in [
            1, 500, 10_000, 90_000, 5_400_000, 86_400_000, 90_061_001, MAX_MS,
        ] {
            let s = crate::check::duration_text(ms);
            assert_eq!(crate::check::parse_duration(&s).map(|d| d.0), Ok(ms), "{s}");
        }
        assert_eq!(crate::check::duration_text(86_400_000), "24h");
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let e = import_str("kind: AnalysisTemplate\nspec: [1, 2\n", "x.yaml");
        let Err(e @ ImportError::Syntax { .. }) = e else {
            panic!("expected a syntax error, got {e:?}");
        };
        assert!(e.to_string().starts_with("x.yaml:"), "{e}");
    }

    #[test]
    fn other_kinds_are_refused() {
        let e = import_str(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n",
            "s.yaml",
        );
        assert!(matches!(e, Err(ImportError::Unusable { .. })), "{e:?}");
    }
}
