//! The three seed rules each fire on an event that should trip them and on
//! none that should not (SPEC §2.1, §2.7, §7.2, §7.18).

use std::sync::Arc;

use riskgate::input::profile::Profiles;
use riskgate::run::engine::Engine;
use riskgate::{ActorKind, Categories, Decision, Event, RuleSet, Severity};

const SEED: &str = include_str!("../examples/rules/seed.rules");

/// 2026-11-22T00:00:00Z in ms.
const DAY: i64 = 1_795_305_600_000;

fn hms(h: i64, m: i64, s: i64) -> i64 {
    DAY + ((h * 60 + m) * 60 + s) * 1000
}

fn program() -> Arc<riskgate::Program> {
    RuleSet::from_source("seed.rules", SEED)
        .map(|r| r.compile())
        .unwrap_or_else(|d| panic!("{d}"))
}

fn engine(b: riskgate::run::engine::EngineBuilder) -> Engine {
    b.build().unwrap_or_else(|e| panic!("{e}"))
}

fn profiles() -> Profiles {
    Profiles::from_json_str(
        r#"{"agent_id": "datadog-remediation-prod",
            "scopes": ["servicenow:incidents:create", "servicenow:incidents:update",
                       "datadog:monitors:read", "datadog:events:create"],
            "excluded_scopes": ["servicenow:users:admin", "datadog:api_keys:write", "okta:users:manage"],
            "token_lifetime_minutes": 15}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn auth(agent: &str, t: i64, ip: &str) -> Event<'static> {
    Event::builder(agent.to_string(), t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .ip(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")))
        .build()
}

fn rules_of(engine: &Engine, e: &Event<'_>) -> Vec<String> {
    engine.evaluate(e).rule_ids().map(str::to_string).collect()
}

#[test]
fn rule1_fires_for_an_address_outside_every_approved_range() {
    let engine = engine(Engine::builder(program()));
    let e = auth("svc", hms(12, 0, 0), "203.0.113.9");
    let v = engine.evaluate(&e);
    assert_eq!(v.decision, Decision::Suspend);
    assert_eq!(v.severity, Some(Severity::High));
    assert_eq!(v.rule_ids().collect::<Vec<_>>(), ["1"]);
    let alerts = &v.into_owned().matches[0].alerts;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].channel.as_deref(), Some("security team"));
    assert!(!alerts[0].immediate);
}

#[test]
fn rule1_is_quiet_inside_the_approved_ranges_v4_and_v6() {
    let engine = engine(Engine::builder(program()));
    for ip in [
        "10.1.2.3",
        "192.168.7.7",
        "2001:db8::1",
        "2001:db8:ffff::42",
    ] {
        assert_eq!(
            rules_of(&engine, &auth("svc", hms(12, 0, 0), ip)),
            Vec::<String>::new(),
            "{ip}"
        );
    }
}

#[test]
fn rule1_fires_for_an_ipv6_address_outside_the_ranges() {
    let engine = engine(Engine::builder(program()));
    assert_eq!(
        rules_of(&engine, &auth("svc", hms(12, 0, 0), "2001:db9::1")),
        ["1"]
    );
    // An IPv4-mapped IPv6 address is matched as IPv4.
    assert_eq!(
        rules_of(&engine, &auth("svc", hms(12, 0, 1), "::ffff:10.0.0.1")),
        Vec::<String>::new()
    );
}

#[test]
fn rule1_does_not_fire_without_an_ip_unknown_is_not_true() {
    let engine = engine(Engine::builder(program()));
    let e = Event::builder("svc", hms(12, 0, 0))
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .build();
    assert_eq!(rules_of(&engine, &e), Vec::<String>::new());
}

#[test]
fn rule1_needs_a_service_app_authentication() {
    let engine = engine(Engine::builder(program()));
    let user = Event::builder("alice", hms(12, 0, 0))
        .actor(ActorKind::User)
        .categories(Categories::AUTHENTICATION)
        .ip("203.0.113.9".parse().unwrap_or_else(|e| panic!("{e}")))
        .build();
    assert_eq!(rules_of(&engine, &user), Vec::<String>::new());
    let api = Event::builder("svc", hms(12, 0, 0))
        .actor(ActorKind::ServiceApp)
        .categories(Categories::API_CALL)
        .ip("203.0.113.9".parse().unwrap_or_else(|e| panic!("{e}")))
        .build();
    assert_eq!(rules_of(&engine, &api), Vec::<String>::new());
}

