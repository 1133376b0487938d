//! `riskgate replay RULES... EVENTS`: evaluate a JSONL stream, print notable
//! verdicts, then a summary.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use super::output::errln;
use riskgate::input::okta::{parse_event_with, AttrFilter, Format};
use riskgate::lang::diagnostic::printable;
use riskgate::run::engine::Engine;
use riskgate::run::verdict::{format_time, Verdict};
use riskgate::Decision;

use super::record::{Line, Record};

mod decider;
mod parallel;

use decider::Decider;

/// Arguments of `riskgate replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Rules files, one rule set (lists and rule ids shared across them).
    #[arg(required = true, num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// JSONL events file, or `-` for standard input.
    pub events: PathBuf,
    /// Agent profiles (a JSON object, an array of them, or JSONL).
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Event format: `auto` (Okta if a line has `eventType`, else native), `okta`, `native`.
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// Explain each match: the sub-conditions and values that made it true.
    #[arg(long)]
    pub explain: bool,
    /// `text` (one line per verdict), `json` (one verdict object per line),
    /// `ocsf` (an OCSF Detection Finding, class 2004, per rule that fired)
    /// or `caep` (a Security Event Token payload with a CAEP event per
    /// enforced verdict: `session-revoked` for suspend and deny,
    /// `risk-level-change` for flag).
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// The issuer (`iss`) of the `caep` output's tokens.
    #[arg(long, default_value = "urn:riskgate")]
    pub issuer: String,
    /// Sign the `caep` output's tokens with this PEM (PKCS#8) P-256 private
    /// key (ES256): one compact JWS a line (needs the `caep-sign` feature).
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// The key id (`kid`) put in the signed tokens' header.
    #[arg(long)]
    pub key_id: Option<String>,
    /// Also write the summary as one JSON object to this file: the counts,
    /// the state, the rules fired and the bad lines (up to 1,000, each with
    /// its line number and error).
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Print only verdicts with an enforced match or an alert: leave out
    /// those whose only matches are shadow rules (counted in the summary all
    /// the same).
    #[arg(long)]
    pub hide_shadow: bool,
    /// Refuse profiles whose fields do not have the types the rules read
    /// them with (they are reported as warnings otherwise).
    #[arg(long)]
    pub strict: bool,
    /// Maximum agents with state.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_agents: usize,
    /// Maximum keys of `count(..) over W by F` counters kept, over all such
    /// counters; a new key at the cap evicts the least recently seen eighth.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_keys: usize,
    /// Maximum keys one agent's events create and keep; past it the agent's
    /// oldest key is evicted.
    #[arg(long, default_value_t = riskgate::run::state::DEFAULT_MAX_KEYS_PER_AGENT)]
    pub max_keys_per_agent: usize,
    /// Budget of state memory (`512M`, `2G`, bytes without a unit); past it
    /// the least recently seen agents and keys are evicted.
    #[arg(long, default_value = "1G", value_parser = parse_bytes)]
    pub max_state_bytes: usize,
    /// Events later than the machine's clock plus this (`30s`, `5m`, `2h`,
    /// `1d`) are evaluated but counted in no window; `off` counts every
    /// event whatever its time.
    #[arg(long, default_value = "5m", value_parser = parse_skew)]
    pub max_skew: Skew,
    /// Start from the state in this snapshot (written by `--state-out`):
    /// windows, baselines and cooldowns go on where it left them, and line
    /// numbers go on from the line it was taken after.
    #[arg(long, value_name = "FILE")]
    pub state_in: Option<PathBuf>,
    /// Write the state at the end of the input to this snapshot (replaced
    /// whole: written aside, then renamed over it).
    #[arg(long, value_name = "FILE")]
    pub state_out: Option<PathBuf>,
    /// Threads that parse and evaluate (default: the machine's cores; `1`
    /// reads, parses and evaluates one line after the other). The output is
    /// the same whatever the number: each agent's events are evaluated in
    /// input order, and verdicts and bad lines are printed in input order.
    /// Rules with state shared between agents (`count(..) over W by F`)
    /// are evaluated on one thread while the others parse ahead. Under
    /// eviction pressure (`--max-state-bytes`, `--max-keys` reached) which
    /// agents and keys go is estimated from a sample in hash order, so
    /// those runs may differ from each other at any number of threads; a
    /// batch that could reach `--max-agents` is evaluated in input order on
    /// one thread, so which agents stay untracked does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// Reports the fields of `profiles` whose types do not fit how `program`
