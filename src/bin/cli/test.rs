//! `riskgate test RULES... CASES`: check expected verdicts.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::Value;

use super::junit;
use super::output::{errln, outln};
use riskgate::input::okta::{parse_event_with, AttrFilter, Format};
use riskgate::input::profile::Profiles;
use riskgate::lang::diagnostic::printable;
use riskgate::run::engine::Engine;
use riskgate::{Decision, Severity};

/// Arguments of `riskgate test`.
#[derive(clap::Args)]
pub struct TestArgs {
    /// Rules files, checked together as one rule set (lists and rule ids
    /// shared across them).
    #[arg(required = true, num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// JSONL test cases: `{"name": ..., "events": [...], "expect": {...} | [...], "profiles"?: [...]}`.
    pub cases: PathBuf,
    /// Agent profiles for every case (a case's own `profiles` key wins).
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Also write a JUnit XML report of the cases to this file (for CI).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// One expectation on one event's verdict.
#[derive(Debug, Default)]
struct Expect {
    decision: Option<Decision>,
    rules: Option<BTreeSet<String>>,
    severity: Option<Option<Severity>>,
    alerts: Option<Vec<Value>>,
}

fn parse_expect(v: &Value) -> Result<Expect, String> {
    let obj = v
        .as_object()
        .ok_or("`expect` must be an object or an array of objects")?;
    let mut e = Expect::default();
    for (k, val) in obj {
        match k.as_str() {
            "decision" => {
                let s = val.as_str().ok_or("`decision` must be a string")?;
                e.decision = Some(s.parse::<Decision>()?);
            }
            "rules" => {
                let arr = val.as_array().ok_or("`rules` must be an array")?;
                let mut set = BTreeSet::new();
                for r in arr {
                    set.insert(match r {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                }
                e.rules = Some(set);
            }
            "severity" => {
                e.severity = Some(match val {
                    Value::Null => None,
                    Value::String(s) => Some(s.parse::<Severity>()?),
                    _ => return Err("`severity` must be a string or null".into()),
                });
            }
            "alerts" => e.alerts = Some(val.as_array().ok_or("`alerts` must be an array")?.clone()),
            other => return Err(format!("unknown key `{other}` in `expect`")),
        }
    }
    Ok(e)
}

/// Runs the cases.
pub fn run(args: &TestArgs, color: bool) -> ExitCode {
    let Some(set) = super::load_rules(&args.rules, color) else {
        return ExitCode::FAILURE;
    };
    let shared_profiles = match &args.profiles {
        Some(p) => match Profiles::from_path(p) {
            Ok(profiles) => {
                let _ = super::replay::profiles_fit(&profiles, set.program(), p, false);
                Some(profiles)
            }
            // The error names the file.
            Err(e) => {
                errln!("error: {}", printable(&e.to_string()));
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    // Cases files are small: read no more than 256 MiB (a device or an
    // endless pipe given by mistake is an error, not a read without end).
    const MAX_CASES_BYTES: usize = 256 << 20;
    let read = riskgate::limits::open_input(&args.cases, false)
        .and_then(|f| riskgate::limits::read_capped(f, MAX_CASES_BYTES))
        .and_then(|bytes| {
            if bytes.len() > MAX_CASES_BYTES {
                return Err(std::io::Error::other(format!(
                    "larger than the limit of {MAX_CASES_BYTES} bytes"
                )));
            }
            String::from_utf8(bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        });
    let text = match read {
        Ok(t) => t,
        Err(e) => {
            errln!(
                "error: cannot read `{}`: {e}",
                printable(&args.cases.display().to_string())
            );
            return ExitCode::FAILURE;
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    let cases_name = printable(&args.cases.display().to_string()).into_owned();
    let mut report: Vec<junit::Case> = Vec::new();
    let started = Instant::now();
    // A byte-order mark (some editors write one) is not part of the first case.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() || line.trim_start().starts_with("//") {
            continue;
        }
        let case_started = Instant::now();
        let outcome = run_case(line, &set, shared_profiles.as_ref());
        let seconds = case_started.elapsed().as_secs_f64();
        let name = outcome
            .name
            .clone()
            .unwrap_or_else(|| format!("line {line_no}"));
        if outcome.failures.is_empty() {
            passed += 1;
            outln!("PASS  {}", printable(&name));
        } else {
            failed += 1;
            outln!("FAIL  {}  ({cases_name}:{line_no})", printable(&name));
            for f in &outcome.failures {
                for l in f.lines() {
                    outln!("      {}", printable(l));
                }
            }
        }
        if args.junit.is_some() {
            let text = outcome.failures.join("\n");
            report.push(junit::Case {
                name,
                line: line_no,
                seconds,
                status: if outcome.failures.is_empty() {
                    junit::Status::Passed
                } else if outcome.broken {
                    junit::Status::Broken(text)
                } else {
                    junit::Status::Failed(text)
                },
            });
        }
    }
    outln!("{passed} passed, {failed} failed");
    if let Some(path) = &args.junit {
        let xml = junit::report(
            &args.cases.display().to_string(),
            &report,
            started.elapsed().as_secs_f64(),
        );
        if let Err(e) = std::fs::write(path, xml) {
            errln!(
                "error: cannot write `{}`: {e}",
                printable(&path.display().to_string())
            );
            return ExitCode::FAILURE;
        }
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The keys a case may have.
const CASE_KEYS: [&str; 4] = ["name", "events", "expect", "profiles"];

struct Outcome {
    name: Option<String>,
    failures: Vec<String>,
    /// The case could not be run (its failures say why), as opposed to a
    /// verdict that differed from the expectation.
    broken: bool,
}

fn run_case(line: &str, set: &riskgate::RuleSet, shared: Option<&Profiles>) -> Outcome {
    let mut out = Outcome {
        name: None,
        failures: Vec::new(),
        broken: true,
    };
    let case: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            out.failures.push(format!("invalid JSON: {e}"));
            return out;
        }
    };
    out.name = case.get("name").and_then(Value::as_str).map(str::to_string);
    if let Some(obj) = case.as_object() {
        // A misspelt key (`expects`, `profile`) would otherwise be a check
        // silently not made.
        if let Some(k) = obj.keys().find(|k| !CASE_KEYS.contains(&k.as_str())) {
            out.failures.push(format!(
                "unknown key `{k}` in the case (expected one of `name`, `events`, `expect`, `profiles`)"
            ));
            return out;
        }
    }
    let Some(events) = case.get("events").and_then(Value::as_array) else {
        out.failures.push("missing `events` array".into());
        return out;
    };
    if events.is_empty() {
        out.failures
            .push("`events` is empty: a case checks at least one event".into());
        return out;
    }
    let expects: Vec<(usize, Expect)> = match case.get("expect") {
        Some(Value::Array(items)) => {
            if items.len() != events.len() {
                out.failures.push(format!(
                    "`expect` has {} entries but there are {} events",
                    items.len(),
                    events.len()
                ));
                return out;
            }
            let mut v = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                match parse_expect(item) {
                    Ok(e) => v.push((i, e)),
                    Err(e) => {
                        out.failures.push(format!("expect[{i}]: {e}"));
                        return out;
                    }
                }
            }
            v
        }
        Some(obj) => match parse_expect(obj) {
            Ok(e) => vec![(events.len().saturating_sub(1), e)],
            Err(e) => {
                out.failures.push(format!("expect: {e}"));
                return out;
            }
        },
        None => {
            out.failures.push("missing `expect`".into());
            return out;
        }
    };
    let mut builder = Engine::builder(set.compile());
    let inline;
    if let Some(p) = case.get("profiles") {
        inline = match Profiles::from_json_str(&p.to_string()) {
            Ok(p) => p,
            Err(e) => {
                out.failures.push(format!("profiles: {e}"));
                return out;
            }
        };
        builder = builder.profiles(&inline);
    } else if let Some(p) = shared {
        builder = builder.profiles(p);
    }
    let engine = match builder.build() {
        Ok(e) => e,
        Err(e) => {
            out.failures.push(format!("engine: {e}"));
            return out;
        }
    };
    // The same reading of Okta events as `replay` (attrs kept only where the
    // rules' `attr.` paths look), so a case checks what a replay would do.
    let attrs = AttrFilter::for_program(&engine.program());
    out.broken = false;
    for (i, ev) in events.iter().enumerate() {
        let text = ev.to_string();
        let event = match parse_event_with(&text, Format::Auto, &attrs) {
            Ok(e) => e,
            Err(e) => {
                out.failures.push(format!("event {i}: {e}"));
                out.broken = true;
                return out;
            }
        };
        let verdict = engine.evaluate(&event);
        for (_, exp) in expects.iter().filter(|(j, _)| *j == i) {
            let mut diffs = Vec::new();
            if let Some(d) = exp.decision {
                if d != verdict.decision {
                    diffs.push(format!(
                        "- decision: {}\n+ decision: {}",
                        d.as_str(),
                        verdict.decision.as_str()
                    ));
                }
            }
            if let Some(rules) = &exp.rules {
                let got: BTreeSet<String> = verdict.rule_ids().map(str::to_string).collect();
                if *rules != got {
                    let missing: Vec<&String> = rules.difference(&got).collect();
                    let extra: Vec<&String> = got.difference(rules).collect();
                    diffs.push(format!(
                        "- rules: {:?}\n+ rules: {:?}   (missing {:?}, unexpected {:?})",
                        rules.iter().collect::<Vec<_>>(),
                        got.iter().collect::<Vec<_>>(),
                        missing,
                        extra
                    ));
                }
            }
            if let Some(sev) = exp.severity {
                if sev != verdict.severity {
                    let show = |s: Option<Severity>| s.map_or("null", |s| s.as_str());
                    diffs.push(format!(
                        "- severity: {}\n+ severity: {}",
                        show(sev),
                        show(verdict.severity)
                    ));
                }
            }
            if let Some(alerts) = &exp.alerts {
                let got: Vec<Value> = verdict
                    .matches()
                    .flat_map(|m| m.alerts())
                    .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
                    .collect();
                let same = alerts.len() == got.len()
                    && alerts.iter().zip(&got).all(|(want, have)| {
                        want.as_object()
                            .is_some_and(|w| w.iter().all(|(k, v)| have.get(k) == Some(v)))
                    });
                if !same {
                    diffs.push(format!(
                        "- alerts: {}\n+ alerts: {}",
                        Value::Array(alerts.clone()),
                        Value::Array(got)
                    ));
                }
            }
            if !diffs.is_empty() {
                out.failures.push(format!(
                    "event {i} ({}):\n{}",
                    riskgate::run::verdict::format_time(event.time_ms),
                    diffs.join("\n")
                ));
            }
        }
    }
    out
}
