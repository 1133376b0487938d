//! `riskgate serve` as an operator runs it: events piped on stdin, verdicts
//! on stdout with their `uuid`, `/healthz` `/readyz` `/metrics`, a rule edit
//! reloaded (and a broken one refused) while it runs, `SIGTERM` writing the
//! state, and a restart from it that continues as if never stopped.
#![cfg(feature = "serve")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = root().join("target").join("test-tmp").join("serve_cli");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join(name)
}

/// A running `riskgate serve`: its stdin, its stdout and stderr lines.
struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<String>,
    err: Receiver<String>,
    addr: String,
    err_seen: Vec<String>,
}

fn lines_of(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

const WAIT: Duration = Duration::from_secs(30);

impl Drop for Serve {
    /// A test that fails leaves no process running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(config: &PathBuf) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_riskgate"))
            .args(["serve", "--config"])
            .arg(config)
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"));
        let out = lines_of(child.stdout.take().expect("stdout"));
        let err = lines_of(child.stderr.take().expect("stderr"));
        let stdin = child.stdin.take();
        let mut s = Serve {
            child,
            stdin,
            out,
            err,
            addr: String::new(),
            err_seen: Vec::new(),
        };
        let line = s.wait_err("listening on http://");
        s.addr = line.rsplit("http://").next().unwrap_or("").to_string();
        s.wait_err("ready:");
        s
    }

    /// The next stderr line containing `what` (all lines are kept).
    fn wait_err(&mut self, what: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(line) => {
                    self.err_seen.push(line.clone());
                    if line.contains(what) {
                        return line;
                    }
                }
                Err(_) => panic!("no `{what}` on stderr; saw {:#?}", self.err_seen),
            }
        }
    }

    fn send(&mut self, lines: &[&str]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        for l in lines {
            writeln!(stdin, "{l}").unwrap_or_else(|e| panic!("{e}"));
        }
        stdin.flush().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Verdict lines until `n` events were evaluated (per `/metrics`).
    fn verdicts_after(&mut self, n: u64) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        while metric(&self.get("/metrics"), "riskgate_events_total") < n as f64 {
            assert!(Instant::now() < deadline, "events not evaluated in time");
            std::thread::yield_now();
        }
        // Output is flushed when the input pauses; collect what is there.
        let mut got = Vec::new();
        while let Ok(line) = self.out.recv_timeout(Duration::from_millis(500)) {
            got.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")));
        }
        got
    }

    fn get(&self, path: &str) -> String {
        let mut s = TcpStream::connect(&self.addr).unwrap_or_else(|e| panic!("{}: {e}", self.addr));
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: riskgate\r\nConnection: close\r\n\r\n"
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut body = String::new();
        s.read_to_string(&mut body)
            .unwrap_or_else(|e| panic!("{e}"));
        body
    }

    fn terminate(mut self) -> (i32, Vec<String>) {
        // SIGTERM, as an orchestrator sends it.
        let pid = i32::try_from(self.child.id()).expect("pid");
        let sent = send_sigterm(pid);
        assert!(sent, "kill failed");
        let status = self.child.wait().unwrap_or_else(|e| panic!("{e}"));
        while let Ok(line) = self.err.recv_timeout(Duration::from_secs(5)) {
            self.err_seen.push(line);
        }
        (
            status.code().unwrap_or(-1),
            std::mem::take(&mut self.err_seen),
        )
    }
}

/// `kill -TERM pid`, through the `kill` command.
fn send_sigterm(pid: i32) -> bool {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// The value of a metric line `name value` (or `name{...} value`).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.split([' ', '{']).next() == Some(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0)
}

fn strip(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("line");
        m.remove("uuid");
    }
    v
}

