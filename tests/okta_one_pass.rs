//! The one-pass Okta reader (`parse_okta`, `parse_okta_with`, `parse_event`)
//! against the reference: a `serde_json::Value` of the whole line, converted
//! by `from_okta_value`. Same events, same errors (messages included), on the
//! bundled fixtures, on thousands of mutations of them and on generated
//! objects; and `attr.` lookups on attrs kept by an `AttrFilter` find what
//! they find on the whole object.

use proptest::prelude::*;
use riskgate::input::event::{Event, EventError};
use riskgate::input::native::parse_native;
#[path = "support/okta_value.rs"]
mod okta_value;
use okta_value::from_okta_value;
use riskgate::input::okta::{
    collect_path, lookup_ci, parse_event, parse_event_with, parse_okta, parse_okta_with,
    AttrFilter, Format,
};
use serde_json::Value;

const FILES: [&str; 5] = [
    "airbyte-source-okta",
    "demisto-content-okta-v2",
    "okta-developer-docs-examples",
    "okta-management-openapi-spec-examples",
    "panther-analysis-okta-rule-tests",
];

fn fixture_lines() -> Vec<String> {
    let mut out = Vec::new();
    for file in FILES {
        let path = format!(
            "{}/tests/fixtures/okta/{file}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        out.extend(text.lines().map(str::to_owned));
    }
    out
}

/// A few lines of the generated example stream (the shape replay benchmarks read).
fn example_lines() -> Vec<String> {
    let path = format!(
        "{}/examples/events/okta-day.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .map(|t| t.lines().take(300).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn invalid_json(e: &serde_json::Error) -> EventError {
    EventError::InvalidJson {
        message: e.to_string(),
    }
}

/// The Okta adapter as it was: a `Value` of the whole line, then `from_okta_value`.
fn reference_okta(line: &str) -> Result<Event<'static>, EventError> {
    let v: Value = serde_json::from_str(line).map_err(|e| invalid_json(&e))?;
    from_okta_value(v)
}

/// `Format::Auto` as it was.
fn reference_auto(line: &str) -> Result<Event<'_>, EventError> {
    let b = line.as_bytes();
    let may = b.iter().enumerate().any(|(i, &c)| match c {
        b'\\' => b.get(i + 1) == Some(&b'u'),
        b'e' | b'E' => b
            .get(i..i + 9)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"eventtype")),
        _ => false,
    });
    if !may {
        return parse_native(line);
    }
    let v: Value = serde_json::from_str(line).map_err(|e| invalid_json(&e))?;
    match &v {
        Value::Object(m) if m.keys().any(|k| k.eq_ignore_ascii_case("eventtype")) => {
            from_okta_value(v)
        }
        _ => parse_native(line),
    }
}

/// Paths that rules read in the examples and tests, and some odd ones.
const PATHS: &[&[&str]] = &[
    &["actor", "alternateId"],
    &["securityContext", "isProxy"],
    &["target"],
    &["target", "type"],
    &["target", "0", "type"],
    &["outcome", "reason"],
    &["CLIENT", "geographicalcontext", "geolocation", "lat"],
    &["debugContext", "debugData", "requestUri"],
    &["authenticationContext"],
    &["request", "ipChain", "ip"],
    &["eventtype"],
];

