//! A byte scanner for the common shape of a `LogEvent` line, in front of the
//! serde pass.
//!
//! It captures what the serde pass ([`super::Tee`]) captures, with the same
//! slot logic, but reads the bytes itself: strings without escapes, numbers,
//! literals, objects and arrays. It gives up (`None`, and the serde pass
//! reads the line instead) on anything it does not read exactly as
//! serde_json would: a backslash or a control character in a string, a
//! number serde_json could find out of range or would round its own way
//! where it is kept, deep nesting, and any syntax error — so every error
//! message still comes from serde_json, and every line it reads is one
//! serde_json accepts with the same values.
//!
//! What it captures is where each value is in the line ([`Spans`]: a kind
//! and two offsets a node), not the value: strings are borrowed from the
//! line and numbers converted only when [`super::build`] reads them, and
//! nothing is allocated or dropped for the values that are read but not
//! kept. Values kept whole in the `attrs` are handed to `serde_json` as the
//! slice they span, so they are the `Value`s the serde pass builds.

use serde_json::{Map, Number, Value};

use super::{
    find_key_in, map_is_ordered, node, At, Captured, Got, Held, Items, Keep, Num, Shape, Text,
    EVENT_TYPE, NODES, ROOT,
};

/// Deeper nesting is left to serde_json (whose limit is 128).
const MAX_DEPTH: usize = 64;

/// The kind of a captured value.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Kind {
    #[default]
    Null,
    Bool,
    Num,
    Str,
    Array,
    Object,
}

/// Where the value of a node is in the line.
#[derive(Debug, Default, Clone, Copy)]
struct Span<'de> {
    held: Held,
    kind: Kind,
    /// The value's bytes: a string's without its quotes, a number's text, an
    /// array's with its brackets (empty for the other kinds).
    text: &'de str,
    /// For [`Held::Folded`]: the key, without quotes.
    key: &'de str,
}

/// What the scanner captured of a line: [`super::Capture`] as places in it.
pub(super) struct Spans<'de> {
    line: &'de str,
    slots: [Span<'de>; NODES],
    /// The top-level object has a key `eventType` in some case.
    event_type_key: bool,
    /// `serde_json::Map` iterates in insertion order (`preserve_order`).
    ordered: bool,
}

impl<'de> Spans<'de> {
    pub(super) fn new(line: &'de str) -> Self {
        Spans {
            line,
            slots: [Span::default(); NODES],
            event_type_key: false,
            ordered: map_is_ordered(),
        }
    }

    /// [`super::Capture::claim`] for the key `key`.
    fn claim(&mut self, n: usize, key: &'de str, exact: bool) -> bool {
        let (Some(def), Some(slot)) = (node(n), self.slots.get(n)) else {
            return false;
        };
        let take = match slot.held {
            Held::No => true,
            _ if exact => true,
            Held::Exact => false,
            Held::Folded if self.ordered => key == slot.key,
            Held::Folded => key <= slot.key,
        };
        if !take {
            return false;
        }
        // A slot never held has nothing below it: only a replaced key's
        // subtree needs clearing.
        if slot.held != Held::No {
            if let Some(subtree) = self.slots.get_mut(n..def.end) {
                subtree.fill(Span::default());
            }
        }
        if let Some(slot) = self.slots.get_mut(n) {
            *slot = Span {
                held: if exact { Held::Exact } else { Held::Folded },
                key,
                ..Span::default()
            };
        }
        true
    }

    /// Records the value of node `n` (held or not).
    fn set(&mut self, n: usize, kind: Kind, text: &'de str) {
        if let Some(slot) = self.slots.get_mut(n) {
            slot.kind = kind;
            slot.text = text;
        }
    }

    /// Holds node `n` as by an exact key (the root, the first element of an array).
    fn hold(&mut self, n: usize) {
        if let Some(slot) = self.slots.get_mut(n) {
            slot.held = Held::Exact;
        }
    }
}

impl<'de> Captured<'de> for Spans<'de> {
    #[inline(always)]
    fn got(&self, n: usize) -> Option<Got<'_, 'de>> {
        let s = self.slots.get(n).filter(|s| s.held != Held::No)?;
        Some(match s.kind {
            Kind::Null => Got::Null,
            Kind::Bool => Got::Bool,
            Kind::Num => Got::Num(Num::Line(s.text)),
            Kind::Str => Got::Str(Text::Line(s.text)),
            Kind::Array => Got::Array(Items::Line(s.text)),
            Kind::Object => Got::Object,
        })
    }

    fn has_event_type_key(&self) -> bool {
        self.event_type_key
    }
}

