//! Named metrics (`metric NAME = <metric>` at file level): a use of the name
//! is the definition written inline (the same verdicts, one state however
//! many rules read it, kept by a reload across a rename or an inlining),
//! explanations show the name, the checker reports bad names and
//! definitions where they are, and `fmt` keeps them canonical.

use riskgate::input::okta::{parse_event, Format};
use riskgate::input::profile::Profiles;
use riskgate::lang::format::format_source;
use riskgate::run::snapshot::SnapshotFilter;
use riskgate::run::verdict::Verdict;
use riskgate::{Diagnostics, Engine, Event, Limits, Program, RuleSet};
use std::sync::Arc;

const AD: &str = "user.authentication.auth_via_AD_agent";

fn set(files: &[(&str, &str)]) -> Result<RuleSet, Diagnostics> {
    let sources = files
        .iter()
        .map(|(n, t)| (n.to_string(), None, t.to_string()))
        .collect();
    RuleSet::from_sources(sources, &Limits::default())
}

fn program(text: &str) -> Arc<Program> {
    set(&[("t.rules", text)])
        .unwrap_or_else(|d| panic!("{d}"))
        .compile()
}

fn engine(p: Arc<Program>) -> Engine {
    Engine::builder(p)
        .forward_skew_limit_ms(None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An AD-agent authentication of user `user` through agent `agent`, at
/// `sec` seconds past 2026-11-22T00:00Z.
fn ad_auth(agent: &str, user: &str, sec: i64) -> Event<'static> {
    Event::builder(agent.to_string(), 1_795_305_600_000 + sec * 1000)
        .event_type(AD)
        .attr("actor", serde_json::json!({ "alternateId": user }))
        .build()
}

/// (code, line, column, message) of every diagnostic of a set that fails.
fn diags(files: &[(&str, &str)]) -> Vec<(String, &'static str, u32, u32, String)> {
    let d = match set(files) {
        Ok(s) => s.warnings().clone(),
        Err(d) => d,
    };
    d.items
        .iter()
        .map(|d| {
            (
                d.file.to_string(),
                d.code,
                d.span.line,
                d.span.col,
                d.message.clone(),
            )
        })
        .collect()
}

/// `text` with metric `name` written out as `def` where it is used, and
/// its declaration left out.
fn inline(text: &str, name: &str, def: &str) -> String {
    let decl = format!("metric {name} = ");
    text.lines()
        .filter(|l| !l.starts_with(&decl))
        .map(|l| format!("{}\n", l.replace(name, def)))
        .collect()
}

fn explanation(v: &Verdict<'_>, rule: &str) -> Vec<String> {
    v.matches()
        .find(|m| m.rule() == rule)
        .and_then(|m| m.explanation().map(<[String]>::to_vec))
        .unwrap_or_default()
}

const NAMED: &str = "\
metric ad_auths = count(event.type == \"user.authentication.auth_via_AD_agent\") over 1d by attr.actor.alternateId

Rule 1 — AD auth spike
Trigger: ad_auths >= 3
Action: flag_for_review
Severity: MEDIUM

Rule 2 — AD auth flood
Trigger: ad_auths >= 4 AND baseline(ad_auths, 20d) * 3 < ad_auths
Action: deny
Severity: HIGH
";

#[test]
fn formatting_is_canonical_keeps_comments_and_reparses_to_the_same_tree() {
    let src = "# shared metrics\nlist   L=[a,b]\nMETRIC   hits=count( outcome==\"FAILURE\"\nOR outcome == \"DENY\" )over 1h by ip # per address\nmetric new_ip=first_seen(ip,7d)\nrule 1:x\ntrigger: hits>3 and new_ip\naction: flag\nseverity: low\n";
    let text = format_source("x.rules", src).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        text,
        "# shared metrics\nlist L = [a, b]\n\nMETRIC hits = count(outcome == \"FAILURE\"\nOR outcome == \"DENY\") over 1h by ip # per address\nmetric new_ip = first_seen(ip, 7d)\n\nrule 1 — x\ntrigger: hits > 3 and new_ip\naction: flag\nseverity: low\n"
    );
    assert_eq!(
        format_source("x.rules", &text).unwrap_or_else(|d| panic!("{d}")),
        text
    );
    let name: Arc<str> = Arc::from("x.rules");
    let (a, _) = riskgate::lang::syntax::parse_file(&name, src, &Limits::default());
    let (b, _) = riskgate::lang::syntax::parse_file(&name, &text, &Limits::default());
    assert_eq!(a, b);
    let names: Vec<&str> = b.metrics().map(|m| m.name.node.as_str()).collect();
    assert_eq!(names, ["hits", "new_ip"]);
    assert_eq!(b.lists().count(), 1);
    assert_eq!(b.rules().count(), 1);
}

