//! Which parts of an Okta `LogEvent` become the event's `attrs`.

use crate::compile::program::{CellArg, Cond, ListRef, Program, Seg, Val};

/// The parts of an Okta `LogEvent` that [`parse_okta_with`](super::parse_okta_with)
/// keeps as the event's `attrs` (what `attr.<path>` reads).
///
/// [`AttrFilter::all`] (the default) keeps the whole object, as
/// [`parse_okta`](super::parse_okta) does. [`AttrFilter::paths`] and
/// [`AttrFilter::for_program`] keep only what some `attr.<path>` can reach:
/// along each path, the keys that equal its segment ignoring ASCII case
/// (every one of them, so the case-insensitive lookups of the rules find what
/// they would find in the whole object); at the end of a path, or where an
/// array or any other non-object meets it, the whole value. Building
/// `serde_json::Value`s for the rest of the object is most of the cost of
/// reading an Okta event, and rules rarely read more than a few keys.
///
/// ```
/// use riskgate::input::okta::{parse_okta_with, AttrFilter};
/// let line = r#"{"published": "2026-05-20T10:15:00.000Z", "eventType": "user.session.start",
///   "actor": {"id": "00u1", "type": "User", "alternateId": "a@example.com"},
///   "uuid": "8f0c", "target": [{"type": "User"}]}"#;
/// let keep = AttrFilter::paths([["actor", "alternateId"]]);
/// let event = parse_okta_with(line, &keep)?;
/// assert_eq!(event.attrs, serde_json::json!({"actor": {"alternateId": "a@example.com"}}));
/// assert_eq!(event.agent, "00u1");
/// # Ok::<(), riskgate::input::event::EventError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrFilter {
    /// `None`: everything.
    trie: Option<Trie>,
}

impl AttrFilter {
    /// Keeps the whole `LogEvent` object.
    pub const fn all() -> AttrFilter {
        AttrFilter { trie: None }
    }

    /// Keeps what the `attr.` paths `paths` (each a list of segments, as in
    /// `["actor", "alternateId"]` for `attr.actor.alternateId`) can reach. An
    /// empty path keeps everything; no paths at all keep an empty object.
    pub fn paths<P, S>(paths: impl IntoIterator<Item = P>) -> AttrFilter
    where
        P: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut trie = Trie::default();
        for path in paths {
            let segs: Vec<S> = path.into_iter().collect();
            trie.insert(&segs);
        }
        if trie.leaf {
            AttrFilter::all()
        } else {
            AttrFilter { trie: Some(trie) }
        }
    }

    /// Keeps what the `attr.` paths of `program` can reach: those of its
    /// rules' triggers and exceptions, of its counters' conditions and `by`
    /// fields, of its `distinct` and `first_seen` fields and of its `any()`s.
    /// Evaluating `program` on the events read with this filter gives the
    /// same verdicts as on the whole events.
    ///
    /// ```
    /// use riskgate::input::okta::AttrFilter;
    /// let rules = riskgate::RuleSet::from_source("r.rules", "Rule R1 — Proxy\n\
    ///     Trigger: attr.securityContext.isProxy == true\nAction: deny\nSeverity: HIGH\n").unwrap();
    /// let program = rules.compile();
    /// assert_eq!(AttrFilter::for_program(&program), AttrFilter::paths([["securityContext", "isProxy"]]));
    /// ```
    pub fn for_program(program: &Program) -> AttrFilter {
        Self::for_programs([program])
    }

    /// What [`for_program`](Self::for_program) keeps for any of
    /// `programs`: events read with it evaluate the same under each.
    pub fn for_programs<'p>(programs: impl IntoIterator<Item = &'p Program>) -> AttrFilter {
        let mut paths = Paths::default();
        for program in programs {
            paths.program(program);
        }
        if paths.everything {
            AttrFilter::all()
        } else {
            AttrFilter::paths(paths.found)
        }
    }

    /// True when the whole object is kept.
    pub fn keeps_all(&self) -> bool {
        self.trie.is_none()
    }

    pub(super) fn trie(&self) -> Option<&Trie> {
        self.trie.as_ref()
    }
}

/// The kept paths as a tree of segments, merged ignoring ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Trie {
    /// A path ends here: everything below is kept.
    pub(super) leaf: bool,
    /// Each segment as first written, and what follows it.
    children: Vec<(Box<str>, Trie)>,
}

impl Trie {
    fn insert<S: AsRef<str>>(&mut self, path: &[S]) {
        if self.leaf {
            return;
        }
        let Some((seg, rest)) = path.split_first() else {
            self.leaf = true;
            self.children = Vec::new();
            return;
        };
        let seg = seg.as_ref();
        let i = match self
            .children
            .iter()
            .position(|(s, _)| s.eq_ignore_ascii_case(seg))
        {
            Some(i) => i,
            None => {
                self.children.push((seg.into(), Trie::default()));
                self.children.len() - 1
            }
        };
        if let Some((_, child)) = self.children.get_mut(i) {
            child.insert(rest);
        }
    }

