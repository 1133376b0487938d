//! The Okta adapter against the 189 real-world-shaped `LogEvent`s of
//! `tests/fixtures/okta/` (see its `SOURCES.md` for where each comes from).

use std::collections::BTreeMap;
use std::net::IpAddr;

use riskgate::input::event::{ActorKind, Categories, Event, EventError};
#[path = "support/okta_value.rs"]
mod okta_value;
use okta_value::from_okta_value;
use riskgate::input::okta::{collect_path, lookup_ci, parse_event, parse_okta, Format};
use serde_json::{json, Value};

const FILES: [(&str, usize); 5] = [
    ("airbyte-source-okta", 7),
    ("demisto-content-okta-v2", 2),
    ("okta-developer-docs-examples", 10),
    ("okta-management-openapi-spec-examples", 2),
    ("panther-analysis-okta-rule-tests", 168),
];

const AIRBYTE: &str = "airbyte-source-okta";
const DEMISTO: &str = "demisto-content-okta-v2";
const DOCS: &str = "okta-developer-docs-examples";
const OPENAPI: &str = "okta-management-openapi-spec-examples";
const PANTHER: &str = "panther-analysis-okta-rule-tests";

fn lines(file: &str) -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/okta/{file}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    text.lines().map(str::to_owned).collect()
}

/// Line `n` (1-based) of `file`.
fn line(file: &str, n: usize) -> String {
    lines(file)
        .into_iter()
        .nth(n - 1)
        .unwrap_or_else(|| panic!("{file} has no line {n}"))
}

fn event(file: &str, n: usize) -> Event<'static> {
    parse_okta(&line(file, n)).unwrap_or_else(|e| panic!("{file}:{n} rejected: {e}"))
}

fn rejection(file: &str, n: usize) -> EventError {
    match parse_okta(&line(file, n)) {
        Ok(e) => panic!("{file}:{n} converted to {e:?}"),
        Err(e) => e,
    }
}

fn value(file: &str, n: usize) -> Value {
    serde_json::from_str(&line(file, n)).expect("fixture lines are JSON")
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("test IP"))
}

const TOKEN_GRANT: Categories =
    Categories(Categories::AUTHENTICATION.0 | Categories::TOKEN_REQUEST.0);

// ---------------------------------------------------------------------------
// The whole corpus

/// The rejected lines, with the exact error each must give.
fn expected_rejections() -> BTreeMap<(&'static str, usize), EventError> {
    let invalid_date = EventError::BadTime {
        field: "published",
        value: "2017-09-31T22:23:07.777Z".into(),
        reason: "`2017-09-31` is not a calendar date (2017-09 has 30 days)".into(),
    };
    let redacted = EventError::BadTime {
        field: "published",
        value: "redacted".into(),
        reason: "expected `YYYY-MM-DDTHH:MM:SS` with an optional fraction and zone".into(),
    };
    let mut m = BTreeMap::new();
    for n in [7, 9] {
        m.insert((DOCS, n), invalid_date.clone());
    }
    for n in [30, 31, 59, 60, 61, 62, 63] {
        m.insert((PANTHER, n), redacted.clone());
    }
    // `published` is checked before `actor`: 37, 38, 74-76, 87-89 lack both.
    for n in [
        37, 38, 70, 72, 73, 74, 75, 76, 87, 88, 89, 90, 117, 118, 122, 123, 124, 125, 130, 131,
    ] {
        m.insert((PANTHER, n), EventError::MissingField("published"));
    }
    for n in [7, 8] {
        m.insert((PANTHER, n), EventError::NoActor);
    }
    m
}

