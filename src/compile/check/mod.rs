//! The checker: resolves names, checks types and values over the whole rule
//! set, and reports every problem as a diagnostic (code, location, help) in
//! one pass. What it accepts it hands to the [`Builder`], which builds the
//! compiled [`Program`] (see [`crate::compile::lower`]).
//!
//! Lists, metric names and rule ids are global across the files of one set.
//! The checker is split by what it checks: [`lists`](self) and metric
//! declarations, rules, conditions, calls, trigger phrases, values and time
//! zones, one file each.

mod call;
mod cond;
mod derived;
mod lists;
mod metrics;
mod path;
mod phrase;
mod rule;
mod stateful;
mod time;
mod value;

pub use time::parse_zone;

use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use ahash::AHashMap;

use crate::compile::lower::fold::{fold_and, fold_arith, fold_cmp, fold_or};
use crate::compile::lower::lists::list_data;
use crate::compile::lower::Builder;
use crate::compile::program::*;
use crate::compile::vocab::Categories;
use crate::lang::ast::{self, ClauseBody, ClauseKind, Expr, Literal, Phrase, Span, Spanned};
use crate::lang::diagnostic::{did_you_mean, Diagnostic};
use crate::lang::format::expr_text;
use crate::lang::syntax::POISON;
use metrics::MetricInfo;
use time::{parse_day, zone_help};
use value::is_count_metric;

/// A parsed file to check: its name (as shown), its path on disk (for
/// `list ... = file "..."`), and its tree.
pub struct Input<'a> {
    /// Name in diagnostics.
    pub name: Arc<str>,
    /// Where it was read from, if from disk.
    pub path: Option<PathBuf>,
    /// The tree.
    pub file: &'a ast::RuleFile,
}

const FUNCTIONS: &[&str] = &[
    "min",
    "max",
    "abs",
    "len",
    "exists",
    "missing",
    "first_seen",
    "baseline",
    "any",
    "since",
    "first",
    "previous",
    "stddev",
    "zscore",
    "json",
    "similarity",
    "hour",
    "weekday",
    "hour_of_week",
    "date",
];

const ACTIONS: &[&str] = &[
    "deny",
    "suspend_token",
    "suspend",
    "flag_for_review",
    "flag",
    "allow",
    "revoke_sessions",
    "alert",
    "immediate alert",
];

/// Help of E0215.
const COUNT_METRIC_HELP: &str =
    "a `count` condition tests each event on its own (`count(outcome == \"FAILURE\") over 10m`); compare metrics outside it";

struct ListInfo {
    list: ListRef,
    ty: Ty,
    span: Span,
    file: Arc<str>,
    used: bool,
}

/// The checker's state over one rule set.
pub struct Checker {
    diags: Vec<Diagnostic>,
    file: Arc<str>,
    lists: AHashMap<String, ListInfo>,
    /// Declared metrics, by name.
    metrics: AHashMap<String, MetricInfo>,
    /// The program being built from what was accepted.
    build: Builder,
    /// Inside `any(...)`: unknown names are element fields.
    in_any: bool,
    /// Inside `count(cond)`: metrics are not allowed.
    in_count: bool,
    /// What the condition metrics are not allowed in is (`a \`count\`
    /// condition`, `a \`where\` scope`, ...), for E0215.
    in_count_what: &'static str,
    /// The counter a bare `baseline` refers to in the current comparison.
    baseline_target: Option<(u32, Span)>,
    /// Bounds on list files (size, items).
    limits: crate::Limits,
    /// Each list file read so far (by the path as joined): its constant
    /// list and type, so a file named by many declarations is read once.
    list_files: AHashMap<PathBuf, (u32, Ty)>,
    /// List items over the rule set, inline and from files.
    list_items: usize,
}

impl Checker {
    fn new(limits: &crate::Limits) -> Self {
        Checker {
            diags: Vec::new(),
            file: Arc::from(""),
            lists: AHashMap::new(),
            metrics: AHashMap::new(),
            build: Builder::new(limits),
            in_any: false,
            in_count_what: "a `count` condition",
            in_count: false,
            baseline_target: None,
            limits: *limits,
            list_files: AHashMap::new(),
            list_items: 0,
        }
    }