#[test]
fn serve_reloads_reports_and_restarts_where_it_stopped() {
    let events = std::fs::read_to_string(root().join("examples/events/okta-day.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let events: Vec<&str> = events.lines().collect();
    let cut = events.len() / 2;
    let rules = tmp("agents.rules");
    let original = std::fs::read_to_string(root().join("examples/rules/agents.rules"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&rules, &original).unwrap_or_else(|e| panic!("{e}"));
    let state = tmp("serve.snap");
    let _ = std::fs::remove_file(&state);
    let config = tmp("serve.toml");
    std::fs::write(
        &config,
        format!(
            "rules = {:?}\nprofiles = {:?}\nlisten = \"127.0.0.1:0\"\nreload_poll = \"50ms\"\n[state]\nfile = {:?}\ninterval = \"0s\"\n",
            rules,
            root().join("examples/profiles/agents.json"),
            state
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let mut s = Serve::start(&config);
    assert!(s.get("/healthz").contains("200 OK"));
    assert!(s.get("/readyz").contains("200 OK"));
    assert!(s.get("/nope").contains("404"));
    s.send(&events[..cut / 2]);
    let first = s.verdicts_after((cut / 2) as u64);
    assert!(!first.is_empty());
    let with_uuid = first.iter().filter(|v| v["uuid"].is_string()).count();
    assert_eq!(
        with_uuid,
        first.len(),
        "every Okta verdict carries its uuid"
    );

    // Edit a rule: A1 becomes CRITICAL. The reload shows in the log and in
    // /metrics, and the state is kept.
    let edited = original.replacen(
        "Severity: HIGH\nCooldown: 15m",
        "Severity: CRITICAL\nCooldown: 15m",
        1,
    );
    assert_ne!(edited, original);
    std::fs::write(&rules, &edited).unwrap_or_else(|e| panic!("{e}"));
    s.wait_err("reloaded (a file changed)");
    assert_eq!(metric(&s.get("/metrics"), "riskgate_reloads_total"), 1.0);
    // A broken file is refused; the old rules run on.
    std::fs::write(&rules, "Rule X — broken\nTrigger: nonsense ==\n")
        .unwrap_or_else(|e| panic!("{e}"));
    s.wait_err("refused");
    let m = s.get("/metrics");
    assert_eq!(metric(&m, "riskgate_reload_errors_total"), 1.0);
    assert_eq!(metric(&m, "riskgate_reload_failing"), 1.0);
    std::fs::write(&rules, &edited).unwrap_or_else(|e| panic!("{e}"));
    s.wait_err("reloaded (a file changed)");
    s.send(&events[cut / 2..cut]);
    let _ = s.verdicts_after(cut as u64);
    let m = s.get("/metrics");
    assert_eq!(metric(&m, "riskgate_events_total"), cut as f64);
    assert!(metric(&m, "riskgate_agents_tracked") > 10.0, "{m}");
    assert!(
        m.contains("riskgate_rule_fired_total{rule=\"C4\",severity=\"LOW\"}"),
        "{m}"
    );
    let (code, log) = s.terminate();
    assert_eq!(code, 0, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("written to")), "{log:#?}");
    assert!(state.exists());

    // Restart from the state: the second half gives the verdicts a single
    // replay of the whole day under the edited rules gives.
    let mut s = Serve::start(&config);
    s.send(&events[cut..]);
    let second = s.verdicts_after((events.len() - cut) as u64);
    let (code, _) = s.terminate();
    assert_eq!(code, 0);
    let whole = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(root())
        .args(["replay"])
        .arg(&rules)
        .args([
            "examples/events/okta-day.jsonl",
            "--profiles",
            "examples/profiles/agents.json",
            "--output",
            "json",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let whole: Vec<Value> = String::from_utf8_lossy(&whole.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["line"].as_u64().is_some_and(|l| l > cut as u64))
        .collect();
    assert!(whole.len() > 100, "{}", whole.len());
    let second: Vec<Value> = second.iter().map(strip).collect();
    let whole: Vec<Value> = whole.iter().map(strip).collect();
    assert_eq!(second, whole);
}