#[test]
fn every_fixture_event_is_converted_or_rejected_with_its_reason() {
    let expected = expected_rejections();
    let (mut converted, mut rejected) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (file, count) in FILES {
        let lines = lines(file);
        assert_eq!(lines.len(), count, "{file}");
        for (i, text) in lines.iter().enumerate() {
            let key = (file, i + 1);
            match parse_okta(text) {
                Ok(event) => {
                    converted += 1;
                    assert!(
                        !expected.contains_key(&key),
                        "{file}:{} should be rejected",
                        i + 1
                    );
                    // Every converted event keeps the whole source object and its actor id.
                    let source: Value = serde_json::from_str(text).expect("fixture lines are JSON");
                    assert_eq!(event.attrs, source, "{file}:{}", i + 1);
                    assert_eq!(
                        Some(&*event.agent),
                        lookup_ci(&source, &["actor", "id"]).and_then(Value::as_str)
                    );
                }
                Err(err) => {
                    rejected += 1;
                    assert_eq!(
                        expected.get(&key),
                        Some(&err),
                        "{file}:{} rejected with: {err}",
                        i + 1
                    );
                    *reasons.entry(err.to_string()).or_default() += 1;
                }
            }
        }
    }
    assert_eq!((converted, rejected), (158, 31));
    assert_eq!(converted + rejected, 189);
    let reasons: Vec<(&str, usize)> = reasons.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        reasons,
        [
            ("bad time `2017-09-31T22:23:07.777Z` in `published`: `2017-09-31` is not a calendar date (2017-09 has 30 days)", 2),
            ("bad time `redacted` in `published`: expected `YYYY-MM-DDTHH:MM:SS` with an optional fraction and zone", 7),
            ("missing field `published`", 20),
            ("no `actor`: the event does not say who acted", 2),
        ]
    );
}

#[test]
fn auto_format_reads_every_fixture_line_as_okta() {
    for (file, _) in FILES {
        for (i, text) in lines(file).iter().enumerate() {
            assert_eq!(
                parse_event(text, Format::Auto),
                parse_okta(text),
                "{file}:{}",
                i + 1
            );
            assert_eq!(
                parse_event(text, Format::Okta),
                parse_okta(text),
                "{file}:{}",
                i + 1
            );
        }
    }
}

#[test]
fn categories_follow_the_event_type_over_the_corpus() {
    let mut by_type: BTreeMap<String, Categories> = BTreeMap::new();
    for (file, _) in FILES {
        for text in lines(file) {
            if let Ok(e) = parse_okta(&text) {
                let t = e
                    .event_type
                    .clone()
                    .expect("every fixture has an eventType")
                    .into_owned();
                if let Some(previous) = by_type.insert(t.clone(), e.categories) {
                    assert_eq!(previous, e.categories, "{t}");
                }
            }
        }
    }
    let get = |t: &str| by_type.get(t).copied();
    assert_eq!(
        get("app.oauth2.token.grant.access_token"),
        Some(TOKEN_GRANT)
    );
    assert_eq!(get("user.session.start"), Some(Categories::AUTHENTICATION));
    assert_eq!(
        get("user.authentication.sso"),
        Some(Categories::AUTHENTICATION)
    );
    assert_eq!(
        get("user.authentication.auth_via_mfa"),
        Some(Categories::AUTHENTICATION)
    );
    assert_eq!(
        get("policy.evaluate_sign_on"),
        Some(Categories::ADMIN_CHANGE)
    );
    assert_eq!(
        get("application.user_membership.show_password"),
        Some(Categories::ADMIN_CHANGE)
    );
    assert_eq!(
        get("application.lifecycle.update"),
        Some(Categories::ADMIN_CHANGE)
    );
    assert_eq!(
        get("user.account.privilege.grant"),
        Some(Categories::ADMIN_CHANGE)
    );
    assert_eq!(get("group.privilege.grant"), Some(Categories::ADMIN_CHANGE));
    assert_eq!(
        get("system.api_token.create"),
        Some(Categories::ADMIN_CHANGE)
    );
    assert_eq!(
        get("system.idp.lifecycle.create"),
        Some(Categories::ADMIN_CHANGE)
    );
    // Not in any category: OAuth types without `token.grant`, and everything else.
    for t in [
        "app.oauth2.authorize.code",
        "app.oauth2.token.detect_reuse",
        "app.oauth2.as.key.rollover",
        "user.session.access_admin_app",
        "user.account.reset_password",
        "user.mfa.factor.deactivate",
        "system.operation.rate_limit.violation",
        "security.threat.detected",
        "group.user_membership.remove",
    ] {
        assert_eq!(get(t), Some(Categories::NONE), "{t}");
    }
}

