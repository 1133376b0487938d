#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod engine;
pub mod eval;
pub mod event;
pub mod format;
pub mod limits;
pub mod native;
pub mod num;
pub mod okta;
pub mod profile;
pub mod program;
pub mod rules;
pub mod state;
pub mod syntax;
pub mod verdict;
pub mod window;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use engine::Engine;
pub use event::{ActorKind, Categories, Event};
pub use limits::Limits;
pub use program::{Decision, Program, Severity};
pub use rules::RuleSet;
