//! Steps 2 and 4: the iterative auth checks.

use std::collections::BTreeMap;

use crate::auth::{auth_types_for_event, check_state_dependent, SignatureOracle, StateMap};
use crate::event::Pdu;
use crate::rules::RoomVersionRules;

use super::conflicted::RefStateMap;
use super::store::{EventStore, Ix};

/// > The *iterative auth checks algorithm* takes as input an initial room state and a sorted
/// > list of state events, and constructs a new room state by iterating through the event list
/// > and applying the state event to the room state if the state event is allowed by the
/// > authorisation rules. If the state event is not allowed by the authorisation rules, then the
/// > event is ignored. If a `(event_type, state_key)` key that is required for checking the
/// > authorisation rules is not present in the state, then the appropriate state event from the
/// > event's `auth_events` is used if the auth event is not rejected.
///
/// > Rejected auth events are deliberately excluded from use in the iterative auth checks, as
/// > auth events aren't re-authed (although non-auth events are) during the iterative auth
/// > checks.
///
/// Only the state-dependent rules run here: the state-independent ones were checked when the
/// events were received.
pub fn iterative_auth_checks<'a>(
    rules: &RoomVersionRules,
    store: &'a EventStore,
    events: &[Ix],
    state: &mut RefStateMap<'a>,
    sigs: &dyn SignatureOracle,
) {
    for &i in events {
        let (event, key) = match (store.pdu(i), store.state_key_of(i)) {
            (Some(e), Some(k)) => (e, k),
            _ => continue,
        };
        let auth_state = auth_state_for(rules, store, i, event, state);
        if check_state_dependent(rules, event, &auth_state, sigs).is_ok() {
            state.insert(key, store.event_id(i));
        }
    }
}

/// The state `event` (index `i`) is checked against: its own (non-rejected) auth events, the
/// create event when the room ID names it (room v12), overlaid with the current state's entries
/// for the keys the auth rules need.
pub fn auth_state_for<'a>(
    rules: &RoomVersionRules,
    store: &'a EventStore,
    i: Ix,
    event: &Pdu,
    state: &RefStateMap<'_>,
) -> StateMap<'a> {
    let mut auth_state: StateMap<'a> = BTreeMap::new();
    for &a in store.auth_of(i) {
        if store.is_rejected(a) {
            continue;
        }
        if let (Some(ae), Some((t, k))) = (store.pdu(a), store.state_key_of(a)) {
            auth_state.insert((t.to_owned(), k.to_owned()), ae);
        }
    }
    if rules.room_id_is_create_event_hash {
        if let Some(c) = store.create_for(rules, i).and_then(|c| store.pdu(c)) {
            auth_state.insert(("m.room.create".to_owned(), String::new()), c);
        }
    }
    for key in auth_types_for_event(rules, event) {
        let current = state.get(&(key.0.as_str(), key.1.as_str())).and_then(|id| store.ix(id));
        if let Some(a) = current {
            if let (false, Some(ae)) = (store.is_rejected(a), store.pdu(a)) {
                auth_state.insert(key, ae);
            }
        }
    }
    auth_state
}
