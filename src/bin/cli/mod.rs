//! The CLI's subcommands. The library never prints; this module does.

use std::path::PathBuf;
use std::process::ExitCode;

use riskgate::lang::diagnostic::printable;
use riskgate::RuleSet;

use output::{err, errln, outln};

pub mod diff;
pub mod lines;
pub mod output;
pub mod replay;
#[cfg(feature = "serve")]
pub mod serve;
pub mod test;

/// Loads a rule set, printing its diagnostics (errors, or warnings) to stderr.
pub fn load_rules(files: &[PathBuf], color: bool) -> Option<RuleSet> {
    match RuleSet::from_files(files) {
        Ok(set) => {
            if !set.warnings().items.is_empty() {
                err!("{}", set.warnings().render(color));
            }
            Some(set)
        }
        Err(d) => {
            err!("{}", d.render(color));
            None
        }
    }
}

/// `riskgate check`: each file is its own rule set, or all of them one set.
pub fn check(files: &[PathBuf], together: bool, color: bool) -> ExitCode {
    let sets: Vec<&[PathBuf]> = if together {
        vec![files]
    } else {
        files.chunks(1).collect()
    };
    let mut ok = true;
    for set in sets {
        match load_rules(set, color) {
            Some(rules) => {
                let n = rules.program().rules.len();
                let names: Vec<String> = set
                    .iter()
                    .map(|p| printable(&p.display().to_string()).into_owned())
                    .collect();
                errln!("ok: {n} rule{} in {}", plural(n), names.join(", "));
            }
            None => ok = false,
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `riskgate fmt [--check]`
pub fn fmt(files: &[PathBuf], check: bool, color: bool) -> ExitCode {
    let mut failed = false;
    let mut differ = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let shown = printable(&name).into_owned();
        // Read no further than the file-size limit (`/dev/zero` stops at
        // once); a larger file's first bytes get the parser's limit error.
        let text = match riskgate::limits::read_rules_file(f, &riskgate::Limits::default()) {
            Ok(t) => t,
            Err(e) => {
                errln!("error: {}", printable(&e.to_string()));
                failed = true;
                continue;
            }
        };
        match riskgate::lang::format::format_source(&name, &text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if check {
                    differ.push(shown);
                } else if let Err(e) = std::fs::write(f, formatted) {
                    errln!("error: cannot write `{shown}`: {e}");
                    failed = true;
                } else {
                    errln!("formatted {shown}");
                }
            }
            Err(d) => {
                err!("{}", d.render(color));
                failed = true;
            }
        }
    }
    for name in &differ {
        outln!("{name}: not formatted");
    }
    if failed || !differ.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Writes a snapshot of `engine` to `path`: to `path.partial` first, synced,
/// then renamed over `path`, so a crash never leaves half a snapshot under
/// the name. The aside file is removed on error.
pub fn write_snapshot_file(
    engine: &riskgate::run::engine::Engine,
    path: &std::path::Path,
    position: std::collections::BTreeMap<String, u64>,
) -> std::io::Result<riskgate::run::snapshot::SnapshotSummary> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".partial");
    let aside = PathBuf::from(aside);
    let written = std::fs::File::create(&aside).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        let summary = engine.snapshot_at(
            &mut w,
            &riskgate::run::snapshot::SnapshotFilter::All,
            position,
        )?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&aside, path)?;
        Ok(summary)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    written
}
