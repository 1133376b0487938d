//! A byte scanner for the common shape of a `LogEvent` line, in front of the
//! serde pass.
//!
//! It captures exactly what the serde pass ([`super::Tee`]) captures, with the
//! same slot logic, but reads the bytes itself: strings without escapes,
//! numbers, literals, objects and arrays. It gives up (`None`, and the serde
//! pass reads the line instead) on anything it does not read exactly as
//! serde_json would: a backslash or a control character in a string, a
//! number serde_json could find out of range or would round its own way
//! where it is kept, deep nesting, and any syntax error — so every error
//! message still comes from serde_json, and every line it reads is one
//! serde_json accepts with the same values.
//!
//! Values kept whole in the `attrs` are handed to `serde_json` as the slice
//! they span, so they are the `Value`s the serde pass builds.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

use super::{find_key_in, node, At, Capture, Keep, Raw, Shape, EVENT_TYPE, ROOT};

/// Deeper nesting is left to serde_json (whose limit is 128).
const MAX_DEPTH: usize = 64;

/// Reads `line` into `cap`; the `attrs` kept as `keep` says, `None` to give up.
pub(super) fn read<'de>(line: &'de str, keep: Keep<'_>, cap: &mut Capture<'de>) -> Option<Value> {
    let mut scan = Scan {
        text: line,
        bytes: line.as_bytes(),
        at: 0,
        depth: 0,
    };
    scan.ws();
    let (value, raw) = scan.value(cap, At::Node(ROOT), keep)?;
    scan.ws();
    if scan.at != scan.bytes.len() {
        return None;
    }
    cap.hold_first(ROOT, raw);
    // The root is never `Keep::Nothing`: a value is always built.
    value
}

struct Scan<'de> {
    text: &'de str,
    bytes: &'de [u8],
    at: usize,
    depth: usize,
}

