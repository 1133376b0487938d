//! The riskgate extension keys of Okta `debugData`: certificate, token
//! lifetime, secret age, device posture.

#[path = "support/okta_value.rs"]
mod okta_value;
use riskgate::input::okta::parse_okta;

const BASE: &str = r#"{"published": "2026-11-22T10:00:00.000Z", "eventType": "app.oauth2.as.token.grant.access_token",
  "actor": {"id": "0oa1", "type": "PublicClientApp"}, "debugContext": {"debugData": DD}}"#;

#[test]
fn extension_keys_map_to_event_fields() {
    let line = BASE.replace(
        "DD",
        r#"{"certIssuer": "internal-ca", "certAgeDays": 400, "tokenLifetimeMinutes": "60", "secretAgeDays": 12.5, "devicePosture": "compliant"}"#,
    );
    let e = parse_okta(&line).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.cert.issuer.as_deref(), Some("internal-ca"));
    assert_eq!(e.cert.age_days, Some(400.0));
    assert_eq!(e.token_lifetime_minutes, Some(60.0));
    assert_eq!(e.secret_age_days, Some(12.5));
    assert_eq!(e.device_posture.as_deref(), Some("compliant"));
}

#[test]
fn absent_extension_keys_leave_fields_absent() {
    let e = parse_okta(&BASE.replace("DD", r#"{"grantType": "client_credentials"}"#))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (e.cert.age_days, e.token_lifetime_minutes, e.secret_age_days),
        (None, None, None)
    );
    assert!(e.cert.issuer.is_none() && e.device_posture.is_none());
}

#[test]
fn a_non_numeric_extension_value_is_an_error_naming_the_key() {
    let err = parse_okta(&BASE.replace("DD", r#"{"certAgeDays": "old"}"#))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("debugContext.debugData.certAgeDays"), "{err}");
    let err = parse_okta(&BASE.replace("DD", r#"{"secretAgeDays": [1]}"#))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("debugContext.debugData.secretAgeDays"),
        "{err}"
    );
}

/// The event of `line` from each Okta reader: the serde pass keeping every
/// attr, the byte scanner (a filter that keeps nothing), and the `Value`
/// reference path. They must agree.
fn all_readers(line: &str) -> Result<riskgate::Event<'static>, riskgate::input::event::EventError> {
    use okta_value::from_okta_value;
    use riskgate::input::okta::{parse_okta_with, AttrFilter};
    let serde = parse_okta(line);
    let none = AttrFilter::paths(std::iter::empty::<Vec<&str>>());
    let scanner = parse_okta_with(line, &none).map(|e| riskgate::Event {
        attrs: serde_json::Value::Null,
        ..e.into_owned()
    });
    let reference = serde_json::from_str::<serde_json::Value>(line)
        .map_err(|e| riskgate::input::event::EventError::InvalidJson {
            message: e.to_string(),
        })
        .and_then(from_okta_value);
    let strip = |r: &Result<riskgate::Event<'static>, riskgate::input::event::EventError>| {
        r.clone().map(|e| riskgate::Event {
            attrs: serde_json::Value::Null,
            ..e
        })
    };
    assert_eq!(strip(&serde), scanner, "serde pass vs byte scanner: {line}");
    assert_eq!(serde, reference, "serde pass vs Value path: {line}");
    serde
}

#[test]
fn item12_nan_extension_number_is_a_bad_field() {
    use riskgate::input::event::EventError;
    let keys = [
        ("certAgeDays", "debugContext.debugData.certAgeDays"),
        (
            "tokenLifetimeMinutes",
            "debugContext.debugData.tokenLifetimeMinutes",
        ),
        ("secretAgeDays", "debugContext.debugData.secretAgeDays"),
    ];
    for (key, field) in keys {
        for text in [
            "NaN", "nan", "-NaN", "inf", "-inf", "+inf", "infinity", "Infinity", "0x10", "1_000",
            "+5", ".5", "5.", "1e", "", " ", "12 days",
        ] {
            let line = BASE.replace("DD", &format!(r#"{{"{key}": "{text}"}}"#));
            match all_readers(&line) {
                Err(EventError::BadValue {
                    field: f,
                    value,
                    reason,
                }) => {
                    assert_eq!(f, field, "{text:?}");
                    assert_eq!(value, text, "{text:?}");
                    assert!(reason.contains("JSON number syntax"), "{text:?}: {reason}");
                }
                other => panic!("{key}: {text:?} accepted or wrongly rejected: {other:?}"),
            }
        }
    }
}

#[test]
fn item12_out_of_range_extension_number_is_a_bad_field_like_the_json_number() {
    use riskgate::input::event::EventError;
    for text in ["1e400", "-1e400", "1e309", &format!("1{}", "0".repeat(400))] {
        let line = BASE.replace("DD", &format!(r#"{{"certAgeDays": "{text}"}}"#));
        match all_readers(&line) {
            Err(EventError::BadValue { field, reason, .. }) => {
                assert_eq!(field, "debugContext.debugData.certAgeDays");
                assert_eq!(reason, "out of range: not a finite number", "{text}");
            }
            other => panic!("{text} accepted: {other:?}"),
        }
        // The same text as a JSON number: the line is not JSON a reader accepts.
        let line = BASE.replace("DD", &format!(r#"{{"certAgeDays": {text}}}"#));
        assert!(
            matches!(all_readers(&line), Err(EventError::InvalidJson { .. })),
            "{text}"
        );
    }
}

#[test]
fn item12_numeric_strings_read_as_the_json_number_of_the_same_text() {
    for text in [
        "400", "-0", "12.5", "1e2", "4.2E-1", "0.1", " 7 ", "\\t7\\n",
    ] {
        let line = BASE.replace("DD", &format!(r#"{{"certAgeDays": "{text}"}}"#));
        let as_string = all_readers(&line).unwrap_or_else(|e| panic!("{text}: {e}"));
        let number = text.replace("\\t", "").replace("\\n", "");
        let line = BASE.replace("DD", &format!(r#"{{"certAgeDays": {number}}}"#));
        let as_number = all_readers(&line).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(as_string.cert.age_days, as_number.cert.age_days, "{text}");
        assert!(as_string.cert.age_days.is_some_and(f64::is_finite));
    }
}

#[test]
fn item12_as_number_strings_follow_the_json_integer_grammar() {
    use riskgate::input::event::EventError;
    let line = |asn: &str| {
        format!(
            r#"{{"published": "2026-11-22T10:00:00.000Z", "eventType": "user.session.start",
              "actor": {{"id": "00u1", "type": "User"}}, "securityContext": {{"asNumber": {asn}}}}}"#
        )
    };
    assert_eq!(
        all_readers(&line(r#""16509""#)).map(|e| e.asn),
        Ok(Some(16509))
    );
    assert_eq!(
        all_readers(&line(r#"" 16509 ""#)).map(|e| e.asn),
        Ok(Some(16509))
    );
    assert_eq!(all_readers(&line(r#""""#)).map(|e| e.asn), Ok(None));
    for bad in [
        "NaN",
        "inf",
        "1e3",
        "16509.0",
        "+16509",
        "-1",
        "016509",
        "0x407D",
        "18446744073709551616",
    ] {
        match all_readers(&line(&format!(r#""{bad}""#))) {
            Err(EventError::BadValue { field, value, .. }) => {
                assert_eq!(field, "securityContext.asNumber");
                assert_eq!(value, bad);
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}
