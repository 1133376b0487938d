#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod compile;
pub mod input;
pub mod lang;
pub mod limits;
pub mod num;
pub mod partition;
pub mod run;

pub use compile::program::{Decision, Program, Severity};
pub use compile::rules::RuleSet;
pub use input::event::{ActorKind, Categories, Event};
pub use lang::diagnostic::{Diagnostic, Diagnostics};
pub use limits::Limits;
pub use partition::partition_of;
pub use run::engine::Engine;

/// Any error of riskgate, for an embedder that handles them in one place
/// (`?` converts each specific error into it).
///
/// ```
/// fn load(text: &str) -> Result<riskgate::Engine, riskgate::Error> {
///     let rules = riskgate::RuleSet::from_source("r.rules", text)?;
///     Ok(riskgate::Engine::builder(rules.compile()).build()?)
/// }
/// let err = load("Rule 1 — broken\nTrigger: ip ==\n").unwrap_err();
/// assert!(matches!(err, riskgate::Error::Rules(_)));
/// assert!(err.to_string().contains("error"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Rules with errors (every diagnostic, rendered by `Display`).
    #[error("{0}")]
    Rules(#[from] lang::diagnostic::Diagnostics),
    /// An event that could not be read.
    #[error(transparent)]
    Event(#[from] input::event::EventError),
    /// Profiles that could not be read.
    #[error(transparent)]
    Profile(#[from] input::profile::ProfileError),
    /// A state layout the store cannot keep.
    #[error(transparent)]
    State(#[from] run::state::StateError),
    /// A reload refused.
    #[error(transparent)]
    Reload(#[from] run::reload::ReloadError),
    /// A snapshot that could not be restored.
    #[error(transparent)]
    Restore(#[from] run::snapshot::RestoreError),
    /// A file that could not be read within the limits.
    #[error(transparent)]
    Read(#[from] limits::ReadError),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
