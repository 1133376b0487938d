//! `riskgate diff OLD.rules NEW.rules EVENTS`: one stateful pass over the
//! events with both rule sets, and a table of what the change does to each
//! rule's verdicts: events it newly fires on, events it no longer fires
//! on, events where it fires with another decision or severity, with
//! example lines. How a rules author reviews a change before merging it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::errln;
use super::replay::{profiles_fit, Skew};
use riskgate::input::okta::{parse_event_with, AttrFilter, Format};
use riskgate::input::profile::Profiles;
use riskgate::lang::diagnostic::printable;
use riskgate::run::engine::Engine;
use riskgate::run::verdict::{MatchRef, Verdict};

/// Arguments of `riskgate diff`.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// The rules before the change.
    pub old: PathBuf,
    /// The rules after the change.
    pub new: PathBuf,
    /// JSONL events file, or `-` for standard input.
    pub events: PathBuf,
    /// Agent profiles (a JSON object, an array of them, or JSONL).
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Event format: `auto`, `okta`, `native`.
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// `text` (a table) or `json` (one object).
    #[arg(long, value_enum, default_value = "text")]
    pub output: DiffOutput,
    /// Example lines shown per rule and kind of change.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    /// Events later than the machine's clock plus this are counted in no
    /// window (`off`: every event counts), as in `replay`.
    #[arg(long, default_value = "5m", value_parser = super::replay::parse_skew)]
    pub max_skew: Skew,
    /// A rules file of both rule sets (shared lists, unchanged rules),
    /// loaded after OLD and NEW; may be repeated.
    #[arg(long, value_name = "FILE")]
    pub also: Vec<PathBuf>,
    /// A rules file of the old rule set only; may be repeated.
    #[arg(long, value_name = "FILE")]
    pub old_also: Vec<PathBuf>,
    /// A rules file of the new rule set only; may be repeated.
    #[arg(long, value_name = "FILE")]
    pub new_also: Vec<PathBuf>,
}

/// One kind of change of one rule.
#[derive(Default, serde::Serialize)]
struct Changes {
    count: u64,
    examples: Vec<Example>,
}

#[derive(serde::Serialize)]
struct Example {
    line: u64,
    agent: String,
    /// What the old and the new rule set decided for the event.
    old: String,
    new: String,
}

/// What a change does to one rule.
#[derive(Default, serde::Serialize)]
struct RuleDiff {
    rule: String,
    title: String,
    /// Fired in both, the same.
    unchanged: u64,
    newly_firing: Changes,
    no_longer_firing: Changes,
    /// Fired in both, with another decision or severity.
    changed: Changes,
}

#[derive(serde::Serialize)]
struct Report {
    events: u64,
    bad_lines: u64,
    /// Events whose overall decision or severity differs.
    verdicts_changed: u64,
    rules: Vec<RuleDiff>,
}

fn describe(m: Option<MatchRef<'_>>) -> String {
    match m {
        None => "not fired".into(),
        Some(m) => format!(
            "{} {}{}",
            m.decision().map_or("no decision", |d| d.as_str()),
            m.severity().as_str(),
            if m.shadow() { " (shadow)" } else { "" }
        ),
    }
}

impl Changes {
    fn add(
        &mut self,
        max: usize,
        line: u64,
        agent: &str,
        old: Option<MatchRef<'_>>,
        new: Option<MatchRef<'_>>,
    ) {
        self.count += 1;
        if self.examples.len() < max {
            self.examples.push(Example {
                line,
                agent: agent.to_owned(),
                old: describe(old),
                new: describe(new),
            });
        }
    }
}

/// The engine of one side: `files` as one rule set, with the profiles, and
/// the state bounds of `replay`'s defaults.
fn build(files: &[PathBuf], args: &DiffArgs, color: bool) -> Option<Engine> {
    let set = super::load_rules(files, color)?;
    let mut builder = Engine::builder(set.compile())
        .max_agents(1_000_000)
        .max_keys(1_000_000)
        .max_keys_per_agent(riskgate::run::state::DEFAULT_MAX_KEYS_PER_AGENT)
        .max_state_bytes(riskgate::run::state::DEFAULT_MAX_STATE_BYTES)
        .forward_skew_limit_ms(args.max_skew.0);
    let profiles;
    if let Some(p) = &args.profiles {
        profiles = match Profiles::from_path(p) {
            Ok(profiles) => profiles,
            // The error names the file.
            Err(e) => {
                errln!("error: {}", printable(&e.to_string()));
                return None;
            }
        };
        if !profiles_fit(&profiles, set.program(), p, false) {
            return None;
        }
        builder = builder.profiles(&profiles);
    }
    match builder.build() {
        Ok(engine) => Some(engine),
        Err(e) => {
            errln!("error: {e}");
            None
        }
    }
}

