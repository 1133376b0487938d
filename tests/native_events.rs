//! The native JSON form of events (SPEC §3, §7.19) and the event builder.

use std::borrow::Cow;

use riskgate::input::event::{parse_timestamp_ms, ActorKind, Categories, Cert, Event, EventError};
use riskgate::input::native::{parse_native, to_native_json};
use riskgate::input::okta::{parse_event, Format};
use serde_json::json;

const SPEC_EXAMPLE: &str = r#"{"time": "2026-11-22T23:59:30Z", "agent": "datadog-remediation-prod",
 "actor": "service_app", "categories": ["authentication", "token_request"],
 "type": "app.oauth2.as.token.grant.access_token", "ip": "203.0.113.9",
 "scopes": ["okta:users:manage"], "granted_scopes": [], "outcome": "SUCCESS",
 "country": "US", "asn": 16509, "user_agent": "python-requests/2.31",
 "grant_type": "client_credentials", "auth_method": "tls_client_auth",
 "cert": {"issuer": "internal-ca", "age_days": 12}, "token_lifetime_minutes": 15,
 "secret_age_days": 30, "device_posture": "compliant", "attrs": {"team": "sre"}}"#;

/// 2026-11-22T23:59:30Z
const T: i64 = 1_795_391_970_000;

fn spec_event() -> Event<'static> {
    Event {
        time_ms: T,
        agent: "datadog-remediation-prod".into(),
        actor: ActorKind::ServiceApp,
        categories: Categories::AUTHENTICATION | Categories::TOKEN_REQUEST,
        event_type: Some("app.oauth2.as.token.grant.access_token".into()),
        ip: Some("203.0.113.9".parse().expect("ip")),
        scopes: vec!["okta:users:manage".into()],
        granted_scopes: vec![],
        outcome: Some("SUCCESS".into()),
        country: Some("US".into()),
        asn: Some(16509),
        user_agent: Some("python-requests/2.31".into()),
        grant_type: Some("client_credentials".into()),
        auth_method: Some("tls_client_auth".into()),
        cert: Cert {
            issuer: Some("internal-ca".into()),
            age_days: Some(12.0),
        },
        token_lifetime_minutes: Some(15.0),
        secret_age_days: Some(30.0),
        device_posture: Some("compliant".into()),
        attrs: json!({"team": "sre"}),
    }
}

fn err(line: &str) -> EventError {
    match parse_native(line) {
        Ok(e) => panic!("accepted: {e:?}"),
        Err(e) => e,
    }
}

