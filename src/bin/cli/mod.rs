//! The CLI's subcommands. The library never prints; this module does.

use std::path::PathBuf;

use riskgate::RuleSet;

use output::err;

pub mod caep;
pub mod check;
pub mod diff;
pub mod fmt;
pub mod junit;
pub mod lines;
pub mod ocsf;
pub mod output;
pub mod record;
pub mod replay;
pub mod sarif;
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
    path: &std::path::Path,
    snapshot: impl FnOnce(
        &mut dyn std::io::Write,
    ) -> std::io::Result<riskgate::run::snapshot::SnapshotSummary>,
) -> std::io::Result<riskgate::run::snapshot::SnapshotSummary> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".partial");
    let aside = PathBuf::from(aside);
    let written = std::fs::File::create(&aside).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        let summary = snapshot(&mut w)?;
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