fn filters() -> Vec<(String, AttrFilter)> {
    let agents = std::fs::read_to_string(format!(
        "{}/examples/rules/agents.rules",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("agents.rules");
    let program = riskgate::RuleSet::from_source("agents.rules", &agents)
        .expect("agents.rules checks")
        .compile();
    vec![
        ("all".into(), AttrFilter::all()),
        ("agents.rules".into(), AttrFilter::for_program(&program)),
        ("paths".into(), AttrFilter::paths(PATHS.iter().copied())),
        (
            "none".into(),
            AttrFilter::paths(std::iter::empty::<Vec<&str>>()),
        ),
        ("one".into(), AttrFilter::paths([["actor", "alternateId"]])),
    ]
}

/// Every way the events of `line` are read agrees with the reference.
fn check_line(line: &str, filters: &[(String, AttrFilter)]) {
    let want = reference_okta(line);
    assert_eq!(parse_okta(line), want, "parse_okta on {line}");
    assert_eq!(
        parse_event(line, Format::Okta),
        want,
        "parse_event okta on {line}"
    );
    let auto_want = reference_auto(line);
    assert_eq!(
        parse_event(line, Format::Auto),
        auto_want,
        "parse_event auto on {line}"
    );
    let auto_want = auto_want.map(|mut e| {
        e.attrs = Value::Null;
        e
    });
    for (name, filter) in filters {
        let got = parse_okta_with(line, filter);
        match (&got, &want) {
            (Err(g), Err(w)) => assert_eq!(g, w, "filter {name} on {line}"),
            (Ok(g), Ok(w)) => {
                let whole = Event {
                    attrs: g.attrs.clone(),
                    ..w.clone()
                };
                assert_eq!(g, &whole, "filter {name} on {line}");
                check_attrs(&g.attrs, &w.attrs, filter, name, line);
            }
            _ => panic!("filter {name} on {line}: {got:?} but the reference gives {want:?}"),
        }
        let auto = parse_event_with(line, Format::Auto, filter).map(|mut e| {
            e.attrs = Value::Null;
            e
        });
        assert_eq!(auto, auto_want, "auto, filter {name} on {line}");
    }
}

/// Lookups of the kept paths find the same values in the kept attrs as in the whole object.
fn check_attrs(kept: &Value, whole: &Value, filter: &AttrFilter, name: &str, line: &str) {
    if filter.keeps_all() {
        assert_eq!(kept, whole, "filter {name} on {line}");
        return;
    }
    let paths: Vec<Vec<&str>> = match name {
        "agents.rules" => vec![
            vec!["actor", "alternateId"],
            vec!["securityContext", "isProxy"],
            vec!["target"],
        ],
        "paths" => PATHS.iter().map(|p| p.to_vec()).collect(),
        "one" => vec![vec!["actor", "alternateId"]],
        _ => Vec::new(),
    };
    for p in &paths {
        // Every prefix of a kept path reads the same, through objects and arrays.
        for n in 1..=p.len() {
            let prefix = &p[..n];
            let boxed: Vec<riskgate::compile::program::Seg> = prefix
                .iter()
                .map(|s| riskgate::compile::program::Seg::Key(Box::from(*s)))
                .collect();
            if n == p.len() {
                assert_eq!(
                    lookup_ci(kept, prefix),
                    lookup_ci(whole, prefix),
                    "lookup {prefix:?}, filter {name} on {line}"
                );
                assert_eq!(
                    riskgate::run::eval::scalar_path(kept, &boxed),
                    riskgate::run::eval::scalar_path(whole, &boxed),
                    "scalar_path {prefix:?}, filter {name} on {line}"
                );
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            collect_path(kept, prefix, &mut a);
            collect_path(whole, prefix, &mut b);
            if n == p.len() {
                assert_eq!(a, b, "collect {prefix:?}, filter {name} on {line}");
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            riskgate::run::eval::any_at_path(kept, &boxed, &mut |v| {
                a.push(v.clone());
                false
            });
            riskgate::run::eval::any_at_path(whole, &boxed, &mut |v| {
                b.push(v.clone());
                false
            });
            if n == p.len() {
                assert_eq!(a, b, "any_at_path {prefix:?}, filter {name} on {line}");
            }
        }
    }
}

#[test]
fn fixtures_and_example_lines_read_as_the_reference_reads_them() {
    let filters = filters();
    let lines: Vec<String> = fixture_lines().into_iter().chain(example_lines()).collect();
    assert!(lines.len() >= 189);
    for line in &lines {
        check_line(line, &filters);
    }
}

/// Values that exercise every branch of the adapter's checks.
const ODD_VALUES: &[&str] = &[
    "null",
    "\"\"",
    "\"null\"",
    "\"0.0.0.0\"",
    "\"redacted\"",
    "\"203.0.113.9\"",
    "\"2001:db8::1\"",
    "\"2020-05-01T10:20:22.243Z\"",
    "\"2017-09-31T22:23:07.777Z\"",
    "\" 16509 \"",
    "\"12x\"",
    "5",
    "-1",
    "0",
    "-0",
    "1.5",
    "2.0",
    "1e3",
    "1e400",
    "-1e400",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "true",
    "false",
    "[]",
    "[null]",
    "[\"a\", null, \"b c,d\"]",
    "[\"a\", 3]",
    "[{\"ip\": \"198.51.100.7\"}]",
    "[{\"IP\": \"198.51.100.8\", \"ip\": null}]",
    "[null, {\"ip\": \"198.51.100.9\"}]",
    "[\"x\"]",
    "[[1]]",
    "{}",
    "{\"id\": \"0oa9\", \"type\": \"PublicClientApp\"}",
    "{\"ID\": \"0oa8\", \"Id\": \"0oa7\"}",
    "{\"id\": \"\"}",
    "{\"debugData\": {\"grantType\": \"client_credentials\"}}",
    "{\"debugdata\": \"\"}",
    "{\"debugData\": 7}",
    "{\"country\": \"Germany\", \"ipAddress\": null}",
    "{\"result\": \"FAILURE\"}",
    "{\"asNumber\": \"64512\"}",
    "\"\\u0041\\u0042\"",
    "\"tab\\tin\"",
    "\"\\ud800\"",
    "\"\\ud83d\\ude00\"",
    "\"caf\u{e9} \u{2003}x\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
];

/// Keys to replace, to add, to duplicate: each key the adapter reads, in other cases.
const KEYS: &[&str] = &[
    "published",
    "PUBLISHED",
    "eventType",
    "eventtype",
    "EventType",
    "actor",
    "Actor",
    "client",
    "CLIENT",
    "request",
    "debugContext",
    "debugcontext",
    "outcome",
    "securityContext",
    "securitycontext",
    "target",
    "ev\\u0065ntType",
    "uuid",
];

/// Variants of one line: keys re-cased, values replaced, keys added twice,
/// truncations and byte edits.
fn mutations(line: &str) -> Vec<String> {
    let mut out = vec![
        line.to_ascii_lowercase(),
        line.to_ascii_uppercase(),
        line.replace("\":", "\" :"),
        format!(" {line} "),
        format!("{line} x"),
        format!("[{line}]"),
        line.replace("\"id\"", "\"Id\""),
        line.replace("\"ipAddress\"", "\"ipaddress\""),
        line.replace("\"debugData\"", "\"DebugData\""),
        line.replace(',', ",\n"),
        line.replace('1', "\\u0031"),
        line.replace("Z\"", "\""),
        // Without `client`, the address comes from `request.ipChain`.
        line.replace("\"client\"", "\"notclient\""),
    ];
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(line) {
        // Replace the value at every path (through objects and first array
        // elements, three levels deep) with odd values.
        let mut paths = Vec::new();
        value_paths(&v, String::new(), 0, &mut paths);
        for (i, path) in paths.iter().enumerate() {
            // Every array and object, a rotating third of the scalars.
            for (j, odd) in ODD_VALUES.iter().enumerate() {
                if !odd.starts_with(['[', '{']) && (i + j) % 3 != 0 {
                    continue;
                }
                let mut m = v.clone();
                if let Some(slot) = m.pointer_mut(path) {
                    *slot = Value::String(PLACEHOLDER.into());
                    out.push(
                        m.to_string()
                            .replace(&Value::from(PLACEHOLDER).to_string(), odd),
                    );
                }
            }
        }
        // Add keys, before and after the others.
        for key in KEYS {
            for odd in ODD_VALUES.iter().step_by(5) {
                let body = line.trim().trim_start_matches('{');
                out.push(format!("{{\"{key}\": {odd}, {body}"));
                let head = line.trim().trim_end_matches('}');
                out.push(format!("{head}, \"{key}\": {odd}}}"));
            }
        }
    }
    // Truncations.
    let mut cut = 1;
    while cut < line.len() {
        if let Some(prefix) = line.get(..cut) {
            out.push(prefix.to_owned());
        }
        cut += 1 + cut / 3;
    }
    out
}

const PLACEHOLDER: &str = "\u{0}placeholder";

/// The JSON pointers of every member of the objects in `v`, and of the first
/// element of its arrays, down to `depth` 3.
fn value_paths(v: &Value, at: String, depth: usize, out: &mut Vec<String>) {
    if depth > 3 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                value_paths(item, p, depth + 1, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                let p = format!("{at}/0");
                out.push(p.clone());
                value_paths(first, p, depth + 1, out);
            }
        }
        _ => {}
    }
}

#[test]
fn mutated_lines_read_as_the_reference_reads_them() {
    let filters = filters();
    let mut lines = fixture_lines();
    lines.extend(example_lines().into_iter().take(20));
    // Every mutation of a sample of the lines (all of them would take minutes in debug builds).
    let mut n = 0;
    for line in lines.iter().step_by(24) {
        for m in mutations(line) {
            check_line(&m, &filters);
            n += 1;
        }
    }
    assert!(n > 3_000, "{n} mutations");
}

/// A JSON value from a small vocabulary: the keys the adapter reads in
/// several cases, a few others, and odd values.
fn json_value() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "published",
        "Published",
        "eventType",
        "EVENTTYPE",
        "actor",
        "ACTOR",
        "id",
        "Id",
        "type",
        "alternateId",
        "client",
        "ipAddress",
        "ipaddress",
        "geographicalContext",
        "country",
        "userAgent",
        "rawUserAgent",
        "request",
        "ipChain",
        "ip",
        "outcome",
        "result",
        "securityContext",
        "asNumber",
        "isProxy",
        "debugContext",
        "debugData",
        "requestedScopes",
        "grantedScopes",
        "grantType",
        "clientAuthType",
        "certIssuer",
        "certAgeDays",
        "tokenLifetimeMinutes",
        "secretAgeDays",
        "devicePosture",
        "target",
        "x",
    ]);
    let leaf =
        prop::sample::select(ODD_VALUES[..ODD_VALUES.len() - 1].to_vec()).prop_map(str::to_owned);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..7).prop_map(|kv| {
                let fields: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn generated_objects_read_as_the_reference_reads_them(
        body in json_value(),
        published in prop::sample::select(vec![
            "", "\"published\": \"2026-11-22T10:00:00Z\",", "\"PUBLISHED\": \"2026-11-22 10:00:00.5\",",
        ]),
        actor in prop::sample::select(vec![
            "", "\"actor\": {\"id\": \"0oa1\", \"type\": \"PublicClientApp\"},", "\"Actor\": {\"ID\": \"u\"},",
        ]),
        event_type in prop::sample::select(vec![
            "", "\"eventType\": \"app.oauth2.as.token.grant.access_token\",", "\"eventtype\": \"user.session.start\",",
        ]),
    ) {
        let filters = filters();
        let line = match body.strip_prefix('{') {
            Some(rest) => format!("{{{published}{actor}{event_type}{}", if rest == "}" {
                // No trailing comma before `}`.
                format!("\"x\": 1{rest}")
            } else {
                rest.to_owned()
            }),
            None => body.clone(),
        };
        check_line(&line, &filters);
    }
}

#[test]
fn attr_filters_from_programs() {
    let src = "Rule R1 — Grants\n\
        Trigger: any(attr.target, type == \"User\") AND attr.actor.alternateId ends_with \"@x\"\n\
        Action: deny\nSeverity: HIGH\n\
        \n\
        Rule R2 — Spray\n\
        Trigger: count(attr.outcome.reason == \"INVALID_CREDENTIALS\") over 10m by attr.client.ipAddress > 3\n\
        Action: deny\nSeverity: HIGH\n";
    let program = riskgate::RuleSet::from_source("r.rules", src)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .compile();
    let filter = AttrFilter::for_program(&program);
    assert!(!filter.keeps_all());
    let line = r#"{"published": "2026-11-22T10:00:00Z", "eventType": "user.session.start",
        "actor": {"id": "00u1", "type": "User", "alternateId": "a@x", "displayName": "A"},
        "client": {"ipAddress": "198.51.100.1", "device": "Computer"},
        "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
        "target": [{"type": "User", "id": "00u2"}], "uuid": "u-1", "version": "0"}"#;
    let event = parse_okta_with(line, &filter).expect("reads");
    assert_eq!(
        event.attrs,
        serde_json::json!({
            "actor": {"alternateId": "a@x"},
            "client": {"ipAddress": "198.51.100.1"},
            "outcome": {"reason": "INVALID_CREDENTIALS"},
            "target": [{"type": "User", "id": "00u2"}],
        })
    );
    assert!(AttrFilter::paths([Vec::<&str>::new()]).keeps_all());
    assert_eq!(AttrFilter::default(), AttrFilter::all());
}