/// One authentication a minute for `minutes` minutes ending just before `end`.
fn warm(engine: &Engine, agent: &str, end: i64, minutes: i64) {
    for k in (1..=minutes).rev() {
        let e = auth(agent, end - k * 60_000, "10.0.0.1");
        let v = engine.evaluate(&e);
        assert!(
            v.matches().next().is_none(),
            "warm-up traffic must not fire: {v:?}"
        );
    }
}

#[test]
fn rule2_fires_at_23_59_30_on_a_burst_of_four_times_the_warmed_baseline() {
    let engine = engine(Engine::builder(program()));
    let t = hms(23, 59, 30);
    // 60 minutes at one event a minute: events at 22:59:30 .. 23:58:30, baseline 1.
    warm(&engine, "svc", t, 60);
    // A burst: 4 events at 23:59:30. The window is the seconds 23:58:31 ..= 23:59:30,
    // so the 23:58:30 event is out: requests_per_minute = 4 > 1 * 3.
    let mut last = None;
    for _ in 0..4 {
        last = Some(
            engine
                .evaluate_explained(&auth("svc", t, "10.0.0.1"))
                .into_owned()
                .matches,
        );
    }
    let matches = last.unwrap_or_default();
    assert_eq!(matches.iter().map(|m| &*m.rule).collect::<Vec<_>>(), ["2"]);
    let explanation = matches[0].explanation.clone().unwrap_or_default();
    assert!(
        explanation
            .iter()
            .any(|l| l == "requests_per_minute 4 > baseline 1 * 3"),
        "{explanation:?}"
    );
    assert!(
        explanation
            .iter()
            .any(|l| l.starts_with("time 23:59:30 UTC outside 00:00-23:59")),
        "{explanation:?}"
    );
}

#[test]
fn rule2_threshold_is_exact_three_times_baseline_is_not_more() {
    let engine = engine(Engine::builder(program()));
    let t = hms(23, 59, 30);
    warm(&engine, "svc", t, 60);
    // Three events in the window: 3 > 1 * 3 is false.
    for _ in 0..3 {
        assert!(engine
            .evaluate(&auth("svc", t, "10.0.0.1"))
            .matches()
            .next()
            .is_none());
    }
    // The fourth in the window makes it 4 > 3.
    assert_eq!(rules_of(&engine, &auth("svc", t, "10.0.0.1")), ["2"]);
}

#[test]
fn rule2_is_quiet_at_23_58_59_even_with_the_burst() {
    let engine = engine(Engine::builder(program()));
    let t = hms(23, 58, 59);
    warm(&engine, "svc", t, 60);
    for _ in 0..10 {
        assert_eq!(
            rules_of(&engine, &auth("svc", t, "10.0.0.1")),
            Vec::<String>::new()
        );
    }
}

#[test]
fn rule2_is_quiet_during_baseline_warm_up() {
    let engine = engine(Engine::builder(program()));
    let t = hms(23, 59, 30);
    // Only 9 minutes of history: m - f = 9 < 10, the baseline is absent.
    warm(&engine, "svc", t, 9);
    for _ in 0..20 {
        assert_eq!(
            rules_of(&engine, &auth("svc", t, "10.0.0.1")),
            Vec::<String>::new()
        );
    }
}

fn token(agent: &str, scopes: &[&str]) -> Event<'static> {
    Event::builder(agent.to_string(), hms(12, 0, 0))
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
        .ip("10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")))
        .scopes(scopes.iter().map(|s| s.to_string()))
        .build()
}

#[test]
fn rule3_fires_on_one_scope_outside_the_profile_among_many_inside() {
    let engine = engine(Engine::builder(program()).profiles(&profiles()));
    let e = token(
        "datadog-remediation-prod",
        &[
            "servicenow:incidents:create",
            "datadog:monitors:read",
            "okta:users:manage",
            "datadog:events:create",
        ],
    );
    let v = engine.evaluate_explained(&e);
    assert_eq!(v.decision, Decision::Deny);
    assert_eq!(v.severity, Some(Severity::Critical));
    assert_eq!(v.rule_ids().collect::<Vec<_>>(), ["3"]);
    let v = v.into_owned();
    assert_eq!(
        v.matches[0].explanation.as_deref(),
        Some(
            &[
                "token request (actor service_app, authentication + token request)".to_string(),
                "requested scope `okta:users:manage` not in approved_scope_list".to_string()
            ][..]
        )
    );
    let alert = &v.matches[0].alerts[0];
    assert!(alert.immediate && alert.channel.is_none());
}

