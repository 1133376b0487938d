//! Nothing: the package is its bench, `benches/okta_read.rs`.
