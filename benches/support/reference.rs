//! A hand-written, single-threaded implementation of the three seed rules
//! (`examples/rules/seed.rules`) with the engine's exact semantics: the
//! physical-limit reference the benchmarks compare riskgate against, and the
//! oracle of `tests/reference_agrees.rs`.
//!
//! Semantics (SPEC §2.1, §2.5, §2.7, §7.2, §7.15, §7.18):
//!
//! * every event of an agent is first counted, then the rules are evaluated;
//! * `requests_per_minute` is the number of the agent's events whose whole
//!   second lies in `floor(t) - 59 ..= floor(t)` (a ring of 60 one-second
//!   buckets ending at the agent's newest second);
//! * the baseline reads the per-minute totals of minutes
//!   `max(f, m - 60) ..= m - 1`, where `m` is the agent's newest minute and
//!   `f` the earliest counted minute; it is absent while `m - f < 10`, else
//!   `sum / n` with `n = min(m - f, 60)`, and `count > baseline * 3` is
//!   decided exactly as `count * n > sum * 3`;
//! * a late event is counted in the second ring if its second is still one of
//!   the 60, and in the minute history if its minute is one of the last 61;
//!   metrics are read at the agent's newest time, the time-of-day test uses
//!   the event's own time;
//! * rule 1: `service_app` + `authentication`, an IP (IPv4-mapped IPv6 read as
//!   IPv4) outside 10.0.0.0/8, 192.168.0.0/16 and 2001:db8::/32; no IP, no fire;
//! * rule 2: `service_app` + `authentication`, minute of day (UTC) outside
//!   `[00:00, 23:59)` (so 23:59:00.000 ..= 23:59:59.999) and the rate test;
//! * rule 3: `token request` (any actor) and some non-empty requested scope
//!   not in the agent's profile scopes (no profile: every scope is outside).
//!
//! State is a plain `ahash` map of fixed-size arrays behind `&mut self`: the
//! cheapest thing that can hold it on one thread.

#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::Arc;

use ahash::AHashMap;
use riskgate::{ActorKind, Categories, Event};

/// Rule 1 fired (bit of [`Reference::evaluate`]'s result).
pub const RULE1: u8 = 1;
/// Rule 2 fired.
pub const RULE2: u8 = 2;
/// Rule 3 fired.
pub const RULE3: u8 = 4;

const SECONDS: usize = 60;
/// Minute totals kept: `m - 60 ..= m`.
const MINUTES: usize = 61;
const HISTORY: i64 = 60;
const WARMUP: i64 = 10;

/// One agent's windows and its profile's scopes.
struct AgentRef {
    newest_sec: i64,
    newest_min: i64,
    first_min: i64,
    secs: [u32; SECONDS],
    secs_sum: u64,
    mins: [u32; MINUTES],
    /// Sum of all 61 minute totals (the current minute included).
    mins_sum: u64,
    /// `None`: no profile (every scope is outside).
    scopes: Option<Arc<[Box<str>]>>,
}

impl AgentRef {
    fn new(sec: i64, scopes: Option<Arc<[Box<str>]>>) -> Self {
        let min = sec.div_euclid(60);
        AgentRef {
            newest_sec: sec,
            newest_min: min,
            first_min: min,
            secs: [0; SECONDS],
            secs_sum: 0,
            mins: [0; MINUTES],
            mins_sum: 0,
            scopes,
        }
    }

    fn slot(x: i64, len: usize) -> usize {
        x.rem_euclid(len as i64) as usize
    }