#[test]
fn a_name_is_one_counter_however_many_rules_read_it_and_the_inline_form_shares_it() {
    let p = program(NAMED);
    assert_eq!(p.counters.len(), 1);
    assert_eq!(
        &*p.counters[0].label,
        "count(event.type == \"user.authentication.auth_via_AD_agent\") over 1d by attr.actor.alternateId"
    );
    assert_eq!(p.counters[0].history_windows, 20);
    // A third rule writing the definition out reads the same counter.
    let mixed = format!(
        "{NAMED}\nRule 3 — Inline\nTrigger: count(event.type == \"{AD}\") over 1d by attr.actor.alternateId >= 2\nAction: flag\nSeverity: LOW\n"
    );
    assert_eq!(program(&mixed).counters.len(), 1);
    // Every kind of metric, named and read twice: one state each.
    let kinds = program(
        "metric rpm = requests_per_minute\nmetric ips = distinct(ip) over 1h\nmetric new_ip = first_seen(ip)\n\n\
         Rule 1 — a\nTrigger: rpm > 5 AND ips > 2 AND new_ip\nAction: flag\nSeverity: LOW\n\n\
         Rule 2 — b\nTrigger: requests_per_minute > baseline * 2 AND rpm > baseline * 3 AND distinct(ip) over 1h > 4 AND NOT new_ip AND first_seen(ip)\nAction: flag\nSeverity: LOW\n",
    );
    assert_eq!(kinds.counters.len(), 1);
    assert_eq!(kinds.distincts.len(), 1);
    assert_eq!(kinds.first_seens.len(), 1);
    assert_eq!(&*kinds.counters[0].label, "requests_per_minute");
}

#[test]
fn verdicts_equal_the_inline_form_and_explanations_show_the_name() {
    let named = engine(program(NAMED));
    let inline = engine(program(&inline(
        NAMED,
        "ad_auths",
        &format!("count(event.type == \"{AD}\") over 1d by attr.actor.alternateId"),
    )));
    // Two agents authenticate the same user: the key is the user, so both
    // agents' events count together.
    for (i, agent) in ["a1", "a2", "a1", "a2", "a1"].iter().enumerate() {
        let e = ad_auth(agent, "alice@example.com", i as i64);
        let (x, y) = (named.evaluate_explained(&e), inline.evaluate_explained(&e));
        let ids = |v: &Verdict<'_>| v.rule_ids().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(ids(&x), ids(&y));
        assert_eq!(x.decision, y.decision);
        match i {
            0 | 1 => assert!(ids(&x).is_empty()),
            // Rule 2's baseline is warming up (UNKNOWN): rule 1 alone.
            _ => assert_eq!(ids(&x), ["1"]),
        }
        if i == 4 {
            assert_eq!(explanation(&x, "1"), ["ad_auths 5 >= 3"]);
            assert_eq!(
                explanation(&y, "1"),
                [format!(
                    "count(event.type == \"{AD}\") over 1d by attr.actor.alternateId 5 >= 3"
                )]
            );
        }
    }
    // A condition metric shows its name with the value it tested.
    let p = program(
        "metric new_user = first_seen(attr.actor.alternateId)\n\nRule N — New user\nTrigger: new_user\nAction: flag\nSeverity: LOW\n",
    );
    let e = engine(p);
    let ev = ad_auth("a1", "bob", 0);
    let v = e.evaluate_explained(&ev);
    assert_eq!(
        explanation(&v, "N"),
        ["new_user (attr.actor.alternateId \"bob\")"]
    );
    assert!(e
        .evaluate_explained(&ad_auth("a1", "bob", 1))
        .rule_ids()
        .next()
        .is_none());
}

