//! evalexpr.
//!
//! Three operator trees, built once. One `HashMapContext` holds the two
//! registered functions and is reused: binding an event overwrites its ten
//! variables in place (`set_value`). evalexpr has no IP type and no
//! quantifier over a tuple, so it is given `cidr_match(ip, cidr)` (see
//! [`crate::cidr`]) and `is_subset(a, b)` (every element of tuple `a` is in
//! tuple `b`), both generic and reading their arguments in place; set
//! membership of a category uses the built-in `contains`. A context's
//! variables keep their first type, so an absent IP is `has_ip = false`
//! with `ip = ""`. evalexpr evaluates both sides of `&&`/`||`.

use std::collections::HashMap;

use evalexpr::{
    build_operator_tree, ContextWithMutableFunctions, ContextWithMutableVariables, DefaultNumericTypes,
    EvalexprError, Function, HashMapContext, Node, Value,
};

use crate::{stream, Fired, Peer, PeerInput};

/// The three seed rules in evalexpr.
pub const RULES: [&str; 3] = [
    r#"actor == "service_app" && contains(categories, "authentication") && has_ip && !(cidr_match(ip, "10.0.0.0/8") || cidr_match(ip, "192.168.0.0/16") || cidr_match(ip, "2001:db8::/32"))"#,
    r#"actor == "service_app" && contains(categories, "authentication") && t_ms % 86400000 >= 86340000 && warm && rpm * base_n > base_sum * 3"#,
    r#"contains(categories, "token_request") && !is_subset(scopes, approved)"#,
];

type Ctx = HashMapContext<DefaultNumericTypes>;
type V = Value<DefaultNumericTypes>;

fn functions(ctx: &mut Ctx) {
    let cidr = Function::new(|arg: &V| match arg {
        Value::Tuple(t) => match t.as_slice() {
            [Value::String(ip), Value::String(cidr)] => Ok(Value::Boolean(crate::cidr::cidr_match(ip, cidr))),
            _ => Err(EvalexprError::CustomMessage("cidr_match(string, string)".into())),
        },
        _ => Err(EvalexprError::CustomMessage("cidr_match(string, string)".into())),
    });
    let subset = Function::new(|arg: &V| match arg {
        Value::Tuple(t) => match t.as_slice() {
            [Value::Tuple(a), Value::Tuple(b)] => Ok(Value::Boolean(a.iter().all(|x| b.contains(x)))),
            _ => Err(EvalexprError::CustomMessage("is_subset(tuple, tuple)".into())),
        },
        _ => Err(EvalexprError::CustomMessage("is_subset(tuple, tuple)".into())),
    });
    let ok = ctx.set_function("cidr_match".into(), cidr).and_then(|()| ctx.set_function("is_subset".into(), subset));
    if let Err(e) = ok {
        panic!("evalexpr set_function: {e}");
    }
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> V {
    Value::Tuple(items.into_iter().map(|s| Value::String(s.to_string())).collect())
}

/// The evalexpr peer.
pub struct EvalexprPeer {
    trees: [Node<DefaultNumericTypes>; 3],
    ctx: Ctx,
    profiles: HashMap<String, V>,
    no_profile: V,
}

impl Default for EvalexprPeer {
    fn default() -> Self {
        Self::new()
    }
}

impl EvalexprPeer {
    /// Builds the trees, the reused context and the profile tuples.
    pub fn new() -> Self {
        let trees = RULES.map(|src| match build_operator_tree::<DefaultNumericTypes>(src) {
            Ok(t) => t,
            Err(e) => panic!("evalexpr parse {src}: {e}"),
        });
        let mut ctx = Ctx::new();
        functions(&mut ctx);
        let profiles = stream::PROFILES.iter().map(|(id, s)| (id.to_string(), strings(s.iter().copied()))).collect();
        EvalexprPeer { trees, ctx, profiles, no_profile: Value::Tuple(Vec::new()) }
    }

    fn bind(&self, ctx: &mut Ctx, e: &PeerInput) {
        let approved = self.profiles.get(&*e.agent).unwrap_or(&self.no_profile).clone();
        let vars: [(&str, V); 11] = [
            ("actor", Value::String(e.actor.to_string())),
            ("categories", strings(e.categories.iter().copied())),
            ("has_ip", Value::Boolean(e.ip.is_some())),
            ("ip", Value::String(e.ip.as_deref().unwrap_or("").to_string())),
            ("t_ms", Value::Int(e.t_ms)),
            ("scopes", strings(e.scopes.iter().map(|s| &**s))),
            ("approved", approved),
            ("rpm", Value::Int(e.rpm)),
            ("base_sum", Value::Int(e.base_sum)),
            ("base_n", Value::Int(e.base_n)),
            ("warm", Value::Boolean(e.warm)),
        ];
        for (k, v) in vars {
            if let Err(err) = ctx.set_value(k.to_string(), v) {
                panic!("evalexpr set_value {k}: {err}");
            }
        }
    }

    fn run(trees: &[Node<DefaultNumericTypes>; 3], ctx: &Ctx) -> Fired {
        let mut fired = 0;
        for (i, t) in trees.iter().enumerate() {
            match t.eval_boolean_with_context(ctx) {
                Ok(true) => fired |= 1 << i,
                Ok(false) => {}
                Err(e) => panic!("evalexpr rule {}: {e}", i + 1),
            }
        }
        fired
    }
}

impl Peer for EvalexprPeer {
    type Prepared = Ctx;

    fn name(&self) -> &'static str {
        "evalexpr"
    }

    /// A whole context of its own for the event (functions included).
    fn prepare(&self, e: &PeerInput) -> Ctx {
        let mut ctx = Ctx::new();
        functions(&mut ctx);
        self.bind(&mut ctx, e);
        ctx
    }

    fn eval(&mut self, ctx: &mut Ctx) -> Fired {
        Self::run(&self.trees, ctx)
    }

    /// Binds into the one reused context, then evaluates.
    fn fired(&mut self, e: &PeerInput) -> Fired {
        let mut ctx = std::mem::take(&mut self.ctx);
        self.bind(&mut ctx, e);
        let fired = Self::run(&self.trees, &ctx);
        self.ctx = ctx;
        fired
    }
}
