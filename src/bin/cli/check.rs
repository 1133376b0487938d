//! `riskgate check FILE...`: every diagnostic of every file, as text on
//! standard error or as a SARIF log on standard output.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use riskgate::lang::diagnostic::{printable, Diagnostics};
use riskgate::RuleSet;

use super::output::{err, errln};
use super::plural;

/// Arguments of `riskgate check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Rules files; each is its own rule set unless `--together`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Check the files as one rule set (lists and rule ids shared across them).
    #[arg(long)]
    pub together: bool,
    /// `text` (rustc-style, on standard error) or `sarif` (a SARIF 2.1.0 log
    /// on standard output, for code scanning in CI).
    #[arg(long, value_enum, default_value = "text")]
    pub output: CheckOutput,
    /// Exit 1 when there are warnings, as when there are errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// How `check` reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckOutput {
    /// Rendered diagnostics on standard error.
    Text,
    /// A SARIF 2.1.0 log on standard output.
    Sarif,
}

/// Runs the check: each file is its own rule set, or all of them one set.
pub fn run(args: &CheckArgs, color: bool) -> ExitCode {
    let sets: Vec<&[PathBuf]> = if args.together {
        vec![&args.files]
    } else {
        args.files.chunks(1).collect()
    };
    let text = args.output == CheckOutput::Text;
    let mut failed = false;
    let mut found: Vec<Diagnostics> = Vec::new();
    for set in sets {
        let names: Vec<String> = set
            .iter()
            .map(|p| printable(&p.display().to_string()).into_owned())
            .collect();
        let names = names.join(", ");
        let (diags, rules) = match RuleSet::from_files(set) {
            Ok(rules) => (rules.warnings().clone(), Some(rules.program().rules.len())),
            Err(d) => (d, None),
        };
        if text && !diags.items.is_empty() {
            err!("{}", diags.render(color));
        }
        let (e, w) = (diags.error_count(), diags.warning_count());
        match rules {
            Some(_) if args.deny_warnings && w > 0 => {
                failed = true;
                errln!(
                    "error: {w} warning{} in {names}, denied by --deny-warnings",
                    plural(w)
                );
            }
            Some(n) => errln!("ok: {n} rule{} in {names}", plural(n)),
            None => {
                failed = true;
                // The text output ends with its own summary line.
                if !text {
                    errln!(
                        "error: {e} error{} and {w} warning{} in {names}",
                        plural(e),
                        plural(w)
                    );
                }
            }
        }
        found.push(diags);
    }
    if !text {
        let log = super::sarif::log(&found);
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let written = serde_json::to_writer_pretty(&mut out, &log)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            super::output::stdout_failed(&e);
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