    /// The subtree for object key `key` (matched ignoring ASCII case).
    pub(super) fn child(&self, key: &str) -> Option<&Trie> {
        // Children differ ignoring case: at most one matches.
        self.children
            .iter()
            .find(|(s, _)| s.len() == key.len() && (**s == *key || key.eq_ignore_ascii_case(s)))
            .map(|(_, t)| t)
    }
}

/// The `attr.` paths found in a program.
#[derive(Default)]
struct Paths {
    found: Vec<Vec<Box<str>>>,
    /// A node this walk does not know was met: keep everything.
    everything: bool,
}

impl Paths {
    /// The paths `program` reads.
    fn program(&mut self, program: &Program) {
        for rule in &program.rules {
            self.cond(&rule.trigger);
            if let Some(unless) = &rule.unless {
                self.cond(unless);
            }
        }
        for counter in &program.counters {
            if let Some(c) = &counter.cond {
                self.cond(c);
            }
            for by in counter.by.iter().flatten() {
                self.val(by);
            }
        }
        for d in &program.distincts {
            self.val(&d.field);
            if let Some(c) = &d.scope {
                self.cond(c);
            }
        }
        for f in &program.first_seens {
            self.val(&f.field);
            if let Some(c) = &f.scope {
                self.cond(c);
            }
        }
        for cell in &program.cells {
            for by in cell.by.iter().flatten() {
                self.val(by);
            }
            if let Some(c) = &cell.scope {
                self.cond(c);
            }
            match &cell.arg {
                CellArg::Cond(c) => self.cond(c),
                CellArg::Value(v) => self.val(v),
                CellArg::Steps(steps) => steps.iter().for_each(|c| self.cond(c)),
                CellArg::None => {}
            }
        }
    }

    /// Keeps what `path` reaches: its keys up to the first index (an
    /// index needs the whole array, so the path is kept to the array).
    fn add(&mut self, path: &[Seg]) {
        self.found
            .push(path.iter().map_while(|s| s.key().map(Box::from)).collect());
    }

    fn cond(&mut self, c: &Cond) {
        match c {
            Cond::Const(_)
            | Cond::Actor { .. }
            | Cond::TimeOfDay { .. }
            | Cond::Days { .. }
            | Cond::FirstSeen(..)
            | Cond::Cell(..)
            | Cond::StatCmp(..) => {}
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| self.cond(p)),
            Cond::Not(inner) => self.cond(inner),
            Cond::Cmp(_, a, b, _) | Cond::StrOp(_, a, b, _) => {
                self.val(a);
                self.val(b);
            }
            Cond::In { item, list, .. } => {
                self.val(item);
                self.list(list);
            }
            Cond::Matches(v, _, _)
            | Cond::Exists(v, _)
            | Cond::Missing(v, _)
            | Cond::Truthy(v, _) => self.val(v),
            Cond::Scope { list, .. } => self.list(list),
            // The condition reads the elements through relative paths
            // (`Val::Elem`): the whole value at `path` is kept.
            Cond::Any(path, inner, _) => {
                self.add(path);
                self.cond(inner);
            }
            // A kind of condition added after this walk was written may read
            // attributes: keep everything rather than guess.
            #[allow(unreachable_patterns)]
            _ => self.everything = true,
        }
    }

    fn val(&mut self, v: &Val) {
        match v {
            Val::Attr(path) => self.add(path),
            Val::Num(_)
            | Val::Str(_)
            | Val::Ip(_)
            | Val::Time(_)
            | Val::Dur(_)
            | Val::Bool(_)
            | Val::Field(_)
            | Val::Elem(_)
            | Val::Profile(_)
            | Val::Count(_)
            | Val::Distinct(_)
            | Val::Baseline { .. }
            | Val::Stat(_)
            | Val::Cell(_) => {}
            Val::Arith(_, a, b) => {
                self.val(a);
                self.val(b);
            }
            Val::Neg(a) | Val::Abs(a) | Val::Named(_, a) => self.val(a),
            Val::Min(args) | Val::Max(args) => args.iter().for_each(|a| self.val(a)),
            Val::Len(list) => self.list(list),
            // The decoded string is kept whole; the path runs inside it.
            Val::Json(j) => self.val(&j.source),
            Val::Clock(_) => {}
            Val::Similarity(a, b) => {
                self.val(a);
                self.val(b);
            }
            #[allow(unreachable_patterns)]
            _ => self.everything = true,
        }
    }

    fn list(&mut self, l: &ListRef) {
        match l {
            ListRef::Attr(path, _) => self.add(path),
            ListRef::Const(..) | ListRef::Profile(..) | ListRef::Field(..) => {}
            #[allow(unreachable_patterns)]
            _ => self.everything = true,
        }
    }
}
