//! Auth events selection (server-server API) and the state-independent checks on an event's
//! `auth_events` (v1–v11 rule 2, v12 rule 3).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{deny, AuthError, StateKey};
use crate::{event::Pdu, rules::RoomVersionRules};

fn push(out: &mut Vec<StateKey>, kind: &str, key: &str) {
    let k = (kind.to_owned(), key.to_owned());
    if !out.contains(&k) {
        out.push(k);
    }
}

/// See [`super::auth_types_for_event`].
pub fn auth_types_for_event(rules: &RoomVersionRules, event: &Pdu) -> Vec<StateKey> {
    let mut out = Vec::new();
    // > The `auth_events` for the `m.room.create` event in a room is empty
    if event.kind == "m.room.create" {
        return out;
    }
    // > Depending on the room version, the `m.room.create` event.
    if rules.create_in_auth_events {
        push(&mut out, "m.room.create", "");
    }
    // > The current `m.room.power_levels` event, if any.
    push(&mut out, "m.room.power_levels", "");
    // > The sender's current `m.room.member` event, if any.
    push(&mut out, "m.room.member", &event.sender);

    if event.kind == "m.room.member" {
        // > The target's current `m.room.member` event, if any.
        if let Some(target) = &event.state_key {
            push(&mut out, "m.room.member", target);
        }
        let membership = event.content.get("membership").and_then(Value::as_str).unwrap_or("");
        // > If `membership` is `join`, `invite` or `knock`, the current `m.room.join_rules` event.
        if matches!(membership, "join" | "invite" | "knock") {
            push(&mut out, "m.room.join_rules", "");
        }
        // > If membership is `invite` and `content` contains a `third_party_invite` property, the
        // > current `m.room.third_party_invite` event with `state_key` matching
        // > `content.third_party_invite.signed.token`, if any.
        if membership == "invite" {
            let token = event
                .content
                .get("third_party_invite")
                .and_then(|t| t.get("signed"))
                .and_then(|s| s.get("token"))
                .and_then(Value::as_str);
            if let Some(token) = token {
                push(&mut out, "m.room.third_party_invite", token);
            }
        }
        // > If `membership` is `join`, `content.join_authorised_via_users_server` is present, and
        // > the room version supports restricted rooms, then the `m.room.member` event with
        // > `state_key` matching `content.join_authorised_via_users_server`.
        if membership == "join" && rules.restricted_join_rule {
            if let Some(user) = event.content.get("join_authorised_via_users_server").and_then(Value::as_str) {
                push(&mut out, "m.room.member", user);
            }
        }
    }
    out
}

/// v1–v11 rule 2 / v12 rule 3, in the spec's order (each sub-rule over all entries):
/// duplicates, unexpected entries, rejected entries, missing create (v1–v11), other room.
pub fn check_auth_events(
    rules: &RoomVersionRules,
    event: &Pdu,
    auth_events: &[&Pdu],
    is_rejected: &dyn Fn(&str) -> bool,
) -> Result<(), AuthError> {
    // > If there are duplicate entries for a given `type` and `state_key` pair, reject.
    let mut seen: BTreeSet<(&str, Option<&str>)> = BTreeSet::new();
    for ae in auth_events {
        if !seen.insert((ae.kind.as_str(), ae.state_key.as_deref())) {
            return Err(deny(
                "auth_events.duplicate",
                format!("auth_events has two entries for ({}, {:?})", ae.kind, ae.state_key),
            ));
        }
    }
    // > If there are entries whose `type` and `state_key` don't match those specified by the auth
    // > events selection algorithm ..., reject.
    let expected = auth_types_for_event(rules, event);
    for ae in auth_events {
        let ok = ae.state_key.as_ref().map_or(false, |k| expected.iter().any(|(t, s)| *t == ae.kind && s == k));
        if !ok {
            return Err(deny(
                "auth_events.unexpected",
                format!("auth event {} ({}, {:?}) is not selected for this event", ae.event_id, ae.kind, ae.state_key),
            ));
        }
    }
    // > If there are entries which were themselves rejected under the checks performed on receipt
    // > of a PDU, reject.
    if let Some(ae) = auth_events.iter().find(|ae| is_rejected(&ae.event_id)) {
        return Err(deny("auth_events.rejected", format!("auth event {} was rejected", ae.event_id)));
    }
    // v1–v11: > If there is no `m.room.create` event among the entries, reject.
    if rules.create_in_auth_events && !auth_events.iter().any(|ae| ae.kind == "m.room.create") {
        return Err(deny("auth_events.missing_create", "no m.room.create among auth_events".to_owned()));
    }
    // > If any event in `auth_events` has a `room_id` which does not match that of the event being
    // > authorised, reject.
    if let Some(ae) = auth_events.iter().find(|ae| ae.room_id != event.room_id) {
        return Err(deny(
            "auth_events.wrong_room",
            format!("auth event {} is in room {:?}, not {:?}", ae.event_id, ae.room_id, event.room_id),
        ));
    }
    Ok(())
}
