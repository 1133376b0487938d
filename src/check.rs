//! The checker: resolves names, checks types and values over the whole rule
//! set, collecting every diagnostic in one pass, and lowers what it checked
//! into the compiled [`Program`].
//!
//! Lists and rule ids are global across the files of one set.

use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use ahash::{AHashMap, AHashSet};

use crate::ast::{self, ClauseBody, ClauseKind, Expr, Literal, Phrase, Span, Spanned};
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::event::Categories;
use crate::format::expr_text;
use crate::num::Num;
use crate::program::*;

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

/// Built-in fields: name, field, type.
pub const FIELDS: &[(&str, Field, Ty)] = &[
    ("ip", Field::Ip, Ty::Ip),
    ("agent.id", Field::AgentId, Ty::Str),
    ("actor", Field::Actor, Ty::Str),
    ("event.type", Field::EventType, Ty::Str),
    ("scopes", Field::Scopes, Ty::StrList),
    ("granted_scopes", Field::GrantedScopes, Ty::StrList),
    ("outcome", Field::Outcome, Ty::Str),
    ("country", Field::Country, Ty::Str),
    ("asn", Field::Asn, Ty::Num),
    ("user_agent", Field::UserAgent, Ty::Str),
    ("grant_type", Field::GrantType, Ty::Str),
    ("auth.method", Field::AuthMethod, Ty::Str),
    ("cert.issuer", Field::CertIssuer, Ty::Str),
    ("cert.age_days", Field::CertAgeDays, Ty::Num),
    (
        "token.lifetime_minutes",
        Field::TokenLifetimeMinutes,
        Ty::Num,
    ),
    ("secret.age_days", Field::SecretAgeDays, Ty::Num),
    ("device_posture", Field::DevicePosture, Ty::Str),
];

/// The name of a built-in field.
pub fn field_name(f: Field) -> &'static str {
    FIELDS
        .iter()
        .find(|(_, g, _)| *g == f)
        .map_or("?", |(n, _, _)| n)
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

/// Default `first_seen` retention: 30 days.
pub const DEFAULT_RETENTION_MS: u64 = 30 * 86_400_000;
/// Default baseline history, in windows (`P = 60 W`).
pub const DEFAULT_HISTORY_WINDOWS: u32 = 60;
/// Most windows a baseline keeps.
pub const MAX_HISTORY_WINDOWS: u32 = 1440;

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
    const_lists: Vec<ListData>,
    profile_paths: Vec<Box<[Box<str>]>>,
    /// For each profile slot, whether it is read as a list.
    profile_list_slots: Vec<bool>,
    counters: Vec<CounterDef>,
    distincts: Vec<DistinctDef>,
    first_seens: Vec<FirstSeenDef>,
    /// Inside `any(...)`: unknown names are element fields.
    in_any: bool,
    /// Inside `count(cond)`: metrics are not allowed.
    in_count: bool,
    /// The counter a bare `baseline` refers to in the current comparison.
    baseline_target: Option<(u32, Span)>,
    /// Bounds on list files (size, items).
    limits: crate::Limits,
    /// Each list file read so far (by the path as joined): its constant
    /// list and type, so a file named by many declarations is read once.
    list_files: AHashMap<PathBuf, (u32, Ty)>,
    /// List items over the rule set, inline and from files.
    list_items: usize,
    /// Each distinct regex compiled so far, so identical ones share one.
    regexes: AHashMap<String, regex::Regex>,
    /// Bytes charged to regexes so far (see [`Checker::regex`]).
    regex_bytes: usize,
}

