//! Constant folding: `and`/`or` with constant parts, arithmetic on number
//! literals, and comparisons of two constants, done once at compile time
//! with the same comparison the engine uses.

use crate::compile::program::{Cond, Tri, Val};
use crate::compile::value::{compare_values, V};
use crate::lang::ast::{self, CmpOp};

/// `a op b` when both sides are constants, else `None`.
pub(crate) fn fold_cmp(op: CmpOp, a: &Val, b: &Val) -> Option<Cond> {
    let (x, y) = (const_value(a)?, const_value(b)?);
    Some(Cond::Const(compare_values(op, &x, &y)))
}

pub(crate) fn fold_arith(op: ast::ArithOp, a: Val, b: Val) -> Val {
    match (&a, &b) {
        (Val::Num(x), Val::Num(y)) => Val::Num(match op {
            ast::ArithOp::Add => x.add(*y),
            ast::ArithOp::Sub => x.sub(*y),
            ast::ArithOp::Mul => x.mul(*y),
            ast::ArithOp::Div => x.div(*y),
        }),
        _ => Val::Arith(op, Box::new(a), Box::new(b)),
    }
}

fn const_value(v: &Val) -> Option<V<'static>> {
    match v {
        Val::Num(n) => Some(V::Num(*n)),
        Val::Ip(ip) => Some(V::Ip(*ip)),
        Val::Time(t) => Some(V::Time(*t)),
        Val::Dur(d) => Some(V::Dur(*d)),
        Val::Bool(b) => Some(V::Bool(*b)),
        _ => None,
    }
}

pub(crate) fn fold_and(parts: Vec<Cond>) -> Cond {
    let mut out = Vec::with_capacity(parts.len());
    let mut unknown = false;
    for p in parts {
        match p {
            Cond::Const(Tri::False) => return Cond::Const(Tri::False),
            Cond::Const(Tri::True) => {}
            Cond::Const(Tri::Unknown) => unknown = true,
            Cond::And(inner) => out.extend(inner.into_vec()),
            p => out.push(p),
        }
    }
    // Two actor phrases that no event can satisfy together.
    let (kinds, _) = out.iter().fold((0xffu8, 0u8), |(k, c), p| match p {
        Cond::Actor { kinds, cat, .. } => (k & kinds, c | cat.0),
        _ => (k, c),
    });
    if kinds == 0 {
        return Cond::Const(Tri::False);
    }
    if unknown {
        out.push(Cond::Const(Tri::Unknown));
    }
    match out.len() {
        0 => Cond::Const(Tri::True),
        1 => out.pop().unwrap_or(Cond::Const(Tri::True)),
        _ => Cond::And(out.into()),
    }
}

pub(crate) fn fold_or(parts: Vec<Cond>) -> Cond {
    let mut out = Vec::with_capacity(parts.len());
    let mut unknown = false;
    for p in parts {
        match p {
            Cond::Const(Tri::True) => return Cond::Const(Tri::True),
            Cond::Const(Tri::False) => {}
            Cond::Const(Tri::Unknown) => unknown = true,
            Cond::Or(inner) => out.extend(inner.into_vec()),
            p => out.push(p),
        }
    }
    if unknown {
        out.push(Cond::Const(Tri::Unknown));
    }
    match out.len() {
        0 => Cond::Const(Tri::False),
        1 => out.pop().unwrap_or(Cond::Const(Tri::False)),
        _ => Cond::Or(out.into()),
    }
}
