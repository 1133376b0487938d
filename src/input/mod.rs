//! Stage 3, input: bytes in, [`Event`](event::Event)s and profiles out.
//!
//! - [`event`] is the event model every reader produces;
//! - [`okta`] reads Okta System Log `LogEvent` lines (one reader: a byte
//!   scanner for the common shape, falling back to a serde visitor);
//! - [`native`] reads riskgate's own flat event lines;
//! - [`profile`] reads per-agent profiles (JSON) into a compact form;
//! - [`json_path`] follows compiled paths into JSON values and decodes
//!   `json(...)` strings within limits.
//!
//! Readers depend on the compiled program only to learn which raw
//! attributes its rules read ([`okta::AttrFilter`]).

pub mod event;
pub mod json_path;
pub mod native;
pub mod okta;
pub mod profile;
