//! Stage 1, the language: rules text in, syntax tree out.
//!
//! - [`syntax`] parses a rules file with the pest grammar
//!   (`grammar/rules.pest`) into the [`ast`], reporting syntax errors;
//! - [`ast`] is the syntax tree, with the span of every node;
//! - [`literal`] holds literal values and how bare list items read;
//! - [`diagnostic`] renders errors and warnings against the source text
//!   (codes, locations, carets, help);
//! - [`path`] holds paths into JSON values (`attr.target[0]."a.b"`);
//! - [`format`] prints a syntax tree back as canonical text (`riskgate fmt`).
//!
//! Nothing here knows about events, state or the compiled program.

pub mod ast;
pub mod diagnostic;
pub mod format;
pub mod literal;
pub mod path;
pub mod syntax;
