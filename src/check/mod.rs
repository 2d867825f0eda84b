//! Checking written values: the toolkit the scenario's sections and every policy kind's
//! keys are checked with, and the checked values both sides hold.
//!
//! It sits below both so that data flows one way: `policy` imports only this module (and
//! itself), `scenario` imports `policy` and this module, and this module imports neither.
//! - `written`: values as written (durations held in whole milliseconds, duration
//!   distributions) and the key list of a serde struct (`fields_of`), so key lists in
//!   messages never drift from the types;
//! - `path`: key paths (`policies[2].failures`) that name where a problem lies;
//! - `checker`: the [`Checker`], which applies defaults and ranges and collects every
//!   problem with its key path, with messages of one shape everywhere;
//! - `text`: positions in written text (`Located`, `line_col`) and UTF-8 decoding with the
//!   first invalid byte located, shared by the scenario and the YAML importer;
//! - `values`: the checked rollout, human, duration distributions and per-policy choices.

mod checker;
mod path;
mod text;
mod values;
mod written;

pub use checker::{does_not_apply, Checker, Table, MAX_COUNT, Z95};
pub use path::{at, idx, Path, Problem, Seg};
pub use text::{decode, json_error_text, line_col, Located};
pub use values::{
    Action, CanaryStep, Checkpoint, Day, DurationDist, Human, PolicyContext, Rollout, StepGate,
    Strategy, UnsafeRollback, Until,
};
pub use written::{duration_text, fields_of, parse_duration, Dur, DurDist, ShapedDist};