impl Checker {
    fn new(limits: &crate::Limits) -> Self {
        Checker {
            diags: Vec::new(),
            file: Arc::from(""),
            lists: AHashMap::new(),
            const_lists: Vec::new(),
            profile_paths: Vec::new(),
            profile_list_slots: Vec::new(),
            counters: Vec::new(),
            distincts: Vec::new(),
            first_seens: Vec::new(),
            in_any: false,
            in_count: false,
            baseline_target: None,
            limits: *limits,
            list_files: AHashMap::new(),
            list_items: 0,
            regexes: AHashMap::new(),
            regex_bytes: 0,
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

    /// Compiles `re` once per rule set, within the rule set's regex budget
    /// ([`crate::Limits::max_regex_bytes`]): each distinct regex is charged
    /// its compiled size (measured) plus its match cache's limit.
    fn regex(&mut self, re: &str) -> Result<regex::Regex, String> {
        if let Some(r) = self.regexes.get(re) {
            return Ok(r.clone());
        }
        let budget = self.limits.max_regex_bytes.saturating_sub(self.regex_bytes);
        let over = |max: usize| {
            format!("the regexes of this rule set need more than the limit of {max} bytes in all")
        };
        if budget <= REGEX_CACHE_BYTES {
            return Err(over(self.limits.max_regex_bytes));
        }
        let size_limit = (budget - REGEX_CACHE_BYTES).min(MAX_REGEX_BYTES);
        let measured = regex_automata::meta::Regex::builder()
            .configure(regex_automata::meta::Config::new().nfa_size_limit(Some(size_limit)))
            .build(re);
        let used = match measured {
            Ok(m) => m.memory_usage(),
            // Past the remaining budget rather than the per-regex limit.
            Err(e) if e.size_limit().is_some() && size_limit < MAX_REGEX_BYTES => {
                return Err(over(self.limits.max_regex_bytes))
            }
            Err(_) => 0, // the regex crate reports the syntax error below
        };
        let r = regex::RegexBuilder::new(re)
            .size_limit(MAX_REGEX_BYTES)
            .dfa_size_limit(REGEX_CACHE_BYTES)
            .build()
            .map_err(|e| {
                let msg = e.to_string();
                msg.lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string()
            })?;
        self.regex_bytes = self.regex_bytes.saturating_add(used + REGEX_CACHE_BYTES);
        self.regexes.insert(re.to_owned(), r.clone());
        Ok(r)
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
    let has_errors = c.diags.iter().any(Diagnostic::is_error);
    let diags = std::mem::take(&mut c.diags);
    if has_errors {
        return (None, diags);
    }
    let index = build_index(&rules);
    let program = Program {
        rules,
        lists: c.const_lists,
        profile_paths: c.profile_paths,
        profile_list_slots: c.profile_list_slots,
        counters: c.counters,
        distincts: c.distincts,
        first_seens: c.first_seens,
        index,
    };
    (Some(program), diags)
}

fn build_index(rules: &[CompiledRule]) -> Vec<Vec<u32>> {
    let reqs: Vec<(u8, u8)> = rules
        .iter()
        .map(|r| actor_requirement(&r.trigger))
        .collect();
    let mut index = vec![Vec::new(); ACTOR_KINDS * 16];
    for actor in 0..ACTOR_KINDS {
        for cats in 0..16u8 {
            let slot = &mut index[actor * 16 + usize::from(cats)];
            for (i, (kinds, need)) in reqs.iter().enumerate() {
                if kinds & (1 << actor) != 0 && cats & need == *need {
                    slot.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
            }
        }
    }
    index
}

/// The actor kinds and categories an event must have for `c` to be true.
fn actor_requirement(c: &Cond) -> (u8, u8) {
    match c {
        Cond::Actor { kinds, cat, .. } => (*kinds, cat.0),
        Cond::And(parts) => parts.iter().fold((0xff, 0), |(k, n), p| {
            let (pk, pn) = actor_requirement(p);
            (k & pk, n | pn)
        }),
        Cond::Const(Tri::False) => (0, 0),
        _ => (0xff, 0),
    }
}

fn list_ty_of(items: &[Spanned<Literal>]) -> Result<Ty, (Span, String)> {
    let mut ty = None;
    for item in items {
        let t = match item.node {
            Literal::Ip(_) | Literal::Cidr(_) => Ty::IpList,
            Literal::Str(..) => Ty::StrList,
            Literal::Num(..) => Ty::NumList,
            _ => {
                return Err((
                    item.span,
                    format!(
                        "a list cannot hold {} `{}`",
                        item.node.type_name(),
                        item.node
                    ),
                ))
            }
        };
        match ty {
            None => ty = Some(t),
            Some(prev) if prev != t => {
                return Err((
                    item.span,
                    format!(
                        "mixed list: `{}` is {} but the list's first item is {}",
                        item.node,
                        elem_name(t),
                        elem_name(prev)
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(ty.unwrap_or(Ty::EmptyList))
}

fn elem_name(list: Ty) -> &'static str {
    match list {
        Ty::IpList => "an IP address or CIDR",
        Ty::StrList => "a string",
        Ty::NumList => "a number",
        _ => "a value",
    }
}

fn list_data(items: &[Spanned<Literal>], ty: Ty) -> ListData {
    match ty {
        Ty::IpList => ListData::Ips(CidrSet::new(items.iter().filter_map(|i| match &i.node {
            Literal::Cidr(n) => Some(*n),
            Literal::Ip(ip) => Some(ipnet::IpNet::from(*ip)),
            _ => None,
        }))),
        Ty::StrList => ListData::Strs(
            items
                .iter()
                .filter_map(|i| match &i.node {
                    Literal::Str(s, _) => Some(Box::from(s.as_str())),
                    _ => None,
                })
                .collect::<AHashSet<Box<str>>>(),
        ),
        Ty::NumList => ListData::Nums(
            items
                .iter()
                .filter_map(|i| match &i.node {
                    Literal::Num(n, text) => {
                        Some(Num::parse_decimal(text).unwrap_or(Num::from_f64(*n)))
                    }
                    _ => None,
                })
                .collect(),
        ),
        _ => ListData::Empty,
    }
}

fn split_path(p: &str) -> Box<[Box<str>]> {
    p.split('.').map(Box::from).collect()
}

fn is_count_metric(v: &Val) -> Option<u32> {
    match v {
        Val::Count(i) => Some(*i),
        _ => None,
    }
}

/// Parses a zone: `UTC`, `GMT`, `Z` (any case), `±HH:MM`, or an exact IANA name.
pub fn parse_zone(z: &str) -> Result<Zone, String> {
    if ["utc", "gmt", "z"].contains(&z.to_ascii_lowercase().as_str()) {
        return Ok(Zone::Fixed(0));
    }
    if let Some(rest) = z.strip_prefix('+').or_else(|| z.strip_prefix('-')) {
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        return match (h.parse::<i32>(), m.parse::<i32>()) {
            (Ok(h), Ok(m)) if h <= 14 && m < 60 => Ok(Zone::Fixed(sign * (h * 3600 + m * 60))),
            _ => Err(format!("invalid UTC offset `{z}`")),
        };
    }
    if !z.contains('/') {
        return Err(format!("unknown time zone `{z}`"));
    }
    chrono_tz::Tz::from_str(z)
        .map(Zone::Named)
        .map_err(|_| format!("unknown time zone `{z}`"))
}

fn zone_help(z: &str) -> Option<String> {
    if z.contains('/') {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        return did_you_mean(z, names).map(|s| format!("did you mean `{s}`?"));
    }
    if z.starts_with(['+', '-']) {
        return Some("an offset is `+HH:MM` or `-HH:MM`, from `-14:00` to `+14:00`".to_string());
    }
    // `UTC+1`, `GMT-05:00`: the offset alone.
    let lower = z.to_ascii_lowercase();
    if let Some(offset) = lower
        .strip_prefix("utc")
        .or_else(|| lower.strip_prefix("gmt"))
        .filter(|o| o.starts_with(['+', '-']))
    {
        if let Ok(Zone::Fixed(secs)) = parse_zone(offset) {
            let (sign, secs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
            return Some(format!(
                "write the offset alone: `{sign}{:02}:{:02}`",
                secs / 3600,
                secs % 3600 / 60
            ));
        }
    }
    Some("use `UTC`, an offset like `+05:30`, or an IANA name like `America/New_York` (abbreviations like `EST` are ambiguous)".to_string())
}

fn parse_day(d: &str) -> Option<u8> {
    let l = d.to_ascii_lowercase();
    let days = [
        ["mon", "monday"],
        ["tue", "tuesday"],
        ["wed", "wednesday"],
        ["thu", "thursday"],
        ["fri", "friday"],
        ["sat", "saturday"],
        ["sun", "sunday"],
    ];
    if l == "weekends" || l == "weekend" {
        return Some(0b110_0000);
    }
    if l == "weekdays" {
        return Some(0b001_1111);
    }
    let l = match l.as_str() {
        "tues" => "tue".to_string(),
        "thur" | "thurs" => "thu".to_string(),
        _ => l,
    };
    days.iter()
        .position(|names| names.contains(&l.as_str()))
        .map(|i| 1u8 << i)
}

impl Checker {
    fn list_decl(&mut self, l: &ast::ListDecl, path: Option<&Path>) {
        let name = &l.name.node;
        if let Some(prev) = self.lists.get(name) {
            let help = format!(
                "list names are unique in a rule set; the first is at {}:{}:{}",
                prev.file, prev.span.line, prev.span.col
            );
            self.error(
                "E0208",
                l.name.span,
                format!("duplicate list `{name}`"),
                Some(help),
            );
            return;
        }
        let label: Arc<str> = Arc::from(name.as_str());
        let (list, ty) = match &l.value {
            ast::ListValue::Items(items) if !self.charge_list_items(items.len(), l.name.span) => {
                return self.poisoned_list(l);
            }
            ast::ListValue::Items(items) => match list_ty_of(items) {
                Ok(ty) => (self.const_list(list_data(items, ty), label), ty),
                Err((span, msg)) => {
                    self.error(
                        "E0305",
                        span,
                        msg,
                        Some("a list holds only CIDRs/IPs, only strings or only numbers".into()),
                    );
                    return self.poisoned_list(l);
                }
            },
            ast::ListValue::File(f) => {
                let base = path.and_then(Path::parent).unwrap_or(Path::new(""));
                let full = base.join(&f.node);
                if let Some(&(i, ty)) = self.list_files.get(&full) {
                    // Read once per load: another declaration shares it.
                    (ListRef::Const(i, label), ty)
                } else {
                    match read_list_file(&full, self.limits.max_file_bytes) {
                        Ok(text) => {
                            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                            let mut items = Vec::new();
                            for line in text.lines() {
                                let line = line.split('#').next().unwrap_or("").trim();
                                if !line.is_empty() {
                                    items.push(Spanned::new(
                                        crate::syntax::classify_bare(line),
                                        f.span,
                                    ));
                                }
                            }
                            let max_items = self.limits.max_list_items;
                            if items.len() > max_items {
                                self.error(
                                "E0102",
                                f.span,
                                format!(
                                    "list file `{}` has {} items, more than the limit of {max_items}",
                                    full.display(),
                                    items.len()
                                ),
                                None,
                            );
                                return self.poisoned_list(l);
                            }
                            if !self.charge_list_items(items.len(), f.span) {
                                return self.poisoned_list(l);
                            }
                            match list_ty_of(&items) {
                                Ok(ty) => {
                                    let list = self.const_list(list_data(&items, ty), label);
                                    if let ListRef::Const(i, _) = &list {
                                        self.list_files.insert(full.clone(), (*i, ty));
                                    }
                                    (list, ty)
                                }
                                Err((span, msg)) => {
                                    self.error(
                                    "E0305",
                                    span,
                                    format!("in `{}`: {msg}", full.display()),
                                    Some(
                                        "a list holds only CIDRs/IPs, only strings or only numbers"
                                            .into(),
                                    ),
                                );
                                    return self.poisoned_list(l);
                                }
                            }
                        }
                        Err(ListFileError::TooLarge(max)) => {
                            self.error(
                                "E0102",
                                f.span,
                                format!(
                                    "list file `{}` is larger than the limit of {max} bytes",
                                    full.display()
                                ),
                                None,
                            );
                            return self.poisoned_list(l);
                        }
                        Err(ListFileError::Io(e)) => {
                            self.error(
                                "E0308",
                                f.span,
                                format!("cannot read list file `{}`: {e}", full.display()),
                                None,
                            );
                            return self.poisoned_list(l);
                        }
                    }
                }
            }
            ast::ListValue::Field(p) => match p.node.strip_prefix("agent.") {
                Some(rest) if rest != "id" && !rest.is_empty() => (
                    ListRef::Profile(self.profile_list_slot(rest), label),
                    Ty::DynList,
                ),
                _ => {
                    let help = if p.node.starts_with("Agent.") || p.node.starts_with("AGENT.") {
                        "field names are case-sensitive: write `agent.<field>`".to_string()
                    } else {
                        "a list is `[a, b]`, `file \"path\"` or a profile field `agent.<field>`"
                            .to_string()
                    };
                    self.error(
                        "E0202",
                        p.span,
                        format!("`{}` is not a profile field", p.node),
                        Some(help),
                    );
                    return self.poisoned_list(l);
                }
            },
        };
        self.lists.insert(
            name.clone(),
            ListInfo {
                list,
                ty,
                span: l.name.span,
                file: self.file.clone(),
                used: false,
            },
        );
    }

    /// Declares a list whose declaration had an error as an empty list of
    /// any type, so the rules that use it get no further errors about it.
    fn poisoned_list(&mut self, l: &ast::ListDecl) {
        let list = self.const_list(ListData::Empty, Arc::from(l.name.node.as_str()));
        let info = ListInfo {
            list,
            ty: Ty::DynList,
            span: l.name.span,
            file: self.file.clone(),
            used: true,
        };
        self.lists.insert(l.name.node.clone(), info);
    }

    fn const_list(&mut self, data: ListData, label: Arc<str>) -> ListRef {
        self.const_lists.push(data);
        ListRef::Const(
            u32::try_from(self.const_lists.len() - 1).unwrap_or(u32::MAX),
            label,
        )
    }

    /// The slot of profile path `path`, read as a list.
    fn profile_list_slot(&mut self, path: &str) -> u32 {
        let slot = self.profile_slot(path);
        if let Some(is_list) = self.profile_list_slots.get_mut(slot as usize) {
            *is_list = true;
        }
        slot
    }

    fn profile_slot(&mut self, path: &str) -> u32 {
        let segs = split_path(path);
        let i = match self.profile_paths.iter().position(|p| *p == segs) {
            Some(i) => i,
            None => {
                self.profile_paths.push(segs);
                self.profile_list_slots.push(false);
                self.profile_paths.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    fn rule(&mut self, r: &ast::Rule) -> Option<CompiledRule> {
        let errors_before = self.error_count();
        let mut seen: AHashMap<ClauseKind, Span> = AHashMap::new();
        for cl in &r.clauses {
            let kind = cl.kind();
            if kind == ClauseKind::Unknown {
                if let ClauseBody::Unknown { name, .. } = &cl.body {
                    let names = [
                        "Trigger", "Unless", "Action", "Severity", "Mode", "Cooldown", "Tags",
                    ];
                    let help =
                        did_you_mean(&name.node, names).map(|s| format!("did you mean `{s}`?"));
                    self.error(
                        "E0107",
                        name.span,
                        format!("unknown clause `{}`", name.node),
                        help,
                    );
                }
                continue;
            }
            if let Some(prev) = seen.insert(kind, cl.span) {
                let help = format!("the first `{}:` is on line {}", kind.name(), prev.line);
                self.error(
                    "E0109",
                    cl.span,
                    format!("duplicate `{}` clause in rule `{}`", kind.name(), r.id.node),
                    Some(help),
                );
            }
        }
        // One error naming every missing clause, in their usual order.
        let missing: Vec<&str> = [
            ClauseKind::Trigger,
            ClauseKind::Action,
            ClauseKind::Severity,
        ]
        .into_iter()
        .filter(|k| !seen.contains_key(k))
        .map(|k| k.name())
        .collect();
        if !missing.is_empty() {
            let join = |items: Vec<String>, word: &str| match items.as_slice() {
                [init @ .., last] if !init.is_empty() => {
                    format!("{} {word} {last}", init.join(", "))
                }
                _ => items.concat(),
            };
            let names = join(missing.iter().map(|k| format!("`{k}`")).collect(), "or");
            let adds = join(missing.iter().map(|k| format!("`{k}:`")).collect(), "and");
            self.error(
                "E0108",
                r.span,
                format!("rule `{}` has no {names} clause", r.id.node),
                Some(format!(
                    "every rule needs `Trigger:`, `Action:` and `Severity:`; add {adds}"
                )),
            );
        }
        let mut trigger = None;
        let mut unless = None;
        let mut decision = None;
        let mut actions: Vec<Arc<str>> = Vec::new();
        let mut alerts = Vec::new();
        let mut severity = None;
        let mut shadow = false;
        let mut cooldown_ms = None;
        let mut tags = Vec::new();
        for cl in &r.clauses {
            match &cl.body {
                ClauseBody::Trigger(e) => trigger = Some(self.cond(e)),
                ClauseBody::Unless(e) => unless = Some(self.cond(e)),
                ClauseBody::Action(list) => {
                    let mut first_decision: Option<(Decision, Span)> = None;
                    for a in list {
                        match self.action(a) {
                            Some(ActionKind::Decision(d, canon)) => {
                                if let Some((_, prev)) = first_decision {
                                    self.error(
                                        "E0209",
                                        a.span,
                                        format!("rule `{}` has two decision actions", r.id.node),
                                        Some(format!("a rule decides one of deny, suspend_token, flag_for_review, allow; the first is at column {}", prev.col)),
                                    );
                                } else {
                                    first_decision = Some((d, a.span));
                                    decision = Some(d);
                                }
                                actions.push(Arc::from(canon));
                            }
                            Some(ActionKind::Alert(def, canon)) => {
                                alerts.push(def);
                                actions.push(Arc::from(canon.as_str()));
                            }
                            Some(ActionKind::Revoke) => actions.push(Arc::from("revoke_sessions")),
                            None => {}
                        }
                    }
                }
                ClauseBody::Severity(s) => match Severity::from_str(&s.node) {
                    Ok(sev) => severity = Some(sev),
                    Err(_) => {
                        let help = did_you_mean(
                            &s.node.to_ascii_uppercase(),
                            ["LOW", "MEDIUM", "HIGH", "CRITICAL"],
                        )
                        .map(|x| format!("did you mean `{x}`?"))
                        .or_else(|| Some("severities are LOW, MEDIUM, HIGH and CRITICAL".into()));
                        self.error(
                            "E0204",
                            s.span,
                            format!("unknown severity `{}`", s.node),
                            help,
                        );
                    }
                },
                ClauseBody::Mode(m) => match m.node.to_ascii_lowercase().as_str() {
                    "shadow" => shadow = true,
                    "enforce" => shadow = false,
                    _ => {
                        let help = did_you_mean(&m.node, ["enforce", "shadow"])
                            .map(|x| format!("did you mean `{x}`?"));
                        self.error(
                            "E0213",
                            m.span,
                            format!("unknown mode `{}`", m.node),
                            help.or(Some("modes are `enforce` and `shadow`".into())),
                        );
                    }
                },
                ClauseBody::Cooldown(d) => match crate::syntax::parse_duration(&d.node) {
                    Some(ms) if ms > 0 => cooldown_ms = Some(ms),
                    _ => self.error(
                        "E0303",
                        d.span,
                        format!("invalid duration `{}`", d.node),
                        Some("write a duration like `30s`, `15m`, `1h` or `1d`".into()),
                    ),
                },
                ClauseBody::Tags(t) => tags.extend(t.iter().map(|t| Arc::from(t.node.as_str()))),
                ClauseBody::Unknown { .. } => {}
            }
        }
        let clean = self.error_count() == errors_before;
        if let Some(Cond::Const(t)) = &trigger {
            if *t != Tri::True && clean {
                let span = r.trigger().map_or(r.span, |t| t.span);
                self.push(Diagnostic::warning(
                    "W0001",
                    span,
                    format!("the trigger of rule `{}` can never be true", r.id.node),
                ));
            }
        }
        if let (Some(Cond::Const(Tri::True)), true) = (&unless, clean) {
            let span = r
                .clauses_of(ClauseKind::Unless)
                .last()
                .map_or(r.span, |c| c.span);
            self.push(Diagnostic::warning(
                "W0002",
                span,
                format!(
                    "the `Unless` of rule `{}` is always true: the rule never fires",
                    r.id.node
                ),
            ));
        }
        if self.error_count() > errors_before {
            return None;
        }
        Some(CompiledRule {
            id: Arc::from(r.id.node.as_str()),
            title: r.title.as_deref().map(Arc::from),
            trigger: trigger?,
            unless,
            decision,
            severity: severity?,
            actions: actions.into(),
            alerts: alerts.into(),
            shadow,
            cooldown_ms,
            tags: tags.into(),
        })
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    fn action(&mut self, a: &Spanned<ast::Action>) -> Option<ActionKind> {
        let words: Vec<String> = a
            .node
            .words
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let first = words.first().map(String::as_str).unwrap_or("");
        let decision = match first {
            "deny" => Some((Decision::Deny, "deny")),
            "suspend_token" | "suspend" => Some((Decision::Suspend, "suspend_token")),
            "flag_for_review" | "flag" => Some((Decision::Flag, "flag_for_review")),
            "allow" => Some((Decision::Allow, "allow")),
            _ => None,
        };
        let single = |c: &mut Checker, kind: ActionKind| {
            if words.len() > 1 || a.node.quoted.is_some() {
                c.error(
                    "E0203",
                    a.span,
                    format!(
                        "unexpected words after action `{}`",
                        a.node.words.first().map_or("", |w| w.as_str())
                    ),
                    Some("join actions with `+`: `deny + alert security team`".into()),
                );
                None
            } else {
                Some(kind)
            }
        };
        if let Some((d, canon)) = decision {
            return single(self, ActionKind::Decision(d, canon));
        }
        if first == "revoke_sessions" {
            return single(self, ActionKind::Revoke);
        }
        let (immediate, rest) = match words.as_slice() {
            [i, alert, rest @ ..] if i == "immediate" && alert == "alert" => (true, rest),
            [alert, rest @ ..] if alert == "alert" => (false, rest),
            _ => {
                let shown = if a.node.words.is_empty() {
                    String::new()
                } else {
                    a.node.words.join(" ")
                };
                let help = did_you_mean(&shown, ACTIONS.iter().copied()).map(|s| format!("did you mean `{s}`?")).or_else(|| {
                    Some("actions are deny, suspend_token, flag_for_review, allow, revoke_sessions and [immediate] alert [channel]".into())
                });
                self.error("E0203", a.span, format!("unknown action `{shown}`"), help);
                return None;
            }
        };
        // Channel words keep their spelling (values are compared exactly).
        let skip = if immediate { 2 } else { 1 };
        let channel_words: Vec<&str> = a.node.words.iter().skip(skip).map(String::as_str).collect();
        let _ = rest;
        let channel = match (&a.node.quoted, channel_words.is_empty()) {
            (Some(q), true) => Some(q.clone()),
            (None, false) => Some(channel_words.join(" ")),
            (None, true) => None,
            (Some(_), false) => {
                self.error(
                    "E0203",
                    a.span,
                    "an alert channel is either words or one quoted string",
                    None,
                );
                return None;
            }
        };
        let mut canon = if immediate {
            "immediate alert".to_string()
        } else {
            "alert".to_string()
        };
        if let Some(ch) = &channel {
            canon.push(' ');
            if a.node.quoted.is_some() {
                let _ = ast::write_quoted(&mut canon, ch);
            } else {
                canon.push_str(ch);
            }
        }
        Some(ActionKind::Alert(
            AlertDef {
                channel: channel.map(|c| Arc::from(c.as_str())),
                immediate,
            },
            canon,
        ))
    }

    // ----- conditions -------------------------------------------------------

    fn cond(&mut self, e: &Spanned<Expr>) -> Cond {
        match &e.node {
            Expr::Or(ops) => fold_or(ops.iter().map(|o| self.cond(&o.expr)).collect()),
            Expr::And(ops) => fold_and(ops.iter().map(|o| self.cond(&o.expr)).collect()),
            // Operands that are not phrases were reported (E0104, "insert
            // `AND`") when parsing: checking them too would only add noise.
            Expr::Juxt(ops) => fold_and(
                ops.iter()
                    .filter(|o| juxtaposable(&o.expr.node))
                    .map(|o| self.cond(&o.expr))
                    .collect(),
            ),
            Expr::Not(inner, _) => match self.cond(inner) {
                Cond::Const(t) => Cond::Const(t.not()),
                c => Cond::Not(Box::new(c)),
            },
            Expr::Paren(inner) => self.cond(inner),
            Expr::Cmp(op, a, b) => self.cmp(*op, a, b, e),
            Expr::In {
                negated,
                item,
                list,
                ..
            } => self.membership(*negated, item, list),
            Expr::Str(op, a, b, _) => self.str_op(*op, a, b, e),
            Expr::Call(name, args) => self.call_cond(name, args, e),
            Expr::Phrase(p, _) => self.phrase(p, e),
            Expr::Lit(Literal::Bool(b)) => Cond::Const(Tri::from_bool(*b)),
            Expr::Path(p) => match self.value(e) {
                Some((v, Ty::Dyn | Ty::Bool)) => Cond::Truthy(v, Arc::from(p.as_str())),
                Some((_, ty)) => {
                    self.error(
                        "E0206",
                        e.span,
                        format!("expected a condition, found `{p}` ({})", ty.name()),
                        Some(format!("compare it, for example `{p} == ...`")),
                    );
                    Cond::Const(Tri::False)
                }
                None => Cond::Const(Tri::False),
            },
            _ => {
                let ty = self.value(e).map(|(_, t)| t);
                if let Some(ty) = ty {
                    self.error(
                        "E0206",
                        e.span,
                        format!(
                            "expected a condition, found {} `{}`",
                            ty.name(),
                            expr_text(&e.node)
                        ),
                        Some("compare it with something, for example `> 10`".into()),
                    );
                }
                Cond::Const(Tri::False)
            }
        }
    }

    fn cmp(
        &mut self,
        op: ast::CmpOp,
        a: &Spanned<Expr>,
        b: &Spanned<Expr>,
        whole: &Spanned<Expr>,
    ) -> Cond {
        // `baseline` binds to the one count metric on the other side.
        let (ba, bb) = (has_bare_baseline(&a.node), has_bare_baseline(&b.node));
        let saved = self.baseline_target;
        if ba || bb {
            let (base_side, metric_side) = if ba { (a, b) } else { (b, a) };
            if ba && bb {
                self.error(
                    "E0210",
                    whole.span,
                    "`baseline` on both sides of a comparison",
                    Some(
                        "compare a metric with its baseline: `requests_per_minute > baseline * 3`"
                            .into(),
                    ),
                );
                return Cond::Const(Tri::False);
            }
            let metrics = self.metrics_in(metric_side);
            match metrics.as_slice() {
                [one] => self.baseline_target = Some((*one, base_side.span)),
                [] => {
                    let span = find_baseline_span(base_side).unwrap_or(base_side.span);
                    self.error(
                        "E0210",
                        span,
                        "`baseline` has no metric to refer to",
                        Some("put one metric on the other side: `requests_per_minute > baseline * 3`, or write `baseline(metric)`".into()),
                    );
                    return Cond::Const(Tri::False);
                }
                _ => {
                    let span = find_baseline_span(base_side).unwrap_or(base_side.span);
                    self.error(
                        "E0210",
                        span,
                        "`baseline` is ambiguous: the other side of the comparison has more than one metric",
                        Some("write `baseline(metric)` to say which".into()),
                    );
                    return Cond::Const(Tri::False);
                }
            }
        }
        let va = self.value(a);
        let vb = self.value(b);
        self.baseline_target = saved;
        let ((va, ta), (vb, tb)) = match (va, vb) {
            (Some(x), Some(y)) => (x, y),
            _ => return Cond::Const(Tri::False),
        };
        if ta.is_list() || tb.is_list() {
            let (side, t) = if ta.is_list() { (a, ta) } else { (b, tb) };
            let name = expr_text(&side.node);
            self.error(
                "E0206",
                side.span,
                format!("cannot compare {} with `{}`", t.name(), op.as_str()),
                Some(format!(
                    "test membership with `x in {name}`, or compare its length: `len({name})`"
                )),
            );
            return Cond::Const(Tri::False);
        }
        if !compatible(ta, tb) {
            let help = if matches!((ta, tb), (Ty::Num, Ty::Dur) | (Ty::Dur, Ty::Num)) {
                Some(
                    "a number field counts its own unit (days, minutes); write a plain number"
                        .to_string(),
                )
            } else {
                None
            };
            self.error(
                "E0206",
                whole.span,
                format!(
                    "mismatched types: `{}` is {} but `{}` is {}",
                    expr_text(&a.node),
                    ta.name(),
                    expr_text(&b.node),
                    tb.name()
                ),
                help,
            );
            return Cond::Const(Tri::False);
        }
        let ordered = !matches!(op, ast::CmpOp::Eq | ast::CmpOp::Ne);
        if ordered && matches!(ta, Ty::Ip | Ty::Bool) | matches!(tb, Ty::Ip | Ty::Bool) {
            let t = if matches!(ta, Ty::Ip | Ty::Bool) {
                ta
            } else {
                tb
            };
            self.error(
                "E0206",
                whole.span,
                format!("`{}` does not order {}", op.as_str(), t.name()),
                Some("use `==`, `!=`, or `in` with a CIDR list".into()),
            );
            return Cond::Const(Tri::False);
        }
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        if let (Some(x), Some(y)) = (const_value(&va), const_value(&vb)) {
            return Cond::Const(crate::eval::compare_values(op, &x, &y));
        }
        Cond::Cmp(op, va, vb, label)
    }

    fn metrics_in(&mut self, e: &Spanned<Expr>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match &e.node {
                Expr::Path(p) if p == "requests_per_minute" => {
                    out.push(self.counter(None, 60_000, None, "requests_per_minute"))
                }
                Expr::Count { .. } => {
                    if let Some((v, _)) = self.value(e) {
                        if let Some(i) = is_count_metric(&v) {
                            out.push(i);
                        }
                    }
                }
                Expr::Arith(_, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                Expr::Neg(a) | Expr::Paren(a) => stack.push(a),
                Expr::Call(n, args) if matches!(n.node.as_str(), "min" | "max" | "abs") => {
                    stack.extend(args.iter())
                }
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn membership(&mut self, negated: bool, item: &Spanned<Expr>, list: &Spanned<Expr>) -> Cond {
        if let Expr::Path(p) = &item.node {
            if p == "scopes" || p == "granted_scopes" {
                let not = if negated { "not " } else { "" };
                self.error(
                    "E0212",
                    item.span,
                    format!("`{p}` is a list; `{not}in` tests one value"),
                    Some(format!(
                        "to test each requested scope, write `includes scope {not}in {}`",
                        expr_text(&list.node)
                    )),
                );
                return Cond::Const(Tri::False);
            }
        }
        let v = self.value(item);
        let l = self.list_ref(list);
        let ((v, vt), (l, lt)) = match (v, l) {
            (Some(v), Some(l)) => (v, l),
            _ => return Cond::Const(Tri::False),
        };
        if vt.is_list() {
            self.error(
                "E0206",
                item.span,
                format!(
                    "`{}` is {}; `in` tests one value",
                    expr_text(&item.node),
                    vt.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        let ok = matches!(
            (vt, lt),
            (Ty::Ip, Ty::IpList)
                | (Ty::Str, Ty::StrList)
                | (Ty::Num, Ty::NumList)
                | (Ty::Dyn, _)
                | (_, Ty::DynList)
                | (_, Ty::EmptyList)
        );
        if !ok {
            self.error(
                "E0206",
                list.span,
                format!(
                    "mismatched types: `{}` is {} but `{}` is {}",
                    expr_text(&item.node),
                    vt.name(),
                    expr_text(&list.node),
                    lt.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        Cond::In {
            negated,
            item: v,
            list: l,
            label: Arc::from(expr_text(&item.node).as_str()),
        }
    }

    /// The list of a `from IP in` / `includes scope in` phrase, which must be
    /// a `want` list (or one whose items are known only at run time, or
    /// empty); else E0206 `mismatched types: {why}, but ...`.
    fn phrase_list(&mut self, list: &Spanned<Expr>, want: Ty, why: &str) -> Option<ListRef> {
        let (l, lt) = self.list_ref(list)?;
        if lt == want || matches!(lt, Ty::DynList | Ty::EmptyList) {
            return Some(l);
        }
        self.error(
            "E0206",
            list.span,
            format!(
                "mismatched types: {why}, but `{}` is {}",
                expr_text(&list.node),
                lt.name()
            ),
            None,
        );
        None
    }

    fn list_ref(&mut self, e: &Spanned<Expr>) -> Option<(ListRef, Ty)> {
        match &e.node {
            Expr::Paren(inner) => self.list_ref(inner),
            Expr::List(items) => match list_ty_of(items) {
                Ok(ty) => {
                    let label = Arc::from(expr_text(&e.node).as_str());
                    Some((self.const_list(list_data(items, ty), label), ty))
                }
                Err((span, msg)) => {
                    self.error(
                        "E0305",
                        span,
                        msg,
                        Some("a list holds only CIDRs/IPs, only strings or only numbers".into()),
                    );
                    None
                }
            },
            Expr::Path(p) => {
                if let Some(info) = self.lists.get_mut(p) {
                    info.used = true;
                    return Some((info.list.clone(), info.ty));
                }
                let label: Arc<str> = Arc::from(p.as_str());
                match p.as_str() {
                    "scopes" => return Some((ListRef::Field(Field::Scopes, label), Ty::StrList)),
                    "granted_scopes" => {
                        return Some((ListRef::Field(Field::GrantedScopes, label), Ty::StrList))
                    }
                    _ => {}
                }
                if let Some(rest) = p.strip_prefix("agent.") {
                    if rest != "id" {
                        return Some((
                            ListRef::Profile(self.profile_list_slot(rest), label),
                            Ty::DynList,
                        ));
                    }
                }
                if let Some(rest) = p.strip_prefix("attr.") {
                    return Some((ListRef::Attr(split_path(rest), label), Ty::DynList));
                }
                let names: Vec<String> = self.lists.keys().cloned().collect();
                let help = did_you_mean(p, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"));
                let help = help.or_else(|| Some("declare it: `list NAME = [a, b]`".into()));
                self.error("E0201", e.span, format!("unknown list `{p}`"), help);
                None
            }
            _ => {
                if let Some((_, ty)) = self.value(e) {
                    self.error(
                        "E0206",
                        e.span,
                        format!(
                            "expected a list, found {} `{}`",
                            ty.name(),
                            expr_text(&e.node)
                        ),
                        None,
                    );
                }
                None
            }
        }
    }

    fn str_op(
        &mut self,
        op: ast::StrOp,
        a: &Spanned<Expr>,
        b: &Spanned<Expr>,
        whole: &Spanned<Expr>,
    ) -> Cond {
        let va = self.value(a);
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        let Some((va, ta)) = va else {
            return Cond::Const(Tri::False);
        };
        if !matches!(ta, Ty::Str | Ty::Dyn) {
            self.error(
                "E0206",
                a.span,
                format!(
                    "`{}` needs a string, but `{}` is {}",
                    op.as_str(),
                    expr_text(&a.node),
                    ta.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        if op == ast::StrOp::Matches {
            return match &b.node {
                Expr::Lit(Literal::Str(re, _)) => match self.regex(re) {
                    Ok(r) => Cond::Matches(va, r, label),
                    Err(help) if help.starts_with("the regexes of this rule set") => {
                        self.error(
                            "E0102",
                            b.span,
                            help,
                            Some(
                                "use fewer or smaller regexes, or raise `Limits::max_regex_bytes`"
                                    .into(),
                            ),
                        );
                        Cond::Const(Tri::False)
                    }
                    Err(help) => {
                        self.error("E0306", b.span, format!("invalid regex `{re}`"), Some(help));
                        Cond::Const(Tri::False)
                    }
                },
                _ => {
                    self.error(
                        "E0206",
                        b.span,
                        "`matches` takes a string literal",
                        Some("write the pattern in quotes: `matches \"^svc-\"`".into()),
                    );
                    Cond::Const(Tri::False)
                }
            };
        }
        let Some((vb, tb)) = self.value(b) else {
            return Cond::Const(Tri::False);
        };
        if !matches!(tb, Ty::Str | Ty::Dyn) {
            self.error(
                "E0206",
                b.span,
                format!(
                    "`{}` needs a string, but `{}` is {}",
                    op.as_str(),
                    expr_text(&b.node),
                    tb.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        Cond::StrOp(op, va, vb, label)
    }

    fn call_cond(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        whole: &Spanned<Expr>,
    ) -> Cond {
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        match name.node.as_str() {
            "exists" | "missing" => {
                let [arg] = args else {
                    self.arity(name, 1, args.len());
                    return Cond::Const(Tri::False);
                };
                if !matches!(arg.node, Expr::Path(_)) {
                    self.error(
                        "E0206",
                        arg.span,
                        format!("`{}` takes a field", name.node),
                        None,
                    );
                    return Cond::Const(Tri::False);
                }
                let v = if let Expr::Path(p) = &arg.node {
                    if let Some(info) = self.lists.get_mut(p) {
                        info.used = true;
                        match info.list.clone() {
                            ListRef::Profile(slot, _) => Some(Val::Profile(slot)),
                            _ => {
                                self.error(
                                    "E0206",
                                    arg.span,
                                    format!(
                                        "`{p}` is a constant list; `{}` takes a field",
                                        name.node
                                    ),
                                    None,
                                );
                                return Cond::Const(Tri::False);
                            }
                        }
                    } else {
                        self.value(arg).map(|(v, _)| v)
                    }
                } else {
                    None
                };
                match v {
                    Some(v) if name.node == "exists" => Cond::Exists(v, label),
                    Some(v) => Cond::Missing(v, label),
                    None => Cond::Const(Tri::False),
                }
            }
            "first_seen" => {
                let (field, retention) = match args {
                    [f] => (f, DEFAULT_RETENTION_MS),
                    [f, r] => match self.duration_arg(r) {
                        Some(ms) => (f, ms),
                        None => return Cond::Const(Tri::False),
                    },
                    _ => {
                        self.arity(name, 1, args.len());
                        return Cond::Const(Tri::False);
                    }
                };
                if self.in_count {
                    self.error(
                        "E0215",
                        whole.span,
                        "a `count` condition cannot use metrics",
                        Some(COUNT_METRIC_HELP.into()),
                    );
                    return Cond::Const(Tri::False);
                }
                let Some((v, _)) = self.field_arg(field, "first_seen", true) else {
                    return Cond::Const(Tri::False);
                };
                let lbl: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
                let i = match self.first_seens.iter().position(|f| f.label == lbl) {
                    Some(i) => i,
                    None => {
                        self.first_seens.push(FirstSeenDef {
                            field: v,
                            retention_ms: retention,
                            label: lbl.clone(),
                        });
                        self.first_seens.len() - 1
                    }
                };
                Cond::FirstSeen(u32::try_from(i).unwrap_or(u32::MAX), lbl)
            }
            "any" => {
                let [path, cond] = args else {
                    self.arity(name, 2, args.len());
                    return Cond::Const(Tri::False);
                };
                let segs = match &path.node {
                    Expr::Path(p) if p.starts_with("attr.") => {
                        split_path(p.trim_start_matches("attr."))
                    }
                    _ => {
                        self.error(
                            "E0206",
                            path.span,
                            "`any` takes an `attr.<path>` to a list of objects first",
                            Some("for example `any(attr.target, type == \"User\")`".into()),
                        );
                        return Cond::Const(Tri::False);
                    }
                };
                let saved = self.in_any;
                self.in_any = true;
                let c = self.cond(cond);
                self.in_any = saved;
                Cond::Any(segs, Box::new(c), label)
            }
            "min" | "max" | "abs" | "len" | "baseline" => {
                if let Some((_, ty)) = self.value(whole) {
                    self.error(
                        "E0206",
                        whole.span,
                        format!("expected a condition, found {} `{}`", ty.name(), label),
                        Some("compare it with something, for example `> 10`".into()),
                    );
                }
                Cond::Const(Tri::False)
            }
            other => {
                self.unknown_function(name, other);
                Cond::Const(Tri::False)
            }
        }
    }

    fn unknown_function(&mut self, name: &Spanned<String>, other: &str) {
        let help = did_you_mean(other, FUNCTIONS.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("functions are {}", FUNCTIONS.join(", "))));
        self.error(
            "E0205",
            name.span,
            format!("unknown function `{other}`"),
            help,
        );
    }

    fn arity(&mut self, name: &Spanned<String>, want: usize, got: usize) {
        let s = if want == 1 { "" } else { "s" };
        self.error(
            "E0211",
            name.span,
            format!("`{}` takes {want} argument{s}, not {got}", name.node),
            None,
        );
    }

    fn duration_arg(&mut self, e: &Spanned<Expr>) -> Option<u64> {
        match &e.node {
            Expr::Lit(Literal::Duration(ms, _)) if *ms > 0 => Some(*ms),
            _ => {
                self.error(
                    "E0303",
                    e.span,
                    format!("expected a duration, found `{}`", expr_text(&e.node)),
                    Some("write a duration like `10m`, `1h` or `7d`".into()),
                );
                None
            }
        }
    }

    /// A field argument (`first_seen(ip)`, `distinct(country)`, `by ip`).
    fn field_arg(&mut self, e: &Spanned<Expr>, what: &str, allow_list: bool) -> Option<(Val, Ty)> {
        let Expr::Path(p) = &e.node else {
            self.error(
                "E0206",
                e.span,
                format!("`{what}` takes a field, found `{}`", expr_text(&e.node)),
                None,
            );
            return None;
        };
        if p == "scopes" || p == "granted_scopes" {
            if allow_list {
                let f = if p == "scopes" {
                    Field::Scopes
                } else {
                    Field::GrantedScopes
                };
                return Some((Val::Field(f), Ty::StrList));
            }
            self.error(
                "E0206",
                e.span,
                format!("`{what}` needs a single-valued field, but `{p}` is a list"),
                None,
            );
            return None;
        }
        let saved = self.in_count;
        self.in_count = false;
        let r = self.value(e);
        self.in_count = saved;
        match r {
            Some((v @ (Val::Field(_) | Val::Attr(_) | Val::Profile(_)), t)) => Some((v, t)),
            Some(_) => {
                self.error(
                    "E0206",
                    e.span,
                    format!("`{what}` takes a field of the event, found `{p}`"),
                    None,
                );
                None
            }
            None => None,
        }
    }

    fn phrase(&mut self, p: &Phrase, e: &Spanned<Expr>) -> Cond {
        match p {
            Phrase::Actor { kind, category } => {
                let kinds: u8 = match kind {
                    None => 0xff,
                    Some(ast::ActorPhrase::ServiceApp) => {
                        1 << actor_bit_index(crate::event::ActorKind::ServiceApp)
                    }
                    Some(ast::ActorPhrase::User) => {
                        1 << actor_bit_index(crate::event::ActorKind::User)
                    }
                    Some(ast::ActorPhrase::Agent) => {
                        !(1u8 << actor_bit_index(crate::event::ActorKind::User))
                    }
                };
                let cat = match category {
                    ast::CategoryPhrase::Authentication => Categories::AUTHENTICATION,
                    ast::CategoryPhrase::TokenRequest => Categories::TOKEN_REQUEST,
                    ast::CategoryPhrase::ApiCall => Categories::API_CALL,
                    ast::CategoryPhrase::AdminChange => Categories::ADMIN_CHANGE,
                };
                Cond::Actor {
                    kinds,
                    cat,
                    label: Arc::from(expr_text(&e.node).as_str()),
                }
            }
            Phrase::FromIp { negated, list } => {
                let Some(l) =
                    self.phrase_list(list, Ty::IpList, "`from IP in` needs a list of CIDRs")
                else {
                    return Cond::Const(Tri::False);
                };
                Cond::In {
                    negated: *negated,
                    item: Val::Field(Field::Ip),
                    list: l,
                    label: Arc::from("ip"),
                }
            }
            Phrase::IncludesScope { negated, list } => {
                let Some(l) = self.phrase_list(list, Ty::StrList, "scopes are strings") else {
                    return Cond::Const(Tri::False);
                };
                Cond::Scope {
                    negated: *negated,
                    list: l,
                }
            }
            Phrase::TimeOfDay {
                outside,
                start,
                end,
                zone,
            } => {
                let Some(z) = zone else {
                    self.error(
                        "E0304",
                        e.span,
                        format!("`{}` needs a time zone", expr_text(&e.node)),
                        Some("add `UTC` (or an offset like `+05:30`, or an IANA name)".into()),
                    );
                    return Cond::Const(Tri::False);
                };
                match parse_zone(&z.node) {
                    Ok(zone) => Cond::TimeOfDay {
                        outside: *outside,
                        start: *start,
                        end: *end,
                        zone,
                        zone_label: Arc::from(z.node.as_str()),
                    },
                    Err(msg) => {
                        self.error("E0304", z.span, msg, zone_help(&z.node));
                        Cond::Const(Tri::False)
                    }
                }
            }
            Phrase::Days { days, zone } => {
                let mut mask = 0u8;
                for d in days {
                    match parse_day(&d.node) {
                        Some(m) => mask |= m,
                        None => {
                            let names = [
                                "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "weekends",
                                "weekdays",
                            ];
                            let help = did_you_mean(&d.node, names)
                                .map(|s| format!("did you mean `{s}`?"));
                            self.error(
                                "E0214",
                                d.span,
                                format!("unknown day `{}`", d.node),
                                help.or(Some("days are Mon..Sun, `weekends` or `weekdays`".into())),
                            );
                        }
                    }
                }
                let zone = match zone {
                    None => Zone::Fixed(0),
                    Some(z) => match parse_zone(&z.node) {
                        Ok(zone) => zone,
                        Err(msg) => {
                            self.error("E0304", z.span, msg, zone_help(&z.node));
                            return Cond::Const(Tri::False);
                        }
                    },
                };
                Cond::Days {
                    mask,
                    zone,
                    label: Arc::from(expr_text(&e.node).as_str()),
                }
            }
        }
    }

    // ----- values -----------------------------------------------------------

    fn value(&mut self, e: &Spanned<Expr>) -> Option<(Val, Ty)> {
        match &e.node {
            Expr::Lit(l) => Some(match l {
                Literal::Num(n, text) => (
                    Val::Num(Num::parse_decimal(text).unwrap_or(Num::from_f64(*n))),
                    Ty::Num,
                ),
                Literal::Str(s, _) => (Val::Str(Arc::from(s.as_str())), Ty::Str),
                Literal::Ip(ip) => (Val::Ip(*ip), Ty::Ip),
                Literal::Cidr(_) => {
                    self.error(
                        "E0206",
                        e.span,
                        format!("a CIDR `{l}` is not a value"),
                        Some("test membership with `ip in [10.0.0.0/8]`".into()),
                    );
                    return None;
                }
                Literal::Time(m) => (Val::Time(*m), Ty::Time),
                Literal::Duration(ms, _) => (Val::Dur(*ms), Ty::Dur),
                Literal::Bool(b) => (Val::Bool(*b), Ty::Bool),
            }),
            Expr::Paren(inner) => self.value(inner),
            Expr::Path(p) => self.path_value(p, e.span),
            Expr::Arith(op, a, b) => {
                let (va, ta) = self.value(a)?;
                let (vb, tb) = self.value(b)?;
                for (t, side) in [(ta, a), (tb, b)] {
                    if !matches!(t, Ty::Num | Ty::Dyn) {
                        self.error(
                            "E0206",
                            side.span,
                            format!(
                                "`{}` needs numbers, but `{}` is {}",
                                op.as_str(),
                                expr_text(&side.node),
                                t.name()
                            ),
                            None,
                        );
                        return None;
                    }
                }
                Some((fold_arith(*op, va, vb), Ty::Num))
            }
            Expr::Neg(a) => {
                let (v, t) = self.value(a)?;
                if !matches!(t, Ty::Num | Ty::Dyn) {
                    self.error(
                        "E0206",
                        a.span,
                        format!(
                            "`-` needs a number, but `{}` is {}",
                            expr_text(&a.node),
                            t.name()
                        ),
                        None,
                    );
                    return None;
                }
                Some((
                    match v {
                        Val::Num(n) => Val::Num(n.neg()),
                        v => Val::Neg(Box::new(v)),
                    },
                    Ty::Num,
                ))
            }
            Expr::Call(name, args) => self.call_value(name, args, e),
            Expr::Count {
                cond, window, by, ..
            } => {
                if self.in_count {
                    self.error(
                        "E0215",
                        e.span,
                        "a `count` condition cannot use metrics",
                        Some(COUNT_METRIC_HELP.into()),
                    );
                    return None;
                }
                let width = self.window(window)?;
                let c = match cond {
                    Some(c) => {
                        self.in_count = true;
                        let r = self.cond(c);
                        self.in_count = false;
                        Some(r)
                    }
                    None => None,
                };
                let by_val = match by {
                    Some(f) => {
                        let fe = Spanned::new(Expr::Path(f.node.clone()), f.span);
                        Some(self.field_arg(&fe, "by", false)?.0)
                    }
                    None => None,
                };
                let label = expr_text(&e.node);
                let i = self.counter(c, width, by_val, &label);
                Some((Val::Count(i), Ty::Num))
            }
            Expr::Distinct { field, window, .. } => {
                if self.in_count {
                    self.error(
                        "E0215",
                        e.span,
                        "a `count` condition cannot use metrics",
                        Some(COUNT_METRIC_HELP.into()),
                    );
                    return None;
                }
                let width = self.window(window)?;
                let fe = Spanned::new(Expr::Path(field.node.clone()), field.span);
                let (v, _) = self.field_arg(&fe, "distinct", false)?;
                let label: Arc<str> = Arc::from(expr_text(&e.node).as_str());
                let i = match self.distincts.iter().position(|d| d.label == label) {
                    Some(i) => i,
                    None => {
                        self.distincts.push(DistinctDef {
                            field: v,
                            width_ms: width,
                            label,
                        });
                        self.distincts.len() - 1
                    }
                };
                Some((Val::Distinct(u32::try_from(i).unwrap_or(u32::MAX)), Ty::Num))
            }
            Expr::List(_) => {
                let (l, t) = self.list_ref(e)?;
                let _ = l;
                self.error(
                    "E0206",
                    e.span,
                    "a list is not a value here",
                    Some("test membership with `x in [...]`".into()),
                );
                let _ = t;
                None
            }
            Expr::Or(_)
            | Expr::And(_)
            | Expr::Juxt(_)
            | Expr::Not(..)
            | Expr::Cmp(..)
            | Expr::In { .. }
            | Expr::Str(..)
            | Expr::Phrase(..) => {
                self.error(
                    "E0206",
                    e.span,
                    format!(
                        "expected a value, found a condition `{}`",
                        expr_text(&e.node)
                    ),
                    None,
                );
                None
            }
        }
    }

    fn window(&mut self, w: &Spanned<Expr>) -> Option<u64> {
        let ms = self.duration_arg(w)?;
        if ms % 60 != 0 || ms < 60 {
            self.error(
                "E0303",
                w.span,
                format!(
                    "window `{}` cannot be split into 60 buckets of whole milliseconds",
                    expr_text(&w.node)
                ),
                Some(
                    "use a window of at least 60ms that is a multiple of 60ms, like `1m` or `10m`"
                        .into(),
                ),
            );
            return None;
        }
        Some(ms)
    }

    fn counter(&mut self, cond: Option<Cond>, width_ms: u64, by: Option<Val>, label: &str) -> u32 {
        let label: Arc<str> = Arc::from(label);
        // `requests_per_minute` is `count over 1m`.
        let key_label: Arc<str> = if &*label == "count over 1m" {
            Arc::from("requests_per_minute")
        } else {
            label
        };
        let i = match self.counters.iter().position(|c| c.label == key_label) {
            Some(i) => i,
            None => {
                self.counters.push(CounterDef {
                    cond,
                    width_ms,
                    by,
                    history_windows: 0,
                    label: key_label,
                });
                self.counters.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    fn path_value(&mut self, p: &str, span: Span) -> Option<(Val, Ty)> {
        // Inside `any(attr.path, cond)` a bare name is a key of the element
        // under test, even where it is also a built-in field (`ip`,
        // `country`): `any(attr.request.ipChain, ip in corp)` tests each
        // hop's `ip`, not the event's client address. `attr.`, `agent.` and
        // the metrics keep their meaning.
        if self.in_any
            && !p.starts_with("attr.")
            && !p.starts_with("agent.")
            && p != "requests_per_minute"
            && p != "baseline"
        {
            return Some((Val::Elem(split_path(p)), Ty::Dyn));
        }
        if let Some((_, f, t)) = FIELDS.iter().find(|(n, _, _)| *n == p) {
            return Some((Val::Field(*f), *t));
        }
        if p == "requests_per_minute" {
            if self.in_count {
                self.error(
                    "E0215",
                    span,
                    "a `count` condition cannot use metrics",
                    Some(COUNT_METRIC_HELP.into()),
                );
                return None;
            }
            return Some((
                Val::Count(self.counter(None, 60_000, None, "requests_per_minute")),
                Ty::Num,
            ));
        }
        if p == "baseline" {
            return match self.baseline_target {
                Some((counter, _)) => {
                    self.need_history(counter, DEFAULT_HISTORY_WINDOWS);
                    Some((
                        Val::Baseline {
                            counter,
                            windows: DEFAULT_HISTORY_WINDOWS,
                        },
                        Ty::Num,
                    ))
                }
                None => {
                    self.error(
                        "E0210",
                        span,
                        "`baseline` has no metric to refer to",
                        Some("use it in a comparison with one metric: `requests_per_minute > baseline * 3`".into()),
                    );
                    None
                }
            };
        }
        if let Some(rest) = p.strip_prefix("attr.") {
            return Some((Val::Attr(split_path(rest)), Ty::Dyn));
        }
        if let Some(rest) = p.strip_prefix("agent.") {
            return Some((Val::Profile(self.profile_slot(rest)), Ty::Dyn));
        }
        if self.lists.contains_key(p) {
            if let Some(info) = self.lists.get_mut(p) {
                info.used = true;
            }
            self.error(
                "E0206",
                span,
                format!("`{p}` is a list, not a value"),
                Some(format!(
                    "test membership with `x in {p}`, or count it with `len({p})`"
                )),
            );
            return None;
        }
        let mut names: Vec<&str> = FIELDS.iter().map(|(n, _, _)| *n).collect();
        names.push("requests_per_minute");
        names.push("baseline");
        let list_names: Vec<String> = self.lists.keys().cloned().collect();
        names.extend(list_names.iter().map(String::as_str));
        let help = did_you_mean(p, names.iter().copied()).map(|s| format!("did you mean `{s}`?")).or_else(|| {
            Some("fields are the built-ins (`ip`, `country`, ...), `attr.<path>` for any event value, and `agent.<field>` for the profile".into())
        });
        self.error("E0202", span, format!("unknown field `{p}`"), help);
        None
    }

    fn need_history(&mut self, counter: u32, windows: u32) {
        if let Some(c) = self.counters.get_mut(counter as usize) {
            c.history_windows = c.history_windows.max(windows);
        }
    }

    fn call_value(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        match name.node.as_str() {
            "min" | "max" => {
                if args.len() < 2 {
                    self.error(
                        "E0211",
                        name.span,
                        format!(
                            "`{}` takes at least 2 arguments, not {}",
                            name.node,
                            args.len()
                        ),
                        None,
                    );
                    return None;
                }
                let mut vals = Vec::new();
                for a in args {
                    let (v, t) = self.value(a)?;
                    if !matches!(t, Ty::Num | Ty::Dyn) {
                        self.error(
                            "E0206",
                            a.span,
                            format!(
                                "`{}` needs numbers, but `{}` is {}",
                                name.node,
                                expr_text(&a.node),
                                t.name()
                            ),
                            None,
                        );
                        return None;
                    }
                    vals.push(v);
                }
                let v = if name.node == "min" {
                    Val::Min(vals.into())
                } else {
                    Val::Max(vals.into())
                };
                Some((v, Ty::Num))
            }
            "abs" => {
                let [a] = args else {
                    self.arity(name, 1, args.len());
                    return None;
                };
                let (v, t) = self.value(a)?;
                if !matches!(t, Ty::Num | Ty::Dyn) {
                    self.error(
                        "E0206",
                        a.span,
                        format!(
                            "`abs` needs a number, but `{}` is {}",
                            expr_text(&a.node),
                            t.name()
                        ),
                        None,
                    );
                    return None;
                }
                Some((Val::Abs(Box::new(v)), Ty::Num))
            }
            "len" => {
                let [a] = args else {
                    self.arity(name, 1, args.len());
                    return None;
                };
                let (l, _) = self.list_ref(a)?;
                Some((Val::Len(l), Ty::Num))
            }
            "baseline" => {
                if self.in_count {
                    self.error(
                        "E0215",
                        whole.span,
                        "a `count` condition cannot use metrics",
                        Some(COUNT_METRIC_HELP.into()),
                    );
                    return None;
                }
                let (metric, period) = match args {
                    [m] => (m, None),
                    [m, p] => (m, Some(self.duration_arg(p)?)),
                    _ => {
                        self.arity(name, 1, args.len());
                        return None;
                    }
                };
                let (v, _) = self.value(metric)?;
                let Some(counter) = is_count_metric(&v) else {
                    self.error(
                        "E0210",
                        metric.span,
                        format!(
                            "`baseline` needs a count metric, found `{}`",
                            expr_text(&metric.node)
                        ),
                        Some(
                            "baselines exist for `requests_per_minute` and `count(...) over W`"
                                .into(),
                        ),
                    );
                    return None;
                };
                let width = self
                    .counters
                    .get(counter as usize)
                    .map_or(60_000, |c| c.width_ms);
                let windows = match period {
                    None => DEFAULT_HISTORY_WINDOWS,
                    Some(p) => {
                        if p % width != 0
                            || p / width == 0
                            || p / width > u64::from(MAX_HISTORY_WINDOWS)
                        {
                            self.error(
                                "E0303",
                                args.get(1).map_or(whole.span, |a| a.span),
                                format!(
                                    "baseline period `{}` is not 1 to {MAX_HISTORY_WINDOWS} whole windows of `{}`",
                                    args.get(1).map_or(String::new(), |a| expr_text(&a.node)),
                                    crate::ast::format_duration(width)
                                ),
                                None,
                            );
                            return None;
                        }
                        u32::try_from(p / width).unwrap_or(MAX_HISTORY_WINDOWS)
                    }
                };
                self.need_history(counter, windows);
                Some((Val::Baseline { counter, windows }, Ty::Num))
            }
            "exists" | "missing" | "first_seen" | "any" => {
                self.error(
                    "E0206",
                    whole.span,
                    format!(
                        "expected a value, found a condition `{}`",
                        expr_text(&whole.node)
                    ),
                    None,
                );
                None
            }
            other => {
                self.unknown_function(name, other);
                None
            }
        }
    }
}

enum ActionKind {
    Decision(Decision, &'static str),
    Alert(AlertDef, String),
    Revoke,
}

/// What may stand side by side: phrases, negated phrases, and runs of them.
fn juxtaposable(e: &Expr) -> bool {
    match e {
        Expr::Phrase(..) | Expr::Juxt(_) => true,
        Expr::Not(inner, _) => matches!(inner.node, Expr::Phrase(..)),
        _ => false,
    }
}

fn compatible(a: Ty, b: Ty) -> bool {
    a == b || a == Ty::Dyn || b == Ty::Dyn
}

fn has_bare_baseline(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p == "baseline",
        Expr::Arith(_, a, b) => has_bare_baseline(&a.node) || has_bare_baseline(&b.node),
        Expr::Neg(a) | Expr::Paren(a) => has_bare_baseline(&a.node),
        Expr::Call(n, args) if matches!(n.node.as_str(), "min" | "max" | "abs") => {
            args.iter().any(|a| has_bare_baseline(&a.node))
        }
        _ => false,
    }
}

fn find_baseline_span(e: &Spanned<Expr>) -> Option<Span> {
    match &e.node {
        Expr::Path(p) if p == "baseline" => Some(e.span),
        Expr::Arith(_, a, b) => find_baseline_span(a).or_else(|| find_baseline_span(b)),
        Expr::Neg(a) | Expr::Paren(a) => find_baseline_span(a),
        Expr::Call(_, args) => args.iter().find_map(find_baseline_span),
        _ => None,
    }
}

fn fold_arith(op: ast::ArithOp, a: Val, b: Val) -> Val {
    match (&a, &b) {
        (Val::Num(x), Val::Num(y)) => Val::Num(match op {
            ast::ArithOp::Add => x.add(*y),
            ast::ArithOp::Sub => x.sub(*y),
            ast::ArithOp::Mul => x.mul(*y),
            ast::ArithOp::Div => x.div(*y),
        }),
        _ => Val::Arith(op, Box::new(a), Box::new(b)),
    }
}

fn const_value(v: &Val) -> Option<crate::eval::V<'static>> {
    use crate::eval::V;
    match v {
        Val::Num(n) => Some(V::Num(*n)),
        Val::Ip(ip) => Some(V::Ip(*ip)),
        Val::Time(t) => Some(V::Time(*t)),
        Val::Dur(d) => Some(V::Dur(*d)),
        Val::Bool(b) => Some(V::Bool(*b)),
        _ => None,
    }
}

fn fold_and(parts: Vec<Cond>) -> Cond {
    let mut out = Vec::with_capacity(parts.len());
    let mut unknown = false;
    for p in parts {
        match p {
            Cond::Const(Tri::False) => return Cond::Const(Tri::False),
            Cond::Const(Tri::True) => {}
            Cond::Const(Tri::Unknown) => unknown = true,
            Cond::And(inner) => out.extend(inner.into_vec()),
            p => out.push(p),
        }
    }
    // Two actor phrases that no event can satisfy together.
    let (kinds, _) = out.iter().fold((0xffu8, 0u8), |(k, c), p| match p {
        Cond::Actor { kinds, cat, .. } => (k & kinds, c | cat.0),
        _ => (k, c),
    });
    if kinds == 0 {
        return Cond::Const(Tri::False);
    }
    if unknown {
        out.push(Cond::Const(Tri::Unknown));
    }
    match out.len() {
        0 => Cond::Const(Tri::True),
        1 => out.pop().unwrap_or(Cond::Const(Tri::True)),
        _ => Cond::And(out.into()),
    }
}

fn fold_or(parts: Vec<Cond>) -> Cond {
    let mut out = Vec::with_capacity(parts.len());
    let mut unknown = false;
    for p in parts {
        match p {
            Cond::Const(Tri::True) => return Cond::Const(Tri::True),
            Cond::Const(Tri::False) => {}
            Cond::Const(Tri::Unknown) => unknown = true,
            Cond::Or(inner) => out.extend(inner.into_vec()),
            p => out.push(p),
        }
    }
    if unknown {
        out.push(Cond::Const(Tri::Unknown));
    }
    match out.len() {
        0 => Cond::Const(Tri::False),
        1 => out.pop().unwrap_or(Cond::Const(Tri::False)),
        _ => Cond::Or(out.into()),
    }
}

/// Largest compiled regex (1 MiB).
const MAX_REGEX_BYTES: usize = 1 << 20;
/// Match cache (lazy DFA) limit of each regex, charged to the budget.
const REGEX_CACHE_BYTES: usize = 256 << 10;

/// Why a list file could not be read.
enum ListFileError {
    /// Larger than [`Limits::max_file_bytes`](crate::Limits).
    TooLarge(usize),
    /// Missing, unreadable, not UTF-8, or not a regular file.
    Io(std::io::Error),
}

/// Reads a `list NAME = file "..."` file: a regular file (not a device, FIFO
/// or directory, so `/dev/zero` or `/dev/stdin` cannot exhaust memory or
/// block) of at most `max` bytes.
fn read_list_file(path: &Path, max: usize) -> Result<String, ListFileError> {
    let file = crate::limits::open_input(path, true).map_err(ListFileError::Io)?;
    let bytes = crate::limits::read_capped(file, max).map_err(ListFileError::Io)?;
    if bytes.len() > max {
        return Err(ListFileError::TooLarge(max));
    }
    String::from_utf8(bytes)
        .map_err(|e| ListFileError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}
