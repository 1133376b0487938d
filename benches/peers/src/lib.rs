//! riskgate's three seed rules (`examples/rules/seed.rules`) next to the same
//! rules written for four general-purpose engines: CEL (`cel`), `evalexpr`,
//! Rhai and Cedar.
//!
//! The peers have no windows, so the **host** computes each event's window
//! values (`requests_per_minute`, the baseline sum and minute count, the
//! warm-up flag) in a setup pass over the same event stream ([`host`], a
//! re-implementation of SPEC §2.7 that does not read riskgate's state), and
//! the peers only evaluate the boolean logic. riskgate does its whole job on
//! every event: it counts the event in the agent's windows, reads the
//! baseline, evaluates the rules and builds the verdict.
//!
//! [`check_agreement`] replays the shared stream ([`stream`]) through riskgate
//! and every peer and fails on the first event where a peer's fired-rule set
//! differs from `engine.evaluate(&event).rule_ids()`.

#![forbid(unsafe_code)]

pub mod cidr;
pub mod host;
pub mod peer_cedar;
pub mod peer_cel;
pub mod peer_evalexpr;
pub mod peer_rhai;
pub mod stream;

use std::sync::Arc;

use riskgate::input::profile::Profiles;
use riskgate::{Engine, Event, RuleSet};

pub use host::PeerInput;

/// The seed rules, verbatim.
pub const SEED: &str = include_str!("../../../examples/rules/seed.rules");

/// Rule ids in bit order: bit 0 is rule "1", bit 1 rule "2", bit 2 rule "3".
pub const RULE_IDS: [&str; 3] = ["1", "2", "3"];

/// A fired-rule set as a bit mask (bit `i` = `RULE_IDS[i]`).
pub type Fired = u8;

/// The rule ids of a mask, in source order.
pub fn ids(mask: Fired) -> Vec<&'static str> {
    RULE_IDS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, id)| *id).collect()
}

/// One of the engines compared with riskgate.
///
/// `prepare` turns the host's view of an event into the peer's own input
/// (its context, scope or request); `eval` evaluates the three rules on it.
/// `fired` is what a service embedding the peer does per event: bind the
/// event into the peer's (reused, where the API allows) context, then
/// evaluate.
pub trait Peer {
    /// The peer's per-event input, in its own value model.
    type Prepared;
    /// Short name for reports.
    fn name(&self) -> &'static str;
    /// Builds the peer's input for one event.
    fn prepare(&self, input: &PeerInput) -> Self::Prepared;
    /// Evaluates the three rules on a prepared input.
    fn eval(&mut self, prepared: &mut Self::Prepared) -> Fired;
    /// Bind + evaluate, reusing what the peer's API lets us reuse.
    fn fired(&mut self, input: &PeerInput) -> Fired {
        let mut p = self.prepare(input);
        self.eval(&mut p)
    }
}

/// The compiled seed program.
pub fn seed_program() -> Arc<riskgate::Program> {
    match RuleSet::from_source("seed.rules", SEED) {
        Ok(rules) => rules.compile(),
        Err(d) => panic!("seed rules do not check:\n{d}"),
    }
}

/// riskgate's profiles for [`stream::PROFILES`].
pub fn riskgate_profiles() -> Profiles {
    let items: Vec<String> = stream::PROFILES
        .iter()
        .map(|(id, scopes)| {
            let scopes: Vec<String> = scopes.iter().map(|s| format!("\"{s}\"")).collect();
            format!("{{\"agent_id\": \"{id}\", \"scopes\": [{}]}}", scopes.join(", "))
        })
        .collect();
    match Profiles::from_json_str(&format!("[{}]", items.join(",\n"))) {
        Ok(p) => p,
        Err(e) => panic!("profiles: {e}"),
    }
}

/// A fresh riskgate engine over the seed rules and [`stream::PROFILES`].
pub fn riskgate_engine() -> Engine {
    match Engine::builder(seed_program()).profiles(&riskgate_profiles()).build() {
        Ok(e) => e,
        Err(e) => panic!("engine: {e}"),
    }
}

/// A fresh partition-owned riskgate engine (one thread's agents, `&mut self`)
/// over the seed rules and [`stream::PROFILES`].
pub fn riskgate_partition() -> riskgate::run::partition::Partition {
    match Engine::builder(seed_program()).profiles(&riskgate_profiles()).build_partition() {
        Ok(p) => p,
        Err(e) => panic!("partition: {e}"),
    }
}

/// riskgate's fired-rule ids for one event.
pub fn riskgate_ids(engine: &Engine, event: &Event<'_>) -> Vec<String> {
    engine.evaluate(event).rule_ids().map(str::to_string).collect()
}

/// Every peer, boxed behind one evaluation closure (for the agreement check).
pub fn all_peers() -> Vec<(&'static str, Box<dyn FnMut(&PeerInput) -> Fired>)> {
    fn boxed<P: Peer + 'static>(mut p: P) -> (&'static str, Box<dyn FnMut(&PeerInput) -> Fired>) {
        let name = p.name();
        (name, Box::new(move |i: &PeerInput| p.fired(i)))
    }
    fn boxed_prepared<P: Peer + 'static>(mut p: P) -> (&'static str, Box<dyn FnMut(&PeerInput) -> Fired>) {
        let name = p.name();
        (
            name,
            Box::new(move |i: &PeerInput| {
                let mut prepared = p.prepare(i);
                p.eval(&mut prepared)
            }),
        )
    }
    vec![
        boxed(peer_cel::CelPeer::new()),
        boxed_prepared(peer_cel::CelPeer::new()),
        boxed(peer_evalexpr::EvalexprPeer::new()),
        boxed_prepared(peer_evalexpr::EvalexprPeer::new()),
        boxed(peer_rhai::RhaiPeer::new()),
        boxed_prepared(peer_rhai::RhaiPeer::new()),
        boxed(peer_cedar::CedarPeer::new()),
        boxed_prepared(peer_cedar::CedarPeer::new()),
    ]
}

/// Summary of an agreement run.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Events replayed.
    pub events: usize,
    /// Events on which each rule fired (riskgate's count), by rule.
    pub fired: [usize; 3],
    /// Events on which riskgate fired nothing.
    pub quiet: usize,
}

/// Replays the shared stream through riskgate and every peer (both their
/// bind-and-evaluate path and their prepared-input path); the first
/// disagreement is an error naming the event, the peer and both sets.
pub fn check_agreement() -> Result<Coverage, String> {
    let events = stream::events();
    let inputs = host::precompute(&events);
    let engine = riskgate_engine();
    let mut peers = all_peers();
    let mut cov = Coverage { events: events.len(), ..Coverage::default() };
    for (n, (event, input)) in events.iter().zip(&inputs).enumerate() {
        let expected = riskgate_ids(&engine, event);
        if expected.is_empty() {
            cov.quiet += 1;
        }
        for (i, id) in RULE_IDS.iter().enumerate() {
            if expected.iter().any(|e| e == id) {
                cov.fired[i] += 1;
            }
        }
        for (name, peer) in &mut peers {
            let got = ids(peer(input));
            if got != expected {
                return Err(format!(
                    "event #{n} ({}): {name} fired {got:?}, riskgate fired {expected:?}\n  input: {input:?}",
                    riskgate::run::verdict::format_time(event.time_ms)
                ));
            }
        }
    }
    Ok(cov)
}
