//! The rule index (actor kind × categories × the values of `event.type`,
//! `outcome`, `grant_type`, `auth.method` that a trigger requires) selects
//! every rule that can fire, and the compiled conditions (evaluation plans:
//! reordered, specialised) decide what the written ones decide: on random
//! rule sets and events, the engine fires exactly the rules whose trigger,
//! evaluated as written with no index, is true and whose exception is not.

use std::collections::BTreeSet;

use proptest::prelude::*;
use riskgate::compile::program::Tri;
use riskgate::run::eval::{Ctx, NoMetrics};
use riskgate::{ActorKind, Categories, Engine, Event, Program, RuleSet};

const TYPES: [&str; 4] = [
    "app.oauth2.as.token.grant",
    "user.session.start",
    "app.oauth2.token.revoke",
    "system.api_token.create",
];
const OUTCOMES: [&str; 3] = ["SUCCESS", "FAILURE", "DENY"];
const GRANTS: [&str; 2] = ["client_credentials", "authorization_code"];

/// One test of a string field, as rule text.
fn atom() -> impl Strategy<Value = String> {
    let field_value = prop_oneof![
        (Just("event.type"), prop::sample::select(TYPES.to_vec())),
        (Just("outcome"), prop::sample::select(OUTCOMES.to_vec())),
        (Just("grant_type"), prop::sample::select(GRANTS.to_vec())),
    ];
    prop_oneof![
        field_value
            .clone()
            .prop_map(|(f, v)| format!("{f} == \"{v}\"")),
        field_value
            .clone()
            .prop_map(|(f, v)| format!("\"{v}\" == {f}")),
        field_value
            .clone()
            .prop_map(|(f, v)| format!("{f} != \"{v}\"")),
        (
            prop::sample::select(TYPES.to_vec()),
            prop::sample::select(TYPES.to_vec())
        )
            .prop_map(|(a, b)| format!("event.type in [\"{a}\", \"{b}\"]")),
        prop::sample::select(TYPES.to_vec()).prop_map(|a| format!("event.type not in [\"{a}\"]")),
        Just("event.type in []".to_string()),
        Just("auth.method == \"private_key_jwt\"".to_string()),
        Just("country == \"US\"".to_string()),
        Just("ip in [10.0.0.0/8, 2001:db8::/32]".to_string()),
        Just("ip not in [10.0.0.0/8]".to_string()),
        (0u32..3).prop_map(|n| format!("asn > {}", 64_500 + n)),
        Just("asn == 64501".to_string()),
        Just("country in [\"US\", \"FR\"]".to_string()),
        Just("user_agent starts_with \"okta\"".to_string()),
    ]
}

