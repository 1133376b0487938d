//! The stateless expressions: `attr.` paths with indexes and quoted keys,
//! `json(F)` and a path into it, the time fields (`hour`, `weekday`,
//! `hour_of_week`, `date`, in UTC or a zone) and `similarity(a, b)`: their
//! values on events (real Okta fixtures among them), three-valued logic
//! when they are absent, explanations, and their use as the field of
//! `distinct` and `first_seen`.

use std::sync::Arc;

use riskgate::input::event::{ActorKind, Categories, Event};
use riskgate::input::okta::{lookup_ci, parse_okta, parse_okta_with, AttrFilter};
use riskgate::input::profile::Profiles;
use riskgate::{Engine, RuleSet};
use serde_json::json;

/// 2026-11-22T23:59:30Z, a Sunday (Monday 00:59:30 in Berlin).
const SUNDAY_LATE: i64 = 1_795_391_970_000;

fn program(trigger: &str) -> Arc<riskgate::compile::program::Program> {
    let src = format!("Rule R — t\nTrigger: {trigger}\nAction: flag\nSeverity: LOW\n");
    let set = RuleSet::from_source("t.rules", &src).unwrap_or_else(|d| panic!("{d}"));
    set.compile()
}

fn engine(trigger: &str) -> Engine {
    Engine::builder(program(trigger))
        .forward_skew_limit_ms(None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Whether the one rule `trigger` fires on `event` (a fresh engine).
fn fires(trigger: &str, event: &Event<'_>) -> bool {
    engine(trigger).evaluate(event).rule_ids().count() == 1
}

/// The explanation lines of the one rule, which must fire.
fn explain(trigger: &str, event: &Event<'_>) -> Vec<String> {
    let verdict = engine(trigger).evaluate_explained(event);
    let m = verdict
        .matches()
        .next()
        .unwrap_or_else(|| panic!("`{trigger}` did not fire"));
    m.explanation().unwrap_or_default().to_vec()
}

fn with_attrs(attrs: serde_json::Value) -> Event<'static> {
    Event::builder("svc", SUNDAY_LATE)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .attrs(attrs)
        .build()
}

fn fixture(file: &str, n: usize) -> String {
    let path = format!(
        "{}/tests/fixtures/okta/{file}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .nth(n - 1)
        .unwrap_or_else(|| panic!("{file} has no line {n}"))
        .to_owned()
}

/// The Panther fixture lines (events the adapter accepts) whose
/// `logOnlySecurityData` holds a JSON document, with the `New Device`
/// behaviour each reports.
fn security_data_lines() -> Vec<(String, String)> {
    let path = format!(
        "{}/tests/fixtures/okta/panther-analysis-okta-rule-tests.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            // Keys in any case: one fixture writes `debugcontext`.
            let data =
                lookup_ci(&v, &["debugContext", "debugData", "logOnlySecurityData"])?.as_str()?;
            let inner: serde_json::Value = serde_json::from_str(data).ok()?;
            let device = inner.pointer("/behaviors/New Device")?.as_str()?.to_owned();
            // Only the lines the adapter accepts (some have no actor).
            parse_okta(line).ok()?;
            Some((line.to_owned(), device))
        })
        .collect()
}

// ----- paths ----------------------------------------------------------------

#[test]
fn an_index_reads_one_element_and_a_negative_one_counts_from_the_end() {
    let e = with_attrs(json!({"target": [
        {"type": "AppInstance", "alternateId": "app"},
        {"type": "User", "alternateId": "bob@example.com"}]}));
    assert!(fires("attr.target[0].alternateId == \"app\"", &e));
    assert!(fires(
        "attr.target[1].alternateId == \"bob@example.com\"",
        &e
    ));
    assert!(fires("attr.target[-1].type == \"User\"", &e));
    assert!(fires("attr.target[-2].type == \"AppInstance\"", &e));
    // Out of range is absent: neither a test nor its negation fires.
    for i in ["2", "-3", "99"] {
        assert!(!fires(&format!("attr.target[{i}].type == \"User\""), &e));
        assert!(!fires(
            &format!("NOT attr.target[{i}].type == \"User\""),
            &e
        ));
        assert!(fires(&format!("missing(attr.target[{i}].type)"), &e));
    }
    // A key on an array is no element: absent too.
    assert!(!fires("attr.target.type == \"User\"", &e));
    assert!(!fires("NOT attr.target.type == \"User\"", &e));
}

#[test]
fn quoted_keys_hold_dots_and_spaces() {
    let e = with_attrs(json!({"p_enrichment": {"ipinfo_privacy": {
        "client.ipAddress": {"service": "NordVPN", "vpn": true}}},
        "Odd Key": {"x": 1}}));
    assert!(fires(
        "attr.p_enrichment.ipinfo_privacy.\"client.ipAddress\".service == \"NordVPN\"",
        &e
    ));
    assert!(fires(
        "attr.p_enrichment.ipinfo_privacy.\"client.ipAddress\".vpn",
        &e
    ));
    assert!(fires("attr.\"Odd Key\".x == 1", &e));
    // Quoted keys match ignoring ASCII case, as bare ones do.
    assert!(fires("attr.\"odd key\".X == 1", &e));
    // The dotted spelling is another path: absent.
    assert!(!fires(
        "exists(attr.p_enrichment.ipinfo_privacy.client.ipAddress.service)",
        &e
    ));
}

#[test]
fn list_paths_through_an_index_and_membership() {
    let e = with_attrs(json!({"target": [
        {"detailEntry": {"methods": ["push", "sms"]}},
        {"detailEntry": {"methods": ["otp"]}}]}));
    assert!(fires("\"sms\" in attr.target[0].detailEntry.methods", &e));
    assert!(!fires("\"otp\" in attr.target[0].detailEntry.methods", &e));
    assert!(fires("\"otp\" in attr.target.detailEntry.methods", &e));
    assert!(fires("len(attr.target[-1].detailEntry.methods) == 1", &e));
    assert!(fires(
        "any(attr.target, detailEntry.methods[1] == \"sms\")",
        &e
    ));
}

#[test]
fn an_okta_fixture_reads_its_first_target_by_index() {
    // okta-developer-docs-examples line 1: a session start whose target
    // list is absent; the Panther line 5 has actor and client fields.
    let line = fixture("panther-analysis-okta-rule-tests", 5);
    let e = parse_okta(&line).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}"));
    let display = v
        .pointer("/actor/displayName")
        .and_then(|d| d.as_str())
        .unwrap_or_else(|| panic!("a display name"));
    assert!(fires(
        &format!("attr.actor.displayName == \"{display}\""),
        &e
    ));
    // Every fixture with a target list: `[0]` and `[-1]` read its ends.
    let mut checked = 0;
    for file in [
        "panther-analysis-okta-rule-tests",
        "okta-developer-docs-examples",
        "okta-management-openapi-spec-examples",
    ] {
        let path = format!(
            "{}/tests/fixtures/okta/{file}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let Some(targets) = v.get("target").and_then(|t| t.as_array()) else {
                continue;
            };
            let ids = |t: Option<&serde_json::Value>| {
                t.and_then(|t| t.get("alternateId"))
                    .and_then(|a| a.as_str())
                    .map(str::to_owned)
            };
            let (Some(first), Some(last)) = (ids(targets.first()), ids(targets.last())) else {
                continue;
            };
            let Ok(e) = parse_okta(line) else { continue };
            let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
            let trigger = format!(
                "attr.target[0].alternateId == {} AND attr.target[-1].alternateId == {}",
                q(&first),
                q(&last)
            );
            assert!(fires(&trigger, &e), "{trigger} on {line}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} fixtures with targets");
}

// ----- json(...) --------------------------------------------------------------

#[test]
fn json_decodes_okta_log_only_security_data() {
    let lines = security_data_lines();
    assert!(lines.len() >= 4, "{} lines", lines.len());
    assert!(lines.iter().any(|(_, d)| d == "POSITIVE"));
    assert!(lines.iter().any(|(_, d)| d == "NEGATIVE"));
    let trigger =
        "json(attr.debugContext.debugData.logOnlySecurityData).behaviors.\"New Device\" == \"POSITIVE\"";
    for (line, device) in &lines {
        let e = parse_okta(line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fires(trigger, &e), device == "POSITIVE", "{line}");
        // With only what the rule reads kept, the same.
        let filter = AttrFilter::for_program(&program(trigger));
        let kept = parse_okta_with(line, &filter).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fires(trigger, &kept), device == "POSITIVE", "{line}");
    }
    let (line, _) = lines
        .iter()
        .find(|(_, d)| d == "POSITIVE")
        .unwrap_or_else(|| panic!("a positive line"));
    let e = parse_okta(line).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        explain(trigger, &e),
        [format!(
            "{} \"POSITIVE\" == \"POSITIVE\"",
            &trigger[..trigger.len() - 14]
        )]
    );
    // A key with a leading space, as Okta writes it in some events.
    assert!(fires(
        "exists(json(attr.debugContext.debugData.logOnlySecurityData).behaviors.\" New Geo-Location\") \
         OR exists(json(attr.debugContext.debugData.logOnlySecurityData).behaviors.\"New Geo-Location\")",
        &e
    ));
    // The risk level, one level down.
    assert!(fires(
        "json(attr.debugContext.debugData.logOnlySecurityData).risk.level in [\"LOW\", \"MEDIUM\"]",
        &e
    ));
}

