//! `riskgate fmt FILE... [--check]`, `riskgate fmt -`: rules in canonical
//! form, in place or from standard input to standard output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use riskgate::lang::diagnostic::printable;

use super::output::{err, errln};

/// Arguments of `riskgate fmt`.
#[derive(clap::Args)]
pub struct FmtArgs {
    /// Rules files, rewritten in place; `-` reads standard input and writes
    /// the canonical form to standard output.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not write: print a diff of what would change, list the files
    /// that are not canonical and exit 1 if there are some.
    #[arg(long)]
    pub check: bool,
}

/// The name standard input gets in diagnostics and diffs.
const STDIN_NAME: &str = "<stdin>";

/// Runs the formatter.
pub fn run(args: &FmtArgs, color: bool) -> ExitCode {
    if args.files.iter().filter(|f| is_stdin(f)).count() > 1 {
        errln!("error: `-` (standard input) may be given only once");
        return ExitCode::FAILURE;
    }
    let mut failed = false;
    let mut differ = Vec::new();
    for f in &args.files {
        let stdin = is_stdin(f);
        let name = if stdin {
            STDIN_NAME.to_string()
        } else {
            f.display().to_string()
        };
        let shown = printable(&name).into_owned();
        let text = match read(f, stdin) {
            Ok(t) => t,
            Err(e) => {
                errln!("error: {}", printable(&e));
                failed = true;
                continue;
            }
        };
        let formatted = match riskgate::lang::format::format_source(&name, &text) {
            Ok(formatted) => formatted,
            Err(d) => {
                err!("{}", d.render(color));
                failed = true;
                continue;
            }
        };
        if args.check {
            if formatted != text {
                print(&unified_diff(&shown, &text, &formatted));
                differ.push(shown);
            }
        } else if stdin {
            print(&formatted);
        } else if formatted != text {
            if let Err(e) = std::fs::write(f, formatted) {
                errln!("error: cannot write `{shown}`: {e}");
                failed = true;
            } else {
                errln!("formatted {shown}");
            }
        }
    }
    for name in &differ {
        super::output::outln!("{name}: not formatted");
    }
    if failed || !differ.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn is_stdin(f: &Path) -> bool {
    f.as_os_str() == "-"
}

/// The text of a rules file or of standard input, read no further than the
/// file-size limit (`/dev/zero` stops at once); a larger input's first bytes
/// get the parser's limit error.
fn read(f: &Path, stdin: bool) -> Result<String, String> {
    let limits = riskgate::Limits::default();
    if !stdin {
        return riskgate::limits::read_rules_file(f, &limits).map_err(|e| e.to_string());
    }
    let max = limits.max_file_bytes;
    let bytes = riskgate::limits::read_capped(std::io::stdin().lock(), max)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    if bytes.len() > max {
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "standard input is not UTF-8 (invalid bytes at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Writes `text` to standard output as is.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        super::output::stdout_failed(&e);
    }
}

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// Cells of the longest-common-subsequence table, at most: past it the
/// changed middle of a file is shown as one replacement (all its old lines
/// removed, all its new lines added), so a diff of two 4 MiB files costs
/// bounded memory and time.
const MAX_CELLS: usize = 1 << 22;

/// One line of an edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// The same in both, at (old, new) indexes.
    Keep(usize, usize),
    /// Only in the old text.
    Remove(usize),
    /// Only in the new text.
    Add(usize),
}