/// `split_scopes` as it was written first: `str::split` on commas and
/// `char::is_whitespace`, empty pieces dropped.
fn reference_split(text: &str) -> Vec<&str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn split_scopes_splits_on_commas_and_every_whitespace_character() {
    // Every character `char::is_whitespace` accepts, and some it does not.
    let odd: Vec<char> = (0..=0x3000u32)
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace() || c.is_control())
        .chain(['\u{feff}', '\u{200b}', 'é', '€', '𝄞', '\u{1c}', '\u{85}'])
        .collect();
    for c in &odd {
        for text in [
            format!("a{c}b"),
            format!("{c}a,{c},b{c}"),
            format!("okta.users.read{c}{c}okta.apps.read"),
        ] {
            assert_eq!(
                riskgate::input::native::split_scopes(&text).collect::<Vec<_>>(),
                reference_split(&text),
                "{text:?}"
            );
        }
    }
}

proptest! {
    #[test]
    fn split_scopes_is_the_char_split(text in "[a-z:,. \\t\\n\\x0b\\x0c\\r\\u{85}\\u{a0}\\u{2003}\\u{3000}é€-]{0,40}") {
        prop_assert_eq!(riskgate::input::native::split_scopes(&text).collect::<Vec<_>>(), reference_split(&text));
    }
}

