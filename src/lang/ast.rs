//! The typed syntax tree of a rules file.
//!
//! Every node that a diagnostic can point at carries a [`Span`]. Spans and
//! layout ([`Layout`]: the author's keyword spelling, comments, line breaks in
//! triggers) are ignored by equality, so tests compare structure, not
//! positions: `parse(fmt(ast)) == ast`.

/// A region of one source file: byte range, and the 1-based line and column
/// (counted in characters) of its start.
#[derive(Debug, Clone, Copy, Default, Eq)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based column of `start`, in characters.
    pub col: u32,
}

impl PartialEq for Span {
    /// Spans never make two trees differ.
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

/// A node with its source location; the location is ignored by equality.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The node.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `node` with `span`.
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// What the formatter keeps of the author's text and equality ignores: comment
/// lines before a node, a comment at the end of its line, whether it started
/// a new line, and the spelling of its keywords (`AND`/`and`, `Trigger`).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Whole-line comments before the node, each with its `#`.
    pub leading: Vec<String>,
    /// A comment at the end of the node's (first) line, with its `#`.
    pub trailing: Option<String>,
    /// The node started a new line (trigger continuation lines).
    pub newline: bool,
    /// Keyword spellings, in source order, as the author wrote them.
    pub words: Vec<String>,
}

impl PartialEq for Layout {
    fn eq(&self, _: &Layout) -> bool {
        true
    }
}

impl Layout {
    /// The author's spelling of keyword `default` (any recorded word equal
    /// to it but for case), or `default`.
    pub fn spelled<'a>(&'a self, default: &'a str) -> &'a str {
        self.words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(default))
            .map_or(default, String::as_str)
    }
    /// The `i`th recorded keyword spelling, or `default` when none was recorded
    /// or the recorded one is not a spelling of `default`.
    pub fn word<'a>(&'a self, i: usize, default: &'a str) -> &'a str {
        match self.words.get(i) {
            Some(w) if w.eq_ignore_ascii_case(default) => w,
            _ => default,
        }
    }
}

/// A whole rules file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleFile {
    /// Lists, metrics and rules in source order.
    pub items: Vec<Item>,
    /// Comment lines after the last item.
    pub trailing_comments: Vec<String>,
}

impl RuleFile {
    /// The rules, in source order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.items.iter().filter_map(|i| match i {
            Item::Rule(r) => Some(r),
            Item::List(_) | Item::Metric(_) => None,
        })
    }
    /// The list declarations, in source order.
    pub fn lists(&self) -> impl Iterator<Item = &ListDecl> {
        self.items.iter().filter_map(|i| match i {
            Item::List(l) => Some(l),
            Item::Rule(_) | Item::Metric(_) => None,
        })
    }
    /// The metric declarations, in source order.
    pub fn metrics(&self) -> impl Iterator<Item = &MetricDecl> {
        self.items.iter().filter_map(|i| match i {
            Item::Metric(m) => Some(m),
            Item::Rule(_) | Item::List(_) => None,
        })
    }
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `list NAME = ...`
    List(ListDecl),
    /// `metric NAME = <metric>`
    Metric(MetricDecl),
    /// `Rule 1 — Title` and its clauses.
    Rule(Rule),
}

/// `metric NAME = count(...) over W by F`: a stateful metric with a name
/// every rule of the set can read it by. The checker decides which
/// expressions are metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDecl {
    /// The metric's name.
    pub name: Spanned<String>,
    /// Its definition.
    pub value: Spanned<Expr>,
    /// Comments and the spelling of `metric`.
    pub layout: Layout,
    /// The whole declaration.
    pub span: Span,
}

/// `list NAME = [ ... ]`, `list NAME = file "path"` or `list NAME = agent.field`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListDecl {
    /// The list's name.
    pub name: Spanned<String>,
    /// What it holds.
    pub value: ListValue,
    /// Comments and the spelling of `list` / `file`.
    pub layout: Layout,
    /// The whole declaration.
    pub span: Span,
}