/// Reads the line of `spans` into it; the `attrs` kept as `keep` says,
/// `None` to give up.
pub(super) fn read(spans: &mut Spans<'_>, keep: Keep<'_>) -> Option<Value> {
    let mut scan = Scan::new(spans.line);
    scan.ws();
    let value = scan.kept(spans, At::Node(ROOT), keep)?;
    scan.ws();
    if scan.at != scan.bytes.len() {
        return None;
    }
    spans.hold(ROOT);
    // The root is never `Keep::Nothing`: a value is always built.
    value
}

/// The items of an array the scanner read (its text, brackets included),
/// for [`super::build`]'s scope lists.
pub(super) fn items<'c, 'de>(text: &'de str) -> Vec<Got<'c, 'de>> {
    let mut out = Vec::new();
    let mut scan = Scan::new(text);
    // The text was read once already: this does not fail.
    let _ = scan.items(&mut out);
    out
}

/// A number as serde_json makes it from its text (checked by [`Scan::number`]).
pub(super) fn number(text: &str) -> Option<Number> {
    let plain = !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    match plain.then(|| integer(text)).flatten() {
        Some(n) => Some(n),
        None => serde_json::from_str::<Number>(text).ok(),
    }
}

struct Scan<'de> {
    text: &'de str,
    bytes: &'de [u8],
    at: usize,
    depth: usize,
}

