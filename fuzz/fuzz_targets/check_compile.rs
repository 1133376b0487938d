//! Any text through the whole front end: parse, check, `compile()`, and when
//! it compiles, an engine built from the program and a few fixed events
//! evaluated through it.
//!
//! Properties:
//! - nothing panics, and rendering the diagnostics does not either;
//! - a rejected text has at least one error, and every diagnostic points
//!   inside the text (as loaded: without a leading byte-order mark), on
//!   character boundaries;
//! - an accepted text has no errors among its warnings, its program builds an
//!   engine (the checker rules out layouts the store cannot keep), and its
//!   canonical form (`fmt`) is accepted too, with the same rules;
//! - every verdict's decision is the strongest decision of the non-shadow
//!   rules that fired, and its severity their highest severity.
//!
//! An input whose first byte is below 8 (no rules file starts so) has that
//! byte replaced by one of [`PRELUDES`], metric declarations its rules may
//! read by name (or misdeclared ones), so mutations reach named metrics
//! without having to spell a whole declaration first.

#![no_main]

mod invariants;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use riskgate::lang::diagnostic::Diagnostics;
use riskgate::lang::format::format_file;
use riskgate::run::verdict::Verdict;
use riskgate::{ActorKind, Categories, Engine, Event, Limits, RuleSet};

/// Metric declarations put before the text, chosen by its first byte: the
/// kinds of stateful metric a name can stand for (counts, distinct sets,
/// first-seen sets, rates, `tracked_for`, `since`, `first`, `previous`,
/// `sequence`, with keys, composite keys and `where` scopes), and, in the
/// last three, misdeclared ones (a name declared twice or also a list, a
/// statistic or a condition as a definition, a metric read by a metric, a
/// metric in a sequence step, a key of nine fields).
const PRELUDES: [&str; 8] = [
    "metric m = count over 1m\n",
    "metric m = count(outcome == \"FAILURE\") over 10m by ip\nmetric d = distinct(ip where outcome == \"FAILURE\") over 1h by (user_agent, country)\n",
    "metric f = first_seen(ip)\nmetric m = requests_per_minute\nmetric z = tracked_for\n",
    "metric m = count(event.type == \"x\" where outcome == \"SUCCESS\") over 1d by attr.actor.alternateId\nmetric f = first_seen(asn, 7d)\nmetric k = first_seen(ip where outcome == \"SUCCESS\") by (asn, country)\nmetric d = distinct(country) over 1h\n",
    "metric s = sequence(outcome == \"FAILURE\", outcome == \"SUCCESS\") within 10m by ip\nmetric p = previous(ip) by user_agent\nmetric t = since(outcome == \"FAILURE\", 1h)\nmetric f = first(ip where outcome == \"SUCCESS\", 1d) by attr.authenticationContext.externalSessionId\n",
    "metric m = count over 1m\nmetric m = count over 1h\nmetric z = zscore(m, 1h)\n",
    "list m = [\"x\"]\nmetric m = count over 1m\nmetric ip = count over 1m\nmetric s = sequence(first_seen(ip), ip == \"x\") within 1h by (a, b, c, d, e, f, g, h, i)\n",
    "metric m = ip == \"x\"\nmetric n = m\nmetric c = count over 1h by m\n",
];

