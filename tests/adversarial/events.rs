//! Adversarial inputs: events.

use crate::okta_value::from_okta_value;
use proptest::prelude::*;
use riskgate::input::event::EventError;
use riskgate::input::okta::{parse_okta, parse_okta_with, AttrFilter};
use serde_json::Value;

/// An Okta line whose `debugData` is `dd` (a JSON object's text).
fn okta_line(dd: &str) -> String {
    format!(
        r#"{{"published": "2026-11-22T10:00:00.000Z", "eventType": "app.oauth2.as.token.grant.access_token",
  "actor": {{"id": "0oa1", "type": "PublicClientApp"}}, "debugContext": {{"debugData": {dd}}}}}"#
    )
}

/// The three Okta readers on one line: serde pass, byte scanner, `Value` path
/// (attrs dropped, they differ by filter on purpose).
fn three_readers(line: &str) -> [Result<riskgate::Event<'static>, EventError>; 3] {
    let drop_attrs = |r: Result<riskgate::Event<'_>, EventError>| {
        r.map(|e| riskgate::Event {
            attrs: Value::Null,
            ..e.into_owned()
        })
    };
    let none = AttrFilter::paths(std::iter::empty::<Vec<&str>>());
    let reference = serde_json::from_str::<Value>(line)
        .map_err(|e| EventError::InvalidJson {
            message: e.to_string(),
        })
        .and_then(from_okta_value);
    [
        drop_attrs(parse_okta(line)),
        drop_attrs(parse_okta_with(line, &none)),
        drop_attrs(reference),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever string an extension number holds, the three readers agree,
    /// and a number they accept is finite and is the JSON number of that text.
    #[test]
    fn item12_extension_number_strings_are_json_numbers_or_bad_fields(
        text in prop_oneof![
            "[-+]?([0-9]{0,4}(\\.[0-9]{0,3})?([eE][-+]?[0-9]{0,4})?)",
            "[-+]?(NaN|nan|inf|Infinity|infinity|INF)",
            "[ \\t]?[0-9a-fx._]{0,6}[ \\t]?",
        ]
    ) {
        let json_text = serde_json::to_string(&text).expect("a JSON string");
        let line = okta_line(&format!(r#"{{"certAgeDays": {json_text}, "secretAgeDays": {json_text}}}"#));
        let [serde, scanner, reference] = three_readers(&line);
        prop_assert_eq!(&serde, &scanner);
        prop_assert_eq!(&serde, &reference);
        let as_json = serde_json::from_str::<f64>(&text).ok().filter(|n| n.is_finite());
        match serde {
            Ok(e) => {
                let days = e.cert.age_days.expect("read");
                prop_assert!(days.is_finite());
                prop_assert_eq!(Some(days), as_json, "{:?}", text);
                prop_assert_eq!(e.secret_age_days, Some(days));
            }
            Err(EventError::BadValue { field, .. }) => {
                prop_assert_eq!(field, "debugContext.debugData.certAgeDays");
                prop_assert!(as_json.is_none(), "{:?} rejected, but JSON reads it", text);
            }
            Err(other) => prop_assert!(false, "{:?}: {}", text, other),
        }
    }
}

// ---------------------------------------------------------------------------
// Item 10: IPv4-mapped addresses in lists and events

use riskgate::input::okta::{parse_event, Format};
use riskgate::input::profile::Profiles;
use riskgate::run::engine::Engine;
use riskgate::{Event, RuleSet};

/// The rule ids that fire on `event`.
fn fired(engine: &Engine, event: &Event<'_>) -> Vec<String> {
    let mut ids: Vec<String> = engine
        .evaluate(event)
        .rule_ids()
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

/// Rules testing `ip` against list `L` in the four ways a rule can.
const IP_RULES: &str = "
Rule IN — phrase in
Trigger: from IP in L
Action: flag
Severity: LOW

Rule NOTIN — phrase not in
Trigger: from IP not in L
Action: flag
Severity: LOW

Rule IPIN — operator in
Trigger: ip in L
Action: flag
Severity: LOW

Rule IPNOTIN — operator not in
Trigger: ip not in L
Action: flag
Severity: LOW
";

/// A scratch directory under `target/` for list files.
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-tmp")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

/// An engine whose list `L` holds `entry`, declared as `source` says.
fn engine_with_list(source: &str, entry: &str, dir: &std::path::Path) -> Engine {
    let (decl, profiles) = match source {
        "inline" => (format!("list L = [{entry}]"), Profiles::new()),
        "file" => {
            let path = dir.join("l.txt");
            std::fs::write(&path, format!("# one entry\n{entry}\n"))
                .unwrap_or_else(|e| panic!("{e}"));
            (
                format!("list L = file \"{}\"", path.display()),
                Profiles::new(),
            )
        }
        "profile" => (
            "list L = agent.ips".to_owned(),
            Profiles::from_json_str(&format!(r#"{{"agent_id": "a", "ips": ["{entry}"]}}"#))
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        other => panic!("unknown source {other}"),
    };
    let rules_path = dir.join("r.rules");
    std::fs::write(&rules_path, format!("{decl}\n{IP_RULES}")).unwrap_or_else(|e| panic!("{e}"));
    let rules = RuleSet::from_files([&rules_path])
        .unwrap_or_else(|d| panic!("{source} list [{entry}]:\n{}", d.render(false)));
    Engine::builder(rules.compile())
        .profiles(&profiles)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The event of agent `a` from `ip` (its text), read in `format`.
fn event_from(format: &str, ip: &str) -> Event<'static> {
    let line = match format {
        "native" => format!(r#"{{"time": "2026-11-22T10:00:00Z", "agent": "a", "ip": "{ip}"}}"#),
        "okta" => format!(
            r#"{{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
                 "actor": {{"id": "a", "type": "PublicClientApp"}}, "client": {{"ipAddress": "{ip}"}}}}"#
        ),
        "okta-ipchain" => format!(
            r#"{{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
                 "actor": {{"id": "a", "type": "PublicClientApp"}}, "client": {{"ipAddress": null}},
                 "request": {{"ipChain": [{{"ip": "{ip}"}}]}}}}"#
        ),
        "builder" => {
            return Event::builder("a", 1_795_341_600_000)
                .try_ip(ip)
                .unwrap_or_else(|e| panic!("{e}"))
                .build()
        }
        "builder-ip" => {
            return Event::builder("a", 1_795_341_600_000)
                .ip(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")))
                .build()
        }
        // An event made as a struct, bypassing the builder's normalisation.
        "struct" => {
            return Event {
                ip: Some(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))),
                ..Event::builder("a", 1_795_341_600_000).build()
            }
        }
        other => panic!("unknown format {other}"),
    };
    parse_event(&line, Format::Auto)
        .unwrap_or_else(|e| panic!("{format} {ip}: {e}"))
        .into_owned()
}

const FORMATS: [&str; 6] = [
    "native",
    "okta",
    "okta-ipchain",
    "builder",
    "builder-ip",
    "struct",
];

#[test]
fn item10_ipv4_mapped_list_entries_and_events_match_in_every_combination() {
    // Events: (text, [which entries cover it]).
    let events = [
        "10.1.1.1",
        "::ffff:10.1.1.1",
        "11.1.1.1",
        "::ffff:11.1.1.1",
        "2001:db8::1",
    ];
    // Each entry, and whether it covers each event above.
    let entries: [(&str, [bool; 5]); 9] = [
        ("10.1.1.1", [true, true, false, false, false]),
        ("::ffff:10.1.1.1", [true, true, false, false, false]),
        ("10.0.0.0/8", [true, true, false, false, false]),
        ("::ffff:10.0.0.0/104", [true, true, false, false, false]),
        ("::ffff:10.1.1.1/128", [true, true, false, false, false]),
        // All of mapped space: all of IPv4.
        ("::ffff:0.0.0.0/96", [true, true, true, true, false]),
        // Prefixes below 96 covering mapped space and other IPv6 space.
        ("::/64", [true, true, true, true, false]),
        ("::/0", [true, true, true, true, true]),
        ("2001:db8::/32", [false, false, false, false, true]),
    ];
    let dir = scratch("item10-mapped");
    let mut checked = 0;
    for source in ["inline", "file", "profile"] {
        for (entry, covers) in entries {
            let engine = engine_with_list(source, entry, &dir);
            for (ip, inside) in events.iter().zip(covers) {
                for format in FORMATS {
                    let event = event_from(format, ip);
                    let want: Vec<String> = if inside {
                        vec!["IN".into(), "IPIN".into()]
                    } else {
                        vec!["IPNOTIN".into(), "NOTIN".into()]
                    };
                    assert_eq!(
                        fired(&engine, &event),
                        want,
                        "{source} list [{entry}], {format} event from {ip}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 3 * 9 * 5 * FORMATS.len());
}

#[test]
fn item10_ipv4_mapped_event_addresses_are_stored_as_ipv4() {
    let v4: std::net::IpAddr = "10.1.1.1".parse().expect("ip");
    for format in ["native", "okta", "okta-ipchain", "builder", "builder-ip"] {
        assert_eq!(
            event_from(format, "::ffff:10.1.1.1").ip,
            Some(v4),
            "{format}"
        );
        assert_eq!(event_from(format, "10.1.1.1").ip, Some(v4), "{format}");
    }
    let v6: std::net::IpAddr = "2001:db8::1".parse().expect("ip");
    assert_eq!(event_from("native", "2001:db8::1").ip, Some(v6));
}

#[test]
fn item10_ipv4_mapped_lists_in_event_attributes_match() {
    let rules = RuleSet::from_source(
        "r.rules",
        "Rule A — attr list\nTrigger: ip in attr.allowed\nAction: flag\nSeverity: LOW\n",
    )
    .unwrap_or_else(|d| panic!("{}", d.render(false)));
    let engine = Engine::builder(rules.compile())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for (entry, ip, want) in [
        ("::ffff:10.1.1.1", "10.1.1.1", true),
        ("10.1.1.1", "::ffff:10.1.1.1", true),
        ("::ffff:10.0.0.0/104", "10.9.9.9", true),
        ("10.0.0.0/8", "::ffff:10.9.9.9", true),
        ("::ffff:10.0.0.0/104", "11.0.0.1", false),
    ] {
        let event = Event::builder("a", 1_795_341_600_000)
            .try_ip(ip)
            .unwrap_or_else(|e| panic!("{e}"))
            .attr("allowed", serde_json::json!([entry]))
            .build();
        let want: Vec<String> = if want { vec!["A".into()] } else { vec![] };
        assert_eq!(fired(&engine, &event), want, "[{entry}] vs {ip}");
    }
}

// ---------------------------------------------------------------------------
// Item 21: unspecified and "null" addresses

#[test]
fn item21_unspecified_empty_and_null_addresses_are_absent_in_every_format() {
    let rules = RuleSet::from_source(
        "r.rules",
        "list L = [10.0.0.0/8]\n\
         Rule E — exists\nTrigger: exists(ip)\nAction: flag\nSeverity: LOW\n\
         Rule M — missing\nTrigger: missing(ip)\nAction: flag\nSeverity: LOW\n\
         Rule N — not in\nTrigger: from IP not in L\nAction: flag\nSeverity: LOW\n",
    )
    .unwrap_or_else(|d| panic!("{}", d.render(false)));
    let engine = Engine::builder(rules.compile())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for text in ["0.0.0.0", "::", "::ffff:0.0.0.0", "", "null"] {
        let mut formats = vec!["native", "okta", "okta-ipchain", "builder"];
        if !text.is_empty() && text != "null" {
            formats.extend(["builder-ip", "struct"]);
        }
        for format in formats {
            let event = event_from(format, text);
            if format != "struct" {
                assert_eq!(event.ip, None, "{format} {text:?}");
            }
            assert_eq!(fired(&engine, &event), ["M"], "{format} {text:?}");
        }
    }
    // A real address still fires the others.
    assert_eq!(fired(&engine, &event_from("native", "::1")), ["E", "N"]);
}

#[test]
fn item21_an_unspecified_okta_client_address_falls_back_to_the_ip_chain() {
    let line = r#"{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
        "actor": {"id": "a", "type": "PublicClientApp"}, "client": {"ipAddress": "::"},
        "request": {"ipChain": [{"ip": "::ffff:203.0.113.9"}]}}"#;
    let [serde, scanner, reference] = three_readers(line);
    assert_eq!(serde, scanner);
    assert_eq!(serde, reference);
    assert_eq!(
        serde.map(|e| e.ip),
        Ok(Some("203.0.113.9".parse().expect("ip")))
    );
}

// ---------------------------------------------------------------------------
// Item 23: exists / missing

/// Any JSON value, with the strings that matter here (`"null"`, `""`) often.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        prop_oneof![
            Just("null".to_owned()),
            Just("NULL".to_owned()),
            Just(String::new()),
            "[a-z ]{0,6}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The rules `E` (`exists(F)`) and `M` (`missing(F)`) for field `field`.
fn exists_missing_engine(field: &str, profiles: &Profiles) -> Engine {
    let rules = RuleSet::from_source(
        "r.rules",
        &format!(
            "Rule E — exists\nTrigger: exists({field})\nAction: flag\nSeverity: LOW\n\
             Rule M — missing\nTrigger: missing({field})\nAction: flag\nSeverity: LOW\n"
        ),
    )
    .unwrap_or_else(|d| panic!("{}", d.render(false)));
    Engine::builder(rules.compile())
        .profiles(profiles)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `Some(true)` when only `E` fired, `Some(false)` when only `M` did.
fn exists_xor_missing(engine: &Engine, event: &Event<'_>) -> Option<bool> {
    match fired(engine, event).as_slice() {
        [e] if e == "E" => Some(true),
        [m] if m == "M" => Some(false),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any value, at an `attr.` path (native and Okta events), in a
    /// built-in field (native and Okta) and in a profile field, exactly one
    /// of `exists` and `missing` is true.
    #[test]
    fn item23_exactly_one_of_exists_and_missing_is_true_for_any_value(value in any_json()) {
        let text = value.to_string();
        let no_profiles = Profiles::new();

        // attr.<path>, native and Okta.
        let attr = exists_missing_engine("attr.x.y", &no_profiles);
        let line = format!(r#"{{"time": "2026-11-22T10:00:00Z", "agent": "a", "attrs": {{"x": {{"y": {text}}}}}}}"#);
        let native = parse_event(&line, Format::Native).expect("native event");
        prop_assert!(exists_xor_missing(&attr, &native).is_some(), "native attr {}", text);
        let line = format!(r#"{{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
                 "actor": {{"id": "a", "type": "User"}}, "x": {{"y": {text}}}}}"#);
        let okta = parse_event(&line, Format::Okta).expect("okta event");
        prop_assert!(exists_xor_missing(&attr, &okta).is_some(), "okta attr {}", text);

        // A built-in field: Okta's rawUserAgent (any JSON value a reader accepts).
        let ua = exists_missing_engine("user_agent", &no_profiles);
        let line = format!(
            r#"{{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
                 "actor": {{"id": "a", "type": "User"}}, "client": {{"userAgent": {{"rawUserAgent": {text}}}}}}}"#
        );
        if let Ok(okta) = parse_event(&line, Format::Okta) {
            let present = exists_xor_missing(&ua, &okta);
            prop_assert!(present.is_some(), "okta user_agent {}", text);
            // The string "null" is absent, like JSON null.
            if value == Value::Null || value == "null" {
                prop_assert_eq!(okta.user_agent.as_deref(), None);
                prop_assert_eq!(present, Some(false));
            }
        }
        if let Value::String(s) = &value {
            let native = Event::builder("a", 0).user_agent(s.clone()).build();
            prop_assert_eq!(exists_xor_missing(&ua, &native), Some(s != "null"), "{:?}", s);
        }

        // A profile field.
        let profiles = Profiles::from_json_str(&format!(r#"{{"agent_id": "a", "x": {text}}}"#))
            .expect("profile");
        let prof = exists_missing_engine("agent.x", &profiles);
        let event = Event::builder("a", 0).build();
        prop_assert!(exists_xor_missing(&prof, &event).is_some(), "profile {}", text);
    }
}

#[test]
fn item23_okta_null_strings_are_absent_in_built_in_fields_and_attr_paths() {
    let line = r#"{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
        "actor": {"id": "a", "type": "User"}, "outcome": {"result": "null"},
        "client": {"userAgent": {"rawUserAgent": "null"}, "geographicalContext": "null",
                   "ipAddress": "null"},
        "debugContext": {"debugData": {"grantType": "null", "certAgeDays": "null"}},
        "securityContext": {"asNumber": "null"}}"#;
    let [serde, scanner, reference] = three_readers(line);
    assert_eq!(serde, scanner);
    assert_eq!(serde, reference);
    let event = parse_event(line, Format::Auto).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            event.user_agent.as_deref(),
            event.outcome.as_deref(),
            event.country.as_deref(),
            event.grant_type.as_deref(),
            event.cert.age_days,
            event.asn,
            event.ip,
        ),
        (None, None, None, None, None, None, None)
    );
    for field in [
        "user_agent",
        "outcome",
        "country",
        "grant_type",
        "cert.age_days",
        "asn",
        "ip",
        "attr.client.userAgent.rawUserAgent",
        "attr.outcome.result",
    ] {
        let engine = exists_missing_engine(field, &Profiles::new());
        assert_eq!(exists_xor_missing(&engine, &event), Some(false), "{field}");
    }
}

// ---------------------------------------------------------------------------
// Item 19 (part): a byte-order mark at the start of a line

#[test]
fn item19_a_line_starting_with_a_byte_order_mark_is_read_in_every_format() {
    use riskgate::input::native::parse_native;
    let native = r#"{"time": "2026-11-22T10:00:00Z", "agent": "a", "ip": "10.1.1.1"}"#;
    let okta = r#"{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
        "actor": {"id": "a", "type": "User"}, "client": {"ipAddress": "10.1.1.1"}}"#;
    let none = AttrFilter::paths(std::iter::empty::<Vec<&str>>());
    for (line, formats) in [
        (native, [Format::Auto, Format::Native]),
        (okta, [Format::Auto, Format::Okta]),
    ] {
        let with_bom = format!("\u{feff}{line}");
        for format in formats {
            let want = parse_event(line, format).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parse_event(&with_bom, format), Ok(want.clone()), "{format}");
            assert_eq!(
                riskgate::input::okta::parse_event_with(&with_bom, format, &AttrFilter::all()),
                Ok(want),
                "{format}"
            );
            // One mark only: a second one is not JSON.
            let twice = format!("\u{feff}{with_bom}");
            assert!(
                matches!(
                    parse_event(&twice, format),
                    Err(EventError::InvalidJson { .. })
                ),
                "{format}"
            );
        }
    }
    let with_bom = format!("\u{feff}{native}");
    assert_eq!(parse_native(&with_bom), parse_native(native));
    let with_bom = format!("\u{feff}{okta}");
    assert_eq!(parse_okta(&with_bom), parse_okta(okta));
    assert_eq!(
        parse_okta_with(&with_bom, &none).map(|e| e.ip),
        Ok(Some("10.1.1.1".parse().expect("ip")))
    );
}

// ---------------------------------------------------------------------------
// Item 14: `attr.` keys match ignoring ASCII case; exact case wins, else the
// first key in document order

/// The value of `attr.<path>` that rules see on `event`: the string `s` such
/// that `attr.<path> == s` fires, among `candidates`.
fn attr_seen(event: &Event<'_>, path: &str, candidates: &[&str]) -> Option<String> {
    let mut seen = None;
    for c in candidates {
        let rules = RuleSet::from_source(
            "r.rules",
            &format!("Rule A — a\nTrigger: attr.{path} == \"{c}\"\nAction: flag\nSeverity: LOW\n"),
        )
        .unwrap_or_else(|d| panic!("{}", d.render(false)));
        let program = rules.compile();
        let engine = Engine::builder(program)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        if !fired(&engine, event).is_empty() {
            assert!(seen.is_none(), "{path}: two values fire");
            seen = Some((*c).to_owned());
        }
    }
    seen
}

/// Keys differing only by case, in an order that is not sorted order
/// (sorted: `TEAM` < `Team` < `team`), nested below keys that do the same.
const TIED: &str = r#"{"team": "lower", "TEAM": "upper", "Team": "title",
    "owner": {"Name": "o-title", "name": "o-lower"},
    "Owner": {"name": "O-lower", "NAME": "O-upper"},
    "solo": {"Key": "only"}}"#;

/// (path, value rules see) for [`TIED`].
const TIED_EXPECTED: [(&str, &str); 10] = [
    // Exact case wins wherever it is.
    ("team", "lower"),
    ("TEAM", "upper"),
    ("Team", "title"),
    // No exact key: the first in document order.
    ("tEAM", "lower"),
    ("owner.name", "o-lower"),
    ("Owner.NAME", "O-upper"),
    ("Owner.Name", "O-lower"),
    ("OWNER.NAME", "o-title"),
    ("oWnEr.name", "o-lower"),
    ("SOLO.key", "only"),
];

const CANDIDATES: [&str; 8] = [
    "lower", "upper", "title", "o-title", "o-lower", "O-lower", "O-upper", "only",
];

#[test]
fn item14_native_attr_keys_match_ignoring_case_exact_first_then_document_order() {
    let line = format!(r#"{{"time": "2026-11-22T10:00:00Z", "agent": "a", "attrs": {TIED}}}"#);
    let event = parse_event(&line, Format::Native).unwrap_or_else(|e| panic!("{e}"));
    for (path, want) in TIED_EXPECTED {
        assert_eq!(
            attr_seen(&event, path, &CANDIDATES).as_deref(),
            Some(want),
            "native attr.{path}"
        );
        let segs: Vec<&str> = path.split('.').collect();
        assert_eq!(
            event.attr(&segs),
            Some(&Value::from(want)),
            "Event::attr {path}"
        );
    }
    assert_eq!(attr_seen(&event, "teams", &CANDIDATES), None);
}

#[test]
fn item14_okta_attr_keys_match_ignoring_case_exact_first_then_document_order() {
    let line = format!(
        r#"{{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
            "actor": {{"id": "a", "type": "User"}}, "debugContext": {{"debugData": {TIED}}}}}"#
    );
    let event = parse_event(&line, Format::Okta).unwrap_or_else(|e| panic!("{e}"));
    for (path, want) in TIED_EXPECTED {
        let path = format!("DebugContext.debugdata.{path}");
        assert_eq!(
            attr_seen(&event, &path, &CANDIDATES).as_deref(),
            Some(want),
            "okta attr.{path}"
        );
        // Reading only what the rule reads keeps the same answer.
        let segs: Vec<&str> = path.split('.').collect();
        let filtered = parse_okta_with(&line, &AttrFilter::paths([segs.clone()]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            filtered.attr(&segs),
            Some(&Value::from(want)),
            "filtered {path}"
        );
    }
}

#[test]
fn item14_okta_built_in_keys_follow_the_same_tie_rule() {
    // `eventtype` spelled three ways, none exact: the first in document order.
    // (Sorted order would pick the upper-case keys.)
    let line = r#"{"published": "2026-11-22T10:00:00.000Z", "eventtype": "user.session.start",
        "EVENTTYPE": "policy.lifecycle.update", "actor": {"id": "a", "type": "User"},
        "client": {"ipaddress": "10.0.0.1", "IPADDRESS": "10.0.0.2"}}"#;
    let [serde, scanner, reference] = three_readers(line);
    assert_eq!(serde, scanner);
    assert_eq!(serde, reference);
    let event = serde.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(event.event_type.as_deref(), Some("user.session.start"));
    assert_eq!(event.ip, Some("10.0.0.1".parse().expect("ip")));
}

#[test]
fn item14_any_elements_and_attr_lists_use_the_same_key_rule() {
    let rules = RuleSet::from_source(
        "r.rules",
        "Rule ANY — any\nTrigger: any(attr.TARGET, TYPE == \"User\")\nAction: flag\nSeverity: LOW\n\
         Rule IN — in\nTrigger: \"AppInstance\" in attr.target.Type\nAction: flag\nSeverity: LOW\n",
    )
    .unwrap_or_else(|d| panic!("{}", d.render(false)));
    let engine = Engine::builder(rules.compile())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // `type` comes before `Type` in each element: `TYPE` reads `type`;
    // `Type` is exact.
    let event = Event::builder("a", 0)
        .attrs(
            serde_json::from_str(r#"{"target": [{"type": "User", "Type": "AppInstance"}]}"#)
                .expect("json"),
        )
        .build();
    assert_eq!(fired(&engine, &event), ["ANY", "IN"]);
    let event = Event::builder("a", 0)
        .attrs(
            serde_json::from_str(r#"{"target": [{"Type": "User", "type": "AppInstance"}]}"#)
                .expect("json"),
        )
        .build();
    assert_eq!(fired(&engine, &event), ["ANY"]);
}

#[test]
fn item22_inside_any_a_built_in_field_name_reads_the_element() {
    let rules = "list corp = [10.0.0.0/8]\n\
        Rule HOP: a proxy hop inside corp\n\
        Trigger: any(attr.request.ipChain, ip in corp)\nAction: flag\nSeverity: LOW\n\n\
        Rule GEO: a hop in France\n\
        Trigger: any(attr.request.ipChain, country == \"France\")\nAction: flag\nSeverity: LOW\n";
    let set = RuleSet::from_source("any.rules", rules).unwrap_or_else(|d| panic!("{d}"));
    let engine = Engine::builder(set.compile())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let line = |client: &str, hop: &str, country: &str| {
        format!(
            r#"{{"eventType":"user.session.start","published":"2026-11-22T10:00:00Z",
                "actor":{{"id":"u","type":"User"}},
                "client":{{"ipAddress":"{client}","geographicalContext":{{"country":"United States"}}}},
                "request":{{"ipChain":[{{"ip":"{hop}","country":"{country}"}}]}}}}"#
        )
    };
    let fire = |l: String| {
        let event = riskgate::input::okta::parse_event(&l, riskgate::input::okta::Format::Okta)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ids = fired(&engine, &event);
        ids.sort();
        ids
    };
    // The hop is in corp and in France, the client is neither.
    assert_eq!(
        fire(line("203.0.113.9", "10.1.1.1", "France")),
        ["GEO", "HOP"]
    );
    // The client is in corp, the hop is not: the element decides.
    assert!(fire(line("10.1.1.1", "203.0.113.9", "Spain")).is_empty());
}
