//! Agent profiles (SPEC §2.6, §7.19): the three file shapes, nested fields and
//! the errors with their locations.

use std::sync::Arc;

use riskgate::input::profile::{
    Location, Profile, ProfileError, ProfileErrorKind, ProfileValue, Profiles,
};
use serde_json::json;

const SEED: &str = r#"{"agent_id": "datadog-remediation-prod",
 "scopes": ["servicenow:incidents:create", "servicenow:incidents:update",
            "datadog:monitors:read", "datadog:events:create"],
 "excluded_scopes": ["servicenow:users:admin", "datadog:api_keys:write", "okta:users:manage"],
 "token_lifetime_minutes": 15}"#;

fn kind_at(err: &ProfileError) -> (Option<Location>, Option<&ProfileErrorKind>) {
    (err.location(), err.kind())
}

fn parse_err(text: &str) -> ProfileError {
    match Profiles::from_json_str(text) {
        Ok(p) => panic!("accepted {} profiles", p.len()),
        Err(e) => e,
    }
}

#[test]
fn one_object_is_one_profile() {
    let ps = Profiles::from_json_str(SEED).expect("parses");
    assert_eq!(ps.len(), 1);
    let p = ps.get("datadog-remediation-prod").expect("profile");
    assert_eq!(&*p.agent_id, "datadog-remediation-prod");
    assert_eq!(
        p.get(&["token_lifetime_minutes"])
            .map(ProfileValue::to_json),
        Some(json!(15))
    );
    assert_eq!(
        p.get(&["excluded_scopes"]).map(ProfileValue::to_json),
        Some(json!([
            "servicenow:users:admin",
            "datadog:api_keys:write",
            "okta:users:manage"
        ]))
    );
    assert_eq!(
        p.get(&["scopes"])
            .and_then(|v| v.as_array())
            .map(<[_]>::len),
        Some(4)
    );
    // `agent_id` is the key, not a field.
    assert_eq!(p.get(&["agent_id"]), None);
    assert_eq!(p.fields().len(), 3);
    assert!(ps.get("someone-else").is_none());
}

#[test]
fn array_of_objects() {
    let ps = Profiles::from_json_str(
        r#"  [ {"agent_id": "a", "scopes": ["x"]},
             {"agent_id": "b", "token_lifetime_minutes": 5} ]"#,
    )
    .expect("parses");
    assert_eq!(ps.len(), 2);
    assert_eq!(
        ps.get("a")
            .and_then(|p| p.get(&["scopes"]))
            .map(ProfileValue::to_json),
        Some(json!(["x"]))
    );
    assert_eq!(
        ps.get("b")
            .and_then(|p| p.get(&["token_lifetime_minutes"]))
            .map(ProfileValue::to_json),
        Some(json!(5))
    );
    let mut ids: Vec<&str> = ps.iter().map(|(id, _)| id).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b"]);
}

#[test]
fn jsonl_with_blank_lines() {
    let text = "{\"agent_id\": \"a\", \"n\": 1}\n\n{\"agent_id\": \"b\", \"n\": 2}\r\n{\"agent_id\": \"c\", \"n\": 3}\n";
    let ps = Profiles::from_json_str(text).expect("parses");
    assert_eq!(ps.len(), 3);
    for (id, n) in [("a", 1), ("b", 2), ("c", 3)] {
        assert_eq!(
            ps.get(id)
                .and_then(|p| p.get(&["n"]))
                .map(ProfileValue::to_json),
            Some(json!(n)),
            "{id}"
        );
    }
}

#[test]
fn multi_line_object_followed_by_jsonl_lines() {
    let text = format!("{SEED}\n{{\"agent_id\": \"second\"}}\n");
    let ps = Profiles::from_json_str(&text).expect("parses");
    assert_eq!(ps.len(), 2);
    assert!(ps.get("second").is_some_and(|p| p.fields().len() == 0));
    // Locations count the lines of multi-line objects.
    let err = parse_err(&format!("{SEED}\n{SEED}\n"));
    assert_eq!(
        err.to_string(),
        "line 6: duplicate `agent_id` `datadog-remediation-prod`, first defined at line 1"
    );
}

