//! Stage 2, compiling: syntax trees in, a [`Program`](program::Program) out.
//!
//! - [`rules`] is the entry point, [`RuleSet`](rules::RuleSet): parse, check
//!   and lower a set of files;
//! - [`check`] resolves names and checks types, and reports every problem as
//!   a diagnostic with its location and help;
//! - [`lower`] builds what the engine runs from what the checker accepted:
//!   folded constants, list data, the rule index;
//! - [`program`] is the compiled program: conditions, values, metrics,
//!   rules, lists and the candidate index;
//! - [`value`] holds runtime values and their comparison, shared by constant
//!   folding here and evaluation in [`run`](crate::run);
//! - [`vocab`] is the vocabulary rules and events share: actor kinds and
//!   event categories.

pub mod check;
pub mod lower;
pub mod program;
pub mod rules;
pub mod value;
pub mod vocab;