fn with(extra: &str) -> String {
    format!(r#"{{"time": "2026-11-22T23:59:30Z", "agent": "a", {extra}}}"#)
}

#[test]
fn spec_example_parses_to_the_expected_event() {
    assert_eq!(parse_native(SPEC_EXAMPLE), Ok(spec_event()));
}

#[test]
fn spec_example_borrows_its_strings_from_the_line() {
    let e = parse_native(SPEC_EXAMPLE).expect("parses");
    assert!(matches!(e.agent, Cow::Borrowed(_)));
    assert!(matches!(e.event_type, Some(Cow::Borrowed(_))));
    assert!(e.scopes.iter().all(|s| matches!(s, Cow::Borrowed(_))));
    assert!(matches!(e.cert.issuer, Some(Cow::Borrowed(_))));
    // An escaped string cannot be borrowed, but reads the same.
    let e =
        parse_native(r#"{"time": "2026-11-22T23:59:30Z", "agent": "a\u002db"}"#).expect("parses");
    assert_eq!(e.agent, "a-b");
    assert!(matches!(e.agent, Cow::Owned(_)));
}

#[test]
fn only_time_and_agent_are_required() {
    let e =
        parse_native(r#"{"time": "2026-11-22T23:59:30.250+01:00", "agent": "a"}"#).expect("parses");
    assert_eq!(e, Event::builder("a", T - 3_600_000 + 250).build());
    assert_eq!(e.actor, ActorKind::Other);
    assert_eq!(e.attrs, serde_json::Value::Null);
    assert_eq!(err(r#"{"agent": "a"}"#), EventError::MissingField("time"));
    assert_eq!(
        err(r#"{"time": "2026-11-22T23:59:30Z"}"#),
        EventError::MissingField("agent")
    );
    assert_eq!(
        err(r#"{"time": null, "agent": "a"}"#),
        EventError::MissingField("time")
    );
    assert_eq!(err(r#"{}"#).to_string(), "missing field `time`");
}

#[test]
fn null_optional_fields_are_absent() {
    let line = with(
        r#""actor": null, "ip": null, "scopes": null, "asn": null, "cert": null, "attrs": null, "outcome": null"#,
    );
    assert_eq!(parse_native(&line), Ok(Event::builder("a", T).build()));
}

#[test]
fn unknown_top_level_key_is_an_error_naming_it() {
    let e = err(&with(r#""scope": ["x"]"#));
    assert_eq!(
        e,
        EventError::UnknownKey {
            key: "scope".into(),
            suggestion: Some("scopes")
        }
    );
    assert_eq!(e.to_string(), "unknown key `scope`, did you mean `scopes`?");
    let e = err(&with(r#""published": "x""#));
    assert_eq!(e.to_string(), "unknown key `published`");
    assert_eq!(e.field(), Some("published"));
    // Keys are case-sensitive.
    assert_eq!(
        err(&with(r#""IP": "1.2.3.4""#)),
        EventError::UnknownKey {
            key: "IP".into(),
            suggestion: Some("ip")
        }
    );
}

#[test]
fn unknown_cert_key_is_an_error_with_its_path() {
    assert_eq!(
        err(&with(r#""cert": {"isuer": "ca"}"#)),
        EventError::UnknownKey {
            key: "cert.isuer".into(),
            suggestion: Some("issuer")
        }
    );
}

#[test]
fn duplicate_key_is_an_error() {
    assert_eq!(
        err(&with(r#""ip": "1.2.3.4", "ip": "1.2.3.5""#)),
        EventError::DuplicateKey("ip".into())
    );
    assert_eq!(
        err(&with(r#""cert": {"issuer": "a", "issuer": "b"}"#)),
        EventError::DuplicateKey("cert.issuer".into())
    );
}

#[test]
fn wrong_types_are_errors_naming_the_field() {
    let cases: [(&str, &str, &str, &str); 11] = [
        (r#""ip": 1234"#, "ip", "a string", "a number"),
        (
            r#""asn": "16509""#,
            "asn",
            "a non-negative integer",
            "a string",
        ),
        (r#""asn": -1"#, "asn", "a non-negative integer", "a number"),
        (r#""scopes": [1]"#, "scopes[0]", "a string", "a number"),
        (
            r#""scopes": {"a": 1}"#,
            "scopes",
            "an array of strings or a string",
            "an object",
        ),
        (
            r#""categories": "authentication""#,
            "categories",
            "an array of strings",
            "a string",
        ),
        (
            r#""categories": ["authentication", true]"#,
            "categories[1]",
            "a string",
            "a boolean",
        ),
        (r#""cert": "internal-ca""#, "cert", "an object", "a string"),
        (
            r#""cert": {"age_days": "12"}"#,
            "cert.age_days",
            "a number",
            "a string",
        ),
        (
            r#""token_lifetime_minutes": [15]"#,
            "token_lifetime_minutes",
            "a number",
            "an array",
        ),
        (r#""attrs": ["team"]"#, "attrs", "an object", "an array"),
    ];
    for (extra, field, expected, found) in cases {
        assert_eq!(
            err(&with(extra)),
            EventError::WrongType {
                field: field.into(),
                expected,
                found
            },
            "{extra}"
        );
    }
    assert_eq!(
        err(r#"{"time": "2026-11-22T23:59:30Z", "agent": 7}"#).to_string(),
        "`agent` must be a string, found a number"
    );
    assert_eq!(
        err(r#"{"time": 1795391970000, "agent": "a"}"#).field(),
        Some("time")
    );
}

#[test]
fn bad_values_are_errors_naming_the_field() {
    assert_eq!(
        err(&with(r#""actor": "robot""#)).to_string(),
        "bad value `robot` in `actor`: expected `service_app`, `user`, `agent`, `system` or `other`"
    );
    assert_eq!(
        err(&with(r#""categories": ["token request"]"#)),
        EventError::BadValue {
            field: "categories[0]".into(),
            value: "token request".into(),
            reason: "expected `authentication`, `token_request`, `api_call` or `admin_change`"
                .into(),
        }
    );
    assert_eq!(
        err(&with(r#""ip": "203.0.113""#)).to_string(),
        "bad value `203.0.113` in `ip`: not an IPv4 or IPv6 address"
    );
    assert_eq!(
        err(r#"{"time": "2026-11-22T23:59:30Z", "agent": ""}"#).field(),
        Some("agent")
    );
}

#[test]
fn bad_time_is_an_error_with_the_reason() {
    let bad = |time: &str| match err(&format!(r#"{{"time": "{time}", "agent": "a"}}"#)) {
        EventError::BadTime {
            field: "time",
            value,
            reason,
        } => {
            assert_eq!(value, time);
            reason
        }
        other => panic!("{time}: {other:?}"),
    };
    assert_eq!(
        bad("2026-11-22 23:59:30"),
        "missing zone: add `Z` or an offset such as `+00:00`"
    );
    assert_eq!(
        bad("2026-02-29T00:00:00Z"),
        "`2026-02-29` is not a calendar date (2026-02 has 28 days)"
    );
    assert_eq!(bad("2026-13-01T00:00:00Z"), "month 13 is out of range");
    assert_eq!(bad("2026-11-22T24:00:00Z"), "hour 24 is out of range");
    assert_eq!(bad("2026-11-22T23:59:30.Z"), "expected digits after `.`");
    assert_eq!(
        bad("2026-11-22T23:59:30.1234567891Z"),
        "more than 9 fraction digits"
    );
    assert_eq!(
        bad("2026-11-22T23:59:30Z trailing"),
        "unexpected ` trailing` after the zone"
    );
    assert_eq!(
        bad("yesterday"),
        "expected `YYYY-MM-DDTHH:MM:SS` with an optional fraction and zone"
    );
    assert_eq!(
        err(r#"{"time": "yesterday", "agent": "a"}"#).to_string(),
        "bad time `yesterday` in `time`: expected `YYYY-MM-DDTHH:MM:SS` with an optional fraction and zone"
    );
}

#[test]
fn timestamps_cover_leap_years_offsets_and_the_epoch() {
    assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00Z", true), Ok(0));
    assert_eq!(parse_timestamp_ms("1969-12-31T23:59:59.999Z", true), Ok(-1));
    assert_eq!(
        parse_timestamp_ms("2024-02-29T00:00:00Z", true),
        Ok(1_709_164_800_000)
    );
    assert_eq!(
        parse_timestamp_ms("2000-02-29t12:00:00z", true),
        Ok(951_825_600_000)
    );
    assert_eq!(parse_timestamp_ms("2026-11-22T18:29:30-05:30", true), Ok(T));
    assert_eq!(parse_timestamp_ms("2026-11-22T18:29:30-0530", true), Ok(T));
    assert_eq!(parse_timestamp_ms("2026-11-22 23:59:30", false), Ok(T));
    assert!(parse_timestamp_ms("1900-02-29T00:00:00Z", true).is_err());
}

#[test]
fn invalid_json_and_non_objects_are_errors() {
    assert!(matches!(
        err(r#"{"time": "#),
        EventError::InvalidJson { .. }
    ));
    assert!(matches!(
        err(r#"{"time": "2026-11-22T23:59:30Z", "agent": "a"} x"#),
        EventError::InvalidJson { .. }
    ));
    assert_eq!(err("[]"), EventError::NotAnObject { found: "an array" });
    assert_eq!(err("42"), EventError::NotAnObject { found: "a number" });
    assert_eq!(
        err("\"x\"").to_string(),
        "an event must be a JSON object, found a string"
    );
}

#[test]
fn scopes_may_be_one_space_or_comma_separated_string() {
    let line = with(r#""scopes": "openid profile,email", "granted_scopes": """#);
    let e = parse_native(&line).expect("parses");
    assert_eq!(e.scopes, ["openid", "profile", "email"]);
    assert!(e.granted_scopes.is_empty());
}

#[test]
fn round_trip_through_native_json() {
    let json = to_native_json(&spec_event());
    assert_eq!(
        json,
        json!({"time": "2026-11-22T23:59:30Z", "agent": "datadog-remediation-prod",
               "actor": "service_app", "categories": ["authentication", "token_request"],
               "type": "app.oauth2.as.token.grant.access_token", "ip": "203.0.113.9",
               "scopes": ["okta:users:manage"], "outcome": "SUCCESS",
               "country": "US", "asn": 16509, "user_agent": "python-requests/2.31",
               "grant_type": "client_credentials", "auth_method": "tls_client_auth",
               "cert": {"issuer": "internal-ca", "age_days": 12}, "token_lifetime_minutes": 15,
               "secret_age_days": 30, "device_posture": "compliant", "attrs": {"team": "sre"}})
    );
    let text = json.to_string();
    assert_eq!(parse_native(&text), Ok(spec_event()));

    let odd = Event::builder("ü\"agent", -1)
        .actor(ActorKind::Agent)
        .category(Categories::API_CALL)
        .category(Categories::ADMIN_CHANGE)
        .ip("2001:db8::1".parse().expect("ip"))
        .granted_scope("a b")
        .cert_age_days(0.5)
        .token_lifetime_minutes(7.25)
        .attr("nested", json!({"k": [1, null]}))
        .build();
    let text = to_native_json(&odd).to_string();
    assert!(
        text.contains(r#""time":"1969-12-31T23:59:59.999Z""#),
        "{text}"
    );
    assert_eq!(parse_native(&text).map(Event::into_owned), Ok(odd));
}

#[test]
fn builder_sets_every_field() {
    let e = Event::builder("datadog-remediation-prod", T)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
        .event_type("app.oauth2.as.token.grant.access_token")
        .try_ip("203.0.113.9")
        .expect("ip")
        .scopes(["okta:users:manage"])
        .granted_scopes(Vec::<&str>::new())
        .outcome("SUCCESS")
        .country("US")
        .asn(16509)
        .user_agent("python-requests/2.31")
        .grant_type("client_credentials")
        .auth_method(String::from("tls_client_auth"))
        .cert_issuer("internal-ca")
        .cert_age_days(12.0)
        .token_lifetime_minutes(15.0)
        .secret_age_days(30.0)
        .device_posture("compliant")
        .attrs(json!({"team": "sre"}))
        .build();
    assert_eq!(e, spec_event());
    assert_eq!(
        Event::builder("a", 0).try_ip("nope").map(|b| b.build()),
        Err(EventError::BadValue {
            field: "ip".into(),
            value: "nope".into(),
            reason: "not an IPv4 or IPv6 address".into()
        })
    );
}

#[test]
fn into_owned_keeps_every_value() {
    let line = SPEC_EXAMPLE.to_owned();
    let owned = parse_native(&line).expect("parses").into_owned();
    drop(line);
    assert!(matches!(owned.agent, Cow::Owned(_)));
    assert_eq!(owned, spec_event());
}

#[test]
fn auto_format_tells_native_from_okta() {
    assert_eq!(parse_event(SPEC_EXAMPLE, Format::Auto), Ok(spec_event()));
    // `eventType` below the top level does not make a line Okta.
    let nested = with(r#""attrs": {"eventType": "user.session.start"}"#);
    assert_eq!(
        parse_event(&nested, Format::Auto).map(|e| e.agent.into_owned()),
        Ok("a".to_owned())
    );
    // An escaped `eventType` key is still found.
    let okta = r#"{"event\u0054ype": "user.session.start", "published": "2026-11-22T23:59:30Z", "actor": {"id": "u1", "type": "User"}}"#;
    let e = parse_event(okta, Format::Auto).expect("okta");
    assert_eq!(
        (e.agent.as_ref(), e.actor, e.categories),
        ("u1", ActorKind::User, Categories::AUTHENTICATION)
    );
    // Forced native: an Okta line is an unknown-key error.
    assert!(matches!(
        parse_event(okta, Format::Native),
        Err(EventError::UnknownKey { .. })
    ));
    assert!(matches!(
        parse_event("[1]", Format::Auto),
        Err(EventError::NotAnObject { found: "an array" })
    ));
    assert!(matches!(
        parse_event("{\"eventtype\": ", Format::Auto),
        Err(EventError::InvalidJson { .. })
    ));
}

#[test]
fn format_names_round_trip() {
    for f in [Format::Auto, Format::Okta, Format::Native] {
        assert_eq!(f.to_string().parse::<Format>(), Ok(f));
    }
    assert_eq!("NATIVE".parse::<Format>(), Ok(Format::Native));
    assert_eq!(
        "csv".parse::<Format>().map_err(|e| e.to_string()),
        Err("unknown event format `csv`, expected `auto`, `okta` or `native`".to_owned())
    );
}