#[test]
fn empty_document_has_no_profiles() {
    assert!(Profiles::from_json_str("").expect("parses").is_empty());
    assert!(Profiles::from_json_str(" \n\n ")
        .expect("parses")
        .is_empty());
    assert!(Profiles::from_json_str("[]").expect("parses").is_empty());
}

#[test]
fn nested_fields_read_as_dotted_paths() {
    let ps = Profiles::from_json_str(
        r##"{"agent_id": "a", "owner": {"team": "sre", "oncall": {"channel": "#sec"}}, "n": 3}"##,
    )
    .expect("parses");
    let p = ps.get("a").expect("profile");
    assert_eq!(
        p.get(&["owner", "team"]).map(ProfileValue::to_json),
        Some(json!("sre"))
    );
    assert_eq!(
        p.get(&["owner", "oncall", "channel"])
            .map(ProfileValue::to_json),
        Some(json!("#sec"))
    );
    assert_eq!(
        p.get_dotted("owner.oncall.channel")
            .map(ProfileValue::to_json),
        Some(json!("#sec"))
    );
    assert_eq!(
        p.get(&["owner"]).map(ProfileValue::to_json),
        Some(json!({"team": "sre", "oncall": {"channel": "#sec"}}))
    );
    // Absent keys and steps that are not objects are absent; keys match
    // ignoring ASCII case, as `attr.` paths do in events.
    assert_eq!(p.get(&["owner", "name"]), None);
    assert_eq!(p.get(&["n", "x"]), None);
    assert_eq!(
        p.get(&["Owner", "TEAM"]).map(ProfileValue::to_json),
        Some(json!("sre"))
    );
    assert_eq!(p.get(&[]), None);
}

#[test]
fn missing_agent_id_is_an_error_with_its_line() {
    let err = parse_err("{\"agent_id\": \"a\"}\n{\"scopes\": []}\n");
    assert_eq!(
        kind_at(&err),
        (
            Some(Location::Line(2)),
            Some(&ProfileErrorKind::MissingAgentId)
        )
    );
    assert_eq!(err.to_string(), "line 2: missing `agent_id`");
}

