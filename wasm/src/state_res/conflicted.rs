//! Splitting the state sets into the unconflicted state map and the conflicted state set.

use std::collections::BTreeMap;

use crate::auth::StateKey;

use super::fxhash::{map_with_capacity, FastMap};

/// A state key borrowed from the input or from an event.
pub type Key<'a> = (&'a str, &'a str);

/// A state set as `(type, state_key, event_id)` entries, sorted by key, one entry per key.
pub type SortedSet<'a> = Vec<(&'a str, &'a str, &'a str)>;

/// Sort entries by key; of several entries with one key the last wins (as map insertion does).
pub fn into_sorted_set(mut entries: SortedSet<'_>) -> SortedSet<'_> {
    if !entries.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)) {
        entries.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut out: SortedSet<'_> = Vec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if (last.0, last.1) == (e.0, e.1) => *last = e,
                _ => out.push(e),
            }
        }
        return out;
    }
    entries
}

/// A map-shaped state set as a sorted set.
pub fn sorted_set_of(map: &BTreeMap<StateKey, String>) -> SortedSet<'_> {
    map.iter().map(|((t, k), v)| (t.as_str(), k.as_str(), v.as_str())).collect()
}

/// A state map whose keys and event IDs borrow from the inputs.
pub type RefStateMap<'a> = FastMap<Key<'a>, &'a str>;

pub struct Split<'a> {
    pub unconflicted: RefStateMap<'a>,
    /// Each conflicted key with its distinct event IDs (in state-set order).
    pub conflicted: Vec<(Key<'a>, Vec<&'a str>)>,
}

/// > If a given key *K* is present in every *S<sub>i</sub>* with the same value *V* in each state
/// > map, then the pair (*K*, *V*) belongs to the *unconflicted state map*. Otherwise, *V*
/// > belongs to the *conflicted state set*.
///
/// (v2.) A key missing from some state set is conflicted. The state sets are sorted maps, so
/// this is one merge pass over them.
pub fn split_v2<'a>(state_sets: &[SortedSet<'a>]) -> Split<'a> {
    let n = state_sets.len();
    let mut iters: Vec<_> = state_sets.iter().map(|s| s.iter().peekable()).collect();
    let cap = state_sets.iter().map(Vec::len).max().unwrap_or(0);
    let mut unconflicted = map_with_capacity(cap);
    let mut conflicted = Vec::new();
    loop {
        let mut min: Option<Key<'a>> = None;
        for it in iters.iter_mut() {
            if let Some(&&(t, k, _)) = it.peek() {
                if min.map_or(true, |m| (t, k) < m) {
                    min = Some((t, k));
                }
            }
        }
        let key = match min {
            Some(k) => k,
            None => break,
        };
        let mut count = 0;
        let mut first: Option<&'a str> = None;
        let mut values: Vec<&'a str> = Vec::new();
        for it in iters.iter_mut() {
            match it.peek() {
                Some(&&(t, k, v)) if (t, k) == key => {
                    count += 1;
                    match first {
                        None => first = Some(v),
                        Some(f) if f == v => {}
                        Some(f) => {
                            if values.is_empty() {
                                values.push(f);
                            }
                            if !values.contains(&v) {
                                values.push(v);
                            }
                        }
                    }
                    it.next();
                }
                _ => {}
            }
        }
        let k = key;
        match (first, values.is_empty()) {
            (Some(v), true) if count == n => {
                unconflicted.insert(k, v);
            }
            (Some(v), true) => conflicted.push((k, vec![v])),
            _ => conflicted.push((k, values)),
        }
    }
    Split { unconflicted, conflicted }
}

/// The owned, sorted form of a state map.
pub fn to_owned_map(map: &RefStateMap<'_>) -> BTreeMap<StateKey, String> {
    let mut entries: Vec<(StateKey, String)> =
        map.iter().map(|(&(t, k), &v)| ((t.to_owned(), k.to_owned()), v.to_owned())).collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// A state map's entries as `(type, state_key, event_id)`, sorted.
pub fn sorted_entries<'a>(map: &RefStateMap<'a>) -> Vec<(&'a str, &'a str, &'a str)> {
    let mut entries: Vec<_> = map.iter().map(|(&(t, k), &v)| (t, k, v)).collect();
    entries.sort_unstable();
    entries
}

/// (v1.) > A *conflict* occurs between states where those states have different `event_ids` for
/// > the same `(event_type, state_key)`.
///
/// A key missing from some state sets but with one value in the others is not a conflict.
pub fn split_v1<'a>(state_sets: &[SortedSet<'a>]) -> Split<'a> {
    let mut split = split_v2(state_sets);
    let mut conflicted = Vec::with_capacity(split.conflicted.len());
    for (key, values) in split.conflicted {
        if values.len() == 1 {
            split.unconflicted.insert(key, values[0]);
        } else {
            conflicted.push((key, values));
        }
    }
    split.conflicted = conflicted;
    split
}
