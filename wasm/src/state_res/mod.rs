//! State resolution (spec v1.16): v1 for room version 1, v2.0 for room versions 2-11 and v2.1
//! for room version 12 (MSC4297), chosen by `rules.state_resolution`.
//!
//! > The room state *S(E)* before *E* is the *resolution* of the set of states
//! > {*S′(E*<sub>1</sub>*)*, *S′(E*<sub>2</sub>*)*, …} after the `prev_event`s
//! > {*E*<sub>1</sub>, *E*<sub>2</sub>, …} of *E*.
//!
//! Layout, one file per step: `conflicted` (unconflicted map and conflicted set), `auth_chain`
//! (auth chains, auth difference, conflicted state subgraph), `power_sort` (reverse topological
//! power ordering), `iterative` (iterative auth checks), `mainline` (mainline ordering), `v2`
//! (the v2.0/v2.1 algorithm) and `v1` (with `sha1` for its tie-break). Plumbing: `store`
//! (events interned to dense indices, full events decoded lazily), `bitset`, `fxhash`,
//! `json_scan` (zero-copy request reader) and `ffi` (the exported operations).
//! The auth rules themselves live in `crate::auth`.

mod auth_chain;
mod bitset;
mod conflicted;
pub mod ffi;
mod fxhash;
mod iterative;
mod json_scan;
mod mainline;
mod power_sort;
mod sha1;
mod store;
mod v1;
mod v2;

use std::collections::BTreeMap;

use crate::auth::{SignatureOracle, StateKey, UserPower};
use crate::rules::{RoomVersionRules, StateResAlgorithm};

pub use power_sort::{is_power_event, lexicographical_topological_sort, PowerOrderKey};
pub use store::{EventStore, Ix};
pub use v2::Trace;

/// Resolve `state_sets` (maps from `(type, state_key)` to event ID) into one state map.
/// `events` must hold the state sets' events and their full auth chains; events it lacks take
/// no part (an unconflicted entry is kept as is).
pub fn resolve(
    rules: &RoomVersionRules,
    state_sets: &[BTreeMap<StateKey, String>],
    events: &EventStore,
    sigs: &dyn SignatureOracle,
) -> Result<BTreeMap<StateKey, String>, String> {
    resolve_traced(rules, state_sets, events, sigs, None)
}

/// [`resolve`], also reporting the intermediate lists of the v2 algorithms into `trace`.
pub fn resolve_traced(
    rules: &RoomVersionRules,
    state_sets: &[BTreeMap<StateKey, String>],
    events: &EventStore,
    sigs: &dyn SignatureOracle,
    trace: Option<&mut Trace>,
) -> Result<BTreeMap<StateKey, String>, String> {
    if state_sets.len() == 1 {
        return Ok(state_sets[0].clone());
    }
    let sets: Vec<conflicted::SortedSet<'_>> = state_sets.iter().map(conflicted::sorted_set_of).collect();
    Ok(conflicted::to_owned_map(&resolve_refs(rules, &sets, events, sigs, trace)))
}

/// The resolution as a map borrowing from the inputs (no copies of keys or IDs).
pub(crate) fn resolve_refs<'a>(
    rules: &RoomVersionRules,
    state_sets: &[conflicted::SortedSet<'a>],
    events: &'a EventStore,
    sigs: &dyn SignatureOracle,
    trace: Option<&mut Trace>,
) -> conflicted::RefStateMap<'a> {
    match state_sets.len() {
        0 => return Default::default(),
        1 => return state_sets[0].iter().map(|&(t, k, v)| ((t, k), v)).collect(),
        _ => {}
    }
    match rules.state_resolution {
        StateResAlgorithm::V1 => v1::resolve_v1(rules, state_sets, events, sigs),
        StateResAlgorithm::V2_0 | StateResAlgorithm::V2_1 => {
            v2::resolve_v2_traced(rules, state_sets, events, sigs, trace)
        }
    }
}

fn ixs(store: &EventStore, ids: &[&str]) -> Vec<Ix> {
    ids.iter().filter_map(|id| store.ix(id)).collect()
}

fn sorted_ids(store: &EventStore, set: &bitset::BitSet) -> Vec<String> {
    let mut out: Vec<String> = set.iter().map(|i| store.event_id(i).to_owned()).collect();
    out.sort();
    out
}

/// The union of the auth chains of `event_ids` (each chain excludes its own event), sorted.
pub fn auth_chain_ids(store: &EventStore, event_ids: &[&str]) -> Vec<String> {
    sorted_ids(store, &auth_chain::full_auth_chain(store, &ixs(store, event_ids)))
}

/// The auth difference of the state sets' full auth chains, sorted.
pub fn auth_difference_ids(store: &EventStore, state_sets: &[BTreeMap<StateKey, String>]) -> Vec<String> {
    let sets: Vec<Vec<Ix>> =
        state_sets.iter().map(|s| s.values().filter_map(|id| store.ix(id)).collect()).collect();
    sorted_ids(store, &auth_chain::auth_difference(store, &sets))
}

/// The conflicted state subgraph (v2.1) of the given conflicted events, sorted.
pub fn conflicted_subgraph_ids(store: &EventStore, conflicted_ids: &[&str]) -> Vec<String> {
    sorted_ids(store, &auth_chain::conflicted_subgraph(store, &ixs(store, conflicted_ids)))
}

/// The power level of an event's sender as the reverse topological power ordering sees it
/// (from the event's auth events only).
pub fn sender_power_level(rules: &RoomVersionRules, store: &EventStore, event_id: &str) -> Option<UserPower> {
    store.ix(event_id).map(|i| power_sort::sender_power(rules, store, i))
}