/// reads them; false (an error) when there are some and `strict` is set.
pub fn profiles_fit(
    profiles: &riskgate::input::profile::Profiles,
    program: &riskgate::Program,
    path: &std::path::Path,
    strict: bool,
) -> bool {
    let warnings = profiles.check_types(program);
    let name = printable(&path.display().to_string()).into_owned();
    let level = if strict { "error" } else { "warning" };
    for w in &warnings {
        errln!("{level}: {name}: {w}");
    }
    if strict && !warnings.is_empty() {
        errln!(
            "error: {} profile field{} of the wrong type in `{name}` (--strict)",
            warnings.len(),
            super::plural(warnings.len())
        );
        return false;
    }
    true
}

/// The state bounds set from the command line.
pub struct StateLimits {
    /// `--max-agents`
    pub max_agents: usize,
    /// `--max-keys`
    pub max_keys: usize,
    /// `--max-keys-per-agent`
    pub max_keys_per_agent: usize,
    /// `--max-state-bytes`
    pub max_state_bytes: usize,
    /// `--max-skew`
    pub max_skew: Skew,
    /// `--strict`: mistyped profile fields are an error.
    pub strict: bool,
}

/// `512M`, `2G`, `64K` (binary units, an optional `iB` or `B`) or bytes.
fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "invalid size `{s}`: write `512M`, `2G` or a number of bytes"
            ))
        }
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1usize.checked_shl(shift)?))
        .ok_or_else(|| format!("invalid size `{s}`: write `512M`, `2G` or a number of bytes"))
}

/// A forward-skew limit in milliseconds, or none.
#[derive(Clone, Copy, Debug)]
pub struct Skew(pub Option<u64>);

/// `off`, or a whole number followed by `ms`, `s`, `m`, `h` or `d`.
pub fn parse_skew(text: &str) -> Result<Skew, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(Skew(None));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err("expected `off` or a duration such as `30s`, `5m`, `2h`".into()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .map(|ms| Skew(Some(ms)))
        .ok_or_else(|| "duration out of range".into())
}

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Readable lines.
    Text,
    /// JSON lines.
    Json,
    /// OCSF Detection Findings (class 2004), one a line for each rule that
    /// fired.
    Ocsf,
    /// Security Event Token payloads with a CAEP event, one a line for each
    /// enforced verdict.
    Caep,
}

/// Loads rules and profiles into an engine, printing errors.
pub fn build_engine(
    rules: &std::path::Path,
    profiles: Option<&std::path::Path>,
    limits: StateLimits,
    state_in: Option<&std::path::Path>,
    color: bool,
) -> Option<(Engine, u64)> {
    let builder = configured(
        std::slice::from_ref(&rules.to_path_buf()),
        profiles,
        limits,
        color,
    )?;
    match state_in {
        Some(path) => restore(path, |r| builder.restore(r)),
        None => match builder.build() {
            Ok(engine) => Some((engine, 0)),
            Err(e) => {
                errln!("error: {e}");
                None
            }
        },
    }
}

/// The engine or partition of a replay (see [`Decider`]): a partition
/// when one thread evaluates every event (`threads` is 1, or the rules
/// keep state shared between agents).
fn build_decider(
    args: &ReplayArgs,
    limits: StateLimits,
    threads: usize,
    color: bool,
) -> Option<(Decider, u64)> {
    let builder = configured(&args.rules, args.profiles.as_deref(), limits, color)?;
    let shared_state = builder.program().counters.iter().any(|c| c.by.is_some());
    if threads > 1 && !shared_state {
        let (engine, line) = match args.state_in.as_deref() {
            Some(path) => restore(path, |r| builder.restore(r))?,
            None => match builder.build() {
                Ok(engine) => (engine, 0),
                Err(e) => {
                    errln!("error: {e}");
                    return None;
                }
            },
        };
        return Some((Decider::Shared(engine), line));
    }
    let (partition, line) = match args.state_in.as_deref() {
        Some(path) => restore(path, |r| builder.restore_partition(r))?,
        None => match builder.build_partition() {
            Ok(p) => (p, 0),
            Err(e) => {
                errln!("error: {e}");
                return None;
            }
        },
    };
    Some((Decider::Owned(std::sync::Mutex::new(partition)), line))
}

