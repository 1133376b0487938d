//! `list NAME = file "..."` on hostile paths: devices, directories, huge
//! files and too many items fail with a located error, never by exhausting
//! memory or blocking.

use std::path::PathBuf;

use riskgate::RuleSet;

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-tmp")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

/// The rendered diagnostics of a load (empty when it succeeded).
fn rendered(result: Result<RuleSet, riskgate::Diagnostics>) -> String {
    match result {
        Ok(_) => String::new(),
        Err(d) => d.render(false),
    }
}

/// Loads a rules file beside `list_path` reading it as a list; the rendered errors.
fn errors_for(d: &std::path::Path, list_path: &str) -> String {
    let rules = d.join("x.rules");
    std::fs::write(
        &rules,
        format!(
            "list blocked = file \"{list_path}\"\n\nRule 1 — Blocked\nTrigger: ip in blocked\nAction: deny\nSeverity: HIGH\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    rendered(RuleSet::from_files([&rules]))
}

#[test]
fn a_device_is_not_a_list_file() {
    let d = dir("list-device");
    let err = errors_for(&d, "/dev/zero");
    assert!(
        err.contains(
            "error[E0308]: cannot read list file `/dev/zero`: it is a device, not a regular file"
        ),
        "{err}"
    );
    assert!(err.contains("x.rules:1:21"), "{err}");
}

#[test]
fn a_directory_is_not_a_list_file() {
    let d = dir("list-dir");
    std::fs::create_dir_all(d.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    let err = errors_for(&d, "sub");
    assert!(err.contains("error[E0308]"), "{err}");
}

#[test]
fn an_oversized_list_file_is_a_limit_error() {
    let d = dir("list-big");
    let line = "10.0.0.1\n";
    let body = line.repeat((4 << 20) / line.len() + 1);
    std::fs::write(d.join("big.txt"), body).unwrap_or_else(|e| panic!("{e}"));
    let err = errors_for(&d, "big.txt");
    assert!(err.contains("error[E0102]"), "{err}");
    assert!(
        err.contains("larger than the limit of 4194304 bytes"),
        "{err}"
    );
}

#[test]
fn too_many_items_is_a_limit_error() {
    let d = dir("list-many");
    let body: String = (0..100_001).map(|i| format!("a{i}\n")).collect();
    std::fs::write(d.join("many.txt"), body).unwrap_or_else(|e| panic!("{e}"));
    let rules = d.join("x.rules");
    std::fs::write(
        &rules,
        "list names = file \"many.txt\"\n\nRule 1 — Named\nTrigger: user_agent in names\nAction: deny\nSeverity: HIGH\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = rendered(RuleSet::from_files([&rules]));
    assert!(err.contains("error[E0102]"), "{err}");
    assert!(
        err.contains("100001 items, more than the limit of 100000"),
        "{err}"
    );
}

#[test]
fn a_normal_list_file_still_loads() {
    let d = dir("list-ok");
    std::fs::write(
        d.join("ok.txt"),
        "# blocked\n10.0.0.0/8\n192.0.2.1 # one host\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(errors_for(&d, "ok.txt"), "");
}

/// A rule set read under tighter limits holds its list files to them too
/// (not to the defaults).
#[test]
fn list_files_obey_the_callers_limits() {
    let d = dir("list-limits");
    std::fs::write(d.join("five.txt"), "a\nb\nc\nd\ne\n").unwrap_or_else(|e| panic!("{e}"));
    let rules = d.join("x.rules");
    std::fs::write(
        &rules,
        "list names = file \"five.txt\"\n\nRule 1 — Named\nTrigger: user_agent in names\nAction: deny\nSeverity: HIGH\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let render = |limits: &riskgate::Limits| rendered(RuleSet::from_files_with([&rules], limits));
    let defaults = riskgate::Limits::default();
    assert_eq!(render(&defaults), "");
    let few_items = riskgate::Limits {
        max_list_items: 4,
        ..defaults
    };
    let err = render(&few_items);
    assert!(err.contains("error[E0102]"), "{err}");
    assert!(err.contains("5 items, more than the limit of 4"), "{err}");
    // A list file larger than the rules file: a byte limit between the two
    // sizes refuses the list, not the rules.
    let body = "0123456789abcdef\n".repeat(100);
    std::fs::write(d.join("five.txt"), &body).unwrap_or_else(|e| panic!("{e}"));
    let rules_len = std::fs::metadata(&rules).map_or(usize::MAX, |m| m.len() as usize);
    assert!(rules_len < 1_000 && body.len() > 1_000);
    let small = riskgate::Limits {
        max_file_bytes: 1_000,
        ..defaults
    };
    assert_eq!(render(&defaults), "");
    let err = render(&small);
    assert!(err.contains("error[E0102]"), "{err}");
    assert!(err.contains("larger than the limit of 1000 bytes"), "{err}");
    assert!(err.contains("x.rules:1:19"), "{err}");
}

/// A rules file is read only up to the file-size limit: `/dev/zero` as a
/// rules file is a limit error at once, not a read until memory runs out.
#[test]
fn a_device_as_a_rules_file_is_a_limit_error() {
    let limits = riskgate::Limits {
        max_file_bytes: 1 << 16,
        ..riskgate::Limits::default()
    };
    let err = rendered(RuleSet::from_files_with(["/dev/zero"], &limits));
    assert!(err.contains("error[E0102]"), "{err}");
    assert!(
        err.contains("file is larger than the limit of 65536 bytes")
            && err.contains("--> /dev/zero:1:1"),
        "{err}"
    );
    // An ordinary file just over the limit, the same.
    let d = dir("rules-big");
    let big = d.join("big.rules");
    std::fs::write(&big, "# padding\n".repeat(7_000)).unwrap_or_else(|e| panic!("{e}"));
    let err = rendered(RuleSet::from_files_with([&big], &limits));
    assert!(err.contains("error[E0102]"), "{err}");
}