#[test]
fn json_of_text_that_is_not_json_is_absent_and_objects_are_themselves() {
    let e = with_attrs(json!({
        "text": "{\"a\": {\"b\": [10, 20]}, \"New Device\": \"POSITIVE\"}",
        "bad": "{not json",
        "plain": "hello",
        "object": {"a": {"b": [1, 2]}},
        "list": [{"x": 1}, {"x": 2}],
        "nul": null,
        "nested": "\"{\\\"inner\\\": 5}\""
    }));
    assert!(fires("json(attr.text).a.b[1] == 20", &e));
    assert!(fires("json(attr.text).a.b[-2] == 10", &e));
    assert!(fires("json(attr.text).\"New Device\" == \"POSITIVE\"", &e));
    assert!(fires("exists(json(attr.text).a)", &e));
    for absent in [
        "json(attr.bad).a",
        "json(attr.plain)",
        "json(attr.nul)",
        "json(attr.missing)",
    ] {
        assert!(!fires(&format!("{absent} == 1"), &e), "{absent}");
        assert!(!fires(&format!("NOT {absent} == 1"), &e), "{absent}");
        assert!(fires(&format!("missing({absent})"), &e), "{absent}");
    }
    // An object or array is read as it is.
    assert!(fires("json(attr.object).a.b[0] == 1", &e));
    assert!(fires("json(attr.list)[1].x == 2", &e));
    // A string holding a JSON string, decoded twice.
    assert!(fires("json(json(attr.nested)).inner == 5", &e));
    // Built-in fields hold text too.
    let ua = Event::builder("svc", SUNDAY_LATE)
        .user_agent("{\"app\": \"ci-bot\"}")
        .build();
    assert!(fires("json(user_agent).app == \"ci-bot\"", &ua));
}