/// The right-hand side of a list declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum ListValue {
    /// `[a, b, c]`
    Items(Vec<Spanned<Literal>>),
    /// `file "path"`: one item a line, relative to the rules file.
    File(Spanned<String>),
    /// `agent.scopes`: a field of the evaluated agent's profile.
    Field(Spanned<String>),
}

/// A rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its id (`1`, `R7`, or the slug of a quoted title).
    pub id: Spanned<String>,
    /// Its title, if any.
    pub title: Option<String>,
    /// How the header was written.
    pub header: HeaderForm,
    /// Clauses in source order.
    pub clauses: Vec<Clause>,
    /// Comments and the spelling of `Rule`.
    pub layout: Layout,
    /// The header line.
    pub span: Span,
}

/// The form of a rule header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderForm {
    /// `Rule <id> — <title>` (any separator: `—`, `–`, `-`, `:`; canonical is `—`).
    Id,
    /// `rule "<title>"`: the id is the slug of the title.
    Quoted,
}

impl Rule {
    /// The clauses of the given kind.
    pub fn clauses_of(&self, kind: ClauseKind) -> impl Iterator<Item = &Clause> {
        self.clauses.iter().filter(move |c| c.kind() == kind)
    }
    /// The trigger expression, if there is one.
    pub fn trigger(&self) -> Option<&Spanned<Expr>> {
        self.clauses.iter().find_map(|c| match &c.body {
            ClauseBody::Trigger(e) => Some(e),
            _ => None,
        })
    }
}

/// A clause of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What it says.
    pub body: ClauseBody,
    /// Comments and the spelling of its name.
    pub layout: Layout,
    /// The whole clause.
    pub span: Span,
}

impl Clause {
    /// Its kind.
    pub fn kind(&self) -> ClauseKind {
        match &self.body {
            ClauseBody::Trigger(_) => ClauseKind::Trigger,
            ClauseBody::Unless(_) => ClauseKind::Unless,
            ClauseBody::Action(_) => ClauseKind::Action,
            ClauseBody::Severity(_) => ClauseKind::Severity,
            ClauseBody::Mode(_) => ClauseKind::Mode,
            ClauseBody::Cooldown(_) => ClauseKind::Cooldown,
            ClauseBody::Tags(_) => ClauseKind::Tags,
            ClauseBody::Unknown { .. } => ClauseKind::Unknown,
        }
    }
}

/// Clause kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClauseKind {
    /// `Trigger:`
    Trigger,
    /// `Unless:`
    Unless,
    /// `Action:`
    Action,
    /// `Severity:`
    Severity,
    /// `Mode:`
    Mode,
    /// `Cooldown:`
    Cooldown,
    /// `Tags:`
    Tags,
    /// A clause name the language does not define.
    Unknown,
}

impl ClauseKind {
    /// The canonical spelling of the clause name.
    pub fn name(self) -> &'static str {
        match self {
            ClauseKind::Trigger => "Trigger",
            ClauseKind::Unless => "Unless",
            ClauseKind::Action => "Action",
            ClauseKind::Severity => "Severity",
            ClauseKind::Mode => "Mode",
            ClauseKind::Cooldown => "Cooldown",
            ClauseKind::Tags => "Tags",
            ClauseKind::Unknown => "?",
        }
    }
}

/// What a clause holds. Names (actions, severities, modes) are kept as written
/// and validated by the checker, so one pass reports every unknown name.
#[derive(Debug, Clone, PartialEq)]
pub enum ClauseBody {
    /// `Trigger: expr`
    Trigger(Spanned<Expr>),
    /// `Unless: expr`
    Unless(Spanned<Expr>),
    /// `Action: a + b`
    Action(Vec<Spanned<Action>>),
    /// `Severity: HIGH`
    Severity(Spanned<String>),
    /// `Mode: shadow`
    Mode(Spanned<String>),
    /// `Cooldown: 15m`
    Cooldown(Spanned<String>),
    /// `Tags: a, b`
    Tags(Vec<Spanned<String>>),
    /// `Name: text` with a name the language does not know.
    Unknown {
        /// The name as written.
        name: Spanned<String>,
        /// The rest of the line.
        text: String,
    },
}

