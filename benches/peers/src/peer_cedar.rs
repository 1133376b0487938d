//! Cedar (`cedar-policy`).
//!
//! The three rules are three `forbid` policies (ids "1", "2", "3") in one
//! `PolicySet`, parsed once; the fired rules are the policies in the
//! response's `reason()`. Entity model: the principal's entity type is the
//! actor kind (`ServiceApp::"<agent id>"`, `User::"…"`, …); each profiled
//! agent is an entity with a `Set<String>` attribute `approved_scopes`,
//! built once into an `Entities` store (an agent with no profile has no
//! entity, so `principal has approved_scopes` is false); the action is
//! `Action::"event"` and the resource `Org::"okta"`. The context holds the
//! event: `categories` and `scopes` (sets of strings), `ip` (Cedar's `ip`
//! extension value; the attribute is left out when the event has none),
//! `time` (Cedar's `datetime` extension value, built from the event time's
//! RFC 3339 text), and the host's window values `rpm`, `base_sum`,
//! `base_n` (Longs) and `warm` (Bool). CIDRs use `isInRange`, the time of
//! day `toTime()` against `duration("23h59m")`; Cedar has no `%`, so the
//! time of day cannot be computed from an integer. Cedar's requests and
//! contexts are immutable values, so nothing is reused between events
//! except the policy set, the entities and the action and resource ids.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy, PolicyId, PolicySet,
    Request, RestrictedExpression,
};

use crate::{stream, Fired, Peer, PeerInput};

/// The three seed rules as Cedar policies.
pub const RULES: [&str; 3] = [
    r#"forbid (principal is ServiceApp, action, resource)
when {
  context.categories.contains("authentication") && context has ip &&
  !(context.ip.isInRange(ip("10.0.0.0/8")) || context.ip.isInRange(ip("192.168.0.0/16")) ||
    context.ip.isInRange(ip("2001:db8::/32")))
};"#,
    r#"forbid (principal is ServiceApp, action, resource)
when {
  context.categories.contains("authentication") && context.time.toTime() >= duration("23h59m") &&
  context.warm && context.rpm * context.base_n > context.base_sum * 3
};"#,
    r#"forbid (principal, action, resource)
when {
  context.categories.contains("token_request") && !context.scopes.isEmpty() &&
  !(principal has approved_scopes && principal.approved_scopes.containsAll(context.scopes))
};"#,
];

fn type_name(s: &str) -> EntityTypeName {
    match EntityTypeName::from_str(s) {
        Ok(t) => t,
        Err(e) => panic!("cedar type {s}: {e}"),
    }
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(items.into_iter().map(|s| RestrictedExpression::new_string(s.to_string())))
}

/// The Cedar peer.
pub struct CedarPeer {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    kinds: HashMap<&'static str, EntityTypeName>,
    action: EntityUid,
    resource: EntityUid,
}

impl Default for CedarPeer {
    fn default() -> Self {
        Self::new()
    }
}

impl CedarPeer {
    /// Parses the policies and builds the entity store.
    pub fn new() -> Self {
        let mut policies = PolicySet::new();
        for (i, src) in RULES.iter().enumerate() {
            let p = match Policy::parse(Some(PolicyId::new(crate::RULE_IDS[i])), src) {
                Ok(p) => p,
                Err(e) => panic!("cedar parse rule {}: {e:?}", i + 1),
            };
            if let Err(e) = policies.add(p) {
                panic!("cedar add: {e}");
            }
        }
        let kinds: HashMap<&'static str, EntityTypeName> = [
            ("service_app", "ServiceApp"),
            ("user", "User"),
            ("agent", "Agent"),
            ("system", "System"),
            ("other", "Other"),
        ]
        .into_iter()
        .map(|(k, t)| (k, type_name(t)))
        .collect();
        let entities = stream::PROFILES.iter().map(|(id, scopes)| {
            let uid = EntityUid::from_type_name_and_id(type_name("ServiceApp"), EntityId::new(id));
            let attrs = HashMap::from([("approved_scopes".to_string(), strings(scopes.iter().copied()))]);
            match Entity::new(uid, attrs, HashSet::new()) {
                Ok(e) => e,
                Err(e) => panic!("cedar entity: {e}"),
            }
        });
        let entities = match Entities::from_entities(entities, None) {
            Ok(e) => e,
            Err(e) => panic!("cedar entities: {e}"),
        };
        CedarPeer {
            authorizer: Authorizer::new(),
            policies,
            entities,
            kinds,
            action: EntityUid::from_type_name_and_id(type_name("Action"), EntityId::new("event")),
            resource: EntityUid::from_type_name_and_id(type_name("Org"), EntityId::new("okta")),
        }
    }
}

impl Peer for CedarPeer {
    type Prepared = Request;

    fn name(&self) -> &'static str {
        "cedar"
    }

    fn prepare(&self, e: &PeerInput) -> Request {
        let mut pairs = Vec::with_capacity(8);
        pairs.push(("categories".to_string(), strings(e.categories.iter().copied())));
        if let Some(ip) = &e.ip {
            pairs.push(("ip".to_string(), RestrictedExpression::new_ip(&**ip)));
        }
        pairs.push(("time".to_string(), RestrictedExpression::new_datetime(&*e.time_iso)));
        pairs.push(("scopes".to_string(), strings(e.scopes.iter().map(|s| &**s))));
        pairs.push(("rpm".to_string(), RestrictedExpression::new_long(e.rpm)));
        pairs.push(("base_sum".to_string(), RestrictedExpression::new_long(e.base_sum)));
        pairs.push(("base_n".to_string(), RestrictedExpression::new_long(e.base_n)));
        pairs.push(("warm".to_string(), RestrictedExpression::new_bool(e.warm)));
        let context = match Context::from_pairs(pairs) {
            Ok(c) => c,
            Err(err) => panic!("cedar context: {err}"),
        };
        let kind = self.kinds.get(e.actor).unwrap_or_else(|| panic!("actor {}", e.actor)).clone();
        let principal = EntityUid::from_type_name_and_id(kind, EntityId::new(&*e.agent));
        match Request::new(principal, self.action.clone(), self.resource.clone(), context, None) {
            Ok(r) => r,
            Err(err) => panic!("cedar request: {err}"),
        }
    }

    fn eval(&mut self, request: &mut Request) -> Fired {
        let response = self.authorizer.is_authorized(request, &self.policies, &self.entities);
        let d = response.diagnostics();
        if let Some(err) = d.errors().next() {
            panic!("cedar evaluation error: {err}");
        }
        let mut fired = 0;
        for id in d.reason() {
            match crate::RULE_IDS.iter().position(|r| *r == AsRef::<str>::as_ref(id)) {
                Some(i) => fired |= 1 << i,
                None => panic!("cedar: unknown policy {id}"),
            }
        }
        fired
    }
}
