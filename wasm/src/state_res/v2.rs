//! State resolution v2.0 (room versions 2-11) and v2.1 (room version 12).

use crate::auth::SignatureOracle;
use crate::rules::RoomVersionRules;

use super::auth_chain::{auth_difference, conflicted_subgraph};
use super::bitset::BitSet;
use super::conflicted::{split_v2, RefStateMap, SortedSet};
use super::iterative::iterative_auth_checks;
use super::mainline::mainline_sort;
use super::power_sort::sort_power_events;
use super::store::{EventStore, Ix};

/// What the algorithm computed on the way, for tests and diagnostics.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    pub full_conflicted_set: Vec<String>,
    pub sorted_power_events: Vec<String>,
    pub sorted_other_events: Vec<String>,
}

pub fn resolve_v2_traced<'a>(
    rules: &RoomVersionRules,
    state_sets: &[SortedSet<'a>],
    store: &'a EventStore,
    sigs: &dyn SignatureOracle,
    mut trace: Option<&mut Trace>,
) -> RefStateMap<'a> {
    let split = split_v2(state_sets);
    if split.conflicted.is_empty() {
        return split.unconflicted;
    }
    let n = store.len();
    let ids = |list: &[Ix]| list.iter().map(|&i| store.event_id(i).to_owned()).collect::<Vec<_>>();

    // > Otherwise, *V* belongs to the *conflicted state set*.
    // Events the host did not supply cannot be verified and take no part (as in ruma).
    let mut full_conflicted = BitSet::new(n);
    let mut conflicted: Vec<Ix> = Vec::new();
    for (_, values) in &split.conflicted {
        for id in values {
            if let Some(i) = store.ix(id) {
                if full_conflicted.insert(i) {
                    conflicted.push(i);
                }
            }
        }
    }

    // > The *full conflicted set* is the union of the conflicted state set[, the conflicted
    // > state subgraph (v2.1)] and the auth difference.
    let set_events: Vec<Vec<Ix>> =
        state_sets.iter().map(|s| s.iter().filter_map(|e| store.ix(e.2)).collect()).collect();
    full_conflicted.union_with(&auth_difference(store, &set_events));
    if rules.full_conflicted_set_includes_conflicted_state_subgraph {
        full_conflicted.union_with(&conflicted_subgraph(store, &conflicted));
    }
    let full_list: Vec<Ix> = full_conflicted.iter().filter(|&i| store.is_state(i)).collect();

    // > 1. Select the set *X* of all *power events* that appear in the *full conflicted set*. [...]
    // > Sort *X* into a list using the *reverse topological power ordering*.
    let power_sorted = sort_power_events(rules, store, &full_conflicted, &full_list);

    // > 2. Apply the *iterative auth checks algorithm*, starting from the *unconflicted state
    // > map* [v2.1: from an *empty* state map], to the list of events from the previous step to
    // > get a partially resolved state.
    let mut state: RefStateMap<'_> = if rules.begin_iterative_auth_checks_with_empty_state {
        RefStateMap::default()
    } else {
        split.unconflicted.clone()
    };
    iterative_auth_checks(rules, store, &power_sorted, &mut state, sigs);

    // > 3. Take all remaining events that weren't picked in step 1 and order them by the
    // > mainline ordering based on the power level in the partially resolved state obtained in
    // > step 2.
    let mut picked = BitSet::new(n);
    for &i in &power_sorted {
        picked.insert(i);
    }
    let remaining: Vec<Ix> = full_list.iter().copied().filter(|&i| !picked.contains(i)).collect();
    let power_levels = state.get(&("m.room.power_levels", "")).and_then(|id| store.ix(id));
    let others_sorted = mainline_sort(store, &remaining, power_levels);

    // > 4. Apply the *iterative auth checks algorithm* on the partial resolved state and the list
    // > of events from the previous step.
    iterative_auth_checks(rules, store, &others_sorted, &mut state, sigs);

    // > 5. Update the result by replacing any event with the event with the same key from the
    // > *unconflicted state map*, if such an event exists, to get the final resolved state.
    for (k, v) in &split.unconflicted {
        state.insert(*k, *v);
    }

    if let Some(t) = trace.as_deref_mut() {
        t.full_conflicted_set = ids(&full_list);
        t.full_conflicted_set.sort();
        t.sorted_power_events = ids(&power_sorted);
        t.sorted_other_events = ids(&others_sorted);
    }
    state
}
