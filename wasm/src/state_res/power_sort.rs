//! Step 1: the power events of the full conflicted set, closed over their auth chains within
//! that set, sorted by the reverse topological power ordering.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use crate::auth::{user_power, StateMap, UserPower};
use crate::event::Pdu;
use crate::rules::RoomVersionRules;

use super::bitset::BitSet;
use super::store::{EventStore, Ix};

/// > A *power event* is a state event with type `m.room.power_levels` or `m.room.join_rules`,
/// > or a state event with type `m.room.member` where the `membership` is `leave` or `ban` and
/// > the `sender` does not match the `state_key`.
///
/// As in Synapse and ruma, only the `""` state key counts for power levels and join rules, and
/// the `m.room.create` event counts too (it can only ever be an ancestor of the others).
pub fn is_power_event(e: &Pdu) -> bool {
    let key = match e.state_key.as_deref() {
        Some(k) => k,
        None => return false,
    };
    match e.kind.as_str() {
        "m.room.power_levels" | "m.room.join_rules" | "m.room.create" => key.is_empty(),
        "m.room.member" => {
            let m = e.content.get("membership").and_then(|m| m.as_str());
            matches!(m, Some("leave") | Some("ban")) && e.sender != key
        }
        _ => false,
    }
}

/// > for events *x* and *y*, *x* &lt; *y* if
/// > 1. *x*'s sender has *greater* power level than *y*'s sender, when looking at their
/// >    respective `auth_event`s; or
/// > 2. the senders have the same power level, but *x*'s `origin_server_ts` is *less* than
/// >    *y*'s `origin_server_ts`; or
/// > 3. the senders have the same power level and the events have the same
/// >    `origin_server_ts`, but *x*'s `event_id` is *less* than *y*'s `event_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerOrderKey<'a> {
    pub power: UserPower,
    pub origin_server_ts: i64,
    pub event_id: &'a str,
}

impl Ord for PowerOrderKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .power
            .cmp(&self.power)
            .then(self.origin_server_ts.cmp(&other.origin_server_ts))
            .then(self.event_id.cmp(other.event_id))
    }
}

impl PartialOrd for PowerOrderKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// > The reverse topological power ordering can be found by sorting the events using Kahn's
/// > algorithm for topological sorting, and at each step selecting, among all the candidate
/// > vertices, the smallest vertex using the above comparison relation.
///
/// Nodes are `0..keys.len()`; `deps[i]` lists the nodes `i` references (its auth events), which
/// come first. Nodes on a cycle (impossible in a real auth DAG) are left out.
pub fn lexicographical_topological_sort<K: Ord>(deps: &[Vec<usize>], keys: &[K]) -> Vec<usize> {
    let n = keys.len();
    let mut waiting: Vec<usize> = vec![0; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate().take(n) {
        for &d in ds {
            if d < n && d != i {
                waiting[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    let mut heap: BinaryHeap<Reverse<(&K, usize)>> =
        (0..n).filter(|&i| waiting[i] == 0).map(|i| Reverse((&keys[i], i))).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(Reverse((_, i))) = heap.pop() {
        out.push(i);
        for &p in &dependents[i] {
            waiting[p] -= 1;
            if waiting[p] == 0 {
                heap.push(Reverse((&keys[p], p)));
            }
        }
    }
    out
}

/// The power level of `i`'s sender "when looking at [its] `auth_event`s": the power levels
/// event among them, and the create event (for creators; room v12 finds it via the room ID).
pub fn sender_power(rules: &RoomVersionRules, store: &EventStore, i: Ix) -> UserPower {
    let event = match store.pdu(i) {
        Some(e) => e,
        None => return UserPower::Level(0),
    };
    let mut state: StateMap<'_> = BTreeMap::new();
    if let Some(pl) = store.power_levels_in_auth(i).and_then(|p| store.pdu(p)) {
        state.insert(("m.room.power_levels".to_owned(), String::new()), pl);
    }
    if let Some(c) = store.create_for(rules, i).and_then(|c| store.pdu(c)) {
        state.insert(("m.room.create".to_owned(), String::new()), c);
    }
    user_power(rules, &event.sender, &state)
}

/// > Select the set *X* of all *power events* that appear in the *full conflicted set*. For
/// > each such power event *P*, enlarge *X* by adding the events in the auth chain of *P* which
/// > also belong to the full conflicted set. Sort *X* into a list using the *reverse
/// > topological power ordering*.
///
/// As Synapse and ruma do, the auth chain is walked through events of the full conflicted set
/// only, and the DAG's edges are the auth edges between members of X.
pub fn sort_power_events(
    rules: &RoomVersionRules,
    store: &EventStore,
    full_conflicted: &BitSet,
    full_conflicted_list: &[Ix],
) -> Vec<Ix> {
    const NONE: u32 = u32::MAX;
    let mut local: Vec<u32> = vec![NONE; store.len()];
    let mut nodes: Vec<Ix> = Vec::new();
    let mut deps: Vec<Vec<usize>> = Vec::new();
    let mut stack: Vec<Ix> = Vec::new();
    for &p in full_conflicted_list {
        if local[p as usize] == NONE && store.pdu(p).map_or(false, is_power_event) {
            local[p as usize] = nodes.len() as u32;
            nodes.push(p);
            deps.push(Vec::new());
            stack.push(p);
        }
        while let Some(i) = stack.pop() {
            let li = local[i as usize] as usize;
            for &a in store.auth_of(i) {
                if !full_conflicted.contains(a) {
                    continue;
                }
                if local[a as usize] == NONE {
                    local[a as usize] = nodes.len() as u32;
                    nodes.push(a);
                    deps.push(Vec::new());
                    stack.push(a);
                }
                deps[li].push(local[a as usize] as usize);
            }
        }
    }
    let keys: Vec<PowerOrderKey<'_>> = nodes
        .iter()
        .map(|&i| PowerOrderKey {
            power: sender_power(rules, store, i),
            origin_server_ts: store.origin_server_ts(i),
            event_id: store.event_id(i),
        })
        .collect();
    lexicographical_topological_sort(&deps, &keys).into_iter().map(|l| nodes[l]).collect()
}
