//! Every peer fires exactly the rules riskgate fires, event by event, on the
//! shared stream; and the stream covers what it claims to cover.

use riskgate_peers::{check_agreement, host, ids, riskgate_engine, riskgate_ids, stream, Peer};

#[test]
fn every_peer_fires_what_riskgate_fires_on_the_shared_stream() {
    let cov = check_agreement().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{cov:?}");
    assert!(cov.events >= 200, "{cov:?}");
    assert!(cov.fired.iter().all(|&n| n > 0), "every rule fires somewhere: {cov:?}");
    assert!(cov.quiet > cov.events / 3, "most events are quiet: {cov:?}");
}

#[test]
fn the_stream_covers_ipv6_no_profile_users_warm_up_and_late_events() {
    let events = stream::events();
    let inputs = host::precompute(&events);
    let engine = riskgate_engine();
    let mut seen = std::collections::BTreeSet::new();
    let mut newest = std::collections::HashMap::new();
    for (e, i) in events.iter().zip(&inputs) {
        let fired = riskgate_ids(&engine, e);
        let has = |id: &str| fired.iter().any(|f| f == id);
        let v6 = e.ip.is_some_and(|ip| ip.to_canonical().is_ipv6());
        let late = *newest.get(&*e.agent).unwrap_or(&i64::MIN) > e.time_ms;
        newest.entry(e.agent.to_string()).and_modify(|t: &mut i64| *t = (*t).max(e.time_ms)).or_insert(e.time_ms);
        let in_window = e.time_ms.rem_euclid(86_400_000) >= 86_340_000;
        let checks = [
            ("rule 1 fires on IPv6", v6 && has("1")),
            ("rule 1 quiet on IPv6", v6 && !has("1") && e.categories.contains(riskgate::Categories::AUTHENTICATION)),
            ("rule 1 fires on IPv4", !v6 && e.ip.is_some() && has("1")),
            ("rule 1 quiet without ip", e.ip.is_none() && i.actor == "service_app" && !has("1")),
            ("rule 1 quiet for a user outside", i.actor == "user" && e.ip.is_some() && !has("1")),
            ("rule 2 fires", has("2")),
            ("rule 2 quiet in window, warm, rate not over", in_window && i.warm && !has("2") && i.actor == "service_app"),
            ("rule 2 quiet in window, warming up", in_window && !i.warm && i.rpm > 3 && !has("2")),
            ("rule 2 quiet out of window, rate over", !in_window && i.warm && i.rpm * i.base_n > i.base_sum * 3),
            ("rule 3 fires with a profile", has("3") && i.agent.as_ref() != stream::UNPROFILED && i.actor == "service_app"),
            ("rule 3 fires without a profile", has("3") && i.agent.as_ref() == stream::UNPROFILED),
            ("rule 3 fires for a user", has("3") && i.actor == "user"),
            ("rule 3 quiet, all approved", !has("3") && !e.scopes.is_empty()),
            ("rule 3 quiet, no profile, no scopes", !has("3") && i.agent.as_ref() == stream::UNPROFILED && e.scopes.is_empty()),
            ("two rules at once", fired.len() >= 2),
            ("late event", late),
            ("ipv4-mapped ipv6 in range", e.ip.is_some_and(|ip| ip.is_ipv6() && ip.to_canonical().is_ipv4())),
        ];
        for (name, hit) in checks {
            if hit {
                seen.insert(name);
            }
        }
    }
    let want = [
        "rule 1 fires on IPv6", "rule 1 quiet on IPv6", "rule 1 fires on IPv4", "rule 1 quiet without ip",
        "rule 1 quiet for a user outside", "rule 2 fires", "rule 2 quiet in window, warm, rate not over",
        "rule 2 quiet in window, warming up", "rule 2 quiet out of window, rate over", "rule 3 fires with a profile",
        "rule 3 fires without a profile", "rule 3 fires for a user", "rule 3 quiet, all approved",
        "rule 3 quiet, no profile, no scopes", "two rules at once", "late event", "ipv4-mapped ipv6 in range",
    ];
    let missing: Vec<_> = want.iter().filter(|w| !seen.contains(*w)).collect();
    assert!(missing.is_empty(), "not covered: {missing:?}");
}

#[test]
fn the_benchmark_event_fires_rule_3_alone_everywhere() {
    let (warm, event) = stream::warmed_one_fires();
    let engine = riskgate_engine();
    for e in &warm {
        assert!(engine.evaluate(e).matches().next().is_none());
    }
    assert_eq!(riskgate_ids(&engine, &event), ["3"]);
    let mut all = warm.clone();
    all.push(event);
    let input = host::precompute(&all).pop().unwrap_or_else(|| panic!("no input"));
    assert!(input.warm && input.base_n == 60 && input.base_sum == 60 && input.rpm == 1, "{input:?}");
    assert_eq!(ids(riskgate_peers::peer_cel::CelPeer::new().fired(&input)), ["3"]);
    assert_eq!(ids(riskgate_peers::peer_evalexpr::EvalexprPeer::new().fired(&input)), ["3"]);
    assert_eq!(ids(riskgate_peers::peer_rhai::RhaiPeer::new().fired(&input)), ["3"]);
    assert_eq!(ids(riskgate_peers::peer_cedar::CedarPeer::new().fired(&input)), ["3"]);
}