/// A trigger: atoms joined by `and`/`or`, some negated, some in parentheses.
fn trigger() -> impl Strategy<Value = String> {
    let leaf = atom();
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn rules() -> impl Strategy<Value = String> {
    let phrase = prop::sample::select(vec![
        "",
        "service_app authentication and ",
        "token request and ",
    ]);
    let unless = prop::option::of(trigger());
    prop::collection::vec((phrase, trigger(), unless), 1..12).prop_map(|rules| {
        rules
            .iter()
            .enumerate()
            .map(|(i, (p, t, u))| {
                let unless = u.as_ref().map(|u| format!("Unless: {u}\n")).unwrap_or_default();
                format!("Rule R{i} — random\nTrigger: {p}{t}\n{unless}Action: flag_for_review\nSeverity: LOW\n\n")
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
struct EventSpec {
    event_type: Option<&'static str>,
    outcome: Option<&'static str>,
    grant: Option<&'static str>,
    method: Option<&'static str>,
    country: Option<&'static str>,
    ip: Option<&'static str>,
    asn: Option<u64>,
    service_app: bool,
    token_request: bool,
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    let fields = (
        prop::option::of(prop::sample::select(
            [TYPES.as_slice(), &["other.type"]].concat(),
        )),
        prop::option::of(prop::sample::select(OUTCOMES.to_vec())),
        prop::option::of(prop::sample::select(GRANTS.to_vec())),
        prop::option::of(Just("private_key_jwt")),
        prop::option::of(Just("US")),
    );
    let more = (
        prop::option::of(prop::sample::select(vec![
            "10.1.2.3",
            "192.0.2.1",
            "2001:db8::1",
            "::ffff:10.9.9.9",
        ])),
        prop::option::of(64_499u64..64_504),
        any::<bool>(),
        any::<bool>(),
    );
    (fields, more).prop_map(
        |((event_type, outcome, grant, method, country), (ip, asn, service_app, token_request))| {
            EventSpec {
                event_type,
                outcome,
                grant,
                method,
                country,
                ip,
                asn,
                service_app,
                token_request,
            }
        },
    )
}

fn build(s: &EventSpec) -> Event<'static> {
    let mut cats = Categories::AUTHENTICATION;
    if s.token_request {
        cats = cats | Categories::TOKEN_REQUEST;
    }
    let mut b = Event::builder("svc", 1_795_910_400_000)
        .actor(if s.service_app {
            ActorKind::ServiceApp
        } else {
            ActorKind::User
        })
        .categories(cats);
    if let Some(t) = s.event_type {
        b = b.event_type(t);
    }
    if let Some(o) = s.outcome {
        b = b.outcome(o);
    }
    if let Some(g) = s.grant {
        b = b.grant_type(g);
    }
    if let Some(m) = s.method {
        b = b.auth_method(m);
    }
    if let Some(c) = s.country {
        b = b.country(c);
    }
    if let Some(ip) = s.ip {
        b = b.ip(ip.parse().unwrap_or_else(|e| panic!("{e}")));
    }
    if let Some(a) = s.asn {
        b = b.asn(a);
    }
    b.build()
}

/// The rules whose trigger is true on `event`, every rule evaluated.
fn fired_without_index(program: &Program, event: &Event<'_>) -> BTreeSet<String> {
    let scratch = riskgate::run::eval::Scratch::new(program);
    let ctx = Ctx {
        program,
        event,
        metrics: &NoMetrics,
        profile: None,
        elem: None,
        scratch: &scratch,
    };
    program
        .rules
        .iter()
        .filter(|r| ctx.cond(&r.trigger) == Tri::True)
        .filter(|r| r.unless.as_ref().is_none_or(|u| ctx.cond(u) != Tri::True))
        .map(|r| r.id.to_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_index_selects_every_rule_that_can_fire(
        source in rules(),
        events in prop::collection::vec(event_spec(), 1..24),
    ) {
        let set = RuleSet::from_source("index.rules", &source)
            .unwrap_or_else(|d| panic!("{d}\n{source}"));
        let program = set.compile();
        let engine = Engine::builder(program.clone()).build().unwrap_or_else(|e| panic!("{e}"));
        for spec in &events {
            let event = build(spec);
            let fired: BTreeSet<String> = engine.evaluate(&event).rule_ids().map(str::to_string).collect();
            prop_assert_eq!(&fired, &fired_without_index(&program, &event), "{:?}\n{}", spec, source);
        }
    }
}

/// The index's own figures: rules that test another event type are not
/// candidates, and rules without an indexed test always are.
#[test]
fn candidates_are_the_rules_for_the_event_type_and_the_untyped_ones() {
    let mut source = String::new();
    for i in 0..100 {
        source.push_str(&format!(
            "Rule T{i} — typed\nTrigger: event.type == \"type.{i}\"\nAction: flag_for_review\nSeverity: LOW\n\n"
        ));
    }
    source.push_str(
        "Rule U — untyped\nTrigger: country == \"US\"\nAction: flag_for_review\nSeverity: LOW\n\n\
         Rule O — either\nTrigger: event.type == \"type.7\" or event.type in [\"type.9\", \"type.70\"]\nAction: flag_for_review\nSeverity: LOW\n\n\
         Rule N — never\nTrigger: event.type == \"type.7\" and event.type == \"type.8\"\nAction: flag_for_review\nSeverity: LOW\n",
    );
    let program = RuleSet::from_source("typed.rules", &source)
        .unwrap_or_else(|d| panic!("{d}"))
        .compile();
    let ids = |t: Option<&str>| -> Vec<String> {
        program
            .candidates(ActorKind::ServiceApp, Categories::AUTHENTICATION, |f| {
                (f == riskgate::compile::program::Field::EventType)
                    .then_some(t)
                    .flatten()
            })
            .map(|i| program.rules[i as usize].id.to_string())
            .collect()
    };
    assert_eq!(ids(Some("type.7")), ["T7", "U", "O"]);
    assert_eq!(ids(Some("type.70")), ["T70", "U", "O"]);
    assert_eq!(ids(Some("type.100")), ["U"]);
    assert_eq!(ids(None), ["U"]);
}