/// `agents.rules` with its metrics named: (named source, name → definition).
fn named_agents_rules(src: &str) -> (String, Vec<(&'static str, &'static str)>) {
    let names = [
        (
            "failed_by_ip",
            "count(authentication AND outcome == \"FAILURE\") over 10m by ip",
        ),
        ("ips_per_hour", "distinct(ip) over 1h"),
        ("hourly", "count over 1h"),
        ("daily", "count over 24h"),
        ("rpm", "requests_per_minute"),
        ("new_asn", "first_seen(asn, 7d)"),
        ("new_client", "first_seen(user_agent, 7d)"),
    ];
    let mut out = String::new();
    for (n, d) in names {
        out.push_str(&format!("metric {n} = {d}\n"));
    }
    let mut body = src.to_string();
    for (n, d) in names {
        assert!(body.contains(d), "agents.rules no longer uses `{d}`");
        // Not where a key follows: `distinct(ip) over 1h by (...)` (rule B5)
        // is another metric than `distinct(ip) over 1h`.
        let mut out = String::new();
        let mut rest = body.as_str();
        while let Some(at) = rest.find(d) {
            let after = &rest[at + d.len()..];
            out.push_str(&rest[..at]);
            out.push_str(if after.starts_with(" by") { d } else { n });
            rest = after;
        }
        out.push_str(rest);
        body = out;
    }
    out.push('\n');
    out.push_str(&body);
    (out, names.to_vec())
}

