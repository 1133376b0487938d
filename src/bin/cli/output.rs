//! Writing to standard output and standard error without panics.
//!
//! `print!` and `eprint!` panic when their stream cannot be written (a closed
//! pipe, a full disk); the CLI uses [`outln!`], [`err!`] and
//! [`errln!`] instead, which end the process the documented way: a closed
//! pipe quietly with [`EXIT_PIPE`] (as if killed by `SIGPIPE`, the way
//! `grep` ends in `grep x | head -1`), any other write error with a message
//! on standard error and exit code 1. `tests/adversarial/cli.rs` checks that
//! no printing macro of the standard library is left in `src/bin/`.

use std::io;

/// Exit code when an output pipe was closed: 128 + `SIGPIPE` (13).
pub const EXIT_PIPE: u8 = 141;

/// Ends the process after standard output failed with `e`.
pub fn stdout_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(EXIT_PIPE));
    }
    let _ = io::Write::write_fmt(
        &mut io::stderr().lock(),
        format_args!("error: writing to standard output: {e}\n"),
    );
    std::process::exit(1);
}

/// Ends the process after standard error failed with `e` (nothing can be
/// reported any more).
pub fn stderr_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(EXIT_PIPE));
    }
    std::process::exit(1);
}

/// `println!` that ends the process on a write error instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            $crate::cli::output::stdout_failed(&e)
        }
    }};
}

/// `eprint!` that ends the process on a write error instead of panicking.
macro_rules! err {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stderr().lock(), $($t)*) {
            $crate::cli::output::stderr_failed(&e)
        }
    }};
}

/// `eprintln!` that ends the process on a write error instead of panicking.
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stderr().lock(), $($t)*) {
            $crate::cli::output::stderr_failed(&e)
        }
    }};
}

pub(crate) use {err, errln, outln};
