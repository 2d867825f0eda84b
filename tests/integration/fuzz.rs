//! A bounded fuzz test: the shipped scenarios, controller YAML and recordings, mutated
//! (bytes flipped, spans deleted or repeated, lines swapped, numbers made huge, tokens
//! inserted), go through `validate` + `run`, `import` and `replay` in the binary, each
//! under a memory cap (`ulimit -v`) and a wall-clock limit. Whatever the input, the
//! process must end by itself with exit code 0, 1 or 2: no panic (101), no abort (a
//! signal, such as an allocation over the cap), no hang.
//!
//! The default is a few dozen inputs (seconds). For a longer session:
//! `ROLLSIM_FUZZ_CASES=2000 ROLLSIM_FUZZ_SEED=7 cargo test --release --test integration
//! fuzz -- --nocapture`; a failing input is kept under `target/fuzz-failures/` with the
//! command that failed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Virtual memory a process may map (KiB): far above what any shipped input needs.
const MEMORY_KIB: u64 = 3_000_000;

/// Wall-clock time one command may take before it counts as a hang.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Tokens that tend to find edges: huge and negative numbers, tiny durations, NUL,
/// invalid UTF-8, unbalanced brackets, YAML anchors, CSV and TOML structure.
const TOKENS: &[&[u8]] = &[
    b"1e9",
    b"0",
    b"-1",
    b"1e308",
    b"18446744073709551616",
    b"nan",
    b"inf",
    b"\"\"",
    b"\0",
    b"\xff\xfe",
    b"[",
    b"{",
    b"]]",
    b"- ",
    b"\n",
    b",",
    b"=",
    b"1ms",
    b"99999d",
    b"&a ",
    b"*a",
    b"[[policies]]\nname = \"x\"\n",
    b"\"\xc3\x28\"",
];

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("rollsim")
}

fn cases() -> usize {
    std::env::var("ROLLSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

fn seed() -> u64 {
    std::env::var("ROLLSIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(19)
}

/// One or two random edits of `input`.
pub fn mutate(input: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..rng.random_range(1..=2) {
        if b.is_empty() {
            b.extend_from_slice(TOKENS[rng.random_range(0..TOKENS.len())]);
            continue;
        }
        let at = rng.random_range(0..b.len());
        match rng.random_range(0..7) {
            0 => b[at] = rng.random(),
            1 => {
                let end = (at + rng.random_range(1..=16)).min(b.len());
                b.drain(at..end);
            }
            2 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            3 => {
                // Repeat the line holding `at`.
                let start = b[..at]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1);
                let end = b[at..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |i| at + i + 1);
                let line = b[start..end].to_vec();
                b.splice(end..end, line);
            }
            4 => {
                // A number made huge (or negative, or fractional).
                if let Some(d) = b[at..].iter().position(u8::is_ascii_digit) {
                    let start = at + d;
                    let end = b[start..]
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .map_or(b.len(), |i| start + i);
                    let huge: &[u8] = match rng.random_range(0..4) {
                        0 => b"99999999999",
                        1 => b"1000000",
                        2 => b"0.000001",
                        _ => b"-5",
                    };
                    b.splice(start..end, huge.iter().copied());
                }
            }
            5 => {
                // Swap this line with another.
                let text = b
                    .split(|&c| c == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect::<Vec<_>>();
                let mut lines = text;
                let (i, j) = (
                    rng.random_range(0..lines.len()),
                    rng.random_range(0..lines.len()),
                );
                lines.swap(i, j);
                b = lines.join(&b'\n');
            }
            _ => {
                let end = (at + rng.random_range(1..=64)).min(b.len());
                let span = b[at..end].to_vec();
                b.splice(end..end, span);
            }
        }
    }
    b
}

/// How one command ended.
struct Ended {
    code: Option<i32>,
    stderr: String,
    hung: bool,
}

/// Runs the binary with `args` in `dir` under the memory cap and time limit.
fn run_capped(dir: &Path, args: &[&str]) -> Ended {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_KIB} 2>/dev/null; exec \"$0\" \"$@\""
        ))
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let mut pipe = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = pipe.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let start = Instant::now();
    let mut hung = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("the child's status") {
            break s;
        }
        if start.elapsed() > TIME_LIMIT {
            hung = true;
            let _ = child.kill();
            break child.wait().expect("the killed child");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ended {
        code: status.code(),
        stderr: reader.join().unwrap_or_default(),
        hung,
    }
}

/// What went wrong with one input, if anything; the input is kept for reproduction.
fn judge(failures: &mut Vec<String>, case: &str, input: &Path, args: &[&str], e: &Ended) {
    let ok = !e.hung
        && matches!(e.code, Some(0..=2))
        && !e.stderr.contains("panicked")
        && !e.stderr.contains("overflow");
    if ok {
        return;
    }
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("..")
        .join("fuzz-failures")
        .join(case);
    let _ = std::fs::create_dir_all(&keep);
    let _ = std::fs::copy(input, keep.join(input.file_name().unwrap_or_default()));
    let tail: String = e
        .stderr
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .join(" | ");
    failures.push(format!(
        "{case}: rollsim {} -> {} (input kept in {}): {tail}",
        args.join(" "),
        if e.hung {
            "hung".to_string()
        } else {
            format!("exit {:?}", e.code)
        },
        keep.display()
    ));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a directory");
    for e in std::fs::read_dir(from)
        .expect("a readable directory")
        .flatten()
    {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("a copy");
        }
    }
}

