//! Reading profiles JSON strictly and compactly: an object with a key twice
//! is an error (serde_json's `Value` keeps the last one silently, so a
//! profile could carry two `agent_id`s and be filed under the second), and
//! values are built straight into [`ProfileValue`]s with their strings
//! interned, never as a `serde_json::Value` tree first.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use ahash::AHashSet;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::{Entries, ProfileValue};

/// One copy of each distinct string (keys and values), and of the empty
/// array and object, shared by every profile that holds it.
pub(crate) struct Interner {
    strings: AHashSet<Arc<str>>,
    empty_array: Arc<[ProfileValue]>,
    empty_object: Entries,
}

impl Interner {
    pub(crate) fn new() -> Interner {
        Interner {
            strings: AHashSet::new(),
            empty_array: Arc::from(Vec::new()),
            empty_object: Arc::from(Vec::new()),
        }
    }

    pub(crate) fn str(&mut self, s: &str) -> Arc<str> {
        if let Some(held) = self.strings.get(s) {
            return Arc::clone(held);
        }
        let held: Arc<str> = Arc::from(s);
        self.strings.insert(Arc::clone(&held));
        held
    }

    /// An array of `items`. The buffer is shrunk before it is copied into
    /// its `Arc`, so that a long array is held at most twice at once.
    pub(crate) fn array(&self, mut items: Vec<ProfileValue>) -> ProfileValue {
        ProfileValue::Array(if items.is_empty() {
            Arc::clone(&self.empty_array)
        } else {
            items.shrink_to_fit();
            Arc::from(items)
        })
    }

    /// An object of `entries` (see [`Interner::array`]).
    pub(crate) fn object(&self, mut entries: Vec<(Arc<str>, ProfileValue)>) -> ProfileValue {
        ProfileValue::Object(if entries.is_empty() {
            Arc::clone(&self.empty_object)
        } else {
            entries.shrink_to_fit();
            Arc::from(entries)
        })
    }
}

thread_local! {
    /// The interner of the document being read on this thread (see [`Item`]).
    static INTERNER: RefCell<Option<Interner>> = const { RefCell::new(None) };
}

/// While alive, [`Item`]s read on this thread share one interner; dropped,
/// the interner goes (what the profiles hold stays).
pub(crate) struct Interning(());

impl Interning {
    pub(crate) fn start() -> Interning {
        INTERNER.with_borrow_mut(|i| *i = Some(Interner::new()));
        Interning(())
    }
}

impl Drop for Interning {
    fn drop(&mut self) {
        let _ = INTERNER.try_with(|i| i.borrow_mut().take());
    }
}

/// One JSON value of a profiles document, read strictly and compactly. A
/// `Deserialize` type (not a seed) so that serde_json's stream reader, which
/// reports where each value starts, can read it; it shares the interner of
/// the current [`Interning`] (a fresh one outside any).
pub(crate) struct Item(pub ProfileValue);

impl<'de> serde::Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        INTERNER
            .with_borrow_mut(|slot| match slot {
                Some(interner) => ValueSeed(interner).deserialize(d),
                None => ValueSeed(&mut Interner::new()).deserialize(d),
            })
            .map(Item)
    }
}

/// Reads one value with `self.0`'s strings.
pub(crate) struct ValueSeed<'i>(pub &'i mut Interner);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ProfileValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ProfileValue, D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads an object key with `self.0`'s strings.
struct KeySeed<'i>(&'i mut Interner);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Arc<str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Arc<str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, s: &str) -> Result<Arc<str>, E> {
        Ok(self.0.str(s))
    }
}

/// Objects up to this many keys are checked for a repeated key by a scan;
/// larger ones through a set (no quadratic work on a huge object).
const SCAN_KEYS: usize = 16;

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ProfileValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<ProfileValue, E> {
        Ok(ProfileValue::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<ProfileValue, E> {
        Ok(ProfileValue::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<ProfileValue, E> {
        Ok(ProfileValue::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<ProfileValue, E> {
        Ok(Number::from_f64(n).map_or(ProfileValue::Null, ProfileValue::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<ProfileValue, E> {
        Ok(ProfileValue::String(self.0.str(s)))
    }
    fn visit_unit<E>(self) -> Result<ProfileValue, E> {
        Ok(ProfileValue::Null)
    }
    fn visit_none<E>(self) -> Result<ProfileValue, E> {
        Ok(ProfileValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ProfileValue, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ProfileValue, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueSeed(&mut *self.0))? {
            items.push(v);
        }
        Ok(self.0.array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProfileValue, A::Error> {
        let mut entries: Vec<(Arc<str>, ProfileValue)> = Vec::new();
        // Keys are interned: one string, one pointer.
        let mut seen: AHashSet<*const u8> = AHashSet::new();
        while let Some(key) = map.next_key_seed(KeySeed(&mut *self.0))? {
            let at = Arc::as_ptr(&key).cast::<u8>();
            let repeated = if entries.len() < SCAN_KEYS {
                entries.iter().any(|(k, _)| Arc::ptr_eq(k, &key))
            } else {
                if seen.is_empty() {
                    seen.extend(entries.iter().map(|(k, _)| Arc::as_ptr(k).cast::<u8>()));
                }
                !seen.insert(at)
            };
            if repeated {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    crate::lang::diagnostic::printable(&key)
                )));
            }
            let value = map.next_value_seed(ValueSeed(&mut *self.0))?;
            entries.push((key, value));
        }
        Ok(self.0.object(entries))
    }
}
