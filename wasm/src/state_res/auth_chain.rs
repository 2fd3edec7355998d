//! Auth chains, the auth difference and (v2.1) the conflicted state subgraph, as bit sets over
//! the interned events: each walk is linear in the events and auth edges it reaches.

use super::bitset::BitSet;
use super::store::{EventStore, Ix};

/// > The *auth chain* of an event *E* is the set containing all of *E*'s auth events, all of
/// > *their* auth events, and so on recursively, stretching back to the start of the room.
///
/// Returns the union of the auth chains of `starts`. A start event is itself a member only when
/// it is reachable from another start event (the chain of E excludes E).
pub fn full_auth_chain(store: &EventStore, starts: &[Ix]) -> BitSet {
    let mut seen = BitSet::new(store.len());
    let mut stack: Vec<Ix> = Vec::new();
    for &s in starts {
        stack.extend_from_slice(store.auth_of(s));
    }
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            for &a in store.auth_of(i) {
                if !seen.contains(a) {
                    stack.push(a);
                }
            }
        }
    }
    seen
}

/// > The *auth difference* is calculated by first calculating the full auth chain for each
/// > state *S*<sub>*i*</sub>, that is the union of the auth chains for each event in
/// > *S*<sub>*i*</sub>, and then taking every event that doesn't appear in every auth chain.
/// > If *C*<sub>*i*</sub> is the full auth chain of *S*<sub>*i*</sub>, then the auth difference
/// > is ∪ *C*<sub>*i*</sub> − ∩ *C*<sub>*i*</sub>.
///
/// `state_sets` are the events of each state set (those present in the store).
pub fn auth_difference(store: &EventStore, state_sets: &[Vec<Ix>]) -> BitSet {
    let mut union = BitSet::new(store.len());
    let mut inter: Option<BitSet> = None;
    for set in state_sets {
        let chain = full_auth_chain(store, set);
        union.union_with(&chain);
        match inter.as_mut() {
            Some(i) => i.intersect_with(&chain),
            None => inter = Some(chain),
        }
    }
    if let Some(i) = inter {
        union.difference_with(&i);
    }
    union
}

/// > Starting from an event in the *conflicted state set* and following `auth_events` edges
/// > may lead to another event in the conflicted state set. The union of all such paths between
/// > any pair of events in the conflicted state set (including endpoints) forms a subgraph of
/// > the original `auth_event` graph, called the *conflicted state subgraph*.
///
/// An event is in the subgraph when it is reachable from a conflicted event and a conflicted
/// event is reachable from it (zero steps allowed, so the conflicted events are included).
pub fn conflicted_subgraph(store: &EventStore, conflicted: &[Ix]) -> BitSet {
    let n = store.len();
    let mut is_conflicted = BitSet::new(n);
    for &c in conflicted {
        is_conflicted.insert(c);
    }
    // Forward: everything reachable from the conflicted events, in DFS post-order, so that each
    // event comes after all of its (reachable) auth events.
    let mut reached = BitSet::new(n);
    let mut post: Vec<Ix> = Vec::new();
    let mut stack: Vec<(Ix, usize)> = Vec::new();
    for &c in conflicted {
        if !reached.insert(c) {
            continue;
        }
        stack.push((c, 0));
        while let Some(top) = stack.last_mut() {
            let (i, k) = *top;
            let auths = store.auth_of(i);
            if k < auths.len() {
                top.1 += 1;
                let a = auths[k];
                if reached.insert(a) {
                    stack.push((a, 0));
                }
            } else {
                post.push(i);
                stack.pop();
            }
        }
    }
    // Backward: an event reaches a conflicted event if it is one, or one of its auth events does.
    let mut reaches = BitSet::new(n);
    for &i in &post {
        if is_conflicted.contains(i) || store.auth_of(i).iter().any(|&a| reaches.contains(a)) {
            reaches.insert(i);
        }
    }
    reaches
}