    /// Counts an event at second `sec` (update-then-read).
    fn count(&mut self, sec: i64) {
        let min = sec.div_euclid(60);
        if sec > self.newest_sec {
            let gap = sec - self.newest_sec;
            if gap >= SECONDS as i64 {
                self.secs = [0; SECONDS];
                self.secs_sum = 0;
            } else {
                for s in self.newest_sec + 1..=sec {
                    let c = &mut self.secs[Self::slot(s, SECONDS)];
                    self.secs_sum -= u64::from(*c);
                    *c = 0;
                }
            }
            if min > self.newest_min {
                let gap = min - self.newest_min;
                if gap >= MINUTES as i64 {
                    self.mins = [0; MINUTES];
                    self.mins_sum = 0;
                } else {
                    for m in self.newest_min + 1..=min {
                        let c = &mut self.mins[Self::slot(m, MINUTES)];
                        self.mins_sum -= u64::from(*c);
                        *c = 0;
                    }
                }
                self.newest_min = min;
            }
            self.newest_sec = sec;
        }
        if sec > self.newest_sec - SECONDS as i64 {
            self.secs[Self::slot(sec, SECONDS)] += 1;
            self.secs_sum += 1;
        }
        if min >= self.newest_min - HISTORY {
            self.mins[Self::slot(min, MINUTES)] += 1;
            self.mins_sum += 1;
            self.first_min = self.first_min.min(min);
        }
    }

    /// `requests_per_minute > baseline * 3`, exactly; false while warming up.
    fn rate_above_three_baselines(&self) -> bool {
        let age = self.newest_min - self.first_min;
        if age < WARMUP {
            return false;
        }
        let n = age.min(HISTORY) as u64;
        let sum = self.mins_sum - u64::from(self.mins[Self::slot(self.newest_min, MINUTES)]);
        self.secs_sum * n > sum * 3
    }

    fn scope_outside(&self, scope: &str) -> bool {
        match &self.scopes {
            None => true,
            Some(list) => !list.iter().any(|s| &**s == scope),
        }
    }
}

/// `ip` in 10.0.0.0/8, 192.168.0.0/16 or 2001:db8::/32 (IPv4-mapped IPv6
/// read as IPv4).
pub fn approved(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 10 || (o[0] == 192 && o[1] == 168)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            s[0] == 0x2001 && s[1] == 0x0db8
        }
    }
}

/// The three seed rules over per-agent state.
#[derive(Default)]
pub struct Reference {
    agents: AHashMap<Box<str>, AgentRef>,
    profiles: AHashMap<Box<str>, Arc<[Box<str>]>>,
}

impl Reference {
    /// An empty reference.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares `agent`'s profile scopes (before its first event).
    pub fn profile<S: AsRef<str>>(&mut self, agent: &str, scopes: impl IntoIterator<Item = S>) {
        let scopes: Vec<Box<str>> = scopes.into_iter().map(|s| Box::from(s.as_ref())).collect();
        self.profiles.insert(Box::from(agent), Arc::from(scopes));
    }

    /// Agents with state.
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// Counts `e`, then returns the rules that fire as a bit set
    /// ([`RULE1`] | [`RULE2`] | [`RULE3`]).
    pub fn evaluate(&mut self, e: &Event<'_>) -> u8 {
        let sec = e.time_ms.div_euclid(1000);
        let agent = match self.agents.get_mut(&*e.agent) {
            Some(a) => a,
            None => {
                let scopes = self.profiles.get(&*e.agent).cloned();
                self.agents
                    .entry(Box::from(&*e.agent))
                    .or_insert_with(|| AgentRef::new(sec, scopes))
            }
        };
        agent.count(sec);
        let mut fired = 0;
        let service_auth =
            e.actor == ActorKind::ServiceApp && e.categories.contains(Categories::AUTHENTICATION);
        if service_auth {
            if e.ip.is_some_and(|ip| !approved(ip)) {
                fired |= RULE1;
            }
            // Outside [00:00, 23:59) UTC: the last minute of the day.
            if e.time_ms.rem_euclid(86_400_000) >= 1_439 * 60_000
                && agent.rate_above_three_baselines()
            {
                fired |= RULE2;
            }
        }
        if e.categories.contains(Categories::TOKEN_REQUEST)
            && e.scopes
                .iter()
                .any(|s| !s.is_empty() && agent.scope_outside(s))
        {
            fired |= RULE3;
        }
        fired
    }
}

/// The rule ids of a bit set, in source order (as `Verdict::rule_ids` lists them).
pub fn rule_ids(fired: u8) -> Vec<&'static str> {
    [(RULE1, "1"), (RULE2, "2"), (RULE3, "3")]
        .into_iter()
        .filter(|(bit, _)| fired & bit != 0)
        .map(|(_, id)| id)
        .collect()
}
