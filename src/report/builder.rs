//! `build_report`: reads an output directory, draws its charts and writes `report.html`,
//! `report.md` and `charts/*.{svg,png}`.
//!
//! Everything is read, checked and drawn in memory before the first file is written, so a
//! missing or malformed input leaves the directory exactly as it was.

use super::charts::{self, Chart, Colors};
use super::findings::{clock, num_plain, recommendation_sentence};
use super::inputs::{Inputs, SweepRow};
use super::metrics::MetricInfo;
use super::ranking::{Ranking, TOP_SERVICES};
use super::tables::{EstimateTable, Sweep};
use super::{html, markdown, OutputDir, ReportError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The files a report build wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFiles {
    /// `DIR/report.html`, to print or open.
    pub html: PathBuf,
    /// `DIR/report.md`.
    pub markdown: PathBuf,
    /// Every chart, SVG then PNG.
    pub charts: Vec<PathBuf>,
}

/// A table as text cells; renderers escape and align them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One part of the report: a heading, plain sentences, an optional chart and table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    pub heading: String,
    pub text: Vec<String>,
    pub chart: Option<Chart>,
    pub table: Option<Table>,
}

/// The report before it is written as HTML or Markdown.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doc {
    pub title: String,
    pub facts: Vec<(String, String)>,
    pub sections: Vec<Section>,
    pub scenario_text: Option<String>,
}

/// Rebuilds the report of the output directory `dir` from whatever of `summary.csv`,
/// `comparison.csv`, `sweep.csv`, `trace.csv` + `events.csv`, `recommendation.json`,
/// `manifest.json` and `scenario.toml` it holds. Commands call it after writing their
/// files; `rollsim report DIR` calls it alone. A missing directory, a directory with none of
/// the data files, or a malformed file is a [`ReportError::Input`] naming `file:line`, and
/// then nothing is written. A release train's directory (`train-runs.csv`) gets the
/// train's report, byte for byte as `rollsim train` wrote it (see [`super::train::rebuild`]).
pub fn build_report(dir: &Path) -> Result<ReportFiles, ReportError> {
    build_report_until(dir, None)
}

/// [`build_report`] that gives up once `stop` is set (Ctrl-C): it looks between its steps
/// (reading, drawing, rendering) and fails with [`ReportError::Interrupted`] before the
/// first file is written, so the directory keeps its previous report, if any, intact.
pub fn build_report_until(
    dir: &Path,
    stop: Option<&AtomicBool>,
) -> Result<ReportFiles, ReportError> {
    let check = || match stop {
        Some(s) if s.load(Ordering::SeqCst) => Err(ReportError::Interrupted {
            path: dir.display().to_string(),
        }),
        _ => Ok(()),
    };
    check()?;
    if dir.join(super::train::TRAIN_RUNS).is_file() {
        return super::train::rebuild(dir);
    }
    let inputs = Inputs::read(dir)?;
    check()?;
    let doc = compose(&inputs)?;
    check()?;
    let html = html::render(&doc);
    let md = markdown::render(&doc);
    check()?;

    let out = OutputDir::reopen(dir)?;
    let chart_dir = OutputDir::reopen(&dir.join("charts"))?;
    let mut written = Vec::new();
    let mut names = Vec::new();
    for c in doc.sections.iter().filter_map(|s| s.chart.as_ref()) {
        for (ext, bytes) in [("svg", c.svg.as_bytes()), ("png", c.png.as_slice())] {
            let name = format!("{}.{ext}", c.id);
            written.push(chart_dir.write(&name, bytes)?);
            names.push(name);
        }
    }
    remove_stale_charts(chart_dir.path(), &names);
    let markdown = out.write("report.md", md.as_bytes())?;
    let html = out.write("report.html", html.as_bytes())?;
    Ok(ReportFiles {
        html,
        markdown,
        charts: written,
    })
}

