//! `replay --output caep`: each enforced verdict of the bundled day as a
//! Security Event Token payload (RFC 8417) with one CAEP event, checked
//! against the same replay's JSON verdicts: `session-revoked` for suspend
//! and deny, `risk-level-change` (level from the severity) for flag, the
//! agent as an opaque SSF subject identifier (RFC 9493), the issuer given.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const RISK: &str = "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";

fn replay(extra: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args([
            "replay",
            "examples/rules/agents.rules",
            "examples/events/okta-day.jsonl",
            "--profiles",
            "examples/profiles/agents.json",
        ])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn each_enforced_verdict_is_a_caep_security_event() {
    let enforced: Vec<Value> = replay(&["--output", "json"])
        .into_iter()
        .filter(|v| v["decision"] != "allow")
        .collect();
    let sets = replay(&["--output", "caep", "--issuer", "https://riskgate.example/"]);
    assert_eq!(sets.len(), enforced.len());
    assert!(sets.len() > 100, "{}", sets.len());
    let mut jtis = BTreeSet::new();
    let (mut revoked, mut risk) = (0, 0);
    for (set, v) in sets.iter().zip(&enforced) {
        // RFC 8417: iss, iat, jti and events with exactly one event.
        assert_eq!(set["iss"], "https://riskgate.example/");
        assert!(jtis.insert(set["jti"].to_string()), "jti twice: {set}");
        let iat = set["iat"].as_i64().unwrap_or(0);
        assert!(iat > 1_700_000_000, "{set}");
        // RFC 9493: the agent as an opaque subject identifier.
        assert_eq!(set["sub_id"]["format"], "opaque");
        assert_eq!(set["sub_id"]["id"], v["agent"]);
        let events = set["events"].as_object().expect("events is an object");
        assert_eq!(events.len(), 1, "{set}");
        let (kind, body) = events.iter().next().expect("one event");
        assert_eq!(body["event_timestamp"], iat, "{set}");
        match v["decision"].as_str() {
            Some("suspend" | "deny") => {
                revoked += 1;
                assert_eq!(kind, REVOKED, "{set}");
                assert_eq!(body["initiating_entity"], "policy");
                assert!(body["reason_admin"]["en"].is_string(), "{set}");
            }
            Some("flag") => {
                risk += 1;
                assert_eq!(kind, RISK, "{set}");
                let want = match v["severity"].as_str() {
                    Some("LOW") => "low",
                    Some("MEDIUM") => "medium",
                    _ => "high",
                };
                assert_eq!(body["current_level"], want, "{set}");
                assert!(body["risk_reason"].is_string(), "{set}");
            }
            other => panic!("decision {other:?}"),
        }
        // The rules that decided, as the transaction.
        let rules: Vec<&str> = v["matches"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["shadow"] == false)
            .filter_map(|m| m["rule"].as_str())
            .collect();
        assert_eq!(set["txn"], rules.join(","), "{set}");
    }
    assert!(revoked > 0 && risk > 0, "{revoked} {risk}");
}
