//! Stage 3, input: bytes in, [`Event`](event::Event)s and profiles out.
//!
//! - [`event`] is the event model every reader produces;
//! - [`okta`] reads Okta System Log `LogEvent` lines (one reader: a byte
//!   scanner for the common shape, falling back to a serde visitor);
//! - [`native`] reads riskgate's own flat event lines;
//! - [`profile`] reads per-agent profiles (JSON) into a compact form.
//!
//! Readers depend on the compiled program only to learn which raw
//! attributes its rules read ([`okta::AttrFilter`]).

pub mod event;
pub mod native;
pub mod okta;
pub mod profile;
