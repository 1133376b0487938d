//! Reading event lines: the events file (or standard input), one line at a
//! time, each at most 16 MiB; a longer line, a line that is not UTF-8 text
//! and an empty line are skipped (the first two reported as bad lines).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::output::errln;
use riskgate::lang::diagnostic::printable;

/// Longest event line read (16 MiB): a longer one (a log without line
/// breaks, `/dev/zero`) is skipped as a bad line without being held in
/// memory.
const MAX_LINE_BYTES: usize = 16 << 20;

/// What [`read_line_capped`] read.
struct LineRead {
    /// Bytes consumed, the line break included (0 at the end).
    bytes: u64,
    /// The line was longer than the cap: `line` holds only its start.
    too_long: bool,
}

/// Reads one line (up to and including `\n`) into `line`, keeping at most
/// `cap` bytes of it; the rest of a longer line is read through `skip` in
/// `cap`-sized pieces and dropped.
fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    skip: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<LineRead> {
    line.clear();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX);
    let n = reader.by_ref().take(limit).read_until(b'\n', line)?;
    let mut read = LineRead {
        bytes: n as u64,
        too_long: false,
    };
    if n < cap || line.last() == Some(&b'\n') {
        return Ok(read);
    }
    // `cap` bytes and no line break yet: more than `cap` unless the line
    // ends right here (at the end of the input or with its line break).
    let mut first = true;
    loop {
        skip.clear();
        let m = reader.by_ref().take(limit).read_until(b'\n', skip)?;
        if m == 0 {
            return Ok(read);
        }
        if first && skip.as_slice() == b"\n" {
            line.push(b'\n');
            read.bytes += 1;
            return Ok(read);
        }
        first = false;
        read.too_long = true;
        read.bytes += m as u64;
        if skip.last() == Some(&b'\n') {
            return Ok(read);
        }
    }
}

/// Opens an events file, or standard input for `-`: the reader and its
/// size if known. Prints the error and returns `None` when it cannot.
pub fn open_events(path: &Path) -> Option<(Box<dyn Read>, Option<u64>)> {
    if path.as_os_str() == "-" {
        Some((Box::new(std::io::stdin().lock()), None))
    } else {
        let name = printable(&path.display().to_string()).into_owned();
        match std::fs::File::open(path) {
            Ok(f) => match f.metadata() {
                // A directory opens on Unix but cannot be read: an I/O
                // error of the whole input, not a bad line.
                Ok(m) if m.is_dir() => {
                    errln!("error: cannot read `{name}`: it is a directory");
                    None
                }
                m => Some((Box::new(f), m.ok().map(|m| m.len()))),
            },
            Err(e) => {
                errln!("error: cannot open `{name}`: {e}");
                None
            }
        }
    }
}

/// The lines of an events input.
pub struct EventLines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    skip: Vec<u8>,
    line_no: u64,
    bytes: u64,
}

impl<R: Read> EventLines<R> {
    /// Lines of `input`, numbered from `before + 1` (a replay continuing
    /// from a snapshot taken after line `before`).
    pub fn starting_at(input: R, before: u64) -> Self {
        Self {
            reader: BufReader::with_capacity(1 << 16, input),
            line: Vec::new(),
            skip: Vec::new(),
            line_no: before,
            bytes: 0,
        }
    }

    /// The number of the last line read.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line with text, trimmed, its number and the bytes read so
    /// far (that line included); bad lines are
    /// passed to `bad` (with their number) and skipped. `None` at the end.
    ///
    /// # Errors
    /// When reading the input fails.
    pub fn next_text(
        &mut self,
        bad: &mut dyn FnMut(u64, &dyn std::fmt::Display),
    ) -> std::io::Result<Option<(u64, u64, &str)>> {
        loop {
            let read = read_line_capped(
                &mut self.reader,
                &mut self.line,
                &mut self.skip,
                MAX_LINE_BYTES,
            )?;
            if read.bytes == 0 {
                return Ok(None);
            }
            self.bytes += read.bytes;
            self.line_no += 1;
            if read.too_long {
                bad(
                    self.line_no,
                    &format_args!("longer than {MAX_LINE_BYTES} bytes; skipped"),
                );
                continue;
            }
            match std::str::from_utf8(&self.line) {
                Ok(t) if t.trim().is_empty() => continue,
                Ok(_) => break,
                Err(e) => {
                    let at = e.valid_up_to();
                    bad(self.line_no, &format_args!("not UTF-8 text (byte {at})"));
                }
            }
        }
        let text = std::str::from_utf8(&self.line).unwrap_or("").trim();
        Ok(Some((self.line_no, self.bytes, text)))
    }
}

#[cfg(test)]
mod tests {
    use super::read_line_capped;

    /// Every line of `input` read with a cap of `cap` bytes: (kept text,
    /// bytes consumed, too long).
    fn lines(input: &[u8], cap: usize) -> Vec<(String, u64, bool)> {
        let mut reader = std::io::BufReader::with_capacity(4, input);
        let (mut line, mut skip) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        loop {
            let r = read_line_capped(&mut reader, &mut line, &mut skip, cap)
                .unwrap_or_else(|e| panic!("{e}"));
            if r.bytes == 0 {
                return out;
            }
            out.push((
                String::from_utf8_lossy(&line).into_owned(),
                r.bytes,
                r.too_long,
            ));
        }
    }

    #[test]
    fn lines_up_to_the_cap_are_whole_and_longer_ones_are_skipped() {
        let got = lines(b"abc\nabcd\nabcde\nabcdefghijk\nab\nabcde", 4);
        let want = [
            ("abc\n", 4, false),
            // Exactly the cap, then its line break: whole.
            ("abcd\n", 5, false),
            ("abcd", 6, true),
            ("abcd", 12, true),
            ("ab\n", 3, false),
            // Past the cap at the end of the input, without a line break.
            ("abcd", 5, true),
        ];
        let want: Vec<(String, u64, bool)> = want
            .iter()
            .map(|(t, n, l)| (t.to_string(), *n, *l))
            .collect();
        assert_eq!(got, want);
        // Exactly the cap at the end of the input: whole.
        assert_eq!(lines(b"abcd", 4), [("abcd".to_string(), 4, false)]);
        assert_eq!(lines(b"", 4), []);
    }
}