#[test]
fn rule3_is_quiet_when_every_scope_is_approved_or_none_requested() {
    let engine = engine(Engine::builder(program()).profiles(&profiles()));
    let ok = token(
        "datadog-remediation-prod",
        &["servicenow:incidents:create", "datadog:events:create"],
    );
    assert_eq!(rules_of(&engine, &ok), Vec::<String>::new());
    let none = token("datadog-remediation-prod", &[]);
    assert_eq!(rules_of(&engine, &none), Vec::<String>::new());
}

#[test]
fn rule3_fails_closed_for_an_agent_without_a_profile() {
    let engine = engine(Engine::builder(program()).profiles(&profiles()));
    let e = token("unknown-agent", &["datadog:monitors:read"]);
    assert_eq!(rules_of(&engine, &e), ["3"]);
}

/// The engine finds a tracked agent's profile through the agent's slot in
/// the store (kept there when the agent was first seen), and an untracked
/// agent's (past `max_agents`) by its id: both read the right profile, on
/// the first event and on later ones, next to agents without one.
#[test]
fn rule3_reads_the_profile_of_tracked_and_untracked_agents_alike() {
    let two = Profiles::from_json_str(
        r#"[{"agent_id": "datadog-remediation-prod",
             "scopes": ["servicenow:incidents:create", "datadog:monitors:read"]},
            {"agent_id": "other-prod", "scopes": ["okta:users:manage"]}]"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let engine = engine(Engine::builder(program()).profiles(&two).max_agents(2));
    let cases = [
        ("datadog-remediation-prod", "datadog:monitors:read", false),
        ("datadog-remediation-prod", "okta:users:manage", true),
        ("no-profile", "datadog:monitors:read", true),
        // Past the cap of two agents: untracked from here on.
        ("other-prod", "okta:users:manage", false),
        ("other-prod", "datadog:monitors:read", true),
    ];
    for round in 0..3 {
        for (agent, scope, fires) in cases {
            let expected: &[&str] = if fires { &["3"] } else { &[] };
            assert_eq!(
                rules_of(&engine, &token(agent, &[scope])),
                expected,
                "round {round}: {agent} {scope}"
            );
        }
    }
    let stats = engine.stats();
    assert_eq!(stats.tracked_agents, 2);
    assert_eq!(stats.untracked, 6);
}

#[test]
fn rule3_applies_to_users_token_requests_too() {
    let engine = engine(Engine::builder(program()).profiles(&profiles()));
    let e = Event::builder("alice", hms(12, 0, 0))
        .actor(ActorKind::User)
        .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
        .scopes(["openid".to_string()])
        .build();
    assert_eq!(rules_of(&engine, &e), ["3"]);
}

#[test]
fn shadow_and_decisions_combine_deny_over_suspend() {
    let engine = engine(Engine::builder(program()));
    let e = Event::builder("x", hms(12, 0, 0))
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
        .ip("203.0.113.9".parse().unwrap_or_else(|e| panic!("{e}")))
        .scopes(["a".to_string()])
        .build();
    let v = engine.evaluate(&e);
    assert_eq!(v.decision, Decision::Deny);
    assert_eq!(v.severity, Some(Severity::Critical));
    assert_eq!(v.rule_ids().collect::<Vec<_>>(), ["1", "3"]);
    let json = serde_json::to_value(&v).unwrap_or_default();
    assert_eq!(json["time"], "2026-11-22T12:00:00Z");
    assert_eq!(json["decision"], "deny");
    assert_eq!(
        json["matches"][1]["actions"],
        serde_json::json!(["deny", "immediate alert"])
    );
    assert_eq!(
        json["matches"][0]["actions"],
        serde_json::json!(["suspend_token", "alert security team"])
    );
    assert!(json["matches"][0].get("explanation").is_none());
}
