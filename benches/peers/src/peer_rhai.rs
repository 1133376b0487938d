//! Rhai.
//!
//! Three scripts compiled to ASTs once (default optimisation level) and run
//! with `Engine::eval_ast_with_scope`. One `Scope` is reused: binding an
//! event clears it (keeping its capacity) and pushes the ten variables.
//! Rhai has arrays, `in` and loops, so set membership of categories and
//! scopes is plain script; it has no IP type, so it is given
//! `cidr_match(ip, cidr)` (see [`crate::cidr`]), registered with
//! `register_fn` over `&str` arguments. An absent IP is `()`.

use std::collections::HashMap;

use rhai::{Array, Dynamic, Engine, ImmutableString, Scope, AST};

use crate::{stream, Fired, Peer, PeerInput};

/// The three seed rules in Rhai.
pub const RULES: [&str; 3] = [
    r#"actor == "service_app" && "authentication" in categories && ip != () && !(cidr_match(ip, "10.0.0.0/8") || cidr_match(ip, "192.168.0.0/16") || cidr_match(ip, "2001:db8::/32"))"#,
    r#"actor == "service_app" && "authentication" in categories && t_ms % 86400000 >= 86340000 && warm && rpm * base_n > base_sum * 3"#,
    r#"if !("token_request" in categories) { false } else { let hit = false; for s in scopes { if !(s in approved) { hit = true; break; } } hit }"#,
];

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Dynamic {
    Dynamic::from_array(items.into_iter().map(|s| Dynamic::from(ImmutableString::from(s))).collect::<Array>())
}

/// The Rhai peer.
pub struct RhaiPeer {
    engine: Engine,
    asts: [AST; 3],
    scope: Scope<'static>,
    profiles: HashMap<String, Dynamic>,
    no_profile: Dynamic,
}

impl Default for RhaiPeer {
    fn default() -> Self {
        Self::new()
    }
}

impl RhaiPeer {
    /// Builds the engine, registers `cidr_match`, compiles the rules.
    pub fn new() -> Self {
        let mut engine = Engine::new();
        engine.register_fn("cidr_match", |ip: &str, cidr: &str| crate::cidr::cidr_match(ip, cidr));
        let asts = RULES.map(|src| match engine.compile(src) {
            Ok(a) => a,
            Err(e) => panic!("rhai compile {src}: {e}"),
        });
        let profiles = stream::PROFILES.iter().map(|(id, s)| (id.to_string(), strings(s.iter().copied()))).collect();
        RhaiPeer { engine, asts, scope: Scope::new(), profiles, no_profile: strings([]) }
    }

    fn bind(&self, scope: &mut Scope<'static>, e: &PeerInput) {
        scope.clear();
        scope
            .push("actor", ImmutableString::from(e.actor))
            .push_dynamic("categories", strings(e.categories.iter().copied()))
            .push_dynamic("ip", e.ip.as_deref().map_or(Dynamic::UNIT, |ip| Dynamic::from(ImmutableString::from(ip))))
            .push("t_ms", e.t_ms)
            .push_dynamic("scopes", strings(e.scopes.iter().map(|s| &**s)))
            .push_dynamic("approved", self.profiles.get(&*e.agent).unwrap_or(&self.no_profile).clone())
            .push("rpm", e.rpm)
            .push("base_sum", e.base_sum)
            .push("base_n", e.base_n)
            .push("warm", e.warm);
    }

    fn run(engine: &Engine, asts: &[AST; 3], scope: &mut Scope<'static>) -> Fired {
        let mut fired = 0;
        for (i, ast) in asts.iter().enumerate() {
            match engine.eval_ast_with_scope::<bool>(scope, ast) {
                Ok(true) => fired |= 1 << i,
                Ok(false) => {}
                Err(e) => panic!("rhai rule {}: {e}", i + 1),
            }
        }
        fired
    }
}

impl Peer for RhaiPeer {
    type Prepared = Scope<'static>;

    fn name(&self) -> &'static str {
        "rhai"
    }

    fn prepare(&self, e: &PeerInput) -> Scope<'static> {
        let mut scope = Scope::new();
        self.bind(&mut scope, e);
        scope
    }

    fn eval(&mut self, scope: &mut Scope<'static>) -> Fired {
        Self::run(&self.engine, &self.asts, scope)
    }

    /// Binds into the one reused scope, then evaluates.
    fn fired(&mut self, e: &PeerInput) -> Fired {
        let mut scope = std::mem::take(&mut self.scope);
        self.bind(&mut scope, e);
        let fired = Self::run(&self.engine, &self.asts, &mut scope);
        self.scope = scope;
        fired
    }
}
