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
