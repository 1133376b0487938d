//! `riskgate replay RULES EVENTS`: evaluate a JSONL stream, print notable
//! verdicts, then a summary.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use super::output::errln;
use riskgate::input::okta::{parse_event_with, AttrFilter, Format};
use riskgate::lang::diagnostic::printable;
use riskgate::run::engine::Engine;
use riskgate::run::verdict::{format_time, Verdict};
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
fn parse_skew(text: &str) -> Result<Skew, String> {
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
}

/// Loads rules and profiles into an engine, printing errors.
pub fn build_engine(
    rules: &std::path::Path,
    profiles: Option<&std::path::Path>,
    limits: StateLimits,
    color: bool,
) -> Option<Engine> {
    let set = super::load_rules(std::slice::from_ref(&rules.to_path_buf()), color)?;
    let builder = Engine::builder(set.compile())
        .max_agents(limits.max_agents)
        .max_keys(limits.max_keys)
        .max_keys_per_agent(limits.max_keys_per_agent)
        .max_state_bytes(limits.max_state_bytes);
    let max_skew = limits.max_skew;
    let mut builder = builder.forward_skew_limit_ms(max_skew.0);
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
    match builder.build() {
        Ok(engine) => Some(engine),
        Err(e) => {
            errln!("error: {e}");
            None
        }
    }
}

/// Runs the replay.
pub fn run(args: &ReplayArgs, color: bool) -> ExitCode {
    let Some(engine) = build_engine(
        &args.rules,
        args.profiles.as_deref(),
        StateLimits {
            max_agents: args.max_agents,
            max_keys: args.max_keys,
            max_keys_per_agent: args.max_keys_per_agent,
            max_state_bytes: args.max_state_bytes,
            max_skew: args.max_skew,
            strict: args.strict,
        },
        color,
    ) else {
        return ExitCode::FAILURE;
    };
    let (input, total_bytes): (Box<dyn Read>, Option<u64>) = if args.events.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let name = printable(&args.events.display().to_string()).into_owned();
        match std::fs::File::open(&args.events) {
            Ok(f) => match f.metadata() {
                // A directory opens on Unix but cannot be read: an I/O
                // error of the whole input, not a bad line.
                Ok(m) if m.is_dir() => {
                    errln!("error: cannot read `{name}`: it is a directory");
                    return ExitCode::FAILURE;
                }
                m => (Box::new(f), m.ok().map(|m| m.len())),
            },
            Err(e) => {
                errln!("error: cannot open `{name}`: {e}");
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
    let attrs = AttrFilter::for_program(&engine.program());
    let mut summary = Summary::default();
    let started = Instant::now();
    let mut line_no = 0u64;
    let mut read_failed = false;
    // Error messages quote the input: escaped like every value printed.
    let report = |line_no: u64, what: &dyn std::fmt::Display| {
        let what = what.to_string();
        let what = printable(&what);
        if let Some(bar) = &progress {
            bar.suspend(|| errln!("line {line_no}: {what}"));
        } else {
            errln!("line {line_no}: {what}");
        }
    };
    loop {
        let read = match read_line_capped(&mut reader, &mut line, &mut skip_buf, MAX_LINE_BYTES) {
            Ok(r) => r,
            Err(e) => {
                // The input itself failed (not one line of it): exit 1
                // after the summary of what was read.
                errln!("error: reading line {}: {e}", line_no + 1);
                read_failed = true;
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
        // Shadow matches are shown (marked) unless hidden: seeing what a
        // rule would do before enforcing it is what shadow mode is for.
        let shown = verdict.is_notable() || (!args.hide_shadow && !verdict.matches.is_empty());
        if shown {
            if let Err(e) = print_verdict(&mut out, line_no, &verdict, args.output) {
                super::output::stdout_failed(&e);
            }
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Err(e) = out.flush() {
        super::output::stdout_failed(&e);
    }
    summary.print(&engine, started.elapsed().as_secs_f64());
    if read_failed {
        ExitCode::FAILURE
    } else if summary.bad > 0 {
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
                    let mut s = printable(&m.rule).into_owned();
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
                printable(v.agent),
                v.decision.as_str().to_uppercase(),
                rules.join(",")
            )?;
            for m in &v.matches {
                let title = printable(m.title.as_deref().unwrap_or(""));
                let alerts: Vec<String> = m
                    .alerts
                    .iter()
                    .map(|a| {
                        let ch = printable(a.channel.as_deref().unwrap_or("default"));
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
                    printable(&m.rule),
                    printable(&m.actions.join(" + "))
                )?;
                if let Some(ex) = &m.explanation {
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
        errln!("--- summary");
        errln!(
            "events: {}  bad lines: {}  time: {secs:.3}s  rate: {rate:.0} events/s",
            self.events,
            self.bad
        );
        errln!("decisions: allow {allow} (with alerts {})  flag {flag}  suspend {suspend}  deny {deny}", self.alerts_only);
        let stats = engine.stats();
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
        let program = engine.program();
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