impl<'de> Scan<'de> {
    fn new(text: &'de str) -> Self {
        Scan {
            text,
            bytes: text.as_bytes(),
            at: 0,
            depth: 0,
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// JSON whitespace, as serde_json skips it.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    #[inline]
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    /// A string without escapes or control characters, the opening quote
    /// next: the offsets of its first byte and of its closing quote.
    #[inline]
    fn string(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.at;
        let end = start + special(self.bytes.get(start..)?)?;
        // `special` stops at a quote, a backslash or a control character.
        if self.bytes.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        Some((start, end))
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

    #[inline]
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
    #[inline]
    fn open(&mut self) -> Option<()> {
        self.depth += 1;
        self.at += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    #[inline]
    fn close(&mut self) {
        self.depth -= 1;
    }

    /// After an opening bracket: `Some(true)` when an element follows,
    /// `Some(false)` when `end` closes the container at once.
    #[inline]
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
    #[inline]
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

    #[inline]
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

    /// One value read and not kept: captured into the slot of node `c`.
    ///
    /// (Values are captured in place, and the kept ones returned by
    /// [`Scan::kept`]: a `Value` returned through every call would be copied
    /// through memory just after being written, which stalls.)
    fn capture(&mut self, spans: &mut Spans<'de>, c: usize) -> Option<()> {
        let from = self.at;
        let (kind, text) = match self.peek()? {
            b'"' => {
                let (start, end) = self.string()?;
                (Kind::Str, self.text.get(start..end)?)
            }
            b'{' => {
                self.object(spans, At::Node(c), Keep::Nothing)?;
                (Kind::Object, "")
            }
            b'[' => {
                self.array(spans, At::Node(c))?;
                (Kind::Array, self.text.get(from..self.at)?)
            }
            b't' => {
                self.literal(b"true")?;
                (Kind::Bool, "")
            }
            b'f' => {
                self.literal(b"false")?;
                (Kind::Bool, "")
            }
            b'n' => {
                self.literal(b"null")?;
                (Kind::Null, "")
            }
            _ => {
                self.number()?;
                (Kind::Num, self.text.get(from..self.at)?)
            }
        };
        spans.set(c, kind, text);
        Some(())
    }

    /// One value kept as `keep` says (which wants something), and captured
    /// as `at` says: the `Value` kept.
    fn kept(&mut self, spans: &mut Spans<'de>, at: At, keep: Keep<'_>) -> Option<Option<Value>> {
        let from = self.at;
        let value = match self.peek()? {
            b'{' => {
                // A value kept whole is built by serde_json from its slice.
                let part = match keep {
                    Keep::Part(_) => keep,
                    Keep::Nothing | Keep::All => Keep::Nothing,
                };
                let map = self.object(spans, at, part)?;
                if let At::Node(c) = at {
                    spans.set(c, Kind::Object, "");
                }
                match keep {
                    Keep::Nothing => None,
                    Keep::Part(_) => map.map(Value::Object),
                    Keep::All => Some(self.whole(from)?),
                }
            }
            _ => {
                match at {
                    At::Node(c) => self.capture(spans, c)?,
                    At::Skip | At::Item => self.skip()?,
                }
                // The bytes read, as serde_json reads them.
                let text = self.text.get(from..self.at)?;
                match self.bytes.get(from)? {
                    b'"' => Some(Value::String(text.get(1..text.len() - 1)?.to_owned())),
                    b'[' => Some(self.whole(from)?),
                    b't' => Some(Value::Bool(true)),
                    b'f' => Some(Value::Bool(false)),
                    b'n' => Some(Value::Null),
                    _ => Some(Value::Number(number(text)?)),
                }
            }
        };
        Some(value.filter(|_| keep.wants()))
    }

    /// An object: its children read as the serde pass reads them (`Tee::visit_map`);
    /// the map of the keys `keep` wants when it is a [`Keep::Part`].
    fn object(
        &mut self,
        spans: &mut Spans<'de>,
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
                let (key_start, key_end) = self.string()?;
                self.colon()?;
                let mut child = At::Skip;
                if let Some(p) = parent {
                    // The key's bytes and the rest of the line after them.
                    let src = self.bytes.get(key_start..).unwrap_or(&[]);
                    if let Some((c, exact)) = find_key_in(p, src, key_end - key_start) {
                        if root && c == EVENT_TYPE {
                            spans.event_type_key = true;
                        }
                        if spans.claim(c, self.text.get(key_start..key_end)?, exact) {
                            child = At::Node(c);
                        }
                    }
                }
                let keep = match keep {
                    Keep::Part(_) => keep.child(self.text.get(key_start..key_end)?),
                    other => other,
                };
                match (child, keep) {
                    (At::Skip, Keep::Nothing) => self.skip()?,
                    (At::Node(c), Keep::Nothing) => self.capture(spans, c)?,
                    (child, keep) => {
                        let value = self.kept(spans, child, keep)?;
                        if let (Some(values), Some(v)) = (&mut values, value) {
                            values.insert(self.text.get(key_start..key_end)?.to_owned(), v);
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

    /// An array: its items read as the serde pass reads them (`Tee::visit_seq`; a
    /// leaf's items are read again by [`items`] when they are used).
    fn array(&mut self, spans: &mut Spans<'de>, at: At) -> Option<()> {
        let first_child = match at {
            At::Node(n) => node(n)
                .filter(|d| d.shape == Shape::First)
                .and_then(|d| d.children.first().copied()),
            At::Skip | At::Item => None,
        };
        self.open()?;
        if self.first(b']')? {
            if let Some(c) = first_child {
                self.capture(spans, c)?;
                spans.hold(c);
            } else {
                self.skip()?;
            }
            while self.next(b']')? {
                self.skip()?;
            }
        }
        self.close();
        Some(())
    }

    /// The items of an array, the opening bracket next.
    fn items<'c>(&mut self, out: &mut Vec<Got<'c, 'de>>) -> Option<()> {
        if self.peek()? != b'[' {
            return None;
        }
        self.open()?;
        if self.first(b']')? {
            loop {
                let from = self.at;
                let got = match self.peek()? {
                    b'"' => {
                        let (start, end) = self.string()?;
                        Got::Str(Text::Line(self.text.get(start..end)?))
                    }
                    b'{' => {
                        self.skip()?;
                        Got::Object
                    }
                    b'[' => {
                        self.skip()?;
                        Got::Array(Items::Line(self.text.get(from..self.at)?))
                    }
                    b't' | b'f' => {
                        self.skip()?;
                        Got::Bool
                    }
                    b'n' => {
                        self.skip()?;
                        Got::Null
                    }
                    _ => {
                        self.number()?;
                        Got::Num(Num::Line(self.text.get(from..self.at)?))
                    }
                };
                out.push(got);
                if !self.next(b']')? {
                    break;
                }
            }
        }
        self.close();
        Some(())
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
