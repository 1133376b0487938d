//! Lowering: what the checker accepted becomes the [`Program`] the engine
//! runs. The checker decides *whether* a rule is right and reports why not;
//! the [`Builder`] decides *how* it runs:
//!
//! - metrics are interned by their canonical definition (the text of the
//!   metric, `count(outcome == "FAILURE") over 10m`), so rules that read the
//!   same metric share one window;
//! - constant lists, profile paths and regexes are interned the same way;
//! - constants are folded (`fold`);
//! - each condition gets an evaluation plan, its cheap tests first (`plan`);
//! - the rule index is built once every rule is known (`index`).

pub(crate) mod fold;
pub(crate) mod index;
pub(crate) mod lists;
pub(crate) mod plan;

use std::sync::Arc;

use ahash::AHashMap;

use crate::compile::program::{
    CellDef, CompiledRule, Cond, CounterDef, DistinctDef, FirstSeenDef, JsonLimits, ListData,
    ListRef, Program, Val, Zone,
};
use lists::split_path;

/// The index of the item of `items` whose label is `def`'s, `def` added
/// if none is: metrics are interned by their canonical text.
fn intern<T>(items: &mut Vec<T>, def: T, label: impl Fn(&T) -> &Arc<str>) -> u32 {
    let i = match items.iter().position(|d| label(d) == label(&def)) {
        Some(i) => i,
        None => {
            items.push(def);
            items.len() - 1
        }
    };
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Largest compiled regex (1 MiB).
const MAX_REGEX_BYTES: usize = 1 << 20;

/// Match cache (lazy DFA) limit of each regex, charged to the budget.
const REGEX_CACHE_BYTES: usize = 256 << 10;

/// The program under construction: everything the checker interns while it
/// walks the rules.
pub struct Builder {
    const_lists: Vec<ListData>,
    profile_paths: Vec<Box<[Box<str>]>>,
    /// For each profile slot, whether it is read as a list.
    profile_list_slots: Vec<bool>,
    counters: Vec<CounterDef>,
    distincts: Vec<DistinctDef>,
    first_seens: Vec<FirstSeenDef>,
    cells: Vec<CellDef>,
    /// Each distinct regex compiled so far, so identical ones share one.
    regexes: AHashMap<String, regex::Regex>,
    /// Bytes charged to regexes so far (see [`Builder::regex`]).
    regex_bytes: usize,
    /// The rule set's regex budget ([`crate::Limits::max_regex_bytes`]).
    max_regex_bytes: usize,
    /// Each distinct `json(...)` source, by canonical text: its scratch slot.
    json_sources: Vec<Arc<str>>,
    /// Each distinct zone `date` is read in: its scratch slot.
    date_zones: Vec<Zone>,
    json_limits: JsonLimits,
}

impl Builder {
    /// An empty program, with the regex budget of `limits`.
    pub fn new(limits: &crate::Limits) -> Self {
        Builder {
            const_lists: Vec::new(),
            profile_paths: Vec::new(),
            profile_list_slots: Vec::new(),
            counters: Vec::new(),
            distincts: Vec::new(),
            first_seens: Vec::new(),
            cells: Vec::new(),
            regexes: AHashMap::new(),
            regex_bytes: 0,
            max_regex_bytes: limits.max_regex_bytes,
            json_sources: Vec::new(),
            date_zones: Vec::new(),
            json_limits: JsonLimits {
                max_bytes: limits.max_json_bytes,
                max_depth: limits.max_json_depth,
            },
        }
    }

    /// The scratch slot of the `json(...)` source whose canonical text is
    /// `source` (one per distinct source, so it is decoded once per event).
    pub(crate) fn json_slot(&mut self, source: &str) -> u32 {
        let i = match self.json_sources.iter().position(|s| &**s == source) {
            Some(i) => i,
            None => {
                self.json_sources.push(Arc::from(source));
                self.json_sources.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    /// The scratch slot of `date` in `zone`.
    pub(crate) fn date_slot(&mut self, zone: Zone) -> u32 {
        let i = match self.date_zones.iter().position(|z| *z == zone) {
            Some(i) => i,
            None => {
                self.date_zones.push(zone);
                self.date_zones.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    /// Compiles `re` once per rule set, within the rule set's regex budget
    /// ([`crate::Limits::max_regex_bytes`]): each distinct regex is charged
    /// its compiled size (measured) plus its match cache's limit.
    pub(crate) fn regex(&mut self, re: &str) -> Result<regex::Regex, String> {
        if let Some(r) = self.regexes.get(re) {
            return Ok(r.clone());
        }
        let budget = self.max_regex_bytes.saturating_sub(self.regex_bytes);
        let over = |max: usize| {
            format!("the regexes of this rule set need more than the limit of {max} bytes in all")
        };
        if budget <= REGEX_CACHE_BYTES {
            return Err(over(self.max_regex_bytes));
        }
        let size_limit = (budget - REGEX_CACHE_BYTES).min(MAX_REGEX_BYTES);
        let measured = regex_automata::meta::Regex::builder()
            .configure(regex_automata::meta::Config::new().nfa_size_limit(Some(size_limit)))
            .build(re);
        let used = match measured {
            Ok(m) => m.memory_usage(),
            // Past the remaining budget rather than the per-regex limit.
            Err(e) if e.size_limit().is_some() && size_limit < MAX_REGEX_BYTES => {
                return Err(over(self.max_regex_bytes))
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

    pub(crate) fn const_list(&mut self, data: ListData, label: Arc<str>) -> ListRef {
        self.const_lists.push(data);
        ListRef::Const(
            u32::try_from(self.const_lists.len() - 1).unwrap_or(u32::MAX),
            label,
        )
    }

    /// The slot of profile path `path`, read as a list.
    pub(crate) fn profile_list_slot(&mut self, path: &str) -> u32 {
        let slot = self.profile_slot(path);
        if let Some(is_list) = self.profile_list_slots.get_mut(slot as usize) {
            *is_list = true;
        }
        slot
    }

    pub(crate) fn profile_slot(&mut self, path: &str) -> u32 {
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

    pub(crate) fn counter(
        &mut self,
        cond: Option<Cond>,
        width_ms: u64,
        by: Option<Box<[Val]>>,
        label: &str,
    ) -> u32 {
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

    /// The window width of counter `counter`.
    pub(crate) fn counter_width_ms(&self, counter: u32) -> Option<u64> {
        self.counters.get(counter as usize).map(|c| c.width_ms)
    }

    pub(crate) fn need_history(&mut self, counter: u32, windows: u32) {
        if let Some(c) = self.counters.get_mut(counter as usize) {
            c.history_windows = c.history_windows.max(windows);
        }
    }

    /// The window width of distinct metric `i`.
    pub(crate) fn distinct_width_ms(&self, i: u32) -> Option<u64> {
        self.distincts.get(i as usize).map(|d| d.width_ms)
    }

    /// Distinct metric `i` keeps at least `windows` window totals.
    pub(crate) fn need_distinct_history(&mut self, i: u32, windows: u32) {
        if let Some(d) = self.distincts.get_mut(i as usize) {
            d.history_windows = d.history_windows.max(windows);
        }
    }

    /// The window width of a keyed distinct cell metric `i`.
    pub(crate) fn keyed_distinct_width_ms(&self, i: u32) -> Option<u64> {
        match self.cells.get(i as usize)?.kind {
            crate::compile::program::CellKind::Distinct { width_ms, .. } => Some(width_ms),
            _ => None,
        }
    }

    /// Keyed distinct cell metric `i` keeps at least `windows` totals.
    pub(crate) fn need_keyed_distinct_history(&mut self, i: u32, windows: u32) {
        if let Some(c) = self.cells.get_mut(i as usize) {
            if let crate::compile::program::CellKind::Distinct {
                history_windows, ..
            } = &mut c.kind
            {
                *history_windows = (*history_windows).max(windows);
            }
        }
    }

    /// The `distinct` metric `def`, interned by its label.
    pub(crate) fn distinct(&mut self, def: DistinctDef) -> u32 {
        intern(&mut self.distincts, def, |d| &d.label)
    }

    /// The `first_seen` metric `def`, interned by its label.
    pub(crate) fn first_seen(&mut self, def: FirstSeenDef) -> u32 {
        intern(&mut self.first_seens, def, |d| &d.label)
    }

    /// The cell metric `def`, interned by its label.
    pub(crate) fn cell(&mut self, def: CellDef) -> u32 {
        intern(&mut self.cells, def, |d| &d.label)
    }

    /// The program: `rules` with everything interned for them, and the rule
    /// index.
    pub fn finish(self, mut rules: Vec<CompiledRule>) -> Program {
        for r in &mut rules {
            r.plan = plan::compile(&r.trigger, &self.const_lists, true);
            r.unless_plan = r
                .unless
                .as_ref()
                .map(|u| plan::compile(u, &self.const_lists, false));
        }
        let index = index::build_index(&rules, &self.const_lists);
        Program {
            rules,
            lists: self.const_lists,
            profile_paths: self.profile_paths,
            profile_list_slots: self.profile_list_slots,
            counters: self.counters,
            distincts: self.distincts,
            first_seens: self.first_seens,
            cells: self.cells,
            index,
            json_slots: u32::try_from(self.json_sources.len()).unwrap_or(u32::MAX),
            date_slots: u32::try_from(self.date_zones.len()).unwrap_or(u32::MAX),
            json_limits: self.json_limits,
        }
    }
}
