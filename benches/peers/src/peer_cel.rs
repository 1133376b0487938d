//! CEL (`cel` crate, formerly `cel-interpreter`).
//!
//! Three programs, compiled once. One root `Context` (the standard library
//! plus `cidr_match`) is built once and reused; per event a child scope is
//! opened on it with a `VariableResolver` over the event's values, so binding
//! an event inserts nothing into the root's variable map and a variable is
//! only looked up when a rule reads it. `cidr_match` is registered in the
//! raw function form, reading its two string arguments in place (no copy).
//! Agent profiles are CEL lists built once per agent and shared by `Arc`.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::types::{CelBool, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, ExecutionError, FunctionContext, Program, Value};

use crate::{stream, Fired, Peer, PeerInput};

/// The three seed rules in CEL.
pub const RULES: [&str; 3] = [
    r#"actor == "service_app" && "authentication" in categories && ip != null && !(cidr_match(ip, "10.0.0.0/8") || cidr_match(ip, "192.168.0.0/16") || cidr_match(ip, "2001:db8::/32"))"#,
    r#"actor == "service_app" && "authentication" in categories && t_ms % 86400000 >= 86340000 && warm && rpm * base_n > base_sum * 3"#,
    r#""token_request" in categories && scopes.exists(s, !(s in approved))"#,
];

type RawFn =
    Box<dyn for<'c, 'v> Fn(&mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> + Send + Sync>;

fn boxed(v: Value) -> Box<dyn Val> {
    match v.try_into() {
        Ok(b) => b,
        Err(e) => panic!("cel value: {e:?}"),
    }
}

/// One event's variables, as CEL values.
pub struct CelVars {
    actor: Box<dyn Val>,
    categories: Box<dyn Val>,
    ip: Box<dyn Val>,
    t_ms: Box<dyn Val>,
    scopes: Box<dyn Val>,
    approved: Arc<dyn Val>,
    rpm: Box<dyn Val>,
    base_sum: Box<dyn Val>,
    base_n: Box<dyn Val>,
    warm: Box<dyn Val>,
}

impl std::fmt::Debug for CelVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CelVars")
    }
}

impl VariableResolver for CelVars {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        let v: &'b dyn Val = match name {
            "actor" => &*self.actor,
            "categories" => &*self.categories,
            "ip" => &*self.ip,
            "t_ms" => &*self.t_ms,
            "scopes" => &*self.scopes,
            "approved" => &*self.approved,
            "rpm" => &*self.rpm,
            "base_sum" => &*self.base_sum,
            "base_n" => &*self.base_n,
            "warm" => &*self.warm,
            _ => return None,
        };
        Some(CowVal::Borrowed(v))
    }
}

/// The CEL peer.
pub struct CelPeer {
    root: Context<'static, 'static>,
    programs: [Program; 3],
    profiles: HashMap<Arc<str>, Arc<dyn Val>>,
    no_profile: Arc<dyn Val>,
}

impl Default for CelPeer {
    fn default() -> Self {
        Self::new()
    }
}

impl CelPeer {
    /// Compiles the rules and builds the root context and the profile lists.
    pub fn new() -> Self {
        let env = Arc::new(Env::stdlib());
        let programs = RULES.map(|src| match env.compile(src) {
            Ok(p) => p,
            Err(e) => panic!("cel compile {src}: {e}"),
        });
        let mut root = Context::with_env(env);
        let cidr: RawFn = Box::new(|ftx| {
            let arg = |i: usize| ftx.args.get(i).and_then(|v| v.downcast_ref::<CelString>()).map(|s| s.inner());
            match (arg(0), arg(1)) {
                (Some(ip), Some(cidr)) => Ok(CowVal::owned(CelBool::from(crate::cidr::cidr_match(ip, cidr)))),
                _ => Err(ftx.error("cidr_match(string, string)")),
            }
        });
        if let Err(e) = root.add_function::<RawFn, _>("cidr_match", cidr) {
            panic!("cel add_function: {e:?}");
        }
        let list = |items: &[&str]| -> Arc<dyn Val> {
            Arc::from(boxed(Value::List(Arc::new(items.iter().map(|s| Value::String(Arc::new(s.to_string()))).collect()))))
        };
        let profiles = stream::PROFILES.iter().map(|(id, scopes)| (Arc::from(*id), list(scopes))).collect();
        CelPeer { root, programs, profiles, no_profile: list(&[]) }
    }

    fn run(&self, vars: &CelVars) -> Fired {
        let root: &Context<'_, '_> = &self.root;
        let mut scope = root.new_inner_scope();
        scope.set_variable_resolver(vars);
        let mut fired = 0;
        for (i, p) in self.programs.iter().enumerate() {
            match p.execute(&scope) {
                Ok(Value::Bool(true)) => fired |= 1 << i,
                Ok(Value::Bool(false)) => {}
                other => panic!("cel rule {}: {other:?}", i + 1),
            }
        }
        fired
    }
}

impl Peer for CelPeer {
    type Prepared = CelVars;

    fn name(&self) -> &'static str {
        "cel"
    }

    fn prepare(&self, e: &PeerInput) -> CelVars {
        let s = |x: &str| Value::String(Arc::new(x.to_string()));
        CelVars {
            actor: boxed(s(e.actor)),
            categories: boxed(Value::List(Arc::new(e.categories.iter().map(|c| s(c)).collect()))),
            ip: boxed(e.ip.as_deref().map_or(Value::Null, s)),
            t_ms: boxed(Value::Int(e.t_ms)),
            scopes: boxed(Value::List(Arc::new(e.scopes.iter().map(|c| s(c)).collect()))),
            approved: self.profiles.get(&e.agent).unwrap_or(&self.no_profile).clone(),
            rpm: boxed(Value::Int(e.rpm)),
            base_sum: boxed(Value::Int(e.base_sum)),
            base_n: boxed(Value::Int(e.base_n)),
            warm: boxed(Value::Bool(e.warm)),
        }
    }

    fn eval(&mut self, vars: &mut CelVars) -> Fired {
        self.run(vars)
    }
}