/// Loads rules and profiles into an engine builder with `limits`,
/// printing errors.
fn configured(
    rules: &[PathBuf],
    profiles: Option<&std::path::Path>,
    limits: StateLimits,
    color: bool,
) -> Option<riskgate::run::engine::EngineBuilder> {
    let set = super::load_rules(rules, color)?;
    let builder = Engine::builder(set.compile())
        .max_agents(limits.max_agents)
        .max_keys(limits.max_keys)
        .max_keys_per_agent(limits.max_keys_per_agent)
        .max_state_bytes(limits.max_state_bytes);
    let max_skew = limits.max_skew;
    let mut builder = builder.forward_skew_limit_ms(max_skew.0);
    let read = &set.program().profile_paths;
    if profiles.is_none() && !read.is_empty() {
        // Every agent is then without a profile: its fields are unknown and
        // its lists empty, which can fire every `not in` rule on them.
        let mut names: Vec<String> = read
            .iter()
            .map(|p| format!("agent.{}", p.join(".")))
            .collect();
        names.sort();
        names.dedup();
        errln!(
            "warning: the rules read {} but no --profiles were given: no agent has a profile, so tests of these fields are unknown and their lists are empty",
            printable(&names.join(", "))
        );
    }
    if let Some(p) = profiles {
        match riskgate::input::profile::Profiles::from_path(p) {
            Ok(profiles) => {
                if !profiles_fit(&profiles, set.program(), p, limits.strict) {
                    return None;
                }
                builder = builder.profiles(&profiles);
            }
            // The error names the file.
            Err(e) => {
                errln!("error: {}", printable(&e.to_string()));
                return None;
            }
        }
    }
    Some(builder)
}

/// What `restore_from` restored from the snapshot at `path` (an engine or
/// a partition), and the input line the snapshot was taken after.
fn restore<T>(
    path: &std::path::Path,
    restore_from: impl FnOnce(
        std::io::BufReader<std::fs::File>,
    ) -> Result<
        (T, riskgate::run::engine::RestoreReport),
        riskgate::run::snapshot::RestoreError,
    >,
) -> Option<(T, u64)> {
    let name = printable(&path.display().to_string()).into_owned();
    let file = match riskgate::limits::open_input(path, true) {
        Ok(f) => f,
        Err(e) => {
            errln!("error: cannot read `{name}`: {}", printable(&e.to_string()));
            return None;
        }
    };
    match restore_from(std::io::BufReader::new(file)) {
        Ok((engine, report)) => {
            let line = report.summary.position.get("line").copied().unwrap_or(0);
            errln!(
                "state: {} agents and {} keys restored from {name} (taken after line {line}){}",
                report.summary.agents,
                report.summary.keys,
                if report.new_metrics.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; new metrics start empty: {}",
                        report.new_metrics.join(", ")
                    )
                }
            );
            Some((engine, line))
        }
        Err(e) => {
            errln!("error: `{name}`: {}", printable(&e.to_string()));
            None
        }
    }
}

/// Writes the replay's state to `path` (aside, then renamed over it).
fn write_state(decider: &Decider, path: &std::path::Path, line: u64) -> bool {
    let name = printable(&path.display().to_string()).into_owned();
    let position = [("line".to_string(), line)].into_iter().collect();
    match super::write_snapshot_file(path, |w| decider.snapshot_at(w, position)) {
        Ok(s) => {
            errln!(
                "state: {} agents and {} keys written to {name} ({} bytes, after line {line})",
                s.agents,
                s.keys,
                s.bytes
            );
            true
        }
        Err(e) => {
            errln!("error: cannot write the state to `{name}`: {e}");
            false
        }
    }
}

