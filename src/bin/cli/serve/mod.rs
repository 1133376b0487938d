//! `riskgate serve`: the engine as a long-running service. Events come in
//! as JSON lines on standard input, verdicts go out as JSON lines on
//! standard output (with the event's `uuid`, so a consumer can drop
//! duplicates); the rules and profiles reload when their files change or on
//! `SIGHUP`, keeping every metric's state; `/healthz`, `/readyz` and
//! `/metrics` answer on a local address; the state is restored from a
//! snapshot file at start and written to it at exit (`SIGTERM`, `SIGINT`
//! or the end of the input) and every `state.interval`.

pub mod config;
mod http;
#[cfg(feature = "kafka")]
mod kafka;
mod metrics;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use riskgate::input::okta::{parse_event_with, AttrFilter};
use riskgate::lang::diagnostic::printable;
use riskgate::run::engine::Engine;
use riskgate::run::verdict::Verdict;

use super::output::errln;
use super::replay::StateLimits;
use config::Config;
#[cfg(feature = "kafka")]
use config::Input;
pub use config::ServeArgs;
use metrics::Metrics;

/// Lines queued between the reader and the evaluator.
const QUEUE: usize = 4096;

fn log(what: &str) {
    errln!("riskgate serve: {what}");
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// One line from the reader thread.
enum Line {
    Text(u64, String),
    Bad(u64, String),
    Failed(String),
}

/// Runs the service.
pub fn run(args: &ServeArgs, color: bool) -> ExitCode {
    let config = match Config::load(args) {
        Ok(c) => c,
        Err(e) => {
            errln!("error: {}", printable(&e));
            return ExitCode::FAILURE;
        }
    };
    if args.check_config {
        return check_config(&config, color);
    }
    let term = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for (signal, flag) in [
        (signal_hook::consts::SIGTERM, &term),
        (signal_hook::consts::SIGINT, &term),
        (signal_hook::consts::SIGHUP, &hup),
    ] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(flag)) {
            errln!("error: cannot handle signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let metrics = Arc::new(Metrics::new());
    let slot: http::Source = Arc::new(OnceLock::new());
    let server = match http::Server::start(config.listen, Arc::clone(&slot), Arc::clone(&metrics)) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: cannot listen on {}: {e}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    log(&format!("listening on http://{}", server.addr()));
    #[cfg(feature = "kafka")]
    if config.input == Input::Kafka {
        let code = kafka::run(&config, &metrics, &slot, &term, &hup, color);
        server.stop();
        log("stopped");
        return code;
    }
    let Some(engine) = start_engine(&config, &metrics, color) else {
        server.stop();
        return ExitCode::FAILURE;
    };
    let engine = Arc::new(engine);
    let gauges = Arc::clone(&engine);
    let _ = slot.set(Box::new(move || metrics::Gauges::of(&gauges)));
    log(&format!(
        "ready: {} rules from {}",
        engine.program().rules.len(),
        printable(&config.rules.display().to_string())
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (engine, metrics, stop, hup) = (
            Arc::clone(&engine),
            Arc::clone(&metrics),
            Arc::clone(&stop),
            Arc::clone(&hup),
        );
        let config = config.clone();
        std::thread::spawn(move || watch(&config, &engine, &metrics, &stop, &hup, color))
    };
    let lines = read_stdin(Arc::clone(&metrics));
    let code = evaluate(&config, &engine, &metrics, &lines, &term);
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    if let Some(path) = &config.state.file {
        if !save(&engine, path, &metrics) {
            server.stop();
            return ExitCode::FAILURE;
        }
    }
    server.stop();
    log("stopped");
    code
}

/// Prints the configuration with its defaults and checks what it names.
fn check_config(config: &Config, color: bool) -> ExitCode {
    let Some(rules) = super::load_rules(std::slice::from_ref(&config.rules), color) else {
        return ExitCode::FAILURE;
    };
    if let Some(p) = &config.profiles {
        match riskgate::input::profile::Profiles::from_path(p) {
            Ok(profiles) => {
                if !super::replay::profiles_fit(&profiles, rules.program(), p, false) {
                    return ExitCode::FAILURE;
                }
            }
            Err(e) => {
                errln!("error: {}", printable(&e.to_string()));
                return ExitCode::FAILURE;
            }
        }
    }
    match toml::to_string_pretty(config) {
        Ok(text) => {
            super::output::outln!("{text}");
            errln!("ok: {} rules", rules.program().rules.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn limits(config: &Config) -> StateLimits {
    StateLimits {
        max_agents: config.limits.max_agents,
        max_keys: config.limits.max_keys,
        max_keys_per_agent: config.limits.max_keys_per_agent,
        max_state_bytes: config.limits.max_state_bytes,
        max_skew: config.skew().unwrap_or(super::replay::Skew(None)),
        strict: false,
    }
}

/// The engine: restored from the state file if there is one.
fn start_engine(config: &Config, metrics: &Metrics, color: bool) -> Option<Engine> {
    let state = config.state.file.as_deref().filter(|p| p.exists());
    let (engine, _) = super::replay::build_engine(
        &config.rules,
        config.profiles.as_deref(),
        limits(config),
        state,
        color,
    )?;
    if state.is_some() {
        metrics.last_snapshot_s.store(now_s(), Ordering::Relaxed);
    }
    Some(engine)
}

/// Standard input, line by line, on a thread of its own (so that a signal
/// is noticed while it blocks).
fn read_stdin(metrics: Arc<Metrics>) -> Receiver<Line> {
    let (tx, rx) = sync_channel(QUEUE);
    std::thread::spawn(move || {
        let mut lines = super::lines::EventLines::starting_at(std::io::stdin().lock(), 0);
        loop {
            let mut bad = Vec::new();
            let next = lines.next_text(&mut |n, what| bad.push((n, what.to_string())));
            for (n, what) in bad {
                if tx.send(Line::Bad(n, what)).is_err() {
                    return;
                }
            }
            let line = match next {
                Ok(Some((n, _, text))) => Line::Text(n, text.to_owned()),
                Ok(None) => return,
                Err(e) => Line::Failed(e.to_string()),
            };
            metrics.queued.fetch_add(1, Ordering::Relaxed);
            let failed = matches!(line, Line::Failed(_));
            if tx.send(line).is_err() || failed {
                return;
            }
        }
    });
    rx
}

use super::record::{Line as AtLine, Record};

/// Evaluates lines until the input ends or a stop is asked for.
fn evaluate(
    config: &Config,
    engine: &Engine,
    metrics: &Metrics,
    lines: &Receiver<Line>,
    term: &AtomicBool,
) -> ExitCode {
    let format = config
        .format()
        .unwrap_or(riskgate::input::okta::Format::Auto);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut attrs = AttrFilter::for_program(&engine.program());
    let mut program = engine.program();
    let mut code = ExitCode::SUCCESS;
    while !term.load(Ordering::Relaxed) {
        let line = match lines.recv_timeout(Duration::from_millis(50)) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = out.flush() {
                    super::output::stdout_failed(&e);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let (n, text) = match line {
            Line::Text(n, text) => (n, text),
            Line::Bad(n, what) => {
                metrics.bad();
                errln!("line {n}: {}", printable(&what));
                continue;
            }
            Line::Failed(e) => {
                errln!("error: reading standard input: {e}");
                code = ExitCode::FAILURE;
                break;
            }
        };
        metrics.queued.fetch_sub(1, Ordering::Relaxed);
        // A reload changes what the rules read of the events.
        let now = engine.program();
        if !Arc::ptr_eq(&now, &program) {
            attrs = AttrFilter::for_program(&now);
            program = now;
        }
        let event = match parse_event_with(&text, format, &attrs) {
            Ok(e) => e,
            Err(e) => {
                metrics.bad();
                errln!("line {n}: {}", printable(&e.to_string()));
                continue;
            }
        };
        let verdict = engine.evaluate(&event);
        metrics.verdict(&verdict);
        let shown = shown(config, &verdict);
        if shown && config.output.stdout {
            let record = Record::of(AtLine { line: n }, &text, &event, &verdict);
            let written = serde_json::to_writer(&mut out, &record)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out));
            if let Err(e) = written {
                super::output::stdout_failed(&e);
            }
        }
    }
    if let Err(e) = out.flush() {
        super::output::stdout_failed(&e);
    }
    code
}

/// The modification time of `path`, if it can be read.
fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reloads on file changes and `SIGHUP`, and writes the periodic snapshot,
/// until `stop`.
fn watch(
    config: &Config,
    engine: &Engine,
    metrics: &Metrics,
    stop: &AtomicBool,
    hup: &AtomicBool,
    color: bool,
) {
    let files: Vec<PathBuf> = std::iter::once(config.rules.clone())
        .chain(config.profiles.clone())
        .collect();
    let mut seen: Vec<Option<SystemTime>> = files.iter().map(|f| mtime(f)).collect();
    let mut last_poll = Instant::now();
    let mut last_snapshot = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        let signalled = hup.swap(false, Ordering::Relaxed);
        if signalled || last_poll.elapsed() >= config.reload_poll {
            last_poll = Instant::now();
            let now: Vec<Option<SystemTime>> = files.iter().map(|f| mtime(f)).collect();
            if signalled || now != seen {
                seen = now;
                reload(
                    config,
                    engine,
                    metrics,
                    if signalled {
                        "SIGHUP"
                    } else {
                        "a file changed"
                    },
                    color,
                );
            }
        }
        let interval = config.state.interval;
        if let Some(path) = &config.state.file {
            if !interval.is_zero() && last_snapshot.elapsed() >= interval {
                last_snapshot = Instant::now();
                save(engine, path, metrics);
            }
        }
    }
}

/// Loads the rules (and profiles) again and reloads the engine; on any
/// error the old program runs on and the error is logged and counted.
fn reload(config: &Config, engine: &Engine, metrics: &Metrics, why: &str, color: bool) {
    // The metrics first, then the log line: whoever reads the log (a test,
    // an operator) then finds /metrics up to date.
    let refuse = |what: String| {
        let line = format!("reload ({why}) refused, the old rules run on: {what}");
        metrics.reload(Some(what));
        log(&line);
    };
    let (program, profiles) = match load_program(config, color) {
        Ok(loaded) => loaded,
        Err(what) => {
            refuse(what);
            return;
        }
    };
    let done = match &profiles {
        Some(p) => engine.reload_with_profiles(program, p),
        None => engine.reload(program),
    };
    match done {
        Ok(r) => {
            metrics.reload(None);
            log(&format!(
                "reloaded ({why}): {} rules ({} new, {} dropped); metrics kept {}, new {}, dropped {}",
                engine.program().rules.len(),
                r.new_rules.len(),
                r.dropped_rules.len(),
                r.kept_metrics.len(),
                r.new_metrics.len(),
                r.dropped_metrics.len()
            ));
        }
        Err(e) => refuse(e.to_string()),
    }
}

/// Whether `verdict` is written out under `output.verdicts`.
fn shown(config: &Config, verdict: &Verdict<'_>) -> bool {
    match config.output.verdicts.as_str() {
        "all" => true,
        "notable" => verdict.is_notable(),
        _ => verdict.is_notable() || verdict.has_matches(),
    }
}

/// The rules and profiles on disk, for a reload: the compiled program, or
/// why not (the diagnostics are printed).
fn load_program(
    config: &Config,
    color: bool,
) -> Result<
    (
        Arc<riskgate::Program>,
        Option<riskgate::input::profile::Profiles>,
    ),
    String,
> {
    let set = riskgate::RuleSet::from_files(std::slice::from_ref(&config.rules)).map_err(|d| {
        errln!("{}", d.render(color));
        format!(
            "{} has errors",
            printable(&config.rules.display().to_string())
        )
    })?;
    let profiles = match &config.profiles {
        Some(p) => Some(
            riskgate::input::profile::Profiles::from_path(p)
                .map_err(|e| printable(&e.to_string()).into_owned())?,
        ),
        None => None,
    };
    Ok((set.compile(), profiles))
}

/// Writes the state file (aside, then renamed over it).
fn save(engine: &Engine, path: &Path, metrics: &Metrics) -> bool {
    let shown = printable(&path.display().to_string()).into_owned();
    match super::write_snapshot_file(path, |w| {
        engine.snapshot(w, &riskgate::run::snapshot::SnapshotFilter::All)
    }) {
        Ok(s) => {
            metrics.last_snapshot_s.store(now_s(), Ordering::Relaxed);
            log(&format!(
                "state: {} agents and {} keys written to {shown} ({} bytes)",
                s.agents, s.keys, s.bytes
            ));
            true
        }
        Err(e) => {
            log(&format!("error: cannot write the state to {shown}: {e}"));
            false
        }
    }
}
