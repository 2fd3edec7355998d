//! State resolution v1 (room version 1), as in Synapse's `synapse/state/v1.py`.

use std::collections::BTreeMap;

use crate::auth::{auth_types_for_event, check_state_dependent, SignatureOracle, StateMap};
use crate::rules::RoomVersionRules;

use super::conflicted::{split_v1, Key, RefStateMap, SortedSet};
use super::sha1::sha1_hex;
use super::store::{EventStore, Ix};

/// > The *resolution* of a set of states is defined as follows. The resolved state is built up
/// > in a number of passes; here we use *R* to refer to the results of the resolution so far.
pub fn resolve_v1<'a>(
    rules: &RoomVersionRules,
    state_sets: &[SortedSet<'a>],
    store: &'a EventStore,
    sigs: &dyn SignatureOracle,
) -> RefStateMap<'a> {
    // > Start by setting *R* to the union of the states to be resolved, excluding any
    // > *conflicting* events.
    let split = split_v1(state_sets);
    let mut result = split.unconflicted.clone();
    let mut r: RefStateMap<'_> = split.unconflicted;
    // Conflicted events we do not hold cannot be checked; a key left with one event takes it
    // (it joins the result, not R, as in Synapse).
    let mut conflicted: Vec<(Key<'_>, Vec<Ix>)> = Vec::new();
    for (key, values) in split.conflicted {
        let present: Vec<Ix> = values.iter().filter_map(|id| store.ix(id)).collect();
        match present.len() {
            0 => {}
            1 => {
                result.insert(key, store.event_id(present[0]));
            }
            _ => conflicted.push((key, present)),
        }
    }

    let mut resolved: Vec<(Key<'_>, Ix)> = Vec::new();

    // > First we resolve conflicts between `m.room.power_levels` events. [...]
    // > Repeat the above process for conflicts between `m.room.join_rules` events.
    // > Repeat the above process for conflicts between `m.room.member` events.
    let passes: [&dyn Fn(Key<'_>) -> bool; 3] = [
        &|k: Key<'_>| k == ("m.room.power_levels", ""),
        &|k: Key<'_>| k.0 == "m.room.join_rules",
        &|k: Key<'_>| k.0 == "m.room.member",
    ];
    let mut done = vec![false; conflicted.len()];
    for pass in passes.iter() {
        let start = resolved.len();
        for (n, (key, events)) in conflicted.iter().enumerate() {
            if !done[n] && pass(*key) {
                done[n] = true;
                resolved.push((*key, resolve_auth_events(rules, store, events, &r, sigs)));
            }
        }
        for &(k, i) in &resolved[start..] {
            r.insert(k, store.event_id(i));
        }
    }
    // > No other events affect the authorisation rules, so for all other conflicts, just pick
    // > the event with the highest depth and lowest `sha1(event_id)` that passes authentication
    // > in *R* and add it to *R*.
    for (n, (key, events)) in conflicted.iter().enumerate() {
        if !done[n] {
            resolved.push((*key, resolve_normal_events(rules, store, events, &r, sigs)));
        }
    }
    for (k, i) in resolved {
        result.insert(k, store.event_id(i));
    }
    result
}

/// Highest depth first, then lowest `sha1(event_id)`.
fn ordered(store: &EventStore, events: &[Ix]) -> Vec<Ix> {
    let mut keyed: Vec<(std::cmp::Reverse<i64>, String, Ix)> = events
        .iter()
        .map(|&i| (std::cmp::Reverse(store.depth(i)), sha1_hex(store.event_id(i).as_bytes()), i))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|k| k.2).collect()
}

/// The state an event is checked against: R's entries for the keys the auth rules need, plus
/// `extra` (the previously accepted event of the same key).
fn auth_state<'a>(
    rules: &RoomVersionRules,
    store: &'a EventStore,
    i: Ix,
    r: &RefStateMap<'_>,
    extra: Option<Ix>,
) -> StateMap<'a> {
    let mut state: StateMap<'a> = BTreeMap::new();
    let event = match store.pdu(i) {
        Some(e) => e,
        None => return state,
    };
    for key in auth_types_for_event(rules, event) {
        if let Some(a) = r.get(&(key.0.as_str(), key.1.as_str())).and_then(|id| store.ix(id)) {
            if let Some(ae) = store.pdu(a) {
                state.insert(key, ae);
            }
        }
    }
    if let (Some(p), Some((t, k))) =
        (extra.and_then(|p| store.pdu(p)), extra.and_then(|p| store.state_key_of(p)))
    {
        state.insert((t.to_owned(), k.to_owned()), p);
    }
    state
}

/// > Assemble all the [...] events from the states to be resolved into a list.
/// > Sort the list by ascending `depth` then descending `sha1(event_id)`.
/// > Add the first event in the list to *R*.
/// > For each subsequent event in the list, check that the event would be allowed by the
/// > authorisation rules for a room in state *R*. If the event would be allowed, then update *R*
/// > with the event and continue with the next event in the list. If it would not be allowed,
/// > stop [...].
fn resolve_auth_events(
    rules: &RoomVersionRules,
    store: &EventStore,
    events: &[Ix],
    r: &RefStateMap<'_>,
    sigs: &dyn SignatureOracle,
) -> Ix {
    let mut list = ordered(store, events);
    list.reverse();
    let mut prev = list[0];
    for &e in &list[1..] {
        let state = auth_state(rules, store, e, r, Some(prev));
        let allowed = store.pdu(e).map_or(false, |ev| check_state_dependent(rules, ev, &state, sigs).is_ok());
        if !allowed {
            return prev;
        }
        prev = e;
    }
    prev
}

/// Pick the first event (highest depth, lowest sha1) allowed in R; if none is, the last one.
fn resolve_normal_events(
    rules: &RoomVersionRules,
    store: &EventStore,
    events: &[Ix],
    r: &RefStateMap<'_>,
    sigs: &dyn SignatureOracle,
) -> Ix {
    let list = ordered(store, events);
    for &e in &list {
        let state = auth_state(rules, store, e, r, None);
        if store.pdu(e).map_or(false, |ev| check_state_dependent(rules, ev, &state, sigs).is_ok()) {
            return e;
        }
    }
    list[list.len() - 1]
}
