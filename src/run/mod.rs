//! Stage 4, running: a [`Program`](crate::compile::program::Program) and
//! events in, [`Verdict`](verdict::Verdict)s out.
//!
//! - [`engine`] is the entry point, [`Engine`](engine::Engine): look up the
//!   agent, update its windows, evaluate the candidate rules, build the
//!   verdict;
//! - [`state`] is the state store: agents, keys, cooldowns, eviction and
//!   quotas;
//! - [`window`] holds the sliding windows, rings and histories of each
//!   metric;
//! - [`eval`] evaluates compiled conditions on one event with three-valued
//!   logic, and explains the rules that fired;
//! - [`derived`] computes the time fields (`hour`, `date`, ...) and holds
//!   an evaluation's scratch; [`similarity`] is Jaro-Winkler;
//! - [`reload`] reports what [`Engine::reload`](engine::Engine::reload)
//!   kept, added and dropped;
//! - [`snapshot`] writes and reads the state of an engine (restarts,
//!   hand-offs);
//! - [`verdict`] is what an evaluation returns.

pub mod clock;
pub(crate) mod decide;
pub mod derived;
pub mod engine;
pub mod eval;
pub mod partition;
pub(crate) mod profiles;
pub mod reload;
pub mod similarity;
pub mod snapshot;
pub mod state;
pub mod stats;
pub mod verdict;
pub mod window;
