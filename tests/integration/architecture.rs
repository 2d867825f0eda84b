//! The import rules of ARCHITECTURE.md, enforced: every `crate::` path in `src/` is read
//! (in `use` lines, grouped imports and paths in code) and checked against the rules written
//! under "## Import rules". A broken rule fails with the file and line of the import.
//!
//! A rule is a bullet of one of two shapes, module paths in backticks:
//! - `` - `policy` imports only `scenario`, `units`. `` (a module may always import itself)
//! - `` - `model` never imports `signals`. ``

use std::path::{Path, PathBuf};

/// One rule: what a module (and its submodules) may or may not import.
#[derive(Debug)]
enum Rule {
    Only {
        module: String,
        allowed: Vec<String>,
    },
    Never {
        module: String,
        forbidden: Vec<String>,
    },
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The rules of the "## Import rules" section of ARCHITECTURE.md.
fn rules(architecture: &str) -> Vec<Rule> {
    let mut in_section = false;
    let mut out = Vec::new();
    for line in architecture.lines() {
        if line.starts_with("## ") {
            in_section = line.trim() == "## Import rules";
            continue;
        }
        let Some(bullet) = line.trim_start().strip_prefix("- ").filter(|_| in_section) else {
            continue;
        };
        let names = backticked(bullet);
        let Some((module, rest)) = names.split_first() else {
            continue;
        };
        if bullet.contains(" imports only ") {
            out.push(Rule::Only {
                module: module.clone(),
                allowed: rest.to_vec(),
            });
        } else if bullet.contains(" never imports ") {
            out.push(Rule::Never {
                module: module.clone(),
                forbidden: rest.to_vec(),
            });
        }
    }
    out
}

/// `a::b` is `a` or inside it.
fn within(path: &str, module: &str) -> bool {
    path == module || path.starts_with(&format!("{module}::"))
}

/// The module path of a source file: `src/sim/engine.rs` is `sim::engine`.
fn module_of(file: &Path, src: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Every `crate::...` path of a line of code (comments and string literals removed), whole
/// as written up to the item: `use crate::{a::b, c}` gives `a::b` and `c`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        // `foo_crate::` is not ours.
        let before = rest[..i].chars().next_back();
        let after = &rest[i + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            for item in group.split([',', '}']) {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                if !name.is_empty() {
                    out.push(name.trim_end_matches(':').to_owned());
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(name.trim_end_matches(':').to_owned());
        }
    }
    out
}

/// Lines of code with comments and string literals blanked, `#[cfg(test)]` modules left
/// out (tests may use anything), and grouped `use crate::{...}` imports joined onto the
/// line they start on.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open_group: Option<usize> = None;
    let mut test_module_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut cfg_test_pending = false;
    for (n, raw) in text.lines().enumerate() {
        let mut line = String::new();
        let mut in_str = false;
        let mut prev = ' ';
        for c in raw.chars() {
            if !in_str && prev == '/' && c == '/' {
                line.pop();
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                line.push(c);
            }
            prev = c;
        }
        let trimmed = line.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            cfg_test_pending = true;
        } else if cfg_test_pending && trimmed.starts_with("mod ") {
            test_module_depth = Some(depth);
            cfg_test_pending = false;
        } else if !trimmed.is_empty() && !trimmed.starts_with("#[") {
            cfg_test_pending = false;
        }
        let in_tests = test_module_depth.is_some();
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if let Some(d) = test_module_depth {
            if depth <= d && line.contains('}') {
                test_module_depth = None;
            }
        }
        if in_tests {
            continue;
        }
        match open_group {
            Some(i) => {
                out[i].1.push_str(trimmed);
                if line.contains(';') {
                    open_group = None;
                }
            }
            None => {
                let is_use = trimmed.starts_with("use ") || trimmed.starts_with("pub use ");
                if is_use && !line.contains(';') {
                    open_group = Some(out.len());
                }
                out.push((n + 1, trimmed.to_owned()));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Whether `file` is a test module kept in a file of its own: `dir/tests.rs` declared as
/// `#[cfg(test)] mod tests;` in `dir/mod.rs` (tests may use anything).
fn is_test_file(file: &Path) -> bool {
    if file.file_name().is_none_or(|n| n != "tests.rs") {
        return false;
    }
    let parent = file.with_file_name("mod.rs");
    let Ok(text) = std::fs::read_to_string(parent) else {
        return false;
    };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(2)
        .any(|w| w[0] == "#[cfg(test)]" && w[1] == "mod tests;")
}

/// Every violation of `rules` in the tree under `src`, as `file:line: message`.
fn violations(src: &Path, rules: &[Rule]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = Vec::new();
    for file in files.into_iter().filter(|f| !is_test_file(f)) {
        let module = module_of(&file, src);
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (line, code) in code_lines(&text) {
            for target in crate_paths(&code) {
                for rule in rules {
                    let broken = match rule {
                        Rule::Only { module: m, allowed } => {
                            within(&module, m)
                                && !within(&target, m)
                                && !allowed.iter().any(|a| within(&target, a))
                        }
                        Rule::Never {
                            module: m,
                            forbidden,
                        } => within(&module, m) && forbidden.iter().any(|f| within(&target, f)),
                    };
                    if broken {
                        out.push(format!(
                            "{}:{line}: `{module}` imports `crate::{target}`, against the rule {rule:?}",
                            file.display()
                        ));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_import_rules_of_architecture_md_hold() {
    let architecture = std::fs::read_to_string("ARCHITECTURE.md").expect("ARCHITECTURE.md");
    let rules = rules(&architecture);
    assert!(
        rules.len() >= 5,
        "ARCHITECTURE.md should state its import rules under \"## Import rules\": {rules:?}"
    );
    let broken = violations(Path::new("src"), &rules);
    assert!(
        broken.is_empty(),
        "import rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_rule_checker_finds_a_broken_rule_with_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("model")).expect("dir");
    std::fs::write(
        src.join("model/truth.rs"),
        "//! crate::signals in a comment is fine\n\
         use crate::{\n    scenario::Scenario,\n    signals::draw,\n};\n\
         fn f() { let s = \"crate::signals\"; crate::sample::poisson(); }\n\
         #[cfg(test)]\nmod tests {\n    use crate::signals::x;\n}\n",
    )
    .expect("write");
    // A test module in its own file may import anything; the same file not declared
    // `#[cfg(test)]` may not.
    std::fs::create_dir_all(src.join("model/rollout")).expect("dir");
    std::fs::write(
        src.join("model/rollout/mod.rs"),
        "#[cfg(test)]\nmod tests;\n",
    )
    .expect("write");
    std::fs::write(
        src.join("model/rollout/tests.rs"),
        "use crate::signals::x;\n",
    )
    .expect("write");
    std::fs::create_dir_all(src.join("model/data")).expect("dir");
    std::fs::write(src.join("model/data/mod.rs"), "mod tests;\n").expect("write");
    std::fs::write(src.join("model/data/tests.rs"), "use crate::signals::y;\n").expect("write");
    let rules = rules(
        "## Import rules\n- `model` imports only `scenario`, `sample`.\n- `x` never imports `y`.\n## Next\n- `model` imports only `nothing`.\n",
    );
    assert_eq!(rules.len(), 2, "{rules:?}");
    let broken = violations(src, &rules);
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(
        broken[0].ends_with("model/data/tests.rs:1: `model::data::tests` imports `crate::signals::y`, against the rule Only { module: \"model\", allowed: [\"scenario\", \"sample\"] }"),
        "{}",
        broken[0]
    );
    assert!(
        broken[1].ends_with("model/truth.rs:2: `model::truth` imports `crate::signals::draw`, against the rule Only { module: \"model\", allowed: [\"scenario\", \"sample\"] }"),
        "{}",
        broken[1]
    );
}