    /// Charges `n` list items to the rule set's total; false (with an E0102
    /// at `span`) once the total passes [`crate::Limits::max_total_list_items`].
    fn charge_list_items(&mut self, n: usize, span: Span) -> bool {
        self.list_items = self.list_items.saturating_add(n);
        let max = self.limits.max_total_list_items;
        if self.list_items > max {
            self.error(
                "E0102",
                span,
                format!(
                    "the lists of this rule set hold more than the limit of {max} items in all"
                ),
                Some(
                    "move large lists into fewer files, or raise `Limits::max_total_list_items`"
                        .into(),
                ),
            );
            return false;
        }
        true
    }

    /// Inside `count(cond)`, where metrics are not allowed: reports E0215
    /// at `span` and returns true.
    fn metric_in_count(&mut self, span: Span) -> bool {
        if self.in_count {
            self.error(
                "E0215",
                span,
                format!("{} cannot use metrics", self.in_count_what),
                Some(COUNT_METRIC_HELP.into()),
            );
        }
        self.in_count
    }

    fn push(&mut self, mut d: Diagnostic) {
        d.file = self.file.clone();
        self.diags.push(d);
    }

    fn error(
        &mut self,
        code: &'static str,
        span: Span,
        msg: impl Into<String>,
        help: Option<String>,
    ) {
        self.push(Diagnostic::error(code, span, msg).with_help_opt(help));
    }
}

/// Checks a whole rule set under the default [`Limits`](crate::Limits);
/// returns the compiled program when there is no error, and every diagnostic
/// (errors and warnings) found.
pub fn check(inputs: &[Input<'_>]) -> (Option<Program>, Vec<Diagnostic>) {
    check_with(inputs, &crate::Limits::default())
}

/// [`check`] with explicit limits: list files (`list x = file "..."`) are
/// held to `limits.max_file_bytes` and `limits.max_list_items`, as rule
/// files and inline lists are.
pub fn check_with(
    inputs: &[Input<'_>],
    limits: &crate::Limits,
) -> (Option<Program>, Vec<Diagnostic>) {
    let mut c = Checker::new(limits);
    for input in inputs {
        c.file = input.name.clone();
        for l in input.file.lists() {
            c.list_decl(l, input.path.as_deref());
        }
    }
    for input in inputs {
        c.file = input.name.clone();
        for m in input.file.metrics() {
            c.metric_decl(m);
        }
    }
    for input in inputs {
        c.file = input.name.clone();
        for m in input.file.metrics() {
            c.metric_def(m);
        }
    }
    let mut rules = Vec::new();
    let mut ids: AHashMap<String, (Arc<str>, Span)> = AHashMap::new();
    for input in inputs {
        c.file = input.name.clone();
        for r in input.file.rules() {
            match ids.entry(r.id.node.clone()) {
                Entry::Occupied(prev) => {
                    let (pf, ps) = prev.get();
                    let help = format!(
                        "rule ids are unique in a rule set; the first is at {pf}:{}:{}",
                        ps.line, ps.col
                    );
                    c.error(
                        "E0207",
                        r.id.span,
                        format!("duplicate rule id `{}`", r.id.node),
                        Some(help),
                    );
                }
                Entry::Vacant(v) => {
                    v.insert((input.name.clone(), r.id.span));
                }
            }
            if let Some(rule) = c.rule(r) {
                rules.push(rule);
            }
        }
    }
    // Like rustc's lints, "never used" is only reported for a set without
    // errors: a list named only by a rule that has an error is used, really.
    let checked_clean = !c.diags.iter().any(Diagnostic::is_error);
    let unused: Vec<(String, Span, Arc<str>)> = c
        .lists
        .iter()
        .filter(|(_, l)| !l.used && checked_clean)
        .map(|(n, l)| (n.clone(), l.span, l.file.clone()))
        .collect();
    for (name, span, file) in unused {
        let mut d = Diagnostic::warning("W0003", span, format!("list `{name}` is never used"));
        d.file = file;
        c.diags.push(d);
    }
    if checked_clean {
        c.unused_metrics();
    }
    let has_errors = c.diags.iter().any(Diagnostic::is_error);
    let diags = std::mem::take(&mut c.diags);
    if has_errors {
        return (None, diags);
    }
    let program = c.build.finish(rules);
    (Some(program), diags)
}

impl Checker {
    // ----- conditions -------------------------------------------------------

    // ----- values -----------------------------------------------------------
}
