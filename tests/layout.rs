//! The source layout: every `use crate::…` points down the pipeline, never
//! up, and no two modules import each other, directly or in a circle.
//!
//! Stages, from the bottom: the shared base (`limits`, `num`), `lang`
//! (text → syntax tree), `compile` (syntax tree → program), `input` (bytes
//! → events and profiles), `run` (program + events → verdicts). A module may
//! use its own stage and those below it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The stage of a module path (`compile::check::cond` → 2).
fn stage(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap_or("");
    match top {
        "limits" | "num" | "partition" => Some(0),
        "lang" => Some(1),
        "compile" => Some(2),
        "input" => Some(3),
        "run" => Some(4),
        _ => None,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "bin") {
                continue; // the CLI sits above every stage
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/compile/check/mod.rs` → `compile::check`; `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src/")
        .with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let parts: Vec<&str> = parts
        .iter()
        .map(String::as_str)
        .filter(|p| *p != "mod" && *p != "lib")
        .collect();
    parts.join("::")
}

/// The `crate::a::b…` paths named on code lines (comments and doc comments
/// are skipped: a doc link is not a dependency).
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let path: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.trim_end_matches(':').to_owned());
            rest = tail;
        }
    }
    out
}

/// Each module and the modules it names through `crate::` paths (the
/// longest known module prefix of each path; its own ancestors excluded).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for (module, file) in &modules {
        let text = fs::read_to_string(file).expect("a source file is readable");
        let mut deps = BTreeSet::new();
        for path in crate_paths(&text) {
            let segs: Vec<&str> = path.split("::").collect();
            let target = (1..=segs.len())
                .rev()
                .map(|k| segs[..k].join("::"))
                .find(|cand| modules.contains_key(cand));
            if let Some(target) = target {
                let ancestor = module == &target || module.starts_with(&format!("{target}::"));
                if !ancestor && !target.is_empty() {
                    deps.insert(target);
                }
            }
        }
        edges.insert(module.clone(), deps);
    }
    edges
}

#[test]
fn every_module_belongs_to_a_stage() {
    let g = graph();
    let strays: Vec<&String> = g
        .keys()
        .filter(|m| !m.is_empty() && stage(m).is_none())
        .collect();
    assert!(strays.is_empty(), "modules outside every stage: {strays:?}");
    // The stages are all there (a rename would otherwise empty the test).
    for top in ["lang", "compile", "input", "run", "limits", "num"] {
        assert!(g.contains_key(top), "no module `{top}`");
    }
}

#[test]
fn imports_point_down_the_pipeline() {
    let mut upward = Vec::new();
    for (module, deps) in graph() {
        let Some(from) = stage(&module) else { continue };
        for dep in deps {
            if stage(&dep).is_some_and(|to| to > from) {
                upward.push(format!("{module} -> {dep}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a lower stage to a higher one: {upward:#?}"
    );
}

#[test]
fn no_import_cycles() {
    let g = graph();
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut circle = path[at..].to_vec();
            circle.push(m.to_owned());
            return Some(circle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for dep in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(dep, g, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        let circle = visit(m, &g, &mut done, &mut Vec::new());
        assert!(
            circle.is_none(),
            "import cycle: {}",
            circle.unwrap_or_default().join(" -> ")
        );
    }
}

#[test]
fn the_checks_see_what_they_should() {
    // The scanner finds paths on code lines and skips comments.
    let text = "use crate::run::eval::V;\n// crate::input::event\n/// [`x`](crate::lang::ast)\nlet a = crate::compile::value::compare_values(x);";
    assert_eq!(
        crate_paths(text),
        ["run::eval::V", "compile::value::compare_values"]
    );
    // And the graph knows an edge that exists.
    let g = graph();
    assert!(
        g["run::engine"].contains("run::state"),
        "{:?}",
        g["run::engine"]
    );
    assert!(
        g["compile::check"].contains("compile::lower"),
        "{:?}",
        g["compile::check"]
    );
}

#[test]
fn the_readme_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 30, "{} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(root)
                .expect("under the root")
                .display()
                .to_string()
        })
        .filter(|rel| !readme.contains(&format!("`{rel}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "modules missing from the README's table: {missing:?}"
    );
}