/// Charts of an earlier build that this build did not draw (say, a metric that is now zero
/// everywhere) would be stale beside the new report: remove them. Only `.svg` and `.png`
/// files in `charts/`, which belongs to the report.
fn remove_stale_charts(dir: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let chart = name.ends_with(".svg") || name.ends_with(".png");
        if chart && !keep.contains(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The scenario's `description`, for the title, if the copied scenario has one.
pub(super) fn description(text: &str) -> Option<String> {
    let v: toml::Table = toml::from_str(text).ok()?;
    v.get("description")?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn cell(m: &MetricInfo, e: Option<super::tables::Est>) -> String {
    match e {
        Some(e) => match (e.low, e.high) {
            (Some(l), Some(h)) => format!("{} [{}, {}]", m.value(e.mean), m.value(l), m.value(h)),
            _ => m.value(e.mean),
        },
        None => "-".into(),
    }
}

/// The views of a sweep's rows the report draws, each with its scope: a single
/// service's rows whole; a system's, the system's rows, then those of the service the
/// first parameter edits (`services.NAME.`), if it is one of the rows' services.
fn sweep_views(rows: &[SweepRow]) -> Vec<(Option<String>, Vec<SweepRow>)> {
    if rows.iter().all(|r| r.service.is_none()) {
        return vec![(None, rows.to_vec())];
    }
    let of = |service: &str| -> Vec<SweepRow> {
        rows.iter()
            .filter(|r| r.service.as_deref() == Some(service))
            .cloned()
            .collect()
    };
    let mut views = vec![(Some("system".to_string()), of("system"))];
    let edited = rows.first().and_then(|r| {
        let rest = r.param.strip_prefix("services.")?;
        Some(rest.split('.').next()?.to_string())
    });
    if let Some(service) = edited.filter(|s| s != "system") {
        let mine = of(&service);
        if !mine.is_empty() {
            views.push((Some(service), mine));
        }
    }
    views
}

fn label_with_unit(m: &MetricInfo) -> String {
    m.axis_label()
}

/// The verdict paragraph: `verdict.json` as the command wrote it, else computed from
/// `runs.csv` and `summary.csv` (a merged directory) with the scenario's objective.
fn verdict_text(inputs: &Inputs, order: &[String]) -> Result<Option<String>, ReportError> {
    if let Some(v) = &inputs.verdict {
        return Ok(Some(v.text.clone()));
    }
    let Some(rows) = &inputs.summary else {
        return Ok(None);
    };
    let estimates = rows
        .iter()
        .filter_map(|r| {
            let e = crate::experiment::stats::Estimate {
                mean: r.mean?,
                ci95_low: r.ci95_low.unwrap_or(f64::NAN),
                ci95_high: r.ci95_high.unwrap_or(f64::NAN),
                n: r.n,
            };
            Some(((r.policy.clone(), r.metric.clone()), e))
        })
        .collect();
    let setup = super::verdict::setup(inputs.scenario_text.as_deref(), order, None);
    Ok(super::verdict::for_dir(&inputs.dir, order, &estimates, &setup)?.map(|v| v.text))
}

/// Draws every chart and builds every table the inputs allow.
pub(crate) fn compose(inputs: &Inputs) -> Result<Doc, ReportError> {
    let order = inputs.policies();
    let refs = inputs.references();
    let colors = Colors {
        order: order.clone(),
    };
    let manifest = inputs.manifest.clone().unwrap_or_default();
    let mut doc = Doc {
        scenario_text: inputs.scenario_text.clone(),
        ..Default::default()
    };
    let dir_name = inputs
        .dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| inputs.dir.display().to_string());
    let about = inputs
        .scenario_text
        .as_deref()
        .and_then(description)
        .or_else(|| manifest.scenario.clone())
        .unwrap_or(dir_name);
    doc.title = format!("rollsim report: {about}");

    if let Some(c) = &manifest.command {
        doc.facts.push(("Command".into(), c.clone()));
    }
    if let Some(k) = &manifest.kind {
        doc.facts.push(("Kind".into(), k.clone()));
    }
    if let Some(s) = &manifest.scenario {
        let sha = manifest
            .scenario_sha256
            .as_deref()
            .map(|h| format!(" (SHA-256 {h})"))
            .unwrap_or_default();
        doc.facts.push(("Scenario".into(), format!("{s}{sha}")));
    }
    if let Some(s) = manifest.seed {
        doc.facts.push(("Seed".into(), s.to_string()));
    }
    if let Some(r) = manifest.runs {
        let first = manifest.first_run.unwrap_or(0);
        let which = if first == 0 {
            String::new()
        } else {
            format!(" (from run {first})")
        };
        doc.facts.push(("Runs".into(), format!("{r}{which}")));
    }
    if let Some(b) = &manifest.baseline {
        doc.facts.push(("Baseline".into(), b.clone()));
    }
    if let Some(v) = &manifest.rollsim_version {
        doc.facts.push(("rollsim version".into(), v.clone()));
    }
    if inputs.manifest.is_none() {
        doc.facts.push((
            "Note".into(),
            "no manifest.json: the command, seed and version are unknown".into(),
        ));
    }

    if let Some(text) = verdict_text(inputs, &order)? {
        doc.sections.push(Section {
            heading: "Verdict".into(),
            text: vec![text],
            chart: None,
            table: None,
        });
    }

    if let Some(r) = &inputs.recommendation {
        let mut rows = vec![
            vec!["objective".to_string(), r.objective.clone()],
            vec!["parameter".to_string(), r.param.clone()],
        ];
        if let Some(v) = r.value {
            rows.push(vec!["value".into(), num_plain(v)]);
        }
        if let (Some(p2), Some(v2)) = (&r.param2, r.value2) {
            rows.push(vec![
                "second parameter".into(),
                format!("{p2} = {}", num_plain(v2)),
            ]);
        }
        if let Some(mean) = r.mean.filter(|_| !r.metric.is_empty()) {
            let mi = MetricInfo::of(&r.metric);
            rows.push(vec![
                mi.label.clone(),
                mi.estimate(mean, r.ci95_low, r.ci95_high),
            ]);
        }
        rows.push(vec![
            "constraint met".into(),
            if r.met { "yes" } else { "no" }.into(),
        ]);
        doc.sections.push(Section {
            heading: "Recommendation".into(),
            text: vec![recommendation_sentence(r)],
            chart: None,
            table: Some(Table {
                header: vec!["".into(), "".into()],
                rows,
            }),
        });
    }

    if let Some(rows) = &inputs.summary {
        let mut t = EstimateTable::from_summary(rows, &order);
        // A system's services: every one for a small system, each policy's worst for a
        // fleet (the rule and the ranked table are in their own section below).
        let ranking = Ranking::of(&t, TOP_SERVICES);
        let ranked = ranking.as_ref().map(|r| (r.rule(), r.table(&t)));
        // A fleet's charts and summary table are the system's rows alone: hundreds of
        // POLICY@SERVICE bars say nothing (a small system keeps them all).
        let trimmed = ranking.as_ref().filter(|r| !r.complete()).map(|r| {
            format!(
                "These charts and the summary table are the whole system's ({} services); \
                 each policy's {} services with the most harm are ranked in \"Services \
                 ranked by harm\" below.",
                r.services, r.n
            )
        });
        if trimmed.is_some() {
            t.retain_policies(|p| !p.contains('@'));
        }
        for (i, (heading, chart)) in charts::bars::outcome_charts(&t, &colors, &refs)?
            .into_iter()
            .enumerate()
        {
            doc.sections.push(Section {
                heading: heading.to_string(),
                text: if i == 0 {
                    let mut text = vec![
                        "Each bar is a policy's mean per run over the same simulated runs; \
                          the black whisker is its 95% confidence interval."
                            .to_string(),
                    ];
                    text.extend(trimmed.clone());
                    text
                } else {
                    Vec::new()
                },
                chart: Some(chart),
                table: None,
            });
        }
        if let Some(chart) = charts::tradeoff::tradeoff_chart(&t, &colors, &refs)? {
            doc.sections.push(Section {
                heading: "Trade-off: false positives against misses and downtime".into(),
                text: vec![
                    "A policy is on the Pareto front when no other policy has both \
                            fewer false-positive rollbacks and less of the other cost; \
                            whiskers are 95% intervals."
                        .into(),
                ],
                chart: Some(chart),
                table: None,
            });
        }
        let mut header = vec!["metric".to_string()];
        header.extend(t.policies.iter().cloned());
        let table_rows = t
            .metrics
            .iter()
            .map(|m| {
                let mi = MetricInfo::of(m);
                let mut r = vec![label_with_unit(&mi)];
                r.extend(t.policies.iter().map(|p| cell(&mi, t.get(p, m))));
                r
            })
            .collect();
        doc.sections.push(Section {
            heading: "Summary table".into(),
            text: vec![
                "Mean per run [95% confidence interval]; \"-\" where no run had a \
                        value (e.g. time to detect when no bad release was acted on)."
                    .into(),
            ],
            chart: None,
            table: Some(Table {
                header,
                rows: table_rows,
            }),
        });
        if let Some((rule, table)) = ranked {
            doc.sections.push(Section {
                heading: "Services ranked by harm".into(),
                text: vec![rule],
                chart: None,
                table: Some(table),
            });
        }
    }

    if let (Some(g), Some(rows)) = (&inputs.graph, &inputs.summary) {
        let t = EstimateTable::from_summary(rows, &order);
        let policies = charts::services::system_policies(&t);
        // A fleet's graph of hundreds of boxes is too small to label or read: each policy's
        // graph shows the services ranked for it (a small system keeps every service).
        let ranking = Ranking::of(&t, TOP_SERVICES).filter(|r| !r.complete());
        for (i, chart) in charts::services::graph_charts(g, &t, ranking.as_ref())?
            .into_iter()
            .enumerate()
        {
            let policy = policies.get(i).cloned().unwrap_or_default();
            doc.sections.push(Section {
                heading: format!("Service graph: {policy}"),
                text: if i == 0 {
                    let mut text = format!(
                        "Each box is a service, each arrow a call (its share of the caller's \
                         requests); a box's colour is the mean number of its healthy releases \
                         rolled back per run (one scale for every policy). Hover over a box for \
                         its wrong-service rollbacks and failed requests. {} services.",
                        g.services.len()
                    );
                    if let Some(r) = &ranking {
                        text += &format!(
                            " Each graph shows only the {} services ranked for its policy \
                             (\"Services ranked by harm\" above) and the calls between them.",
                            r.n
                        );
                    }
                    vec![text]
                } else {
                    Vec::new()
                },
                chart: Some(chart),
                table: None,
            });
        }
    }

    if let Some(events) = &inputs.service_events {
        if let Some(chart) = charts::services::rollback_timeline(events, &colors)? {
            doc.sections.push(Section {
                heading: "Rollbacks by service in one run".into(),
                text: vec![
                    "One traced run (the first whose system any policy rolled back), every \
                     policy on the same world: a row per service that was rolled back, a dot \
                     per rollback in the policy's colour, deploys as dark ticks, fault windows \
                     shaded."
                        .into(),
                ],
                chart: Some(chart),
                table: None,
            });
        }
    }

    if let Some(rows) = &inputs.comparison {
        let baseline = manifest
            .baseline
            .clone()
            .or_else(|| rows.first().map(|r| r.baseline.clone()))
            .unwrap_or_default();
        let t = EstimateTable::from_comparison(rows, &order);
        let chart = charts::diff::diff_chart(&t, &baseline, &colors, &refs)?;
        let table_rows = rows
            .iter()
            .filter(|r| charts::diff::METRICS.contains(&r.metric.as_str()) || chart.is_none())
            .map(|r| {
                let mi = MetricInfo::of(&r.metric);
                let est = r.mean_difference.map(|mean| super::tables::Est {
                    mean,
                    low: r.ci95_low,
                    high: r.ci95_high,
                    n: r.n,
                });
                vec![
                    r.policy.clone(),
                    label_with_unit(&mi),
                    cell(&mi, est),
                    r.n.to_string(),
                ]
            })
            .collect();
        doc.sections.push(Section {
            heading: format!("Paired comparison against {baseline}"),
            text: vec![format!(
                "Differences are policy minus {baseline} on the very same runs (common random \
                 numbers), so luck cancels out; an interval that excludes 0 is a difference \
                 the runs can tell apart."
            )],
            chart,
            table: Some(Table {
                header: vec![
                    "policy".into(),
                    "metric".into(),
                    format!("difference from {baseline} [95% CI]"),
                    "n".into(),
                ],
                rows: table_rows,
            }),
        });
    }

    for (scope, rows) in inputs.sweep.as_deref().map(sweep_views).unwrap_or_default() {
        if let Some(mut s) = Sweep::new(&rows, &order) {
            s.scope = scope;
            let rec = inputs.recommendation.as_ref();
            let metrics = charts::sweep::chosen_metrics(&s, rec);
            let chart = if s.param2.is_some() {
                charts::heatmap::heatmap_chart(&s, &metrics, rec)?
            } else {
                Some(charts::sweep::sweep_chart(&s, rec, &colors)?)
            };
            let moved: Vec<&String> = s
                .policies
                .iter()
                .filter(|p| metrics.iter().any(|m| s.varies(p, m)))
                .collect();
            let shown: Vec<&String> = if moved.is_empty() {
                s.policies.iter().collect()
            } else {
                moved
            };
            let mut header = vec![Sweep::short(&s.param).to_string()];
            if let Some(p2) = &s.param2 {
                header.push(Sweep::short(p2).to_string());
            }
            header.push("policy".into());
            header.extend(metrics.iter().map(|m| label_with_unit(&MetricInfo::of(m))));
            let (xs, ys) = s.axes();
            let mut table_rows = Vec::new();
            for x in &xs {
                let y_list: Vec<Option<f64>> = if ys.is_empty() {
                    vec![None]
                } else {
                    ys.iter().map(|y| Some(*y)).collect()
                };
                for y in y_list {
                    for p in &shown {
                        let mut r = vec![num_plain(*x)];
                        if let Some(y) = y {
                            r.push(num_plain(y));
                        }
                        r.push((*p).clone());
                        let mut any = false;
                        for m in &metrics {
                            let e = s.cell(p, m, *x, y);
                            any |= e.is_some();
                            r.push(cell(&MetricInfo::of(m), e));
                        }
                        if any {
                            table_rows.push(r);
                        }
                    }
                }
            }
            let heading = match &s.param2 {
                Some(p2) => format!("Sweep over {} and {}", s.param, p2),
                None => format!("Sweep over {}", s.param),
            };
            let heading = match s.scope.as_deref() {
                Some("system") => format!("{heading}: the system"),
                Some(service) => format!("{heading}: {service}"),
                None => heading,
            };
            doc.sections.push(Section {
                heading,
                text: vec![
                    "Each point is simulated on the same runs; bands and intervals \
                            are 95% confidence intervals of the mean."
                        .into(),
                ],
                chart,
                table: Some(Table {
                    header,
                    rows: table_rows,
                }),
            });
        }
    }

    if let Some(trace) = &inputs.trace {
        let events = inputs.events.clone().unwrap_or_default();
        let chart = charts::timeline::timeline_chart(trace, &events, &inputs.trace_thresholds())?;
        let mut text = vec![
            "Lines are the truth the simulator knows; dots are the scrapes the policy saw \
             (missing where a scrape was lost or the new version had no traffic)."
                .to_string(),
        ];
        if inputs.events.is_none() {
            text.push("No events.csv: deploys, rollbacks and faults are not marked.".into());
        }
        let table = (!events.is_empty()).then(|| Table {
            header: vec!["time".into(), "event".into(), "detail".into()],
            rows: events
                .iter()
                .map(|e| {
                    vec![
                        clock(e.t_s),
                        e.kind.clone(),
                        e.detail.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        });
        doc.sections.push(Section {
            heading: "Timeline of one run".into(),
            text,
            chart: Some(chart),
            table,
        });
    }
    Ok(doc)
}