#[test]
fn json_past_its_limits_reads_as_absent() {
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(70_000));
    let e = with_attrs(json!({"deep": deep, "big": big}));
    assert!(fires("missing(json(attr.deep))", &e));
    assert!(fires("missing(json(attr.big).a)", &e));
    // Raised limits decode them.
    let limits = riskgate::Limits {
        max_json_depth: 64,
        max_json_bytes: 1 << 20,
        ..riskgate::Limits::default()
    };
    let src = "Rule R — t\nTrigger: exists(json(attr.deep)) AND exists(json(attr.big).a)\nAction: flag\nSeverity: LOW\n";
    let set = RuleSet::from_sources(vec![("t.rules".into(), None, src.into())], &limits)
        .unwrap_or_else(|d| panic!("{d}"));
    let engine = Engine::builder(set.compile())
        .forward_skew_limit_ms(None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine.evaluate(&e).rule_ids().count(), 1);
}

#[test]
fn the_attr_filter_keeps_what_indexes_and_json_reach() {
    let p = program(
        "attr.target[0].alternateId == \"a\" AND json(attr.debugContext.debugData.x).y == 1 \
         AND attr.p.\"a.b\".c == 2",
    );
    assert_eq!(
        AttrFilter::for_program(&p),
        AttrFilter::paths([
            vec!["target"],
            vec!["debugContext", "debugData", "x"],
            vec!["p", "a.b", "c"]
        ])
    );
}

// ----- time fields ------------------------------------------------------------

#[test]
fn time_fields_in_utc_and_in_zones() {
    let e = Event::builder("svc", SUNDAY_LATE).build();
    for t in [
        "hour == 23",
        "weekday == \"sun\"",
        "hour_of_week == 167",
        "date == \"2026-11-22\"",
        "hour(\"UTC\") == 23",
        "hour(\"Europe/Berlin\") == 0",
        "weekday(\"Europe/Berlin\") == \"mon\"",
        "hour_of_week(\"Europe/Berlin\") == 0",
        "hour_of_week(\"America/New_York\") == 6 * 24 + 18",
        "date(\"Europe/Berlin\") == \"2026-11-23\"",
        "date(\"-05:00\") == \"2026-11-22\"",
        "weekday in [\"sat\", \"sun\"]",
        "hour_of_week in [166, 167]",
        "date starts_with \"2026-11\"",
    ] {
        assert!(fires(t, &e), "{t}");
    }
    assert!(!fires("hour < 23", &e));
    assert_eq!(
        explain(
            "hour_of_week(\"Europe/Berlin\") < 10 AND date == \"2026-11-22\"",
            &e
        ),
        [
            "hour_of_week(\"Europe/Berlin\") 0 < 10",
            "date \"2026-11-22\" == \"2026-11-22\""
        ]
    );
}