/// Runs the diff.
pub fn run(args: &DiffArgs, color: bool) -> ExitCode {
    // Each set: its own file, then the files of both, then its own extras.
    let files = |first: &PathBuf, extra: &[PathBuf]| -> Vec<PathBuf> {
        std::iter::once(first)
            .chain(&args.also)
            .chain(extra)
            .cloned()
            .collect()
    };
    let Some(old) = build(&files(&args.old, &args.old_also), args, color) else {
        return ExitCode::FAILURE;
    };
    let Some(new) = build(&files(&args.new, &args.new_also), args, color) else {
        return ExitCode::FAILURE;
    };
    let Some((input, _)) = super::lines::open_events(&args.events) else {
        return ExitCode::FAILURE;
    };
    // Keep the attributes either rule set reads.
    let (old_program, new_program) = (old.program(), new.program());
    let attrs = AttrFilter::for_programs([&*old_program, &*new_program]);
    let mut rules: BTreeMap<String, RuleDiff> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for p in [new.program(), old.program()] {
        for r in &p.rules {
            let id = r.id.to_string();
            if !rules.contains_key(&id) {
                order.push(id.clone());
                rules.insert(
                    id.clone(),
                    RuleDiff {
                        rule: id,
                        title: r.title.as_deref().unwrap_or("").to_owned(),
                        ..RuleDiff::default()
                    },
                );
            }
        }
    }
    let mut report = Report {
        events: 0,
        bad_lines: 0,
        verdicts_changed: 0,
        rules: Vec::new(),
    };
    let mut bad = 0u64;
    let mut lines = super::lines::EventLines::starting_at(input, 0);
    let mut read_failed = false;
    loop {
        let (line_no, _, text) = match lines.next_text(&mut |n, what| {
            bad += 1;
            errln!("line {n}: {}", printable(&what.to_string()));
        }) {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(e) => {
                errln!("error: reading line {}: {e}", lines.line_no() + 1);
                read_failed = true;
                break;
            }
        };
        let event = match parse_event_with(text, args.format, &attrs) {
            Ok(e) => e,
            Err(e) => {
                bad += 1;
                errln!("line {line_no}: {}", printable(&e.to_string()));
                continue;
            }
        };
        report.events += 1;
        let (a, b) = (old.evaluate(&event), new.evaluate(&event));
        if (a.decision, a.severity) != (b.decision, b.severity) {
            report.verdicts_changed += 1;
        }
        compare(&a, &b, line_no, args.examples, &mut rules);
    }
    report.bad_lines = bad;
    report.rules = order
        .into_iter()
        .filter_map(|id| rules.remove(&id))
        .collect();
    let printed = match args.output {
        DiffOutput::Json => print_json(&report),
        DiffOutput::Text => print_text(&report),
    };
    if let Err(e) = printed {
        super::output::stdout_failed(&e);
    }
    if read_failed {
        ExitCode::FAILURE
    } else if bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Adds one event's two verdicts to the per-rule tallies.
fn compare(
    a: &Verdict<'_>,
    b: &Verdict<'_>,
    line: u64,
    max: usize,
    rules: &mut BTreeMap<String, RuleDiff>,
) {
    let agent = b.agent;
    for m in b.matches() {
        let before = a.matches().find(|o| o.rule() == m.rule());
        let Some(d) = rules.get_mut(m.rule()) else {
            continue;
        };
        match before {
            None => d.newly_firing.add(max, line, agent, None, Some(m)),
            Some(o)
                if (o.decision(), o.severity(), o.shadow())
                    != (m.decision(), m.severity(), m.shadow()) =>
            {
                d.changed.add(max, line, agent, Some(o), Some(m));
            }
            Some(_) => d.unchanged += 1,
        }
    }
    for o in a.matches() {
        if b.matches().any(|m| m.rule() == o.rule()) {
            continue;
        }
        if let Some(d) = rules.get_mut(o.rule()) {
            d.no_longer_firing.add(max, line, agent, Some(o), None);
        }
    }
}

fn print_json(report: &Report) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, report)?;
    writeln!(out)
}

fn print_text(report: &Report) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "{} events, {} with another decision or severity",
        report.events, report.verdicts_changed
    )?;
    writeln!(out)?;
    let width = report
        .rules
        .iter()
        .map(|r| printable(&r.rule).chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:width$}  {:>9}  {:>13}  {:>9}  {:>9}  title",
        "rule", "newly", "no longer", "changed", "same"
    )?;
    for r in &report.rules {
        writeln!(
            out,
            "{:width$}  {:>9}  {:>13}  {:>9}  {:>9}  {}",
            printable(&r.rule),
            r.newly_firing.count,
            r.no_longer_firing.count,
            r.changed.count,
            r.unchanged,
            printable(&r.title)
        )?;
    }
    for r in &report.rules {
        for (what, c) in [
            ("newly fires", &r.newly_firing),
            ("no longer fires", &r.no_longer_firing),
            ("changed", &r.changed),
        ] {
            if c.examples.is_empty() {
                continue;
            }
            writeln!(out)?;
            writeln!(
                out,
                "rule {} {what} ({}), for example:",
                printable(&r.rule),
                c.count
            )?;
            for e in &c.examples {
                writeln!(
                    out,
                    "  line {} agent {}: {} -> {}",
                    e.line,
                    printable(&e.agent),
                    e.old,
                    e.new
                )?;
            }
        }
    }
    out.flush()
}

/// How `diff` writes its report.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffOutput {
    /// Readable text.
    Text,
    /// One JSON object.
    Json,
}
