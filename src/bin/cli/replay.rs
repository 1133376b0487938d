//! `riskgate replay RULES EVENTS`: evaluate a JSONL stream, print notable
//! verdicts, then a summary.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use riskgate::engine::Engine;
use riskgate::okta::{parse_event_with, AttrFilter, Format};
use riskgate::verdict::{format_time, Verdict};
use riskgate::Decision;

/// Arguments of `riskgate replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Rules file.
    pub rules: PathBuf,
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
    /// `text` (one line per verdict) or `json` (one verdict object per line).
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Bounds of the engine's state.
    #[command(flatten)]
    pub state: StateArgs,
}

/// The engine's state bounds, as `replay` flags.
#[derive(clap::Args)]
pub struct StateArgs {
    /// Maximum agents with state.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_agents: usize,
    /// Maximum keys of `count(..) by F` counters kept; a new key at the cap
    /// evicts the least recently seen eighth of them.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_keys: usize,
    /// Maximum keys one agent's events create and keep; past it the agent's
    /// oldest key is evicted.
    #[arg(long, default_value_t = riskgate::state::DEFAULT_MAX_KEYS_PER_AGENT)]
    pub max_keys_per_agent: usize,
    /// Budget of state memory (`512M`, `2G`, bytes without a unit); past it
    /// the least recently seen agents and keys are evicted.
    #[arg(long, default_value = "1G", value_parser = parse_bytes)]
    pub max_state_bytes: usize,
    /// Events stamped more than this ahead of the system clock are evaluated
    /// but not counted (`30s`, `5m`, `1h`, or `off` to trust every time).
    #[arg(long, default_value = "5m", value_parser = parse_skew)]
    pub max_skew: Skew,
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

/// A forward-skew limit in ms, `None` for `off`.
#[derive(Clone, Copy, Debug)]
pub struct Skew(pub Option<u64>);

fn parse_skew(s: &str) -> Result<Skew, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Skew(None));
    }
    riskgate::syntax::parse_duration(s)
        .map(|ms| Skew(Some(ms)))
        .ok_or_else(|| format!("invalid duration `{s}`: write `30s`, `5m`, `1h` or `off`"))
}

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Readable lines.
    Text,
    /// JSON lines.
    Json,
}