/// A unified diff (`--- name`, `+++ name (formatted)`, `@@ -a,b +c,d @@`
/// hunks with [`CONTEXT`] lines of context) from `old` to `new`; empty when
/// they are equal. Every line of either text is made printable, so no input
/// can drive the terminal (a carriage return shows as `␍`); a last line without a newline is marked with
/// `\ No newline at end of file`.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let edits = edit_script(&a, &b);
    let mut out = String::new();
    if edits.iter().all(|e| matches!(e, Edit::Keep(..))) {
        return out;
    }
    out.push_str(&format!("--- {name}\n+++ {name} (formatted)\n"));
    // Hunks: runs of changes closer than 2 * CONTEXT lines are merged.
    let changed: Vec<usize> = edits
        .iter()
        .enumerate()
        .filter(|(_, e)| !matches!(e, Edit::Keep(..)))
        .map(|(i, _)| i)
        .collect();
    // Lines of each text before each edit.
    let mut before = Vec::with_capacity(edits.len() + 1);
    let (mut x, mut y) = (0, 0);
    for e in &edits {
        before.push((x, y));
        match e {
            Edit::Keep(..) => {
                x += 1;
                y += 1;
            }
            Edit::Remove(_) => x += 1,
            Edit::Add(_) => y += 1,
        }
    }
    let mut i = 0;
    while let Some(&first) = changed.get(i) {
        let mut last = first;
        i += 1;
        while let Some(&next) = changed.get(i) {
            if next - last > 2 * CONTEXT {
                break;
            }
            last = next;
            i += 1;
        }
        let from = first.saturating_sub(CONTEXT);
        let to = (last + CONTEXT + 1).min(edits.len());
        let hunk = edits.get(from..to).unwrap_or(&[]);
        let (old_start, new_start) = before.get(from).copied().unwrap_or((0, 0));
        let old_len = hunk.iter().filter(|e| !matches!(e, Edit::Add(_))).count();
        let new_len = hunk
            .iter()
            .filter(|e| !matches!(e, Edit::Remove(_)))
            .count();
        // As diff(1): an empty side starts at the line before it.
        let start = |s: usize, len: usize| if len == 0 { s } else { s + 1 };
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            start(old_start, old_len),
            start(new_start, new_len)
        ));
        for e in hunk {
            let (mark, line) = match *e {
                Edit::Keep(x, _) => (' ', a.get(x)),
                Edit::Remove(x) => ('-', a.get(x)),
                Edit::Add(y) => ('+', b.get(y)),
            };
            let line = line.copied().unwrap_or("");
            let body = line.strip_suffix('\n').unwrap_or(line);
            out.push(mark);
            out.push_str(&printable(body));
            out.push('\n');
            if !line.ends_with('\n') {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// The edit script from `a` to `b`: common prefix and suffix kept, the
/// middle by longest common subsequence when its table fits in
/// [`MAX_CELLS`], else as one replacement.
fn edit_script(a: &[&str], b: &[&str]) -> Vec<Edit> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a
        .get(prefix..)
        .unwrap_or(&[])
        .iter()
        .rev()
        .zip(b.get(prefix..).unwrap_or(&[]).iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (
        a.get(prefix..a.len() - suffix).unwrap_or(&[]),
        b.get(prefix..b.len() - suffix).unwrap_or(&[]),
    );
    let mut edits: Vec<Edit> = (0..prefix).map(|i| Edit::Keep(i, i)).collect();
    let (n, m) = (a_mid.len(), b_mid.len());
    if n.saturating_mul(m) <= MAX_CELLS {
        // lcs[i * (m + 1) + j]: the longest common subsequence of a_mid[i..]
        // and b_mid[j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if a_mid[i] == b_mid[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a_mid[i] == b_mid[j] {
                edits.push(Edit::Keep(prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if j == m || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                edits.push(Edit::Remove(prefix + i));
                i += 1;
            } else {
                edits.push(Edit::Add(prefix + j));
                j += 1;
            }
        }
    } else {
        edits.extend((0..n).map(|i| Edit::Remove(prefix + i)));
        edits.extend((0..m).map(|j| Edit::Add(prefix + j)));
    }
    edits.extend((0..suffix).map(|k| Edit::Keep(a.len() - suffix + k, b.len() - suffix + k)));
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified_diff("x", "a\nb\n", "a\nb\n"), "");
        assert_eq!(unified_diff("x", "", ""), "");
    }

    #[test]
    fn a_changed_line_is_a_hunk_with_context() {
        let old = "1\n2\n3\n4\nold\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nnew\n6\n7\n8\n9\n";
        assert_eq!(
            unified_diff("f.rules", old, new),
            "--- f.rules\n+++ f.rules (formatted)\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-old\n+new\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn far_apart_changes_are_separate_hunks_and_insertions_count_right() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let new = old.replace("2\n3\n", "2\nx\n3\n").replace("18\n", "");
        let d = unified_diff("f", &old, &new);
        assert!(
            d.contains("@@ -1,5 +1,6 @@\n 1\n 2\n+x\n 3\n 4\n 5\n"),
            "{d}"
        );
        assert!(
            d.contains("@@ -15,6 +16,5 @@\n 15\n 16\n 17\n-18\n 19\n 20\n"),
            "{d}"
        );
    }

    #[test]
    fn a_missing_final_newline_is_marked_and_control_characters_are_shown() {
        let d = unified_diff("f", "a\u{1b}[2J", "a\u{1b}[2J\n");
        assert_eq!(
            d,
            "--- f\n+++ f (formatted)\n@@ -1,1 +1,1 @@\n-a\u{241b}[2J\n\\ No newline at end of file\n+a\u{241b}[2J\n"
        );
    }

    #[test]
    fn a_middle_too_large_for_the_table_is_one_replacement() {
        let old: String = (0..3000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..3000).map(|i| format!("b{i}\n")).collect();
        let edits = edit_script(
            &old.split_inclusive('\n').collect::<Vec<_>>(),
            &new.split_inclusive('\n').collect::<Vec<_>>(),
        );
        assert_eq!(edits.len(), 6000);
        assert_eq!(edits.first(), Some(&Edit::Remove(0)));
        assert_eq!(edits.get(3000), Some(&Edit::Add(0)));
    }
}