#[test]
fn the_bundled_day_gets_the_same_verdicts_with_the_metrics_named() {
    let root = env!("CARGO_MANIFEST_DIR");
    let src = std::fs::read_to_string(format!("{root}/examples/rules/agents.rules"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (named_src, names) = named_agents_rules(&src);
    let inline = program(&src);
    let named = program(&named_src);
    // The same state, metric for metric.
    let labels = |p: &Program| {
        let mut v: Vec<String> = p
            .counters
            .iter()
            .map(|c| format!("{} {}", c.label, c.history_windows))
            .chain(p.distincts.iter().map(|d| d.label.to_string()))
            .chain(p.first_seens.iter().map(|f| f.label.to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(labels(&named), labels(&inline));
    let profiles = Profiles::from_path(format!("{root}/examples/profiles/agents.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let build = |p: Arc<Program>| {
        Engine::builder(p)
            .profiles(&profiles)
            .forward_skew_limit_ms(None)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (build(inline), build(named));
    let text = std::fs::read_to_string(format!("{root}/examples/events/okta-day.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut fired_on_metrics = 0;
    let mut shown_by_name = 0;
    for (i, line) in text.lines().enumerate() {
        let event = parse_event(line, Format::Auto).unwrap_or_else(|e| panic!("line {i}: {e}"));
        let (x, y) = (a.evaluate_explained(&event), b.evaluate_explained(&event));
        assert_eq!(x.decision, y.decision, "line {}", i + 1);
        assert_eq!(x.severity, y.severity, "line {}", i + 1);
        let (mx, my): (Vec<_>, Vec<_>) = (x.matches().collect(), y.matches().collect());
        assert_eq!(mx.len(), my.len(), "line {}", i + 1);
        for (m, n) in mx.iter().zip(&my) {
            assert_eq!(m.rule(), n.rule(), "line {}", i + 1);
            let sup = |m: &riskgate::run::verdict::MatchRef<'_>| {
                m.alerts().map(|a| a.suppressed).collect::<Vec<_>>()
            };
            assert_eq!(sup(m), sup(n), "line {}", i + 1);
            // The explanation names each metric where the inline one
            // spells it out, and says the same otherwise.
            let mut spelled: Vec<String> = n.explanation().unwrap_or_default().to_vec();
            for s in &mut spelled {
                for (name, def) in &names {
                    if s.contains(name) {
                        shown_by_name += 1;
                    }
                    *s = s.replace(&format!("{name} "), &format!("{def} "));
                }
            }
            assert_eq!(
                m.explanation().unwrap_or_default(),
                spelled.as_slice(),
                "line {}",
                i + 1
            );
            if matches!(m.rule(), "T2" | "T3" | "T4" | "T5" | "A4" | "A5") {
                fired_on_metrics += 1;
            }
        }
    }
    // The README's figures: T2 alone fires 90 times, A4 4 times.
    assert!(fired_on_metrics >= 94, "{fired_on_metrics}");
    assert!(shown_by_name >= fired_on_metrics, "{shown_by_name}");
}

#[test]
fn a_reload_keeps_the_state_across_a_rename_and_an_inlining() {
    let e = engine(program(NAMED));
    for i in 0..3 {
        e.evaluate(&ad_auth("a1", "alice", i));
    }
    // Renamed: the same counter, three events in it.
    let renamed = NAMED.replace("ad_auths", "directory_auths");
    let report = e
        .reload(program(&renamed))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(report.kept_metrics.len(), 1, "{report:?}");
    assert!(report.new_metrics.is_empty() && report.dropped_metrics.is_empty());
    let ev = ad_auth("a2", "alice", 3);
    let v = e.evaluate_explained(&ev);
    assert_eq!(explanation(&v, "1"), ["directory_auths 4 >= 3"]);
    // Inlined: still the same counter.
    let def = format!("count(event.type == \"{AD}\") over 1d by attr.actor.alternateId");
    let report = e
        .reload(program(&inline(NAMED, "ad_auths", &def)))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(report.kept_metrics, std::slice::from_ref(&def));
    assert!(report.new_metrics.is_empty());
    let ev = ad_auth("a1", "alice", 4);
    let v = e.evaluate_explained(&ev);
    assert_eq!(explanation(&v, "1"), [format!("{def} 5 >= 3")]);
    // And a snapshot of it restores into the named form.
    let mut buf = Vec::new();
    e.snapshot(&mut buf, &SnapshotFilter::All)
        .unwrap_or_else(|err| panic!("{err}"));
    let (restored, report) = Engine::builder(program(&renamed))
        .forward_skew_limit_ms(None)
        .restore(buf.as_slice())
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(report.kept_metrics, [def]);
    let ev = ad_auth("a1", "alice", 5);
    let v = restored.evaluate_explained(&ev);
    assert_eq!(explanation(&v, "1"), ["directory_auths 6 >= 3"]);
}

#[test]
fn metrics_are_visible_to_every_file_of_the_set() {
    let metrics = "metric ad_auths = count(event.type == \"x\") over 1h\n";
    let rules = "Rule 1 — a\nTrigger: ad_auths > 2\nAction: flag\nSeverity: LOW\n";
    let s = set(&[("metrics.rules", metrics), ("rules.rules", rules)])
        .unwrap_or_else(|d| panic!("{d}"));
    assert!(s.warnings().items.is_empty());
    assert_eq!(s.program().counters.len(), 1);
    // Alone, the rules file does not know the name.
    assert_eq!(
        diags(&[("rules.rules", rules)]),
        [(
            "rules.rules".into(),
            "E0202",
            2,
            10,
            "unknown field `ad_auths`".into()
        )]
    );
    // Declared twice across files: reported at the second, naming the first.
    let d = set(&[
        ("a.rules", metrics),
        ("b.rules", metrics),
        ("r.rules", rules),
    ])
    .err()
    .unwrap_or_else(|| panic!("a duplicate"));
    let dup = d.items.iter().find(|d| d.code == "E0220");
    let dup = dup.unwrap_or_else(|| panic!("{d}"));
    assert_eq!(&*dup.file, "b.rules");
    assert_eq!((dup.span.line, dup.span.col), (1, 8));
    assert_eq!(
        dup.help.as_deref(),
        Some("metric names are unique in a rule set; the first is at a.rules:1:8")
    );
}

#[test]
fn bad_names_and_definitions_are_reported_where_they_are() {
    let src = "\
list blocked = [\"x\"]
metric ok = count over 1h
metric ok = count over 2h
metric blocked = count over 1h
metric country = count over 1h
metric max = count over 1h
metric me = count(outcome == \"x\") over 1h by me
metric alias = ok
metric other = distinct(ok) over 1h
metric nope = outcome == \"FAILURE\"
metric bad_window = count over 7
metric spare = distinct(ip) over 1h
metric new_ip = first_seen(ip)

Rule 1 — r
Trigger: oka > 1 AND new_ip > 1 AND ok AND count(new_ip) over 1h > 1 AND country in blocked
Action: flag
Severity: LOW
";
    let got = diags(&[("t.rules", src)]);
    let want: Vec<(&str, u32, u32, &str)> = vec![
        ("E0220", 3, 8, "duplicate metric `ok`"),
        ("E0223", 4, 8, "metric `blocked` has the name of a list"),
        (
            "E0223",
            5,
            8,
            "metric `country` has the name of a built-in field",
        ),
        ("E0223", 6, 8, "metric `max` has the name of a function"),
        ("E0222", 7, 46, "metric `me` refers to itself"),
        ("E0222", 8, 16, "metric `alias` refers to metric `ok`"),
        ("E0222", 9, 25, "metric `other` refers to metric `ok`"),
        (
            "E0221",
            10,
            15,
            "`outcome == \"FAILURE\"` is not a stateful metric",
        ),
        ("E0303", 11, 32, "expected a duration, found `7`"),
        ("E0202", 16, 10, "unknown field `oka`"),
        (
            "E0206",
            16,
            22,
            "metric `new_ip` is a condition, not a value",
        ),
        (
            "E0206",
            16,
            37,
            "expected a condition, found `ok` (a number)",
        ),
        ("E0215", 16, 50, "a `count` condition cannot use metrics"),
    ];
    let got: Vec<(&str, u32, u32, &str)> = got
        .iter()
        .map(|(_, c, l, col, m)| (*c, *l, *col, m.as_str()))
        .collect();
    assert_eq!(got, want);
    // Unused: a warning, only for a set without errors.
    let warn = diags(&[(
        "t.rules",
        "metric spare = distinct(ip) over 1h\nmetric used = count over 1h\n\nRule 1 — r\nTrigger: used > 1\nAction: flag\nSeverity: LOW\n",
    )]);
    assert_eq!(
        warn,
        [(
            "t.rules".into(),
            "W0004",
            1,
            8,
            "metric `spare` is never used".into()
        )]
    );
}

#[test]
fn a_metric_declaration_that_does_not_parse_is_one_error() {
    let src = "metric hits = count(over 1h\n\nRule 1 — r\nTrigger: hits > 1\nAction: flag\nSeverity: LOW\n";
    let got = diags(&[("t.rules", src)]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "E0101");
    // A declaration without a name says how to write one.
    let d = set(&[("t.rules", "metric = count over 1h\n")])
        .err()
        .unwrap_or_else(|| panic!("an error"));
    assert_eq!(
        d.items[0].help.as_deref(),
        Some("name the metric: `metric NAME = count over 1h`")
    );
}

#[test]
fn a_metric_is_no_list() {
    let src = "metric hits = count over 1h\n\nRule 1 — r\nTrigger: ip in hits OR len(hits) > 1\nAction: flag\nSeverity: LOW\n";
    let got: Vec<(&str, u32, u32, String)> = diags(&[("t.rules", src)])
        .into_iter()
        .map(|(_, c, l, col, m)| (c, l, col, m))
        .collect();
    assert_eq!(
        got,
        [
            (
                "E0206",
                4,
                16,
                "expected a list, found metric `hits` (a number)".to_string()
            ),
            (
                "E0206",
                4,
                28,
                "expected a list, found metric `hits` (a number)".to_string()
            ),
        ]
    );
}

#[test]
fn the_cli_checks_formats_and_reports_named_metrics_in_sarif() {
    use std::process::Command;
    let root = env!("CARGO_MANIFEST_DIR");
    let bin = env!("CARGO_BIN_EXE_riskgate");
    // A set spanning files: the metric in one, the rule in the other.
    let dir = std::env::temp_dir().join(format!("riskgate-named-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (metrics, rules) = (dir.join("metrics.rules"), dir.join("rules.rules"));
    std::fs::write(
        &metrics,
        "metric hits = count over 1h\nmetric spare = distinct(ip) over 1h\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &rules,
        "Rule 1 — r\nTrigger: hits > 5\nAction: flag\nSeverity: LOW\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(bin)
        .args(["check", "--together"])
        .args([&metrics, &rules])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning[W0004]: metric `spare` is never used"),
        "{err}"
    );
    let out = Command::new(bin)
        .args(["check", "--together", "--output", "sarif"])
        .args([&metrics, &rules])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let log: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let run = &log["runs"][0];
    assert_eq!(run["results"][0]["ruleId"], "W0004");
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["shortDescription"]["text"],
        "Metric never used"
    );
    // The bundled seed of named metrics is canonical.
    let seed = format!("{root}/fuzz/fuzz_targets/named_metrics.rules");
    let out = Command::new(bin)
        .args(["fmt", "--check", &seed])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