/// Loads rules and profiles into an engine, printing errors.
pub fn build_engine(
    rules: &std::path::Path,
    profiles: Option<&std::path::Path>,
    state: &StateArgs,
    color: bool,
) -> Option<Engine> {
    let set = super::load_rules(std::slice::from_ref(&rules.to_path_buf()), color)?;
    let mut builder = Engine::builder(set.compile())
        .max_agents(state.max_agents)
        .max_keys(state.max_keys)
        .max_keys_per_agent(state.max_keys_per_agent)
        .max_state_bytes(state.max_state_bytes)
        .forward_skew_limit_ms(state.max_skew.0);
    if let Some(p) = profiles {
        match riskgate::profile::Profiles::from_path(p) {
            Ok(profiles) => builder = builder.profiles(&profiles),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return None;
            }
        }
    }
    match builder.build() {
        Ok(engine) => Some(engine),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// Runs the replay.
pub fn run(args: &ReplayArgs, color: bool) -> ExitCode {
    let Some(engine) = build_engine(&args.rules, args.profiles.as_deref(), &args.state, color)
    else {
        return ExitCode::FAILURE;
    };
    let (input, total_bytes): (Box<dyn Read>, Option<u64>) = if args.events.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        match std::fs::File::open(&args.events) {
            Ok(f) => {
                let len = f.metadata().ok().map(|m| m.len());
                (Box::new(f), len)
            }
            Err(e) => {
                eprintln!("error: cannot open `{}`: {e}", args.events.display());
                return ExitCode::FAILURE;
            }
        }
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
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut line: Vec<u8> = Vec::new();
    let mut skip_buf: Vec<u8> = Vec::new();
    // Okta events keep as `attrs` only what the rules' `attr.` paths read:
    // the same verdicts, without building JSON values for the rest.
    let attrs = AttrFilter::for_program(engine.program());
    let mut summary = Summary::default();
    let started = Instant::now();
    let mut line_no = 0u64;
    let report = |line_no: u64, what: &dyn std::fmt::Display| {
        if let Some(bar) = &progress {
            bar.suspend(|| eprintln!("line {line_no}: {what}"));
        } else {
            eprintln!("line {line_no}: {what}");
        }
    };
    loop {
        let read = match read_line_capped(&mut reader, &mut line, &mut skip_buf, MAX_LINE_BYTES) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: reading line {}: {e}", line_no + 1);
                summary.bad += 1;
                break;
            }
        };
        if read.bytes == 0 {
            break;
        }
        if let Some(bar) = &progress {
            bar.inc(read.bytes);
        }
        line_no += 1;
        // A bad line is reported and skipped; the replay goes on.
        if read.too_long {
            summary.bad += 1;
            report(
                line_no,
                &format_args!("longer than {MAX_LINE_BYTES} bytes; skipped"),
            );
            continue;
        }
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t.trim(),
            Err(e) => {
                summary.bad += 1;
                let at = e.valid_up_to();
                report(line_no, &format_args!("not UTF-8 text (byte {at})"));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let event = match parse_event_with(text, args.format, &attrs) {
            Ok(e) => e,
            Err(e) => {
                summary.bad += 1;
                report(line_no, &e);
                continue;
            }
        };
        summary.events += 1;
        let verdict = if args.explain {
            engine.evaluate_explained(&event)
        } else {
            engine.evaluate(&event)
        };
        summary.count(&verdict);
        if verdict.is_notable() {
            if let Err(e) = print_verdict(&mut out, line_no, &verdict, args.output) {
                eprintln!("error: writing output: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let _ = out.flush();
    summary.print(&engine, started.elapsed().as_secs_f64());
    if summary.bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Longest event line read (16 MiB): a longer one (a log without line
/// breaks, `/dev/zero`) is skipped as a bad line without being held in
/// memory.
const MAX_LINE_BYTES: usize = 16 << 20;

/// What [`read_line_capped`] read.
struct LineRead {
    /// Bytes consumed, the line break included (0 at the end).
    bytes: u64,
    /// The line was longer than the cap: `line` holds only its start.
    too_long: bool,
}

/// Reads one line (up to and including `\n`) into `line`, keeping at most
/// `cap` bytes of it; the rest of a longer line is read through `skip` in
/// `cap`-sized pieces and dropped.
fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    skip: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<LineRead> {
    line.clear();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX);
    let n = reader.by_ref().take(limit).read_until(b'\n', line)?;
    let mut read = LineRead {
        bytes: n as u64,
        too_long: false,
    };
    if n < cap || line.last() == Some(&b'\n') {
        return Ok(read);
    }
    // `cap` bytes and no line break yet: more than `cap` unless the line
    // ends right here (at the end of the input or with its line break).
    let mut first = true;
    loop {
        skip.clear();
        let m = reader.by_ref().take(limit).read_until(b'\n', skip)?;
        if m == 0 {
            return Ok(read);
        }
        if first && skip.as_slice() == b"\n" {
            line.push(b'\n');
            read.bytes += 1;
            return Ok(read);
        }
        first = false;
        read.too_long = true;
        read.bytes += m as u64;
        if skip.last() == Some(&b'\n') {
            return Ok(read);
        }
    }
}

/// JSON form of a verdict with the event's line number.
#[derive(serde::Serialize)]
struct Record<'a, 'e> {
    line: u64,
    #[serde(flatten)]
    verdict: &'a Verdict<'e>,
}

fn print_verdict(
    out: &mut impl Write,
    line: u64,
    v: &Verdict<'_>,
    output: Output,
) -> std::io::Result<()> {
    match output {
        Output::Json => {
            serde_json::to_writer(&mut *out, &Record { line, verdict: v })?;
            writeln!(out)
        }
        Output::Text => {
            let sev = v.severity.map_or("-", |s| s.as_str());
            let rules: Vec<String> = v
                .matches
                .iter()
                .map(|m| {
                    let mut s = format!("{}", m.rule);
                    if m.shadow {
                        s.push_str("(shadow)");
                    }
                    s
                })
                .collect();
            writeln!(
                out,
                "line {line} {} {} {} {sev} rules={}",
                format_time(v.time_ms),
                v.agent,
                v.decision.as_str().to_uppercase(),
                rules.join(",")
            )?;
            for m in &v.matches {
                let title = m.title.as_deref().unwrap_or("");
                let alerts: Vec<String> = m
                    .alerts
                    .iter()
                    .map(|a| {
                        let ch = a.channel.as_deref().unwrap_or("default");
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
                    m.rule,
                    m.actions.join(" + ")
                )?;
                if let Some(ex) = &m.explanation {
                    for e in ex {
                        writeln!(out, "    because {e}")?;
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

    fn print(&self, engine: &Engine, secs: f64) {
        let rate = if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        };
        let [allow, flag, suspend, deny] = self.decisions;
        eprintln!("--- summary");
        eprintln!(
            "events: {}  bad lines: {}  time: {secs:.3}s  rate: {rate:.0} events/s",
            self.events, self.bad
        );
        eprintln!("decisions: allow {allow} (with alerts {})  flag {flag}  suspend {suspend}  deny {deny}", self.alerts_only);
        let stats = engine.stats();
        eprintln!(
            "agents tracked: {}  untracked evaluations: {}  evicted: {}  late dropped: {}  late partial: {}  skewed: {}",
            stats.tracked_agents, stats.untracked, stats.evicted_agents, stats.late_dropped, stats.late_partial, stats.skewed
        );
        eprintln!(
            "keys tracked: {}  untracked updates: {}  evicted: {} (over an agent's quota: {})  state: {:.1} MiB",
            stats.tracked_keys,
            stats.untracked_keys,
            stats.evicted_keys,
            stats.quota_evicted_keys,
            stats.state_bytes as f64 / f64::from(1u32 << 20)
        );
        eprintln!("rules fired:");
        for (id, n) in &stats.fired {
            let title = engine
                .program()
                .rules
                .iter()
                .find(|r| r.id == *id)
                .and_then(|r| r.title.as_deref())
                .unwrap_or("");
            eprintln!("  {n:>8}  {id} — {title}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_line_capped;

    /// Every line of `input` read with a cap of `cap` bytes: (kept text,
    /// bytes consumed, too long).
    fn lines(input: &[u8], cap: usize) -> Vec<(String, u64, bool)> {
        let mut reader = std::io::BufReader::with_capacity(4, input);
        let (mut line, mut skip) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        loop {
            let r = read_line_capped(&mut reader, &mut line, &mut skip, cap)
                .unwrap_or_else(|e| panic!("{e}"));
            if r.bytes == 0 {
                return out;
            }
            out.push((
                String::from_utf8_lossy(&line).into_owned(),
                r.bytes,
                r.too_long,
            ));
        }
    }

    #[test]
    fn lines_up_to_the_cap_are_whole_and_longer_ones_are_skipped() {
        let got = lines(b"abc\nabcd\nabcde\nabcdefghijk\nab\nabcde", 4);
        let want = [
            ("abc\n", 4, false),
            // Exactly the cap, then its line break: whole.
            ("abcd\n", 5, false),
            ("abcd", 6, true),
            ("abcd", 12, true),
            ("ab\n", 3, false),
            // Past the cap at the end of the input, without a line break.
            ("abcd", 5, true),
        ];
        let want: Vec<(String, u64, bool)> = want
            .iter()
            .map(|(t, n, l)| (t.to_string(), *n, *l))
            .collect();
        assert_eq!(got, want);
        // Exactly the cap at the end of the input: whole.
        assert_eq!(lines(b"abcd", 4), [("abcd".to_string(), 4, false)]);
        assert_eq!(lines(b"", 4), []);
    }
}