#[test]
fn mutated_inputs_never_crash_abort_or_hang() {
    let mut failures = Vec::new();
    // (valid scenarios run, imports that succeeded, replays that succeeded)
    let mut accepted = (0, 0, 0);
    let seed = seed();
    let n = cases();
    let work = tempfile::tempdir().expect("a temporary directory");
    let root = std::env::current_dir().expect("the crate's directory");
    // The scenarios' imports resolve beside the mutated scenario.
    copy_dir(
        &root.join("scenarios/imports"),
        &work.path().join("imports"),
    );
    copy_dir(&root.join("scenarios/replay"), &work.path().join("replay"));

    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .expect("scenarios/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        // The fleet runs a week of 300 services (over a minute a run here): its keys are
        // those of the two other systems, which are mutated.
        .filter(|p| !p.ends_with("fleet-week.toml"))
        .collect();
    scenarios.sort();
    let yamls = [
        root.join("scenarios/imports/argo-rollout.yaml"),
        root.join("scenarios/imports/flagger-canary.yaml"),
    ];
    let metrics = std::fs::read(root.join("scenarios/replay/metrics.csv")).expect("metrics.csv");
    // A Prometheus response of the first rows, so both readers are exercised.
    let json = prometheus_json(&String::from_utf8_lossy(&metrics), 600);

    for i in 0..n {
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let case = format!("seed{seed}-case{i}");

        // A scenario: validate, and run it when it is valid.
        let original = &scenarios[i % scenarios.len()];
        let input = work.path().join(format!("{case}.toml"));
        std::fs::write(
            &input,
            mutate(&std::fs::read(original).expect("a scenario"), &mut rng),
        )
        .expect("write");
        let name = input
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        let args = ["validate", name.as_str()];
        let e = run_capped(work.path(), &args);
        judge(&mut failures, &case, &input, &args, &e);
        if e.code == Some(0) {
            accepted.0 += 1;
            let out = format!("out-{case}");
            let args = [
                "run",
                name.as_str(),
                "--runs",
                "2",
                "--quiet",
                "--out",
                out.as_str(),
            ];
            let e = run_capped(work.path(), &args);
            judge(&mut failures, &case, &input, &args, &e);
        }

        // Controller YAML: import.
        let input = work.path().join(format!("{case}.yaml"));
        let original = std::fs::read(&yamls[i % yamls.len()]).expect("a YAML file");
        std::fs::write(&input, mutate(&original, &mut rng)).expect("write");
        let name = input
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        let args = ["import", name.as_str()];
        let e = run_capped(work.path(), &args);
        accepted.1 += usize::from(e.code == Some(0));
        judge(&mut failures, &case, &input, &args, &e);

        // A recording: replay, CSV or JSON, with the labels one time in four.
        let (original, ext) = if i % 2 == 0 {
            (&metrics, "csv")
        } else {
            (&json, "json")
        };
        let input = work.path().join(format!("{case}.{ext}"));
        std::fs::write(&input, mutate(original, &mut rng)).expect("write");
        let name = input
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        let out = format!("replay-{case}");
        let mut args = vec![
            "replay",
            "--policies",
            "replay/policies.toml",
            name.as_str(),
            "--out",
            out.as_str(),
        ];
        if i % 4 == 0 {
            args.extend(["--labels", "replay/labels.csv"]);
        }
        let e = run_capped(work.path(), &args);
        accepted.2 += usize::from(e.code == Some(0));
        judge(&mut failures, &case, &input, &args, &e);
    }
    eprintln!(
        "fuzz seed {seed}: {n} cases; accepted: {} scenarios (validated, then run), {} imports, {} replays",
        accepted.0, accepted.1, accepted.2
    );
    assert!(
        failures.is_empty(),
        "{} of {n} mutated inputs crashed, aborted or hung:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The first `rows` rows of a tidy CSV as a Prometheus range-query response.
fn prometheus_json(csv: &str, rows: usize) -> Vec<u8> {
    let mut series: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let data = csv.lines().filter(|l| !l.starts_with('#')).skip(1);
    for line in data.take(rows) {
        let mut f = line.split(',');
        let (Some(t), Some(name), Some(v)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let t = t.parse::<f64>().map(|x| x.to_string()).unwrap_or_else(|_| {
            rollsim::recorded::parse_timestamp(t)
                .map(|ms| (ms as f64 / 1000.0).to_string())
                .unwrap_or_default()
        });
        series
            .entry(name.to_string())
            .or_default()
            .push(format!("[{t},\"{v}\"]"));
    }
    let results: Vec<String> = series
        .iter()
        .map(|(name, values)| {
            format!(
                "{{\"metric\":{{\"series\":\"{name}\"}},\"values\":[{}]}}",
                values.join(",")
            )
        })
        .collect();
    format!(
        "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[\n{}\n]}}}}",
        results.join(",\n")
    )
    .into_bytes()
}

#[test]
fn the_prometheus_corpus_is_a_valid_recording() {
    let csv = std::fs::read_to_string("scenarios/replay/metrics.csv").expect("metrics.csv");
    let json = String::from_utf8(prometheus_json(&csv, 600)).expect("UTF-8");
    let rec = rollsim::recorded::parse(&json, "q.json").unwrap_or_else(|e| panic!("{e}"));
    assert!(rec.series.values().map(|s| s.points.len()).sum::<usize>() == 600);
}