#[test]
fn missing_agent_id_in_an_array_is_an_error_with_its_index() {
    let err = parse_err(r#"[{"agent_id": "a"}, {"agent_id": "b"}, {"agent_id": null}]"#);
    assert_eq!(
        kind_at(&err),
        (
            Some(Location::Index(2)),
            Some(&ProfileErrorKind::MissingAgentId)
        )
    );
    assert_eq!(err.to_string(), "element [2]: missing `agent_id`");
}

#[test]
fn duplicate_agent_id_is_an_error_naming_both_places() {
    let err = parse_err("{\"agent_id\": \"a\"}\n{\"agent_id\": \"b\"}\n\n{\"agent_id\": \"a\"}");
    assert_eq!(
        kind_at(&err),
        (
            Some(Location::Line(4)),
            Some(&ProfileErrorKind::DuplicateAgentId {
                agent_id: "a".into(),
                first: Location::Line(1)
            })
        )
    );
    assert_eq!(
        err.to_string(),
        "line 4: duplicate `agent_id` `a`, first defined at line 1"
    );

    let err = parse_err(r#"[{"agent_id": "x"}, {"agent_id": "x"}]"#);
    assert_eq!(
        err.to_string(),
        "element [1]: duplicate `agent_id` `x`, first defined at element [0]"
    );
}

#[test]
fn agent_id_of_the_wrong_type_or_empty_is_an_error() {
    let err = parse_err(r#"{"agent_id": 42}"#);
    assert_eq!(
        err.kind(),
        Some(&ProfileErrorKind::AgentIdNotString { found: "a number" })
    );
    assert_eq!(
        err.to_string(),
        "line 1: `agent_id` must be a string, found a number"
    );
    assert_eq!(
        parse_err(r#"{"agent_id": ""}"#).kind(),
        Some(&ProfileErrorKind::EmptyAgentId)
    );
}

#[test]
fn non_object_profile_is_an_error() {
    let err = parse_err(r#"[{"agent_id": "a"}, "b"]"#);
    assert_eq!(
        kind_at(&err),
        (
            Some(Location::Index(1)),
            Some(&ProfileErrorKind::NotAnObject { found: "a string" })
        )
    );
    let err = parse_err("{\"agent_id\": \"a\"}\n7\n");
    assert_eq!(
        kind_at(&err),
        (
            Some(Location::Line(2)),
            Some(&ProfileErrorKind::NotAnObject { found: "a number" })
        )
    );
}

#[test]
fn invalid_json_is_an_error_with_its_line() {
    let err = parse_err("{\"agent_id\": \"a\"}\n{\"agent_id\": \"b\",}\n");
    assert_eq!(err.location(), Some(Location::Line(2)));
    assert!(matches!(
        err.kind(),
        Some(ProfileErrorKind::InvalidJson { .. })
    ));
    assert!(
        err.to_string().starts_with("line 2: invalid JSON: "),
        "{err}"
    );
}

#[test]
fn from_path_reads_a_file_and_names_it_in_errors() {
    let dir = std::env::temp_dir().join(format!("riskgate-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.jsonl");
    std::fs::write(&good, "{\"agent_id\": \"a\"}\n{\"agent_id\": \"b\"}\n").expect("write");
    assert_eq!(Profiles::from_path(&good).expect("reads").len(), 2);

    let bad = dir.join("bad.json");
    std::fs::write(&bad, "[{\"agent_id\": \"a\"}, {}]").expect("write");
    let err = Profiles::from_path(&bad).expect_err("missing agent_id");
    assert_eq!(
        kind_at(&err),
        (
            Some(Location::Index(1)),
            Some(&ProfileErrorKind::MissingAgentId)
        )
    );
    assert_eq!(
        err.to_string(),
        format!("`{}`: element [1]: missing `agent_id`", bad.display())
    );

    let missing = dir.join("missing.json");
    let err = Profiles::from_path(&missing).expect_err("no file");
    assert!(matches!(err, ProfileError::Io { ref path, .. } if *path == missing));
    assert!(err.to_string().starts_with(&format!(
        "cannot read profiles file `{}`: ",
        missing.display()
    )));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn insert_adds_or_replaces_and_profiles_are_shared() {
    let mut ps = Profiles::from_json_str(SEED).expect("parses");
    let fields = json!({"agent_id": "ignored", "scopes": ["y"]});
    let p = Profile::new("new-agent", fields.as_object().cloned().unwrap_or_default());
    assert_eq!(p.get(&["agent_id"]), None);
    assert!(ps.insert(p).is_none());
    assert_eq!(ps.len(), 2);
    let old = ps
        .insert(Profile::new("new-agent", serde_json::Map::new()))
        .expect("replaced");
    assert_eq!(
        old.get(&["scopes"]).map(ProfileValue::to_json),
        Some(json!(["y"]))
    );
    assert_eq!(ps.len(), 2);
    let shared: Arc<Profile> = Arc::clone(ps.get("datadog-remediation-prod").expect("profile"));
    assert_eq!(Arc::strong_count(&shared), 2);
    let collected: Profiles = [
        Profile::new("a", serde_json::Map::new()),
        Profile::new("a", serde_json::Map::new()),
    ]
    .into_iter()
    .collect();
    assert_eq!(collected.len(), 1);
}

/// A profiles file is read no further than its size limit: `/dev/zero`
/// (or an endless pipe) is a clear error at once, not a read until memory
/// runs out; a file within the limit still loads.
#[test]
fn from_path_stops_at_the_size_limit() {
    let dir = std::env::temp_dir().join(format!("riskgate-profiles-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Starts like JSON (so it is read on), larger than the cap.
    let big = dir.join("big.json");
    std::fs::write(&big, format!("[{}]", " ".repeat(70_000))).expect("write");
    let err = Profiles::from_path_capped(&big, 1 << 16).expect_err("too large");
    assert!(
        matches!(err, ProfileError::TooLarge { limit: 65_536, ref path } if *path == big),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "profiles file `{}` is larger than the limit of 65536 bytes",
            big.display()
        )
    );
    // `/dev/zero` does not start like JSON: refused at its first block.
    let err = Profiles::from_path_capped("/dev/zero", 1 << 16).expect_err("not JSON");
    assert!(err.to_string().contains("not JSON"), "{err}");
    let file = dir.join("two.jsonl");
    let text = "{\"agent_id\": \"a\"}\n{\"agent_id\": \"b\"}\n";
    std::fs::write(&file, text).expect("write");
    assert_eq!(
        Profiles::from_path_capped(&file, text.len())
            .expect("fits")
            .len(),
        2
    );
    let err = Profiles::from_path_capped(&file, text.len() - 1).expect_err("one byte over");
    assert!(matches!(err, ProfileError::TooLarge { .. }), "{err:?}");
}

/// Profile lists as the engine reads them (held as shared, compact values):
/// a short list is scanned, a long one hashed, an address list holds
/// addresses and CIDR blocks, a stray non-string element is skipped, and
/// `len`, `exists` and scalar fields read the same values.
#[test]
fn profile_lists_and_values_read_by_the_engine() {
    use riskgate::run::engine::Engine;
    use riskgate::{ActorKind, Categories, Event, RuleSet};
    let rules = RuleSet::from_source(
        "p.rules",
        "list approved = agent.scopes\nlist nets = agent.networks\n\
         Rule S: scope\nTrigger: token request includes scope not in approved\nAction: flag\nSeverity: LOW\n\n\
         Rule N: network\nTrigger: from IP not in nets\nAction: flag\nSeverity: LOW\n\n\
         Rule L: long list\nTrigger: len(approved) > 9 AND exists(agent.owner.team)\nAction: flag\nSeverity: LOW\n\n\
         Rule T: lifetime\nTrigger: token.lifetime_minutes > agent.token_lifetime_minutes\nAction: flag\nSeverity: LOW\n",
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let long: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    let profiles = Profiles::from_json_str(
        &[
            json!({"agent_id": "short", "scopes": ["a", "b"], "networks": ["10.1.0.0/16", "192.0.2.7"],
                   "token_lifetime_minutes": 15}),
            json!({"agent_id": "long", "scopes": long, "networks": [], "owner": {"team": "sre"}}),
            json!({"agent_id": "mixed", "scopes": ["a", 1, "b"], "networks": ["10.1.0.0/16", 2]}),
        ]
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::builder(rules.compile())
        .profiles(&profiles)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let fired = |agent: &str, ip: &str, scopes: &[&str], lifetime: f64| -> Vec<String> {
        let event = Event::builder(agent, 1_795_348_800_000)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::TOKEN_REQUEST)
            .ip(ip.parse().unwrap_or_else(|e| panic!("{e}")))
            .scopes(scopes.iter().copied())
            .token_lifetime_minutes(lifetime)
            .build();
        engine
            .evaluate(&event)
            .rule_ids()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        fired("short", "10.1.2.3", &["b"], 15.0),
        Vec::<String>::new()
    );
    assert_eq!(fired("short", "192.0.2.7", &["a", "c"], 16.0), ["S", "T"]);
    assert_eq!(fired("short", "192.0.2.8", &["a"], 1.0), ["N"]);
    assert_eq!(fired("long", "10.1.2.3", &["s19", "s0"], 1.0), ["N", "L"]);
    assert_eq!(fired("long", "10.1.2.3", &["s20"], 1.0), ["S", "N", "L"]);
    assert_eq!(
        fired("mixed", "10.1.2.3", &["b"], 1.0),
        Vec::<String>::new()
    );
    assert_eq!(fired("mixed", "10.2.0.1", &["c"], 1.0), ["S", "N"]);
}
