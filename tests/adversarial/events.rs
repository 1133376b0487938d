//! Adversarial inputs: events.

use proptest::prelude::*;
use riskgate::event::EventError;
use riskgate::okta::{from_okta_value, parse_okta, parse_okta_with, AttrFilter};
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