#[test]
fn distinct_dates_count_active_days() {
    let e = engine("distinct(date) over 90d >= 3");
    let day = 86_400_000;
    let at = |t: i64| Event::builder("svc", t).build();
    let start = SUNDAY_LATE - 10 * day;
    // Three events on two days, then one on a third day.
    assert_eq!(e.evaluate(&at(start)).rule_ids().count(), 0);
    assert_eq!(e.evaluate(&at(start + 1000)).rule_ids().count(), 0);
    assert_eq!(e.evaluate(&at(start + day)).rule_ids().count(), 0);
    assert_eq!(e.evaluate(&at(start + 5 * day)).rule_ids().count(), 1);
}

#[test]
fn first_seen_of_a_zoned_hour_of_week_learns_a_weekly_schedule() {
    let e = engine("first_seen(hour_of_week(\"America/New_York\"), 28d)");
    let hour = 3_600_000;
    let week = 7 * 24 * hour;
    let at = |t: i64| Event::builder("svc", t).build();
    // 2026-11-08: New York is on standard time from November 1st, so the
    // same UTC hour is the same New York hour a week later (across the
    // change it is not: the zone's own clock is what is learnt).
    let t0 = SUNDAY_LATE - 2 * week;
    assert_eq!(e.evaluate(&at(t0)).rule_ids().count(), 1, "new hour");
    assert_eq!(
        e.evaluate(&at(t0 + 20_000)).rule_ids().count(),
        0,
        "same hour"
    );
    assert_eq!(
        e.evaluate(&at(t0 + week)).rule_ids().count(),
        0,
        "a week later"
    );
    assert_eq!(
        e.evaluate(&at(t0 + week + hour)).rule_ids().count(),
        1,
        "next hour"
    );
    // `by` a time field keys a counter by it.
    let by_day = engine("count over 1d by date >= 2");
    assert_eq!(by_day.evaluate(&at(t0)).rule_ids().count(), 0);
    assert_eq!(by_day.evaluate(&at(t0 + 1000)).rule_ids().count(), 1);
}

// ----- similarity -------------------------------------------------------------

#[test]
fn similarity_is_jaro_winkler_and_unknown_when_a_side_is_absent() {
    let profiles = Profiles::from_json_str(r#"{"agent_id": "svc", "owner": "Martha Smith"}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let trigger = "similarity(attr.actor.displayName, agent.owner) > 0.8";
    let engine = Engine::builder(program(trigger))
        .profiles(&profiles)
        .forward_skew_limit_ms(None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let named = |n: &str| with_attrs(json!({"actor": {"displayName": n}}));
    let close = named("Marhta Smith");
    let v = engine.evaluate_explained(&close);
    assert_eq!(v.rule_ids().collect::<Vec<_>>(), ["R"]);
    let why = v
        .matches()
        .next()
        .and_then(|m| m.explanation().map(<[String]>::to_vec))
        .unwrap_or_default();
    let expected = strsim::jaro_winkler("Marhta Smith", "Martha Smith");
    assert_eq!(
        why,
        [format!(
            "similarity(attr.actor.displayName \"Marhta Smith\", agent.owner \"Martha Smith\") {} > 0.8",
            riskgate::num::Num::from_f64(expected)
        )]
    );
    assert_eq!(engine.evaluate(&named("Bob")).rule_ids().count(), 0);
    // Absent on one side: unknown, so neither the test nor its negation fires.
    let absent = with_attrs(json!({}));
    assert_eq!(engine.evaluate(&absent).rule_ids().count(), 0);
    let negated = Engine::builder(program(&format!("NOT ({trigger})")))
        .profiles(&profiles)
        .forward_skew_limit_ms(None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(negated.evaluate(&absent).rule_ids().count(), 0);
    assert_eq!(negated.evaluate(&named("Bob")).rule_ids().count(), 1);
    // Equal strings are 1.
    assert!(fires(
        "similarity(attr.a, attr.b) == 1",
        &with_attrs(json!({"a": "x", "b": "x"}))
    ));
}

proptest::proptest! {
    #[test]
    fn similarity_agrees_with_strsim(a in "[a-dé ]{0,12}", b in "[a-dé ]{0,12}") {
        let ours = riskgate::run::similarity::jaro_winkler(&a, &b);
        let theirs = strsim::jaro_winkler(&a, &b);
        proptest::prop_assert!((ours - theirs).abs() < 1e-12, "{a:?} {b:?}: {ours} vs {theirs}");
        proptest::prop_assert!((0.0..=1.0).contains(&ours));
    }
}