// ---------------------------------------------------------------------------
// Service apps and token grants

#[test]
fn airbyte_public_client_app_refresh_grant_with_placeholder_network() {
    let e = event(AIRBYTE, 1);
    assert_eq!(e.time_ms, 1_658_246_051_545); // 2022-07-19T15:54:11.545Z
    assert_eq!(e.agent, "test_client_app_id");
    assert_eq!(e.actor, ActorKind::ServiceApp); // `PublicClientApp`
    assert_eq!(e.categories, TOKEN_GRANT);
    assert_eq!(
        e.event_type.as_deref(),
        Some("app.oauth2.token.grant.access_token")
    );
    // `ipAddress` and `ipChain[0].ip` are both `0.0.0.0`: absent.
    assert_eq!(e.ip, None);
    // `requestedScopes: ""` is no scope at all; granted is a comma+space list.
    assert!(e.scopes.is_empty());
    assert_eq!(
        e.granted_scopes,
        [
            "okta.users.read",
            "okta.logs.read",
            "okta.groups.read",
            "okta.roles.read",
            "offline_access"
        ]
    );
    assert_eq!(e.grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(e.auth_method.as_deref(), Some("client_secret_basic"));
    assert_eq!(e.outcome.as_deref(), Some("SUCCESS"));
    assert_eq!(e.country.as_deref(), Some("Test Country"));
    assert_eq!(e.asn, Some(0));
    assert_eq!(e.user_agent.as_deref(), Some("python-requests/2.28.1"));
}

#[test]
fn panther_service_app_client_credentials_grant_with_lowercased_debugcontext() {
    let e = event(PANTHER, 69);
    assert_eq!(e.time_ms, 1_779_272_100_000); // "2026-05-20 10:15:00.000", UTC
    assert_eq!(e.agent, "0oaservice12345");
    assert_eq!(e.actor, ActorKind::ServiceApp); // `PublicClientAppEntity`
    assert_eq!(e.categories, TOKEN_GRANT);
    assert_eq!(e.ip, ip("1.2.3.4"));
    assert_eq!(e.scopes, ["okta.users.manage", "okta.factors.manage"]);
    assert_eq!(
        e.granted_scopes,
        ["okta.users.manage", "okta.factors.manage"]
    );
    assert_eq!(e.grant_type.as_deref(), Some("client_credentials"));
    assert_eq!(e.auth_method.as_deref(), Some("private_key_jwt"));
    assert_eq!(e.outcome.as_deref(), Some("SUCCESS"));
    assert_eq!(e.user_agent.as_deref(), Some("python-requests/2.31.0"));
    assert_eq!((e.country.as_deref(), e.asn), (None, None));
    // The source spells it `debugcontext`; `attr.` paths still find it.
    assert!(e.attrs.get("debugcontext").is_some() && e.attrs.get("debugContext").is_none());
    assert_eq!(
        e.attr(&["debugContext", "debugData", "clientAuthType"]),
        Some(&json!("private_key_jwt"))
    );
}

#[test]
fn panther_service_app_grant_with_granted_scopes_only() {
    let e = event(PANTHER, 71);
    assert_eq!(e.actor, ActorKind::ServiceApp);
    assert_eq!(e.categories, TOKEN_GRANT);
    assert!(e.scopes.is_empty());
    assert_eq!(e.granted_scopes, ["okta.apps.manage"]);
    assert_eq!(e.auth_method.as_deref(), Some("client_secret_post"));
    assert_eq!(e.user_agent, None);
}

#[test]
fn authorize_code_of_a_public_client_app_is_not_a_token_request() {
    let e = event(PANTHER, 25);
    assert_eq!(e.time_ms, 1_670_944_978_759); // "2022-12-13 15:22:58.759"
    assert_eq!(e.agent, "okta.1234.");
    assert_eq!(e.actor, ActorKind::ServiceApp);
    assert_eq!(e.event_type.as_deref(), Some("app.oauth2.authorize.code"));
    assert_eq!(e.categories, Categories::NONE);
    assert_eq!(
        e.scopes,
        ["openid", "profile", "email", "okta.users.read.self"]
    );
    assert_eq!(e.grant_type.as_deref(), Some("authorization_code"));
    assert_eq!(e.asn, Some(701));
    assert_eq!(e.country.as_deref(), Some("United States"));
}

// ---------------------------------------------------------------------------
// Users, system principals and other actors

#[test]
fn docs_user_sign_in() {
    let e = event(DOCS, 1);
    assert_eq!(e.time_ms, 1_679_864_732_159); // 2023-03-26T21:05:32.159Z
    assert_eq!(e.agent, "00uz9fj5aT69fHVro1d6");
    assert_eq!(e.actor, ActorKind::User);
    assert_eq!(e.categories, Categories::AUTHENTICATION);
    assert_eq!(e.ip, ip("142.126.158.61"));
    assert_eq!(e.country.as_deref(), Some("Canada"));
    assert_eq!(
        e.user_agent.as_deref(),
        Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0.0.0 Safari/537.36")
    );
    assert_eq!(e.outcome.as_deref(), Some("SUCCESS"));
}

#[test]
fn docs_event_with_as_number_and_country_name() {
    let e = event(DOCS, 2);
    assert_eq!(e.asn, Some(577));
    assert_eq!(e.country.as_deref(), Some("Canada"));
    assert_eq!(e.ip, ip("174.89.174.56"));
    assert_eq!(e.time_ms, 1_605_550_512_862);
}

#[test]
fn openapi_example_with_numeric_postal_code_and_version() {
    let e = event(OPENAPI, 1);
    assert_eq!(e.agent, "00uttidj01jqL21aM1d6");
    assert_eq!(e.categories, Categories::AUTHENTICATION);
    assert_eq!(e.ip, ip("10.0.0.1"));
    assert_eq!(e.asn, Some(394_089));
    assert_eq!(e.country.as_deref(), Some("United States"));
    // Non-string values that are not read are kept in `attrs` as they are.
    assert_eq!(
        e.attr(&["client", "geographicalContext", "postalCode"]),
        Some(&json!(10013))
    );
}

#[test]
fn system_principal_key_rollover_has_no_category_and_no_ip() {
    let e = event(AIRBYTE, 5);
    assert_eq!(e.time_ms, 1_711_435_382_000); // 2024-03-26T06:43:02Z: no milliseconds
    assert_eq!(e.agent, "spra65adoodAYMmER5d7");
    assert_eq!(e.actor, ActorKind::System);
    assert_eq!(e.event_type.as_deref(), Some("app.oauth2.as.key.rollover"));
    assert_eq!(e.categories, Categories::NONE);
    assert_eq!(e.ip, None); // `ipAddress: null`
    assert_eq!(e.user_agent, None); // `userAgent: null`
}

#[test]
fn system_principal_application_update_is_an_admin_change() {
    let e = event(AIRBYTE, 7);
    assert_eq!(e.actor, ActorKind::System);
    assert_eq!(e.categories, Categories::ADMIN_CHANGE);
    assert_eq!(e.time_ms, 1_713_374_317_000);
}

#[test]
fn ip_address_actor_is_other_and_its_id_is_the_agent() {
    let e = event(PANTHER, 111);
    assert_eq!(e.actor, ActorKind::Other); // `type: "IP address"`
    assert_eq!(e.agent, "1.2.3.4");
    assert_eq!(e.event_type.as_deref(), Some("security.threat.detected"));
    assert_eq!(e.outcome.as_deref(), Some("DENY"));
    assert_eq!(e.asn, Some(62_240)); // under `securitycontext`
    assert_eq!(e.country.as_deref(), Some("United States"));
}

#[test]
fn null_outcome_and_null_ip_are_absent() {
    let e = event(AIRBYTE, 2);
    assert_eq!(e.actor, ActorKind::User);
    assert_eq!(e.ip, None); // `ipAddress: null`
    let e = event(AIRBYTE, 3);
    assert_eq!(e.outcome, None); // `outcome: null`
    assert_eq!(e.ip, ip("52.42.20.85"));
    assert_eq!(e.country, None); // `geographicalContext: null`
}

#[test]
fn demisto_event_keeps_its_odd_user_agent() {
    let e = event(DEMISTO, 1);
    assert_eq!(e.time_ms, 1_639_360_028_556); // 2021-12-13T01:47:08.556Z
    assert_eq!(e.agent, "123");
    assert_eq!(e.user_agent.as_deref(), Some("1.0"));
    assert_eq!(e.ip, ip("8.8.8.8"));
}

#[test]
fn empty_string_debug_data_is_no_debug_data() {
    // Panther's `"debugData": ""`.
    let e = event(PANTHER, 54);
    assert_eq!(e.attr(&["debugContext", "debugData"]), Some(&json!("")));
    assert!(e.scopes.is_empty());
    assert_eq!(e.categories, Categories::ADMIN_CHANGE); // application.user_membership.show_password
    assert_eq!(e.country.as_deref(), Some("Iceland"));
    assert_eq!(e.asn, Some(124_526));
}

#[test]
fn outcome_is_kept_verbatim() {
    assert_eq!(event(PANTHER, 44).outcome.as_deref(), Some("CHALLENGE"));
    assert_eq!(event(DOCS, 3).outcome.as_deref(), Some("DENY"));
}

// ---------------------------------------------------------------------------
// IP addresses

#[test]
fn client_ip_address_wins_over_the_ip_chain() {
    let e = event(PANTHER, 116); // ipAddress 1.2.3.4, ipChain[0].ip 9.8.7.6, lower-cased keys
    assert_eq!(e.ip, ip("1.2.3.4"));
    assert_eq!(e.categories, Categories::NONE);
}

#[test]
fn ip_chain_is_the_fallback_when_client_ip_is_absent_null_or_placeholder() {
    let mut v = value(PANTHER, 116);
    let client = v["client"].as_object_mut().expect("client object");
    client.remove("ipAddress");
    assert_eq!(from_okta_value(v.clone()).map(|e| e.ip), Ok(ip("9.8.7.6")));
    for placeholder in [json!(null), json!("null"), json!(""), json!("0.0.0.0")] {
        v["client"]["ipAddress"] = placeholder.clone();
        assert_eq!(
            from_okta_value(v.clone()).map(|e| e.ip),
            Ok(ip("9.8.7.6")),
            "{placeholder}"
        );
    }
}

#[test]
fn ip_chain_entry_without_ip_is_absent() {
    // Panther 112 has no `client.ipAddress`, and its `ipChain[0].ip` sits inside `geographicalContext`.
    let e = event(PANTHER, 112);
    assert_eq!(e.ip, None);
    assert_eq!(
        e.attr(&["request", "ipChain", "0", "geographicalContext", "ip"]),
        Some(&json!("1.2.3.4"))
    );
}

#[test]
fn string_null_ip_without_chain_is_absent() {
    let mut v = value(DEMISTO, 1);
    v["client"]["ipAddress"] = json!("null");
    assert_eq!(v["request"]["ipChain"][0]["ip"], json!("8.8.8.8"));
    assert_eq!(from_okta_value(v.clone()).map(|e| e.ip), Ok(ip("8.8.8.8")));
    v.as_object_mut().expect("object").remove("request");
    assert_eq!(from_okta_value(v).map(|e| e.ip), Ok(None));
}

#[test]
fn unparsable_client_ip_is_rejected_naming_the_field() {
    // Panther 30 carries `ipAddress: "redacted"` (and a redacted `published`).
    let mut v = value(PANTHER, 30);
    assert_eq!(v["client"]["ipAddress"], json!("redacted"));
    v["published"] = json!("2022-06-10T17:19:58.423Z");
    assert_eq!(
        from_okta_value(v),
        Err(EventError::BadValue {
            field: "client.ipAddress".into(),
            value: "redacted".into(),
            reason: "not an IPv4 or IPv6 address".into(),
        })
    );
}

// ---------------------------------------------------------------------------
// `published`

#[test]
fn every_published_form_reads_as_utc_milliseconds() {
    // Okta API form.
    assert_eq!(event(AIRBYTE, 2).time_ms, 1_658_131_135_625); // 2022-07-18T07:58:55.625Z
                                                              // No milliseconds.
    assert_eq!(event(AIRBYTE, 3).time_ms, 1_705_843_761_000); // 2024-01-21T13:29:21Z
                                                              // Panther: space, no zone, 3 digits.
    assert_eq!(event(PANTHER, 5).time_ms, 1_673_372_380_526); // 2023-01-10 17:39:40.526
                                                              // Panther: 9 digits.
    assert_eq!(event(PANTHER, 1).time_ms, 1_737_383_424_369); // 2025-01-20 14:30:24.369000000
    assert_eq!(event(PANTHER, 2).time_ms, 1_577_836_800_000); // 2020-01-01 00:00:00.000000000
                                                              // Panther: 6 digits.
    assert_eq!(event(PANTHER, 119).time_ms, 1_686_608_761_951); // 2023-06-12 22:26:01.951000
                                                                // Two digits: `.49` is 490 ms.
    assert_eq!(event(PANTHER, 142).time_ms, 1_606_339_863_490); // 2020-11-25T21:31:03.49Z
}

#[test]
fn invalid_calendar_date_is_rejected_with_the_reason() {
    let err = rejection(DOCS, 7);
    assert_eq!(
        err.to_string(),
        "bad time `2017-09-31T22:23:07.777Z` in `published`: `2017-09-31` is not a calendar date (2017-09 has 30 days)"
    );
    assert_eq!(err.field(), Some("published"));
}

#[test]
fn redacted_published_is_rejected() {
    assert!(
        matches!(rejection(PANTHER, 59), EventError::BadTime { field: "published", value, .. } if value == "redacted")
    );
}

#[test]
fn missing_published_is_rejected_before_missing_actor() {
    assert_eq!(
        rejection(PANTHER, 90),
        EventError::MissingField("published")
    ); // has an actor
    assert_eq!(
        rejection(PANTHER, 37),
        EventError::MissingField("published")
    ); // has neither
    assert_eq!(rejection(PANTHER, 7), EventError::NoActor); // has a `published`
    assert_eq!(rejection(PANTHER, 7).field(), Some("actor"));
}

#[test]
fn published_of_the_wrong_type_names_the_field() {
    let mut v = value(DOCS, 1);
    v["published"] = json!(1_679_864_732_159_u64);
    assert_eq!(
        from_okta_value(v),
        Err(EventError::WrongType {
            field: "published".into(),
            expected: "a string",
            found: "a number"
        })
    );
}

// ---------------------------------------------------------------------------
// Case-insensitive keys, asNumber forms, attrs

#[test]
fn keys_match_case_insensitively_at_every_level() {
    let line = r#"{"EVENTTYPE": "app.oauth2.as.token.grant.access_token", "Published": "2026-05-20T10:15:00Z",
        "ACTOR": {"ID": "0oa9", "Type": "PublicClientAppEntity"},
        "Client": {"IPADDRESS": "203.0.113.9", "GeographicalContext": {"COUNTRY": "Germany"},
                   "useragent": {"rawuseragent": "curl/8"}},
        "DEBUGCONTEXT": {"DEBUGDATA": {"REQUESTEDSCOPES": "a b,c", "granttype": "client_credentials"}},
        "Outcome": {"Result": "SUCCESS"}, "SecurityContext": {"AsNumber": "16509"}}"#;
    let e = parse_okta(line).expect("converted");
    assert_eq!(e.agent, "0oa9");
    assert_eq!(e.actor, ActorKind::ServiceApp);
    assert_eq!(e.categories, TOKEN_GRANT);
    assert_eq!(e.ip, ip("203.0.113.9"));
    assert_eq!(e.country.as_deref(), Some("Germany"));
    assert_eq!(e.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(e.scopes, ["a", "b", "c"]);
    assert_eq!(e.grant_type.as_deref(), Some("client_credentials"));
    assert_eq!(e.outcome.as_deref(), Some("SUCCESS"));
    assert_eq!(e.asn, Some(16_509)); // a numeric string
    assert_eq!(parse_event(line, Format::Auto), Ok(e));
}

#[test]
fn exact_key_is_preferred_over_a_case_folded_one() {
    let v = json!({"eventType": "user.session.start", "eventtype": "policy.evaluate_sign_on"});
    assert_eq!(
        lookup_ci(&v, &["eventType"]),
        Some(&json!("user.session.start"))
    );
    assert_eq!(
        lookup_ci(&v, &["eventtype"]),
        Some(&json!("policy.evaluate_sign_on"))
    );
    assert_eq!(
        lookup_ci(&v, &["EventType"]),
        Some(&json!("user.session.start"))
    );
    assert_eq!(lookup_ci(&v, &["event_type"]), None);
}

#[test]
fn as_number_that_is_not_a_number_is_rejected() {
    let mut v = value(DOCS, 2);
    v["securityContext"]["asNumber"] = json!("AS577");
    assert!(matches!(
        from_okta_value(v.clone()),
        Err(EventError::BadValue { field, value, .. }) if field == "securityContext.asNumber" && value == "AS577"
    ));
    v["securityContext"]["asNumber"] = json!(-1);
    assert!(matches!(
        from_okta_value(v.clone()),
        Err(EventError::BadValue { .. })
    ));
    v["securityContext"]["asNumber"] = json!(true);
    assert_eq!(
        from_okta_value(v),
        Err(EventError::WrongType {
            field: "securityContext.asNumber".into(),
            expected: "a number or a numeric string",
            found: "a boolean"
        })
    );
}

#[test]
fn attrs_paths_read_outcome_reason_and_collect_over_targets() {
    let e = event(PANTHER, 111);
    assert_eq!(
        e.attr(&["outcome", "reason"]),
        Some(&json!(
            "Password Spray, Login failures with high unknown users count, Login Failures"
        ))
    );
    assert_eq!(
        e.attr(&["debugContext", "debugData", "threatSuspected"]),
        Some(&json!("true"))
    );

    let e = event(DOCS, 1);
    let targets = e
        .attr(&["target"])
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut types = Vec::new();
    collect_path(&e.attrs, &["target", "type"], &mut types);
    assert_eq!(types.len(), targets);
    assert!(types.iter().all(|t| t.is_string()));
}

#[test]
fn non_object_lines_and_bad_json_are_rejected() {
    assert_eq!(
        parse_okta("[1, 2]"),
        Err(EventError::NotAnObject { found: "an array" })
    );
    assert!(matches!(
        parse_okta("{\"eventType\": "),
        Err(EventError::InvalidJson { .. })
    ));
}