/// What every replay loop shares: the engine, the options and where bad
/// lines are reported.
struct Context<'a> {
    decider: &'a Decider,
    args: &'a ReplayArgs,
    /// Okta events keep as `attrs` only what the rules' `attr.` paths read:
    /// the same verdicts, without building JSON values for the rest.
    attrs: AttrFilter,
    progress: Option<indicatif::ProgressBar>,
    /// How `caep` tokens are written.
    signer: super::caep::Signer,
    /// The first bad lines and their errors, for `--summary-json`.
    bad_lines: std::sync::Mutex<Vec<(u64, String)>>,
}

/// Most bad lines `--summary-json` lists.
const SUMMARY_BAD_LINES: usize = 1_000;

impl Context<'_> {
    /// Reports bad line `line_no` on stderr. Error messages quote the
    /// input: escaped like every value printed.
    fn report(&self, line_no: u64, what: &dyn std::fmt::Display) {
        let what = what.to_string();
        if self.args.summary_json.is_some() {
            let mut bad = self
                .bad_lines
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if bad.len() < SUMMARY_BAD_LINES {
                bad.push((line_no, what.clone()));
            }
        }
        let what = printable(&what);
        if let Some(bar) = &self.progress {
            bar.suspend(|| errln!("line {line_no}: {what}"));
        } else {
            errln!("line {line_no}: {what}");
        }
    }

    /// Whether `verdict` is printed. Shadow matches are shown (marked)
    /// unless hidden: seeing what a rule would do before enforcing it is
    /// what shadow mode is for.
    fn shown(&self, verdict: &Verdict<'_>) -> bool {
        verdict.is_notable() || (!self.args.hide_shadow && verdict.has_matches())
    }
}

/// How a replay loop ended.
struct Ended {
    /// The number of the last line read.
    line_no: u64,
    /// Reading the input failed (not one line of it).
    read_failed: bool,
}

