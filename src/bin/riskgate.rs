//! `riskgate`: check, format, test and replay risk rules.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Real-time risk rules for AI agents' and service apps' authentication.
#[derive(Parser)]
#[command(name = "riskgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check rules files; print every diagnostic. Exit 1 on any error.
    Check {
        /// Rules files; each is its own rule set unless `--together`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Check the files as one rule set (lists and rule ids shared across them).
        #[arg(long)]
        together: bool,
    },
    /// Rewrite rules files in canonical form.
    Fmt {
        /// Rules files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 and list the files that are not canonical.
        #[arg(long)]
        check: bool,
    },
    /// Evaluate a JSONL event stream and print every non-allow verdict and a summary.
    ///
    /// Exit codes: 0 ok, 1 rules or I/O error, 2 some lines were bad (reported, skipped).
    Replay(cli::replay::ReplayArgs),
    /// Check expected verdicts of JSONL test cases. Exit 1 on any failure.
    Test(cli::test::TestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = std::io::stderr().is_terminal();
    match cli.command {
        Command::Check { files, together } => cli::check(&files, together, color),
        Command::Fmt { files, check } => cli::fmt(&files, check, color),
        Command::Replay(args) => cli::replay::run(&args, color),
        Command::Test(args) => cli::test::run(&args, color),
    }
}
