//! The CLI's subcommands. The library never prints; this module does.

use std::path::PathBuf;
use std::process::ExitCode;

use riskgate::RuleSet;

pub mod replay;
pub mod test;

/// Loads a rule set, printing its diagnostics (errors, or warnings) to stderr.
pub fn load_rules(files: &[PathBuf], color: bool) -> Option<RuleSet> {
    match RuleSet::from_files(files) {
        Ok(set) => {
            if !set.warnings().items.is_empty() {
                eprint!("{}", set.warnings().render(color));
            }
            Some(set)
        }
        Err(d) => {
            eprint!("{}", d.render(color));
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
                let names: Vec<String> = set.iter().map(|p| p.display().to_string()).collect();
                eprintln!("ok: {n} rule{} in {}", plural(n), names.join(", "));
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
        // Read no further than the file-size limit (`/dev/zero` stops at
        // once); a larger file's first bytes get the parser's limit error.
        let max = riskgate::Limits::default().max_file_bytes;
        let read = std::fs::File::open(f).and_then(|h| riskgate::limits::read_capped(h, max));
        let text = match read {
            Ok(bytes) if bytes.len() > max => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    eprintln!("error: `{name}` is not UTF-8 text (byte {at})");
                    failed = true;
                    continue;
                }
            },
            Err(e) => {
                eprintln!("error: cannot read `{name}`: {e}");
                failed = true;
                continue;
            }
        };
        match riskgate::format::format_source(&name, &text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if check {
                    differ.push(name);
                } else if let Err(e) = std::fs::write(f, formatted) {
                    eprintln!("error: cannot write `{name}`: {e}");
                    failed = true;
                } else {
                    eprintln!("formatted {name}");
                }
            }
            Err(d) => {
                eprint!("{}", d.render(color));
                failed = true;
            }
        }
    }
    for name in &differ {
        println!("{name}: not formatted");
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
