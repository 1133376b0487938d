//! Agent profiles resolved for a program: indexed by agent id, each
//! profile's fields the program reads put in slots, once per program (and
//! carried to the next program on a reload).

use ahash::AHashMap;

use crate::compile::program::Program;
use crate::input::profile::Profiles;
use crate::run::eval::ResolvedProfile;
use crate::run::reload::ReloadError;

/// `profiles` indexed by agent id and resolved for `program`.
pub(crate) fn fresh_profiles(
    program: &Program,
    profiles: &Profiles,
) -> (AHashMap<Box<str>, u32>, Box<[ResolvedProfile]>) {
    let order = profile_order(profiles);
    let list = resolve_all(program, profiles, &order);
    let ids = order
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| Some((id, u32::try_from(i).ok()?)))
        .collect();
    (ids, list)
}

/// Agent ids of `profiles`, in the order an engine indexes them.
fn profile_order(profiles: &Profiles) -> Vec<Box<str>> {
    let mut order: Vec<Box<str>> = profiles.iter().map(|(id, _)| Box::from(id)).collect();
    order.sort_unstable();
    order.truncate(u32::MAX as usize);
    order
}

/// Every profile of `order`, resolved for `program`'s profile paths.
fn resolve_all(
    program: &Program,
    profiles: &Profiles,
    order: &[Box<str>],
) -> Box<[ResolvedProfile]> {
    order
        .iter()
        .map(|id| match profiles.get(id) {
            Some(profile) => ResolvedProfile::resolve(program, |path| profile.get(path)),
            None => ResolvedProfile::default(),
        })
        .collect()
}

/// The profiles resolved for `old` (`list`), resolved for `program`: its
/// profile paths must be among `old`'s.
pub(crate) fn carry_resolved(
    old: &Program,
    list: &[ResolvedProfile],
    program: &Program,
) -> Result<Box<[ResolvedProfile]>, ReloadError> {
    let from: Vec<usize> = program
        .profile_paths
        .iter()
        .enumerate()
        .map(|(slot, path)| {
            let list = program
                .profile_list_slots
                .get(slot)
                .copied()
                .unwrap_or(false);
            old.profile_paths
                .iter()
                .enumerate()
                .position(|(i, p)| {
                    p == path && old.profile_list_slots.get(i).copied().unwrap_or(false) == list
                })
                .ok_or_else(|| ReloadError::ProfilesNeeded(path.join(".")))
        })
        .collect::<Result<_, _>>()?;
    Ok(list.iter().map(|p| p.select(&from)).collect())
}
