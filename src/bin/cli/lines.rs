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

/// Reads one line (up to and including `\n`) onto the end of `line`,
/// keeping at most `cap` bytes of it; the rest of a longer line is read
/// through `skip` in `cap`-sized pieces and dropped.
fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    skip: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<LineRead> {
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
pub fn open_events(path: &Path) -> Option<(Box<dyn Read + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        // `Stdin`, not its lock: a reader thread may own it (it locks at
        // each read, of a large buffer).
        Some((Box::new(std::io::stdin()), None))
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
            self.line.clear();
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
                bad(self.line_no, &TooLong);
                continue;
            }
            match line_text(&self.line) {
                Ok(Some(_)) => break,
                Ok(None) => continue,
                Err(e) => bad(self.line_no, &e),
            }
        }
        let text = line_text(&self.line).ok().flatten().unwrap_or("");
        Ok(Some((self.line_no, self.bytes, text)))
    }
}

/// What is said of a line longer than [`MAX_LINE_BYTES`].
pub struct TooLong;

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "longer than {MAX_LINE_BYTES} bytes; skipped")
    }
}

/// What is said of a line that is not UTF-8: the offset of its first
/// invalid byte.
pub struct NotUtf8(usize);

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not UTF-8 text (byte {})", self.0)
    }
}

/// The text of a line as read (its line break included), trimmed; `None`
/// for a blank line (skipped, not bad).
///
/// # Errors
/// A line that is not UTF-8.
pub fn line_text(line: &[u8]) -> Result<Option<&str>, NotUtf8> {
    match std::str::from_utf8(line) {
        Ok(t) => {
            let t = t.trim();
            Ok((!t.is_empty()).then_some(t))
        }
        Err(e) => Err(NotUtf8(e.valid_up_to())),
    }
}

/// One line of a [`Batch`].
pub struct RawLine {
    /// Its number in the input.
    pub no: u64,
    /// Where it lies in [`Batch::text`] (its line break included).
    pub start: usize,
    /// The end of it in [`Batch::text`].
    pub end: usize,
    /// Longer than [`MAX_LINE_BYTES`]: skipped, nothing of it kept.
    pub too_long: bool,
}

/// Consecutive lines of an events input, read in one go.
#[derive(Default)]
pub struct Batch {
    /// The lines' bytes, one after the other.
    pub text: Vec<u8>,
    /// The lines, in input order.
    pub lines: Vec<RawLine>,
    /// Bytes of the input read through the end of the last line.
    pub bytes_read: u64,
    /// Reading the input failed after these lines: the number of the line
    /// that could not be read, and why. No batch follows.
    pub failed: Option<(u64, std::io::Error)>,
}

impl Batch {
    /// The bytes of `line` (its line break included).
    pub fn bytes_of(&self, line: &RawLine) -> &[u8] {
        self.text.get(line.start..line.end).unwrap_or(&[])
    }
}

/// The lines of an events input in batches of many lines: the same lines,
/// numbers and bad lines as [`EventLines`], read through a large buffer.
pub struct LineBatches<R> {
    reader: BufReader<R>,
    skip: Vec<u8>,
    line_no: u64,
    bytes: u64,
    done: bool,
}

impl<R: Read> LineBatches<R> {
    /// Lines of `input`, numbered from `before + 1`.
    pub fn starting_at(input: R, before: u64) -> Self {
        Self {
            reader: BufReader::with_capacity(1 << 20, input),
            skip: Vec::new(),
            line_no: before,
            bytes: 0,
            done: false,
        }
    }

