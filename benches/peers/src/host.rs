//! The host's setup pass: what the peers are given for every event.
//!
//! The peers have no state, so the window values of SPEC §2.7 are computed
//! here, **before** timing, from the same event stream riskgate sees. This
//! is an independent re-implementation of the spec (it never reads
//! riskgate's state or explanations):
//!
//! * `requests_per_minute`: the agent's events (of any kind) whose whole
//!   second lies in `floor(T) - 59 ..= floor(T)`, where `T` is the agent's
//!   newest event time (update-then-evaluate: the current event counts).
//! * baseline: with `m = floor(T / 60 s)` and `f` the agent's first counted
//!   minute, the history is the minutes `max(f, m - 60) ..= m - 1`; the
//!   peers get its `sum` and its length `n`, and `warm = m - f >= 10`. The
//!   rule's exact test `rpm > baseline * 3` is then `rpm * n > sum * 3`.
//! * late events (older than the agent's newest): counted in the second ring
//!   only if their second is one of the 60 held, in the minute history only
//!   if their minute is one of the 61 held (`m - 60 ..= m`), and they move
//!   `f` back only when the history took them; their metrics are read at the
//!   newest time while the time-of-day test uses their own time.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use riskgate::{ActorKind, Categories, Event};

/// One event as the peers see it: its fields plus the precomputed window values.
#[derive(Clone)]
pub struct PeerInput {
    /// Agent id (the key of the peers' profile stores).
    pub agent: Arc<str>,
    /// Actor kind: `service_app`, `user`, `agent`, `system` or `other`.
    pub actor: &'static str,
    /// Categories, native names: `authentication`, `token_request`, `api_call`, `admin_change`.
    pub categories: Vec<&'static str>,
    /// Client IP, canonical text (an IPv4-mapped IPv6 address as IPv4); `None` when absent.
    pub ip: Option<Arc<str>>,
    /// Event time, ms since the epoch (UTC).
    pub t_ms: i64,
    /// Event time as RFC 3339 with milliseconds (`2026-11-22T23:59:30.000Z`), for Cedar's `datetime`.
    pub time_iso: Arc<str>,
    /// Requested scopes.
    pub scopes: Vec<Arc<str>>,
    /// `requests_per_minute` at this event (host-computed).
    pub rpm: i64,
    /// Sum of the per-minute counts of the baseline history (host-computed).
    pub base_sum: i64,
    /// Number of minutes in the baseline history (host-computed).
    pub base_n: i64,
    /// The baseline exists (`m - f >= 10`); when false the rate test is unknown, so rule 2 cannot fire.
    pub warm: bool,
}

impl fmt::Debug for PeerInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {:?} ip={:?} scopes={:?} rpm={} base={}/{} warm={}",
            self.time_iso, self.agent, self.actor, self.categories, self.ip, self.scopes, self.rpm, self.base_sum,
            self.base_n, self.warm
        )
    }
}

/// Actor kind names (riskgate's native-JSON spelling).
pub fn actor_name(a: ActorKind) -> &'static str {
    match a {
        ActorKind::ServiceApp => "service_app",
        ActorKind::User => "user",
        ActorKind::Agent => "agent",
        ActorKind::System => "system",
        ActorKind::Other => "other",
    }
}

/// Category names of a set.
pub fn category_names(c: Categories) -> Vec<&'static str> {
    Categories::ALL.iter().filter(|(bit, _, _)| c.contains(*bit)).map(|(_, name, _)| *name).collect()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, UTC).
pub fn iso_ms(t_ms: i64) -> String {
    let days = t_ms.div_euclid(86_400_000);
    let ms_of_day = t_ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (mi, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

#[derive(Default)]
struct AgentWindows {
    newest: i64,
    first_minute: i64,
    seconds: HashMap<i64, i64>,
    minutes: HashMap<i64, i64>,
}

const HISTORY: i64 = 60;
const WARMUP: i64 = 10;

impl AgentWindows {
    fn new(t: i64) -> Self {
        AgentWindows { newest: t, first_minute: i64::MAX, ..Default::default() }
    }

    /// Counts an event at `t`, then reads (rpm, sum, n, warm) at the newest time.
    fn observe(&mut self, t: i64) -> (i64, i64, i64, bool) {
        self.newest = self.newest.max(t);
        let (s, w) = (t.div_euclid(1000), t.div_euclid(60_000));
        let (ns, nm) = (self.newest.div_euclid(1000), self.newest.div_euclid(60_000));
        if s >= ns - 59 {
            *self.seconds.entry(s).or_default() += 1;
        }
        if w >= nm - HISTORY {
            *self.minutes.entry(w).or_default() += 1;
            self.first_minute = self.first_minute.min(w);
        }
        let rpm = (ns - 59..=ns).map(|k| self.seconds.get(&k).copied().unwrap_or(0)).sum();
        let f = self.first_minute;
        let warm = f != i64::MAX && nm - f >= WARMUP;
        if !warm {
            return (rpm, 0, 0, false);
        }
        let lo = f.max(nm - HISTORY);
        let sum = (lo..nm).map(|k| self.minutes.get(&k).copied().unwrap_or(0)).sum();
        (rpm, sum, nm - lo, true)
    }
}

/// The peers' inputs for `events`, in order, with window values as of each
/// event (each event counted first).
pub fn precompute(events: &[Event<'_>]) -> Vec<PeerInput> {
    let mut agents: HashMap<String, AgentWindows> = HashMap::new();
    events
        .iter()
        .map(|e| {
            let w = agents.entry(e.agent.to_string()).or_insert_with(|| AgentWindows::new(e.time_ms));
            let (rpm, base_sum, base_n, warm) = w.observe(e.time_ms);
            PeerInput {
                agent: Arc::from(&*e.agent),
                actor: actor_name(e.actor),
                categories: category_names(e.categories),
                ip: e.ip.map(|ip| Arc::from(ip.to_canonical().to_string())),
                t_ms: e.time_ms,
                time_iso: Arc::from(iso_ms(e.time_ms)),
                scopes: e.scopes.iter().map(|s| Arc::from(&**s)).collect(),
                rpm,
                base_sum,
                base_n,
                warm,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso() {
        assert_eq!(iso_ms(1_795_305_600_000), "2026-11-22T00:00:00.000Z");
        assert_eq!(iso_ms(1_795_305_600_000 + 86_399_999), "2026-11-22T23:59:59.999Z");
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
