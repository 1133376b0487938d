//! The riskgate extension keys of Okta `debugData`: certificate, token
//! lifetime, secret age, device posture.

use riskgate::okta::parse_okta;

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
