//! Reading an event's JSON values by compiled paths ([`Seg`]s: keys matched
//! ignoring ASCII case, indexes negative from the end), and decoding a
//! string that holds JSON within [`JsonLimits`].
//!
//! Paths are compiled when the rules are checked; nothing here parses a
//! path.

use serde_json::Value;

use crate::compile::program::{JsonLimits, Seg};
use crate::input::event::get_ci;

/// The element of `items` at `i` (negative: from the end); `None` out of range.
///
/// ```
/// use riskgate::input::json_path::element;
/// let items = [1, 2, 3];
/// assert_eq!(element(&items, 0), Some(&1));
/// assert_eq!(element(&items, -1), Some(&3));
/// assert_eq!(element(&items, 3), None);
/// assert_eq!(element(&items, -4), None);
/// ```
pub fn element<T>(items: &[T], i: i64) -> Option<&T> {
    let at = if i < 0 {
        let back = usize::try_from(i.unsigned_abs()).ok()?;
        items.len().checked_sub(back)?
    } else {
        usize::try_from(i).ok()?
    };
    items.get(at)
}

/// One step: a key of an object, an index of an array.
fn step<'v>(v: &'v Value, seg: &Seg) -> Option<&'v Value> {
    match (v, seg) {
        (Value::Object(o), Seg::Key(k)) => get_ci(o, k),
        (Value::Array(items), Seg::Index(i)) => element(items, *i),
        _ => None,
    }
}

/// Follows `path` from `v`: keys through objects, indexes through arrays
/// (a scalar read; a key on an array is absent).
///
/// ```
/// use riskgate::compile::program::Seg;
/// use riskgate::input::json_path::scalar_path;
/// let v = serde_json::json!({"target": [{"alternateId": "a"}, {"alternateId": "b"}]});
/// let path = [Seg::Key("TARGET".into()), Seg::Index(-1), Seg::Key("alternateId".into())];
/// assert_eq!(scalar_path(&v, &path), Some(&serde_json::json!("b")));
/// ```
pub fn scalar_path<'v>(mut v: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    for seg in path {
        v = step(v, seg)?;
    }
    Some(v)
}

/// Calls `f` for every value at `path`, flattening arrays met on the way
/// (where a key meets them) and at the end; an index picks one element.
/// Stops when `f` returns true, and returns whether it did.
pub fn any_at_path(v: &Value, path: &[Seg], f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match (v, path.split_first()) {
        (Value::Array(items), Some((Seg::Index(i), rest))) => {
            element(items, *i).is_some_and(|next| any_at_path(next, rest, f))
        }
        (Value::Array(items), _) => items.iter().any(|i| any_at_path(i, path, f)),
        (_, None) => f(v),
        (Value::Object(o), Some((Seg::Key(k), rest))) => {
            get_ci(o, k).is_some_and(|next| any_at_path(next, rest, f))
        }
        _ => false,
    }
}

/// Decodes `text` as JSON within `limits`: `None` when it is longer than
/// `limits.max_bytes`, nested deeper than `limits.max_depth`, or not JSON.
///
/// ```
/// use riskgate::compile::program::JsonLimits;
/// use riskgate::input::json_path::decode;
/// let limits = JsonLimits { max_bytes: 1024, max_depth: 2 };
/// assert_eq!(decode(r#"{"New Device": "POSITIVE"}"#, limits),
///            Some(serde_json::json!({"New Device": "POSITIVE"})));
/// assert_eq!(decode("not json", limits), None);
/// assert_eq!(decode("[[[1]]]", limits), None); // 3 levels
/// ```
pub fn decode(text: &str, limits: JsonLimits) -> Option<Value> {
    if text.len() > limits.max_bytes || depth(text) > limits.max_depth {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// The deepest nesting of `[`/`{` outside strings (a bound checked before
/// decoding; malformed text is left to the decoder).
fn depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_skips_brackets_in_strings() {
        assert_eq!(depth(r#"{"a": "[[[[", "b": [1]}"#), 2);
        assert_eq!(depth("3"), 0);
        assert_eq!(depth(r#"["\"[" , {}]"#), 2);
    }

    #[test]
    fn any_at_path_flattens_keys_and_picks_indexes() {
        let v = serde_json::json!({"t": [{"a": [1, 2]}, {"a": [3]}]});
        let mut seen = Vec::new();
        let key = |k: &str| Seg::Key(k.into());
        any_at_path(&v, &[key("t"), key("a")], &mut |x| {
            seen.push(x.clone());
            false
        });
        assert_eq!(seen, [1, 2, 3]);
        seen.clear();
        any_at_path(&v, &[key("t"), Seg::Index(1), key("a")], &mut |x| {
            seen.push(x.clone());
            false
        });
        assert_eq!(seen, [3]);
    }
}