/// Hand-written lines at the edges of the byte scanner and the serde pass:
/// duplicate keys (the exact key wins, the last of them; else the first in
/// document order equal ignoring case; a replaced key drops what was read
/// below it), keys in other cases, escapes, numbers at and past f64's and
/// u64's ends, deep nesting, whitespace, scope arrays, and JSON that is not
/// valid (an error, with serde_json's message, from every reader).
#[test]
fn adversarial_lines_read_as_the_reference_reads_them() {
    const HEAD: &str = r#""published": "2026-11-22T10:00:00.000Z", "eventType": "app.oauth2.as.token.grant.access_token""#;
    const ACTOR: &str =
        r#""actor": {"id": "0oa1", "type": "PublicClientApp", "alternateId": "svc@x"}"#;
    let bodies: Vec<String> = vec![
        // Duplicate keys, exact and in other cases, at the top and below.
        format!(r#"{HEAD}, {ACTOR}, "actor": {{"id": "0oa2", "type": "User"}}"#),
        format!(r#"{HEAD}, "actor": {{"id": "0oa1", "id": "0oa2", "ID": "0oa3"}}"#),
        format!(r#"{HEAD}, "actor": {{"ID": "0oa3", "Id": "0oa4"}}"#),
        format!(r#"{HEAD}, "ACTOR": {{"id": "a"}}, "Actor": {{"id": "b"}}"#),
        format!(
            r#"{HEAD}, "ACTOR": {{"id": "a"}}, {ACTOR}, "actor": {{"ID": "c"}}, "Actor": {{"id": "b"}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "client": {{"ipAddress": "198.51.100.1"}}, "client": {{"geographicalContext": {{"country": "Peru"}}}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "CLIENT": {{"ipAddress": "198.51.100.1"}}, "client": {{"IPADDRESS": "198.51.100.2", "ipaddress": "198.51.100.3"}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "request": {{"ipChain": [{{"ip": "203.0.113.1"}}]}}, "request": {{"ipChain": []}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "request": {{"ipChain": [{{"IP": "203.0.113.1", "ip": "203.0.113.2"}}, {{"ip": "x"}}]}}"#
        ),
        format!(r#"{HEAD}, {ACTOR}, "request": {{"ipChain": {{"ip": "203.0.113.1"}}}}"#),
        format!(r#""eventtype": "user.session.start", "EventType": "policy.x", {HEAD}, {ACTOR}"#),
        format!(r#"{HEAD}, {ACTOR}, "published": "2026-11-23T10:00:00Z", "PUBLISHED": "bad""#),
        format!(
            r#"{HEAD}, {ACTOR}, "securityContext": {{"asNumber": 1, "isProxy": true}}, "securitycontext": {{"asNumber": 2}}"#
        ),
        // Escapes in keys and values.
        format!(r#"{HEAD}, "act\u006fr": {{"id": "0oa\"1", "type": "PublicClientApp"}}"#),
        format!(
            r#"{HEAD}, {ACTOR}, "client": {{"userAgent": {{"rawUserAgent": "curl\/8.0 \u00e9 \ud83d\ude00"}}}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "debugContext": {{"debugData": {{"requestedScopes": "a\tb\nc,d", "grantType": "client\u005fcredentials"}}}}"#
        ),
        // Numbers.
        format!(r#"{HEAD}, {ACTOR}, "securityContext": {{"asNumber": 18446744073709551615}}"#),
        format!(r#"{HEAD}, {ACTOR}, "securityContext": {{"asNumber": 18446744073709551616}}"#),
        format!(r#"{HEAD}, {ACTOR}, "securityContext": {{"asNumber": -0}}"#),
        format!(r#"{HEAD}, {ACTOR}, "securityContext": {{"asNumber": 1e2}}"#),
        format!(r#"{HEAD}, {ACTOR}, "securityContext": {{"asNumber": 1e400}}"#),
        format!(
            r#"{HEAD}, {ACTOR}, "debugContext": {{"debugData": {{"certAgeDays": 1.7976931348623157e308, "secretAgeDays": -4.9e-324, "tokenLifetimeMinutes": 0.1}}}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "debugContext": {{"debugData": {{"certAgeDays": 123456789012345678901234567890123456789}}}}"#
        ),
        format!(r#"{HEAD}, {ACTOR}, "uuid": 1e999"#),
        format!(r#"{HEAD}, {ACTOR}, "uuid": {}"#, "9".repeat(400)),
        // Scope lists as arrays.
        format!(
            r#"{HEAD}, {ACTOR}, "debugContext": {{"debugData": {{"requestedScopes": ["a b", null, "c"], "grantedScopes": []}}}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "debugContext": {{"debugData": {{"requestedScopes": ["a", ["b"], {{"c": 1}}]}}}}"#
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "debugContext": {{"debugData": {{"requestedScopes": [true, 1.5]}}}}"#
        ),
        // Nesting: kept, read and skipped, under and past the scanner's and serde_json's limits.
        format!(
            r#"{HEAD}, {ACTOR}, "target": {}1{}"#,
            "[".repeat(100),
            "]".repeat(100)
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "uuid": {}1{}"#,
            "[".repeat(100),
            "]".repeat(100)
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "uuid": {}1{}"#,
            "[".repeat(200),
            "]".repeat(200)
        ),
        format!(
            r#"{HEAD}, {ACTOR}, "client": {}"#,
            r#"{"a": "#.repeat(70) + "1" + &"}".repeat(70)
        ),
        // Whitespace between every token.
        format!("{HEAD} ,\t{ACTOR}\r\n, \"client\" :\n{{ \"ipAddress\" : \"198.51.100.9\" }} "),
        // Non-ASCII next to the scanner's 8-byte steps.
        format!(
            r#"{HEAD}, {ACTOR}, "client": {{"geographicalContext": {{"country": "Côte d’Ivoire"}}, "userAgent": {{"rawUserAgent": "abcdefg€"}}}}"#
        ),
    ];
    let mut lines: Vec<String> = bodies.iter().map(|b| format!("{{{b}}}")).collect();
    // Not JSON: each must be an error, with serde_json's message.
    let valid = format!("{{{HEAD}, {ACTOR}}}");
    lines.extend([
        valid.replace("}}", "},}"),
        valid.replace(": {", " {"),
        valid.replacen("\"svc@x\"", "\"svc@x", 1),
        valid.replace("svc@x", "svc\u{1}x"),
        valid.replace("svc@x", "svc\\x"),
        valid.replace("svc@x", "\\ud800"),
        valid.replace("\"0oa1\"", "01"),
        valid.replace("\"0oa1\"", "NaN"),
        valid.replace("\"0oa1\"", "tru"),
        valid.replace("\"0oa1\"", "1."),
        valid.replace("\"0oa1\"", "-"),
        format!("{valid}{valid}"),
        format!("{valid} ,"),
        String::new(),
        "   ".to_owned(),
        "[]".to_owned(),
        "\"x\"".to_owned(),
    ]);
    let filters = filters();
    for line in &lines {
        check_line(line, &filters);
    }
    // The invalid lines are invalid (so the test above compared errors,
    // not events).
    for line in &lines[bodies.len()..lines.len() - 3] {
        let read = parse_okta_with(line, &filters[1].1);
        assert!(
            matches!(read, Err(EventError::InvalidJson { .. })),
            "{line}: {read:?}"
        );
    }
    // A byte-order mark is skipped (the reference reader predates that).
    for (_, filter) in &filters {
        assert_eq!(
            parse_okta_with(&format!("\u{feff}{valid}"), filter),
            parse_okta_with(&valid, filter)
        );
    }
}
