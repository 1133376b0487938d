//! `similarity(a, b)`: the Jaro-Winkler similarity of two strings, in
//! `[0, 1]` (1 for equal strings).
//!
//! The usual definition, as the `strsim` crate computes it, over Unicode
//! scalar values: Jaro's matches within half the longer length minus one,
//! half the transpositions, then, when the Jaro similarity is above 0.7, a
//! boost of 0.1 per character of common prefix (at most 4). Strings of up
//! to 64 characters are compared without allocating.

use smallvec::SmallVec;

type Chars = SmallVec<[char; 64]>;
type Flags = SmallVec<[bool; 64]>;

/// The Jaro-Winkler similarity of `a` and `b`.
///
/// ```
/// use riskgate::run::similarity::jaro_winkler;
/// assert_eq!(jaro_winkler("okta-admin", "okta-admin"), 1.0);
/// assert!((jaro_winkler("martha", "marhta") - 0.961_111).abs() < 1e-6);
/// assert!((jaro_winkler("dwayne", "duane") - 0.84).abs() < 1e-9);
/// assert_eq!(jaro_winkler("", "abc"), 0.0);
/// ```
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let a: Chars = a.chars().collect();
    let b: Chars = b.chars().collect();
    let sim = jaro(&a, &b);
    if sim > 0.7 {
        let prefix = a
            .iter()
            .take(4)
            .zip(b.iter())
            .take_while(|(x, y)| x == y)
            .count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// The Jaro similarity of two strings (as characters).
fn jaro(a: &[char], b: &[char]) -> f64 {
    match (a.len(), b.len()) {
        (0, 0) => return 1.0,
        (0, _) | (_, 0) => return 0.0,
        _ => {}
    }
    let range = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_flags: Flags = SmallVec::from_elem(false, a.len());
    let mut b_flags: Flags = SmallVec::from_elem(false, b.len());
    let mut matches = 0usize;
    for (i, x) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = b.len().min(i + range + 1);
        for j in lo..hi {
            let free = b_flags.get(j).is_some_and(|f| !f);
            if free && b.get(j) == Some(x) {
                if let Some(f) = a_flags.get_mut(i) {
                    *f = true;
                }
                if let Some(f) = b_flags.get_mut(j) {
                    *f = true;
                }
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // The matched characters of each string, in order: every pair that
    // differs is half a transposition.
    let a_matched = a.iter().zip(&a_flags).filter(|(_, f)| **f).map(|(c, _)| c);
    let b_matched = b.iter().zip(&b_flags).filter(|(_, f)| **f).map(|(c, _)| c);
    let transpositions = a_matched.zip(b_matched).filter(|(x, y)| x != y).count() / 2;
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (matches - transpositions) as f64 / m) / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(jaro_winkler("dixon", "dicksonx"), 0.813_333));
        assert!(close(jaro_winkler("martha", "marhta"), 0.961_111));
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
        // Below 0.7 there is no prefix boost.
        let j = jaro(&['a', 'b', 'c', 'd'], &['a', 'x', 'y', 'z', 'w', 'v']);
        assert_eq!(jaro_winkler("abcd", "axyzwv"), j);
        // Past 64 characters (on the heap) the same definition.
        let long_a = "x".repeat(100) + "a";
        let long_b = "x".repeat(100) + "b";
        assert!(jaro_winkler(&long_a, &long_b) > 0.98);
    }
}
