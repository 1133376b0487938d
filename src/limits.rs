//! Limits that make hostile rules files fail with an error, never with a
//! stack overflow or an unbounded allocation.

/// Size limits for parsing and checking rules.
///
/// ```
/// let limits = riskgate::Limits { max_depth: 16, ..riskgate::Limits::default() };
/// assert_eq!(limits.max_rules, 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest rules file, in bytes (default 4 MiB).
    pub max_file_bytes: usize,
    /// Deepest nesting of parentheses, brackets, prefix operators and
    /// operator chains in one expression (default 64).
    pub max_depth: usize,
    /// Most items in one list (default 100 000).
    pub max_list_items: usize,
    /// Most rules in one file (default 10 000).
    pub max_rules: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 4 << 20,
            max_depth: 64,
            max_list_items: 100_000,
            max_rules: 10_000,
        }
    }
}
