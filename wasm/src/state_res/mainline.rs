//! Step 3: the mainline ordering of the remaining events.

use super::fxhash::FastMap;
use super::store::{EventStore, Ix};
use std::cmp::Reverse;

/// Mainline position "∞": the event cites no power levels event of the mainline.
const INFINITY: u64 = u64::MAX;

/// > Let *P* = *P*<sub>0</sub> be an `m.room.power_levels` event. Starting with *i* = 0,
/// > repeatedly fetch *P*<sub>*i*+1</sub>, the `m.room.power_levels` event in the `auth_events`
/// > of *P<sub>i</sub>*. Increment *i* and repeat until *P<sub>i</sub>* has no
/// > `m.room.power_levels` event in its `auth_events`.
fn mainline_of(store: &EventStore, p0: Option<Ix>) -> FastMap<Ix, u64> {
    let mut positions = FastMap::default();
    let mut cur = p0;
    let mut i = 0u64;
    while let Some(p) = cur {
        if positions.insert(p, i).is_some() {
            break; // a cycle: impossible in a real auth DAG
        }
        i += 1;
        cur = store.power_levels_in_auth(p);
    }
    positions
}

/// > * Find the smallest index *j* ≥ 1 for which *e<sub>j</sub>* belongs to the mainline of *P*.
/// > * If such a *j* exists, then *e<sub>j</sub>* = *P<sub>i</sub>* for some unique index
/// >   *i* ≥ 0. Otherwise set *i* = ∞, where ∞ is a sentinel value greater than any integer.
/// > * In both cases, the *mainline position* of *e* is *i*.
///
/// `memo` caches the answer for every power levels event walked through.
fn mainline_position(
    store: &EventStore,
    e: Ix,
    mainline: &FastMap<Ix, u64>,
    memo: &mut FastMap<Ix, u64>,
) -> u64 {
    let mut path: Vec<Ix> = Vec::new();
    let mut cur = store.power_levels_in_auth(e);
    let found = loop {
        let p = match cur {
            Some(p) => p,
            None => break INFINITY,
        };
        if let Some(&pos) = mainline.get(&p) {
            break pos;
        }
        if let Some(&pos) = memo.get(&p) {
            break pos;
        }
        memo.insert(p, INFINITY); // placeholder, also stops a cycle
        path.push(p);
        cur = store.power_levels_in_auth(p);
    };
    for p in path {
        memo.insert(p, found);
    }
    found
}

/// > Given mainline positions calculated from *P*, the *mainline ordering based on* *P* of a set
/// > of events is the ordering, from smallest to largest, using the following comparison
/// > relation on events: for events *x* and *y*, *x* &lt; *y* if
/// > 1. the mainline position of *x* is **greater** than the mainline position of *y* (i.e. the
/// >    auth chain of *x* is based on an earlier event in the mainline than *y*); or
/// > 2. the mainline positions of the events are the same, but *x*'s `origin_server_ts` is
/// >    *less* than *y*'s `origin_server_ts`; or
/// > 3. the mainline positions of the events are the same and the events have the same
/// >    `origin_server_ts`, but *x*'s `event_id` is *less* than *y*'s `event_id`.
pub fn mainline_sort(store: &EventStore, events: &[Ix], power_levels: Option<Ix>) -> Vec<Ix> {
    let mainline = mainline_of(store, power_levels);
    let mut memo = FastMap::default();
    let mut keyed: Vec<(Reverse<u64>, i64, &str, Ix)> = events
        .iter()
        .map(|&e| {
            let pos = mainline_position(store, e, &mainline, &mut memo);
            (Reverse(pos), store.origin_server_ts(e), store.event_id(e), e)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|k| k.3).collect()
}