impl<'de> Scan<'de> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// JSON whitespace, as serde_json skips it.
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    /// A string without escapes or control characters, the opening quote next.
    fn string(&mut self) -> Option<&'de str> {
        self.eat(b'"')?;
        let start = self.at;
        let end = start + special(self.bytes.get(start..)?)?;
        // `special` stops at a quote, a backslash or a control character.
        if self.bytes.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        self.text.get(start..end)
    }

    /// Skips a number; `Some(true)` when it is a plain integer (no fraction or
    /// exponent). Gives up where serde_json could find it out of range.
    fn number(&mut self) -> Option<bool> {
        let digits = |s: &mut Self| {
            let from = s.at;
            while s.peek().is_some_and(|c| c.is_ascii_digit()) {
                s.at += 1;
            }
            s.at - from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let int = match self.peek() {
            Some(b'0') => {
                self.at += 1;
                1
            }
            Some(b'1'..=b'9') => digits(self),
            _ => return None,
        };
        let mut plain = true;
        let mut frac = 0;
        if self.peek() == Some(b'.') {
            self.at += 1;
            frac = digits(self);
            if frac == 0 {
                return None;
            }
            plain = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            // At most two exponent digits: far from the ends of f64's range.
            if !(1..=2).contains(&digits(self)) {
                return None;
            }
            plain = false;
        }
        // Far from overflowing f64 whatever the exponent.
        if int + frac > 200 {
            return None;
        }
        Some(plain)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// Skips one value.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.open()?;
                if self.first(b'}')? {
                    loop {
                        self.string()?;
                        self.colon()?;
                        self.skip()?;
                        if !self.next(b'}')? {
                            break;
                        }
                    }
                }
                self.close();
                Some(())
            }
            b'[' => {
                self.open()?;
                if self.first(b']')? {
                    loop {
                        self.skip()?;
                        if !self.next(b']')? {
                            break;
                        }
                    }
                }
                self.close();
                Some(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// Enters a container (its opening bracket next).
    fn open(&mut self) -> Option<()> {
        self.depth += 1;
        self.at += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn close(&mut self) {
        self.depth -= 1;
    }

    /// After an opening bracket: `Some(true)` when an element follows,
    /// `Some(false)` when `end` closes the container at once.
    fn first(&mut self, end: u8) -> Option<bool> {
        self.ws();
        if self.peek()? == end {
            self.at += 1;
            return Some(false);
        }
        Some(true)
    }

    /// After an element: `Some(true)` after a comma (another element
    /// follows), `Some(false)` after `end`.
    fn next(&mut self, end: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.at += 1;
                self.ws();
                Some(true)
            }
            c if c == end => {
                self.at += 1;
                Some(false)
            }
            _ => None,
        }
    }

    fn colon(&mut self) -> Option<()> {
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// The `Value` serde_json reads from the bytes `from..self.at`.
    fn whole(&self, from: usize) -> Option<Value> {
        serde_json::from_str(self.text.get(from..self.at)?).ok()
    }

    /// One value, captured as `at` says and kept as `keep` says: what
    /// [`super::Tee`] returns for it.
    fn value(
        &mut self,
        cap: &mut Capture<'de>,
        at: At,
        keep: Keep<'_>,
    ) -> Option<(Option<Value>, Raw<'de>)> {
        if matches!((at, keep), (At::Skip, Keep::Nothing)) {
            self.skip()?;
            return Some((None, Raw::Null));
        }
        let from = self.at;
        let (value, raw) = match self.peek()? {
            b'"' => {
                let s = self.string()?;
                let value = keep.wants().then(|| Value::String(s.to_owned()));
                (value, Raw::Str(Cow::Borrowed(s)))
            }
            b'{' => {
                // A value kept whole is built by serde_json from its slice.
                let part = match keep {
                    Keep::Part(_) => keep,
                    Keep::Nothing | Keep::All => Keep::Nothing,
                };
                let map = self.object(cap, at, part)?;
                let value = match keep {
                    Keep::Nothing => None,
                    Keep::Part(_) => map.map(Value::Object),
                    Keep::All => Some(self.whole(from)?),
                };
                (value, Raw::Object)
            }
            b'[' => {
                let items = self.array(cap, at)?;
                let value = if keep.wants() {
                    Some(self.whole(from)?)
                } else {
                    None
                };
                (value, Raw::Array(items))
            }
            b't' => {
                self.literal(b"true")?;
                (keep.wants().then_some(Value::Bool(true)), Raw::Bool)
            }
            b'f' => {
                self.literal(b"false")?;
                (keep.wants().then_some(Value::Bool(false)), Raw::Bool)
            }
            b'n' => {
                self.literal(b"null")?;
                (keep.wants().then_some(Value::Null), Raw::Null)
            }
            _ => {
                let n = self.num()?;
                (keep.wants().then(|| Value::Number(n.clone())), Raw::Num(n))
            }
        };
        Some((value, raw))
    }

    /// [`Scan::value`] for a value read (`at` is a node or an item) and not
    /// kept: its raw, what is read below it captured.
    fn raw(&mut self, cap: &mut Capture<'de>, at: At) -> Option<Raw<'de>> {
        Some(match self.peek()? {
            b'"' => Raw::Str(Cow::Borrowed(self.string()?)),
            b'{' => {
                self.object(cap, at, Keep::Nothing)?;
                Raw::Object
            }
            b'[' => Raw::Array(self.array(cap, at)?),
            b't' => {
                self.literal(b"true")?;
                Raw::Bool
            }
            b'f' => {
                self.literal(b"false")?;
                Raw::Bool
            }
            b'n' => {
                self.literal(b"null")?;
                Raw::Null
            }
            _ => Raw::Num(self.num()?),
        })
    }

    /// A number read, as serde_json reads it.
    fn num(&mut self) -> Option<Number> {
        let from = self.at;
        let plain = self.number()?;
        let text = self.text.get(from..self.at)?;
        match plain.then(|| integer(text)).flatten() {
            Some(n) => Some(n),
            None => serde_json::from_str::<Number>(text).ok(),
        }
    }

    /// An object: its children read as [`super::Tee::visit_map`] reads them;
    /// the map of the keys `keep` wants when it is a [`Keep::Part`].
    fn object(
        &mut self,
        cap: &mut Capture<'de>,
        at: At,
        keep: Keep<'_>,
    ) -> Option<Option<Map<String, Value>>> {
        // The node whose children the keys may be.
        let parent = match at {
            At::Node(n) if node(n).is_some_and(|d| d.shape == Shape::Obj) => Some(n),
            _ => None,
        };
        let root = matches!(at, At::Node(ROOT));
        let mut values = keep.wants().then(Map::new);
        self.open()?;
        if self.first(b'}')? {
            loop {
                let key_at = self.at + 1;
                let key = self.string()?;
                self.colon()?;
                let mut child = At::Skip;
                // The key's bytes and the rest of the line after them.
                let src = self.bytes.get(key_at..).unwrap_or(&[]);
                if let Some((c, exact)) = parent.and_then(|p| find_key_in(p, src, key.len())) {
                    if root && c == EVENT_TYPE {
                        cap.event_type_key = true;
                    }
                    if cap.claim(c, &Cow::Borrowed(key), exact) {
                        child = At::Node(c);
                    }
                }
                match (child, keep.child(key)) {
                    (At::Skip, Keep::Nothing) => self.skip()?,
                    // Read, not kept: the common case, stored in place.
                    (At::Node(c), Keep::Nothing) => {
                        let raw = self.raw(cap, At::Node(c))?;
                        cap.set_raw(c, raw);
                    }
                    (child, keep) => {
                        let (value, raw) = self.value(cap, child, keep)?;
                        if let At::Node(c) = child {
                            cap.set_raw(c, raw);
                        }
                        if let (Some(values), Some(v)) = (&mut values, value) {
                            values.insert(key.to_owned(), v);
                        }
                    }
                }
                if !self.next(b'}')? {
                    break;
                }
            }
        }
        self.close();
        Some(values)
    }

    /// An array: its items read as [`super::Tee::visit_seq`] reads them.
    fn array(&mut self, cap: &mut Capture<'de>, at: At) -> Option<Vec<Raw<'de>>> {
        let shape = match at {
            At::Node(n) => node(n).map(|d| d.shape),
            At::Skip | At::Item => None,
        };
        let first_child = match at {
            At::Node(n) if shape == Some(Shape::First) => {
                node(n).and_then(|d| d.children.first().copied())
            }
            _ => None,
        };
        let mut items = Vec::new();
        let mut index = 0usize;
        self.open()?;
        if self.first(b']')? {
            loop {
                let item = match (shape, first_child) {
                    (Some(Shape::Leaf), _) => At::Item,
                    (Some(Shape::First), Some(c)) if index == 0 => At::Node(c),
                    _ => At::Skip,
                };
                match item {
                    At::Item => items.push(self.raw(cap, At::Item)?),
                    At::Node(c) => {
                        let raw = self.raw(cap, At::Node(c))?;
                        cap.hold_first(c, raw);
                    }
                    At::Skip => self.skip()?,
                }
                index += 1;
                if !self.next(b']')? {
                    break;
                }
            }
        }
        self.close();
        Some(items)
    }
}

/// A plain integer as serde_json stores it: `u64` when not negative, `i64`
/// when negative; `None` where serde_json does something else (`-0` and
/// integers out of range are `f64`s).
fn integer(text: &str) -> Option<Number> {
    match text.strip_prefix('-') {
        None => text.parse::<u64>().ok().map(Number::from),
        Some(digits) => {
            let n = digits.parse::<i64>().ok().filter(|&n| n > 0)?;
            Some(Number::from(-n))
        }
    }
}

/// The offset of the first byte of `s` that is a quote, a backslash or a
/// control character (`None` if there is none), eight bytes at a time.
fn special(s: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTE: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASH: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const SPACE: u64 = u64::from_ne_bytes([0x20; 8]);
    let mut at = 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // The classic "has a zero byte" test, for `x ^ QUOTE`, `x ^ BACKSLASH`
        // and bytes below 0x20: its lowest set bit marks the first match.
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let hits = zero(x ^ QUOTE) | zero(x ^ BACKSLASH) | (x.wrapping_sub(SPACE) & !x & HIGH);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_character() {
        let cases: &[(&[u8], Option<usize>)] = &[
            (b"", None),
            (b"abc", None),
            (b"abcdefghijklmnop", None),
            (b"abc\"", Some(3)),
            (b"abcdefgh\"", Some(8)),
            (b"abcdefg\\\"", Some(7)),
            (b"ab\x1fcd\"", Some(2)),
            (b"\x7f\x80\xff\"", Some(3)),
            ("caf\u{e9}\"x".as_bytes(), Some(5)),
            (b"\x00", Some(0)),
            (b"aaaaaaa \x20\x21\x22", Some(10)),
        ];
        for (s, want) in cases {
            assert_eq!(special(s), *want, "{s:?}");
        }
        // Every byte value at every position of a 20-byte run.
        for b in 0..=255u8 {
            for pos in 0..20 {
                let mut s = vec![b'a'; 20];
                s[pos] = b;
                let want = (b == b'"' || b == b'\\' || b < 0x20).then_some(pos);
                assert_eq!(special(&s), want, "byte {b} at {pos}");
            }
        }
    }

    #[test]
    fn integers_are_the_numbers_serde_json_makes() {
        for text in [
            "0",
            "7",
            "-7",
            "-0",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775807",
            "-9223372036854775808",
            "-9223372036854775809",
        ] {
            let want: Number = serde_json::from_str(text).expect("a JSON number");
            if let Some(n) = integer(text) {
                assert_eq!(n, want, "{text}");
            }
        }
        assert_eq!(integer("-0"), None);
        assert_eq!(integer("18446744073709551616"), None);
    }
}