/// One action of an `Action:` clause, as written: its words and an optional
/// quoted channel (`alert "#sec-oncall"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// The words (`immediate`, `alert`, `security`, `team`).
    pub words: Vec<String>,
    /// A quoted channel, if one was given.
    pub quoted: Option<String>,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a OR b OR c` (n-ary).
    Or(Vec<Operand>),
    /// `a AND b AND c` (n-ary).
    And(Vec<Operand>),
    /// Phrases side by side: an implicit AND (`service_app authentication from IP in L`).
    Juxt(Vec<Operand>),
    /// `NOT a`
    Not(Box<Spanned<Expr>>, Layout),
    /// `a < b`, `a == b`, ...
    Cmp(CmpOp, Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    /// `x in L` / `x not in L`
    In {
        /// `not in`
        negated: bool,
        /// The value.
        item: Box<Spanned<Expr>>,
        /// The list.
        list: Box<Spanned<Expr>>,
        /// Spelling of `not` and `in`.
        layout: Layout,
    },
    /// `s matches "re"`, `starts_with`, `ends_with`, `contains`
    Str(StrOp, Box<Spanned<Expr>>, Box<Spanned<Expr>>, Layout),
    /// `a + b`, `a * b`, ...
    Arith(ArithOp, Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    /// `-a`
    Neg(Box<Spanned<Expr>>),
    /// `( a )`
    Paren(Box<Spanned<Expr>>),
    /// `name(args)`: `min`, `max`, `abs`, `len`, `exists`, `missing`,
    /// `first_seen`, `baseline`, `any`.
    Call(Spanned<String>, Vec<Spanned<Expr>>),
    /// A path into the value of a call: `json(attr.x)."New Device"[0]` (the
    /// checker allows it after `json(...)` only).
    Access(Box<Spanned<Expr>>, Vec<Segment>),
    /// `count over W`, `count(cond) over W by F`,
    /// `count(cond where scope) over W by (F, G)`
    Count {
        /// The condition, if any.
        cond: Option<Box<Spanned<Expr>>>,
        /// `where`: which events update the counter (with `cond`).
        scope: Option<Box<Spanned<Expr>>>,
        /// The window (a duration literal, checked).
        window: Box<Spanned<Expr>>,
        /// Group-by key.
        by: Option<ByKey>,
        /// Keyword spellings.
        layout: Layout,
    },
    /// `distinct(F [where cond]) over W [by K]`
    Distinct {
        /// The field.
        field: Box<Spanned<Expr>>,
        /// `where`: which events update the metric.
        scope: Option<Box<Spanned<Expr>>>,
        /// The window.
        window: Box<Spanned<Expr>>,
        /// Group-by key.
        by: Option<ByKey>,
        /// Keyword spellings.
        layout: Layout,
    },
    /// `sequence(c1, c2, ...) within W [by K]`
    Sequence {
        /// The steps, in order.
        steps: Vec<Spanned<Expr>>,
        /// The span the first step may lie before the last.
        within: Box<Spanned<Expr>>,
        /// Group-by key.
        by: Option<ByKey>,
        /// Keyword spellings.
        layout: Layout,
    },
    /// `value where cond`: the first argument of a stateful call
    /// (`first_seen(ip where outcome == "SUCCESS", 7d)`).
    Scoped(Box<Spanned<Expr>>, Box<Spanned<Expr>>, Layout),
    /// `call(...) by K`: a stateful call keyed by fields
    /// (`first(ip) by attr.authenticationContext.externalSessionId`).
    By(Box<Spanned<Expr>>, ByKey, Layout),
    /// A field, list, metric or profile name: `ip`, `agent.scopes`, `attr.a.b`,
    /// as its canonical text: `attr.target[0]."client.ipAddress"` (see
    /// [`crate::lang::path`]).
    Path(String),
    /// A literal value.
    Lit(Literal),
    /// An inline list `[a, b]`.
    List(Vec<Spanned<Literal>>),
    /// A trigger phrase (`service_app authentication`).
    Phrase(Phrase, Layout),
}

/// `by F` or `by (F, G, ...)`: the fields whose values key a metric's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ByKey {
    /// The fields, in order.
    pub fields: Vec<Spanned<String>>,
    /// Written in parentheses (always, with more than one field).
    pub paren: bool,
}

impl ByKey {
    /// The key as written canonically: `ip` or `(ip, user)`.
    pub fn text(&self) -> String {
        let names: Vec<&str> = self.fields.iter().map(|f| f.node.as_str()).collect();
        if self.paren || names.len() != 1 {
            format!("({})", names.join(", "))
        } else {
            names.concat()
        }
    }
}

/// An operand of an n-ary `AND`/`OR`/juxtaposition; its layout records the
/// operator's spelling and whether it started a new line (with comments).
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    /// The operand.
    pub expr: Spanned<Expr>,
    /// Operator spelling (in `words[0]`) and line break before it.
    pub layout: Layout,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// String operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrOp {
    /// `matches` (unanchored regex search)
    Matches,
    /// `starts_with`
    StartsWith,
    /// `ends_with`
    EndsWith,
    /// `contains`
    Contains,
}

impl StrOp {
    /// The operator's canonical text.
    pub fn as_str(self) -> &'static str {
        match self {
            StrOp::Matches => "matches",
            StrOp::StartsWith => "starts_with",
            StrOp::EndsWith => "ends_with",
            StrOp::Contains => "contains",
        }
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl ArithOp {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }
}

/// The trigger phrases.
#[derive(Debug, Clone, PartialEq)]
pub enum Phrase {
    /// `[<actor kind>] <category>`: `service_app authentication`, `token request`.
    Actor {
        /// `service_app`, `user`, `agent`.
        kind: Option<ActorPhrase>,
        /// The category.
        category: CategoryPhrase,
    },
    /// `from IP [not] in L`
    FromIp {
        /// `not in`
        negated: bool,
        /// The list (a name or an inline list).
        list: Box<Spanned<Expr>>,
    },
    /// `includes scope [not] in L`
    IncludesScope {
        /// `not in`
        negated: bool,
        /// The list.
        list: Box<Spanned<Expr>>,
    },
    /// `outside HH:MM-HH:MM <zone>` / `within ...`
    TimeOfDay {
        /// `outside` (true) or `within`.
        outside: bool,
        /// Start, minutes after midnight.
        start: u16,
        /// End, minutes after midnight.
        end: u16,
        /// The zone as written, if any (the checker requires one).
        zone: Option<Spanned<String>>,
    },
    /// `on weekends`, `on Mon,Tue [zone]`
    Days {
        /// The days as written (`weekends`, `weekdays`, `Mon`, `tuesday`).
        days: Vec<Spanned<String>>,
        /// The zone as written, if any (default UTC).
        zone: Option<Spanned<String>>,
    },
}

pub use super::literal::{format_duration, is_bare_safe, write_quoted, Literal};
pub use super::path::Segment;

/// Actor kinds a phrase can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorPhrase {
    /// `service_app`
    ServiceApp,
    /// `user`
    User,
    /// `agent`: any non-human kind.
    Agent,
}

impl ActorPhrase {
    /// Canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorPhrase::ServiceApp => "service_app",
            ActorPhrase::User => "user",
            ActorPhrase::Agent => "agent",
        }
    }
}

/// Categories a phrase can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CategoryPhrase {
    /// `authentication`
    Authentication,
    /// `token request`
    TokenRequest,
    /// `api call`
    ApiCall,
    /// `admin change`
    AdminChange,
}

impl CategoryPhrase {
    /// Canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryPhrase::Authentication => "authentication",
            CategoryPhrase::TokenRequest => "token request",
            CategoryPhrase::ApiCall => "api call",
            CategoryPhrase::AdminChange => "admin change",
        }
    }
}
