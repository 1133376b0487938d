//! `riskgate`: check, format, test and replay risk rules.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Exit codes, one table for every command (shown by `--help` of each, and
/// in README's "CLI" section).
const EXIT_CODES: &str = "\
Exit codes:
  0    success (check: no errors; replay, diff: every line read;
       test: every case passed; fmt --check: every file canonical;
       serve: stopped by SIGTERM or SIGINT, or at the end of its input)
  1    an error: rules with errors (check --deny-warnings: or warnings),
       a file that cannot be read or written, a failed or invalid test
       case, a file that `fmt --check` would change, profiles of the
       wrong type under --strict, a serve that cannot start or save state
  2    replay, diff: some input lines were bad (each reported and
       skipped; the other lines were evaluated)
  64   usage error (unknown option, missing argument)
  141  an output pipe was closed (ends quietly, as if by SIGPIPE)";

/// Real-time risk rules for AI agents' and service apps' authentication.
#[derive(Parser)]
#[command(name = "riskgate", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check rules files; print every diagnostic (text, or SARIF
    /// for CI). Exit 1 on any error.
    #[command(after_help = EXIT_CODES)]
    Check(cli::check::CheckArgs),
    /// Rewrite rules files in canonical form (`-`: standard input to
    /// standard output); `--check` shows what would change.
    #[command(after_help = EXIT_CODES)]
    Fmt(cli::fmt::FmtArgs),
    /// Evaluate a JSONL event stream and print every verdict with a match and a summary.
    #[command(after_help = EXIT_CODES)]
    Replay(cli::replay::ReplayArgs),
    /// Compare two rule sets over one event stream: per rule, the events it
    /// newly fires on, no longer fires on, or fires on with another decision.
    #[command(after_help = EXIT_CODES)]
    Diff(cli::diff::DiffArgs),
    /// Run as a service: events on stdin, verdicts on stdout, reload on file
    /// change or SIGHUP, /healthz /readyz /metrics over HTTP, state kept
    /// across restarts.
    #[cfg(feature = "serve")]
    #[command(after_help = EXIT_CODES)]
    Serve(cli::serve::ServeArgs),
    /// Check expected verdicts of JSONL test cases. Exit 1 on any failure.
    #[command(after_help = EXIT_CODES)]
    Test(cli::test::TestArgs),
}

/// Exit code of a usage error (`EX_USAGE`), apart from replay's 2.
const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are printed to stdout and are not errors.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let color = std::io::stderr().is_terminal();
    match cli.command {
        Command::Check(args) => cli::check::run(&args, color),
        Command::Fmt(args) => cli::fmt::run(&args, color),
        Command::Replay(args) => cli::replay::run(&args, color),
        Command::Diff(args) => cli::diff::run(&args, color),
        #[cfg(feature = "serve")]
        Command::Serve(args) => cli::serve::run(&args, color),
        Command::Test(args) => cli::test::run(&args, color),
    }
}
