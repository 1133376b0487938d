//! `replay --output ocsf`: each rule that fired is an OCSF Detection
//! Finding (class 2004) with the attributes the OCSF 1.3 schema requires of
//! the class and its objects, checked here on the bundled day against the
//! same replay's JSON verdicts: one finding per match, with its rule,
//! severity, time, agent and client address, and MITRE ATT&CK techniques
//! from the rule's tags.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn replay(output: &str) -> Vec<Value> {
    let r = root();
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(&r)
        .args([
            "replay",
            "examples/rules/agents.rules",
            "examples/events/okta-day.jsonl",
            "--profiles",
            "examples/profiles/agents.json",
            "--explain",
            "--output",
            output,
        ])
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

/// The attributes OCSF 1.3 requires of a Detection Finding and of the
/// objects it carries (base event: activity, category, class, type,
/// severity, time, metadata; finding: `finding_info`; metadata: product and
/// version; product: vendor name; finding info: uid and title).
fn check_required(f: &Value) {
    for key in [
        "activity_id",
        "category_uid",
        "class_uid",
        "type_uid",
        "severity_id",
        "time",
        "metadata",
        "finding_info",
    ] {
        assert!(f.get(key).is_some(), "missing {key}: {f}");
    }
    assert_eq!(f["class_uid"], 2004, "{f}");
    assert_eq!(f["category_uid"], 2, "{f}");
    assert_eq!(f["activity_id"], 1, "{f}");
    assert_eq!(f["type_uid"], 200_401, "{f}");
    assert!(f["time"].is_i64(), "{f}");
    let sev = f["severity_id"].as_u64().unwrap_or(0);
    assert!((1..=6).contains(&sev), "{f}");
    assert!(f["metadata"]["version"]
        .as_str()
        .is_some_and(|v| v.starts_with("1.")));
    assert!(f["metadata"]["product"]["vendor_name"].is_string(), "{f}");
    assert!(f["metadata"]["product"]["name"].is_string(), "{f}");
    let info = &f["finding_info"];
    assert!(info["uid"].as_str().is_some_and(|u| !u.is_empty()), "{f}");
    assert!(info["title"].as_str().is_some_and(|t| !t.is_empty()), "{f}");
    // Enumerations carry their caption beside their id.
    for (id, name) in [
        ("activity_id", "activity_name"),
        ("category_uid", "category_name"),
        ("class_uid", "class_name"),
        ("type_uid", "type_name"),
        ("severity_id", "severity"),
        ("status_id", "status"),
        ("action_id", "action"),
    ] {
        assert!(f[id].is_u64() && f[name].is_string(), "{id}/{name}: {f}");
    }
}

#[test]
fn each_match_is_a_detection_finding_with_the_required_attributes() {
    let verdicts = replay("json");
    let findings = replay("ocsf");
    // One finding per match, in the same order.
    let matches: Vec<(&Value, &Value)> = verdicts
        .iter()
        .flat_map(|v| {
            v["matches"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |m| (v, m))
        })
        .collect();
    assert_eq!(findings.len(), matches.len());
    assert!(findings.len() > 1_000, "{}", findings.len());
    let mut uids = BTreeSet::new();
    let mut techniques: BTreeMap<String, usize> = BTreeMap::new();
    for (f, (v, m)) in findings.iter().zip(&matches) {
        check_required(f);
        assert!(uids.insert(f["finding_info"]["uid"].to_string()), "{f}");
        let rule = m["rule"].as_str().unwrap_or("");
        assert_eq!(f["finding_info"]["analytic"]["uid"], rule);
        assert_eq!(f["unmapped"]["riskgate"]["line"], v["line"]);
        assert_eq!(f["actor"]["user"]["uid"], v["agent"]);
        let want_sev = match m["severity"].as_str() {
            Some("LOW") => 2,
            Some("MEDIUM") => 3,
            Some("HIGH") => 4,
            Some("CRITICAL") => 5,
            other => panic!("severity {other:?}"),
        };
        assert_eq!(f["severity_id"], want_sev, "{f}");
        // The client address, when the event has one.
        assert_eq!(f["src_endpoint"]["ip"], v["ip"], "{f}");
        assert_eq!(f["evidences"][0]["data"]["uuid"], v["uuid"], "{f}");
        // The explanation is the evidence and the message.
        let why = m["explanation"].as_array().cloned().unwrap_or_default();
        assert!(!why.is_empty(), "{m}");
        assert_eq!(f["evidences"][0]["data"]["explanation"], Value::Array(why));
        // Techniques from the rule's tags (`T1078.004`).
        for tag in m["tags"].as_array().into_iter().flatten() {
            let Some(tag) = tag
                .as_str()
                .filter(|t| t.starts_with('T') && !t.starts_with("TA"))
            else {
                continue;
            };
            let listed = f["finding_info"]["attacks"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["technique"]["uid"] == tag);
            assert!(listed, "{tag} missing from {f}");
            *techniques.entry(tag.to_string()).or_default() += 1;
        }
        // A non-shadow match's decision is the action.
        let action = match m["decision"].as_str() {
            Some("deny" | "suspend") => "Denied",
            Some("flag") => "Flagged",
            Some("allow") => "Allowed",
            _ => "Unknown",
        };
        assert_eq!(f["action"], action, "{f}");
    }
    assert!(techniques.contains_key("T1078.004"), "{techniques:?}");
}