    /// The number of the last line read.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Fills `batch` (emptied first) with the next lines: up to `max_lines`
    /// of them, and no more once `max_bytes` bytes are held. False when
    /// the input had nothing more (the batch is then empty); a read error
    /// ends the batch, is kept in [`Batch::failed`] and ends the input.
    pub fn next_batch(&mut self, batch: &mut Batch, max_lines: usize, max_bytes: usize) -> bool {
        batch.text.clear();
        batch.lines.clear();
        batch.failed = None;
        while !self.done && batch.lines.len() < max_lines && batch.text.len() < max_bytes {
            let start = batch.text.len();
            let read = read_line_capped(
                &mut self.reader,
                &mut batch.text,
                &mut self.skip,
                MAX_LINE_BYTES,
            );
            let read = match read {
                Ok(r) => r,
                Err(e) => {
                    batch.text.truncate(start);
                    batch.failed = Some((self.line_no + 1, e));
                    self.done = true;
                    break;
                }
            };
            if read.bytes == 0 {
                self.done = true;
                break;
            }
            self.bytes += read.bytes;
            self.line_no += 1;
            if read.too_long {
                batch.text.truncate(start);
            }
            batch.lines.push(RawLine {
                no: self.line_no,
                start,
                end: batch.text.len(),
                too_long: read.too_long,
            });
        }
        batch.bytes_read = self.bytes;
        !batch.lines.is_empty() || batch.failed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::{read_line_capped, Batch, EventLines, LineBatches, MAX_LINE_BYTES};

    /// What a replay sees of `input` through [`EventLines`]: each line with
    /// text, or what is wrong with a bad one, by line number; the last line
    /// number.
    fn one_by_one(input: &[u8]) -> (Vec<(u64, String)>, u64) {
        let mut lines = EventLines::starting_at(input, 7);
        let mut seen = Vec::new();
        loop {
            let mut bad = Vec::new();
            let next = lines
                .next_text(&mut |n, what| bad.push((n, format!("bad: {what}"))))
                .unwrap_or_else(|e| panic!("{e}"));
            seen.append(&mut bad);
            match next {
                Some((n, _, text)) => seen.push((n, text.to_string())),
                None => return (seen, lines.line_no()),
            }
        }
    }

    /// The same through [`LineBatches`] of at most `max_lines` lines.
    fn batched(input: &[u8], max_lines: usize) -> (Vec<(u64, String)>, u64) {
        let mut lines = LineBatches::starting_at(input, 7);
        let mut batch = Batch::default();
        let mut seen = Vec::new();
        while lines.next_batch(&mut batch, max_lines, 1 << 20) {
            assert!(batch.failed.is_none());
            assert!(batch.lines.len() <= max_lines);
            for raw in &batch.lines {
                if raw.too_long {
                    seen.push((raw.no, format!("bad: {}", super::TooLong)));
                    continue;
                }
                match super::line_text(batch.bytes_of(raw)) {
                    Ok(Some(t)) => seen.push((raw.no, t.to_string())),
                    Ok(None) => {}
                    Err(e) => seen.push((raw.no, format!("bad: {e}"))),
                }
            }
        }
        (seen, lines.line_no())
    }

    #[test]
    fn batches_hold_the_lines_one_by_one_reading_sees() {
        let mut input: Vec<u8> = Vec::new();
        input.extend_from_slice(b"{\"a\": 1}\n\n  \r\n\xff\xfe bad\n \t{\"b\": 2}  \r\n");
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        input.extend_from_slice(b"\n");
        input.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES));
        input.extend_from_slice(b"\nlast without a break");
        let want = one_by_one(&input);
        assert_eq!(want.0.len(), 6, "{:?}", &want.0[..2]);
        for max_lines in [1, 2, 3, 100] {
            assert!(
                batched(&input, max_lines) == want,
                "{max_lines} lines a batch"
            );
        }
        assert_eq!(batched(b"", 4), (vec![], 7));
    }

    /// Every line of `input` read with a cap of `cap` bytes: (kept text,
    /// bytes consumed, too long).
    fn lines(input: &[u8], cap: usize) -> Vec<(String, u64, bool)> {
        let mut reader = std::io::BufReader::with_capacity(4, input);
        let (mut line, mut skip) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        loop {
            line.clear();
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
