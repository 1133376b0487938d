//! List data: the items of a checked list, as the set the engine probes
//! (a CIDR set, a hash set of strings, a sorted set of numbers).

use ahash::AHashSet;

use crate::compile::program::{CidrSet, ListData, Ty};
use crate::lang::ast::{Literal, Spanned};
use crate::num::Num;

pub(crate) fn list_data(items: &[Spanned<Literal>], ty: Ty) -> ListData {
    match ty {
        Ty::IpList => ListData::Ips(CidrSet::new(items.iter().filter_map(|i| match &i.node {
            Literal::Cidr(n) => Some(*n),
            Literal::Ip(ip) => Some(ipnet::IpNet::from(*ip)),
            _ => None,
        }))),
        Ty::StrList => ListData::Strs(
            items
                .iter()
                .filter_map(|i| match &i.node {
                    Literal::Str(s, _) => Some(Box::from(s.as_str())),
                    _ => None,
                })
                .collect::<AHashSet<Box<str>>>(),
        ),
        Ty::NumList => ListData::Nums(
            items
                .iter()
                .filter_map(|i| match &i.node {
                    Literal::Num(n, text) => {
                        Some(Num::parse_decimal(text).unwrap_or(Num::from_f64(*n)))
                    }
                    _ => None,
                })
                .collect(),
        ),
        _ => ListData::Empty,
    }
}

pub(crate) fn split_path(p: &str) -> Box<[Box<str>]> {
    p.split('.').map(Box::from).collect()
}

/// The compiled segments of a path's canonical text (after `attr.`):
/// `target[0]."a.b"`; `None` if it is not one.
pub(crate) fn path_segs(p: &str) -> Option<Box<[crate::compile::program::Seg]>> {
    let segs = crate::lang::path::segments(p)?;
    Some(segs.iter().map(Into::into).collect())
}