/// The text of `data`, after the prelude its first byte chooses, if any.
fn text_of(data: &[u8]) -> String {
    match data.split_first() {
        Some((&b, rest)) if b < 8 => {
            let prelude = PRELUDES.get(usize::from(b)).copied().unwrap_or("");
            format!("{prelude}{}", String::from_utf8_lossy(rest))
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    }
}

fn load(text: &str) -> Result<RuleSet, Diagnostics> {
    RuleSet::from_sources(
        vec![("fuzz.rules".to_string(), None, text.to_string())],
        &Limits::default(),
    )
}

/// The text the loader reads: without the byte-order mark it may start
/// with. Spans are offsets into it (documented on
/// `RuleSet::from_sources`), and it is the text the diagnostics carry.
fn loaded(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn check_diagnostics(text: &str, d: &Diagnostics) {
    let text = loaded(text);
    if let Some(source) = d.sources.iter().find(|s| &*s.name == "fuzz.rules") {
        assert_eq!(&*source.text, text, "the diagnostics carry another text");
    }
    for item in &d.items {
        let s = item.span;
        // Diagnostics about a list file carry the list's span in this text;
        // those about another file would name it.
        if &*item.file != "fuzz.rules" {
            continue;
        }
        assert!(
            s.start <= s.end && s.end <= text.len(),
            "span outside the text: {item:?}"
        );
        assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "span splits a character: {item:?}"
        );
        assert!(s.line >= 1 && s.col >= 1, "{item:?}");
    }
    let _ = d.render(false);
    let _ = d.render(true);
}

fn check_verdict(v: &Verdict<'_>) {
    invariants::decision_is_the_max_of_the_matches(v);
    let _ = serde_json::to_string(v);
}

fn events() -> Vec<Event<'static>> {
    let t = 1_795_996_770_000; // 2026-11-28T23:59:30Z, a Saturday
    vec![
        Event::builder("svc-1", t)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
            .ip(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)))
            .scopes(["okta:users:manage", "datadog:monitors:read"])
            .outcome("SUCCESS")
            .country("United States")
            .asn(16509)
            .user_agent("curl/8.0")
            .grant_type("client_credentials")
            .auth_method("client_secret_basic")
            .cert_issuer("internal-ca")
            .cert_age_days(120.0)
            .token_lifetime_minutes(60.0)
            .secret_age_days(f64::NAN)
            .device_posture("compliant")
            .attrs(serde_json::json!({
                "target": [{"type": "User", "alternateId": "a@example.com"}],
                "actor": {"alternateId": "svc@automation.example.com", "displayName": "svc"},
                "securityContext": {"isProxy": true},
                "p_enrichment": {"ipinfo_privacy": {"client.ipAddress": {"service": "vpn"}}},
                "debugContext": {"debugData": {
                    "logOnlySecurityData": "{\"behaviors\": {\"New Device\": \"POSITIVE\"}}",
                    "deep": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                    "broken": "{\"a\": "
                }}
            }))
            .build(),
        Event::builder("svc-1", t + 1)
            .actor(ActorKind::ServiceApp)
            .build(),
        Event::builder("user-1", t - 3_600_000)
            .actor(ActorKind::User)
            .categories(Categories::ADMIN_CHANGE | Categories::API_CALL)
            .ip(IpAddr::V6(Ipv6Addr::LOCALHOST))
            .outcome("FAILURE")
            .build(),
        Event::builder("", i64::MIN)
            .actor(ActorKind::Agent)
            .categories(Categories(0xff))
            .scope("")
            .build(),
        Event::builder("svc-1", i64::MAX)
            .actor(ActorKind::System)
            .categories(Categories::AUTHENTICATION)
            .ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            .build(),
    ]
}

fuzz_target!(|data: &[u8]| {
    let text = text_of(data);
    let set = match load(&text) {
        Ok(set) => set,
        Err(d) => {
            assert!(d.has_errors(), "rejected without an error: {d:?}");
            check_diagnostics(&text, &d);
            return;
        }
    };
    assert!(!set.warnings().has_errors(), "{:?}", set.warnings());
    check_diagnostics(&text, set.warnings());
    let program = set.compile();
    let rules = program.rules.len();

    // The canonical form means the same.
    let formatted: String = set.files().map(|(_, f)| format_file(f)).collect();
    match load(&formatted) {
        Ok(again) => assert_eq!(
            again.program().rules.len(),
            rules,
            "--- input\n{text}\n--- canonical\n{formatted}"
        ),
        Err(d) => panic!(
            "the canonical form is rejected: {}\n--- input\n{text}\n--- canonical\n{formatted}",
            d.render(false)
        ),
    }

    let engine = match Engine::builder(program).build() {
        Ok(engine) => engine,
        Err(e) => panic!("a checked program builds no engine: {e}"),
    };
    for (i, event) in events().iter().enumerate() {
        let v = if i % 2 == 0 {
            engine.evaluate(event)
        } else {
            engine.evaluate_explained(event)
        };
        check_verdict(&v);
    }
    assert_eq!(engine.stats().events, 5);
});