/// The default of `--threads`: the machine's cores.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs the replay.
pub fn run(args: &ReplayArgs, color: bool) -> ExitCode {
    let threads = args.threads.map_or_else(default_threads, usize::from);
    let limits = StateLimits {
        max_agents: args.max_agents,
        max_keys: args.max_keys,
        max_keys_per_agent: args.max_keys_per_agent,
        max_state_bytes: args.max_state_bytes,
        max_skew: args.max_skew,
        strict: args.strict,
    };
    let Some((decider, first_line)) = build_decider(args, limits, threads, color) else {
        return ExitCode::FAILURE;
    };
    let Some((input, total_bytes)) = super::lines::open_events(&args.events) else {
        return ExitCode::FAILURE;
    };
    let progress = (std::io::stderr().is_terminal() && total_bytes.is_some_and(|b| b > 8 << 20))
        .then(|| {
            let bar = indicatif::ProgressBar::new(total_bytes.unwrap_or(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
    let signer = match (args.output, args.signing_key.as_deref()) {
        (Output::Caep, key) => super::caep::Signer::from_key(key, args.key_id.clone()),
        (_, None) => Ok(super::caep::Signer::None),
        (_, Some(_)) => Err("--signing-key signs the tokens of --output caep".to_string()),
    };
    let signer = match signer {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {}", printable(&e));
            return ExitCode::FAILURE;
        }
    };
    let ctx = Context {
        decider: &decider,
        args,
        attrs: AttrFilter::for_program(&decider.program()),
        progress,
        signer,
        bad_lines: std::sync::Mutex::new(Vec::new()),
    };
    let mut summary = Summary::default();
    let started = Instant::now();
    let ended = if threads > 1 {
        parallel::replay(&ctx, input, first_line, threads, &mut summary)
    } else {
        sequential(&ctx, input, first_line, &mut summary)
    };
    if let Some(bar) = &ctx.progress {
        bar.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    summary.print(&decider.stats(), &decider.program(), secs);
    if let Some(path) = &args.summary_json {
        let bad = ctx
            .bad_lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let json = summary.to_json(&decider.stats(), secs, &bad);
        let written = std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            serde_json::to_writer_pretty(&mut w, &json)?;
            writeln!(w)?;
            w.flush()
        });
        if let Err(e) = written {
            errln!("error: `{}`: {e}", printable(&path.display().to_string()));
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &args.state_out {
        if !write_state(&decider, path, ended.line_no) {
            return ExitCode::FAILURE;
        }
    }
    if ended.read_failed {
        ExitCode::FAILURE
    } else if summary.bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// `--threads 1`: one line after the other, read, parsed, evaluated and
/// printed.
fn sequential(
    ctx: &Context<'_>,
    input: Box<dyn std::io::Read + Send>,
    first_line: u64,
    summary: &mut Summary,
) -> Ended {
    let mut lines = super::lines::EventLines::starting_at(input, first_line);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut read_failed = false;
    let mut evaluator = ctx.decider.evaluator();
    loop {
        let (line_no, bytes_read, text) = match lines.next_text(&mut |n, what| {
            summary.bad += 1;
            ctx.report(n, what);
        }) {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(e) => {
                // The input itself failed (not one line of it): exit 1
                // after the summary of what was read.
                errln!("error: reading line {}: {e}", lines.line_no() + 1);
                read_failed = true;
                break;
            }
        };
        if let Some(bar) = &ctx.progress {
            bar.set_position(bytes_read);
        }
        let event = match parse_event_with(text, ctx.args.format, &ctx.attrs) {
            Ok(e) => e,
            Err(e) => {
                summary.bad += 1;
                ctx.report(line_no, &e);
                continue;
            }
        };
        summary.events += 1;
        let verdict = evaluator.evaluate(&event, ctx.args.explain);
        summary.count(&verdict);
        if ctx.shown(&verdict) {
            if let Err(e) = print_verdict(&mut out, (line_no, text, &event), &verdict, ctx) {
                super::output::stdout_failed(&e);
            }
        }
    }
    if let Err(e) = out.flush() {
        super::output::stdout_failed(&e);
    }
    Ended {
        line_no: lines.line_no(),
        read_failed,
    }
}

/// Prints the verdict `v` of `event` (line `line`, read from `text`):
/// JSON with the event's identity and context ([`Record`]), or text.
fn print_verdict(
    out: &mut impl Write,
    (line, text, event): (u64, &str, &riskgate::Event<'_>),
    v: &Verdict<'_>,
    ctx: &Context<'_>,
) -> std::io::Result<()> {
    match ctx.args.output {
        Output::Caep => super::caep::write_set(out, &ctx.args.issuer, &ctx.signer, text, v),
        Output::Json => {
            serde_json::to_writer(&mut *out, &Record::of(Line { line }, text, event, v))?;
            writeln!(out)
        }
        Output::Ocsf => super::ocsf::write_findings(out, (line, text, event), v),
        Output::Text => {
            let sev = v.severity.map_or("-", |s| s.as_str());
            let rules: Vec<String> = v
                .matches()
                .map(|m| {
                    let mut s = printable(m.rule()).into_owned();
                    if m.shadow() {
                        s.push_str("(shadow)");
                    }
                    s
                })
                .collect();
            writeln!(
                out,
                "line {line} {} {} {} {sev} rules={}",
                format_time(v.time_ms),
                printable(v.agent),
                v.decision.as_str().to_uppercase(),
                rules.join(",")
            )?;
            for m in v.matches() {
                let title = printable(m.title().unwrap_or(""));
                let alerts: Vec<String> = m
                    .alerts()
                    .map(|a| {
                        let ch = printable(a.channel.unwrap_or("default"));
                        let imm = if a.immediate { "immediate " } else { "" };
                        let sup = if a.suppressed {
                            " (suppressed by cooldown)"
                        } else {
                            ""
                        };
                        format!("{imm}alert {ch}{sup}")
                    })
                    .collect();
                let alerts = if alerts.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", alerts.join("; "))
                };
                writeln!(
                    out,
                    "  rule {} — {title}: {}{alerts}",
                    printable(m.rule()),
                    printable(&m.actions().join(" + "))
                )?;
                if let Some(ex) = m.explanation() {
                    for e in ex {
                        writeln!(out, "    because {}", printable(e))?;
                    }
                }
            }
            Ok(())
        }
    }
}

#[derive(Default)]
struct Summary {
    events: u64,
    bad: u64,
    decisions: [u64; 4],
    alerts_only: u64,
}

impl Summary {
    /// Adds the counts of `other` (a part of the input) to these.
    fn add(&mut self, other: &Summary) {
        self.events += other.events;
        self.bad += other.bad;
        for (n, m) in self.decisions.iter_mut().zip(other.decisions) {
            *n += m;
        }
        self.alerts_only += other.alerts_only;
    }

    fn count(&mut self, v: &Verdict<'_>) {
        let i = match v.decision {
            Decision::Allow => 0,
            Decision::Flag => 1,
            Decision::Suspend => 2,
            Decision::Deny => 3,
        };
        if let Some(n) = self.decisions.get_mut(i) {
            *n += 1;
        }
        if v.decision == Decision::Allow && v.is_notable() {
            self.alerts_only += 1;
        }
    }

    /// The summary as one JSON object (`--summary-json`).
    fn to_json(
        &self,
        stats: &riskgate::run::engine::Stats,
        secs: f64,
        bad: &[(u64, String)],
    ) -> serde_json::Value {
        let [allow, flag, suspend, deny] = self.decisions;
        let fired: serde_json::Map<String, serde_json::Value> = stats
            .fired
            .iter()
            .map(|(id, n)| (id.to_string(), serde_json::json!(n)))
            .collect();
        serde_json::json!({
            "events": self.events,
            "bad_lines": self.bad,
            "seconds": secs,
            "decisions": {
                "allow": allow,
                "allow_with_alerts": self.alerts_only,
                "flag": flag,
                "suspend": suspend,
                "deny": deny,
            },
            "agents": {
                "tracked": stats.tracked_agents,
                "untracked_evaluations": stats.untracked,
                "evicted": stats.evicted_agents,
                "late_dropped": stats.late_dropped,
                "late_partly_counted": stats.late_partial,
                "past_forward_skew": stats.skewed,
            },
            "keys": {
                "tracked": stats.tracked_keys,
                "untracked_updates": stats.untracked_keys,
                "evicted": stats.evicted_keys,
                "evicted_over_quota": stats.quota_evicted_keys,
            },
            "state_bytes": stats.state_bytes,
            "fired": fired,
            "errors": bad
                .iter()
                .map(|(line, error)| serde_json::json!({ "line": line, "error": error }))
                .collect::<Vec<_>>(),
        })
    }

    fn print(&self, stats: &riskgate::run::engine::Stats, program: &riskgate::Program, secs: f64) {
        let rate = if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        };
        let [allow, flag, suspend, deny] = self.decisions;
        errln!("--- summary");
        errln!(
            "events: {}  bad lines: {}  time: {secs:.3}s  rate: {rate:.0} events/s",
            self.events,
            self.bad
        );
        errln!("decisions: allow {allow} (with alerts {})  flag {flag}  suspend {suspend}  deny {deny}", self.alerts_only);
        errln!(
            "agents tracked: {}  untracked evaluations: {}  evicted: {}  late dropped: {}  late partly counted: {}  past the forward skew: {}",
            stats.tracked_agents, stats.untracked, stats.evicted_agents, stats.late_dropped, stats.late_partial, stats.skewed
        );
        errln!(
            "keys tracked: {}  untracked key updates: {}  evicted: {} (over an agent's quota: {})  state: {:.1} MiB",
            stats.tracked_keys,
            stats.untracked_keys,
            stats.evicted_keys,
            stats.quota_evicted_keys,
            stats.state_bytes as f64 / f64::from(1u32 << 20)
        );
        errln!("rules fired:");
        for (id, n) in &stats.fired {
            let title = program
                .rules
                .iter()
                .find(|r| r.id == *id)
                .and_then(|r| r.title.as_deref())
                .unwrap_or("");
            errln!("  {n:>8}  {} — {}", printable(id), printable(title));
        }
    }
}
