//! Matrix event authorisation rules, room versions 1–12 (spec v1.16, "Authorization rules" in
//! each room version page; the rule numbers below are those of v12 unless said otherwise).
//!
//! Split as the spec's receipt checks use them:
//! * [`check_state_independent`]: rules that only look at the event and its own `auth_events`
//!   (create rules, v12 room ID -> create event, `auth_events` structure); run once on receipt;
//! * [`check_state_dependent`]: every other rule, against a room state (the state before the
//!   event, or the state of its auth events); run as often as needed (also by state resolution).
//!
//! Signatures are the host's business: `join_authorised_via_users_server` signatures and "signed
//! by the sender's server" are checked before an event gets here, and the Ed25519 check inside
//! third-party invites is answered by a [`SignatureOracle`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{event::Pdu, rules::RoomVersionRules};

pub mod create;
pub mod format;
pub mod host_ops;
pub mod ids;
pub mod membership;
pub mod power_levels;
pub mod request;
pub mod selection;
pub mod third_party;

pub type StateKey = (String, String); // (event type, state_key)
pub type StateMap<'a> = BTreeMap<StateKey, &'a Pdu>;

/// A denial: `reason` is a code of the vectors' `reason_codes` taxonomy (plus
/// `format.invalid_event` and `auth_events.missing`, see the FFI), `message` is for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub reason: &'static str,
    pub message: String,
}

pub(crate) fn deny(reason: &'static str, message: String) -> AuthError {
    AuthError { reason, message }
}

/// Third-party-invite signatures are verified by the host (Ed25519 runs in the host, not here):
/// the host says which public keys (unpadded base64, as listed in the m.room.third_party_invite
/// event) verify `content.third_party_invite.signed` of event `event_id`.
pub trait SignatureOracle {
    fn third_party_signed_verifies(&self, event_id: &str, public_key: &str) -> bool;
}

/// The oracle for "the host verified nothing".
pub struct NoSignatures;
impl SignatureOracle for NoSignatures {
    fn third_party_signed_verifies(&self, _event_id: &str, _public_key: &str) -> bool {
        false
    }
}

/// Power of a user. `Infinite` (v12 room creators) is above every `Level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserPower {
    Level(i64),
    Infinite,
}

/// Auth events selection (spec "Auth events selection"): the (type, state_key) pairs an event's
/// auth events may be.
pub fn auth_types_for_event(rules: &RoomVersionRules, event: &Pdu) -> Vec<StateKey> {
    selection::auth_types_for_event(rules, event)
}

/// State-independent checks: create-event rules, room_id present, (v12) room_id names the create
/// event, auth_events structure (no duplicates, only selected types, none rejected, create present
/// v1–v11, same room). `auth_events` are the resolved auth events of `event`; `create` is the
/// event the caller found for the v12 room ID (ignored before v12); `is_rejected` says which
/// events were rejected.
pub fn check_state_independent(
    rules: &RoomVersionRules,
    event: &Pdu,
    auth_events: &[&Pdu],
    create: Option<&Pdu>,
    is_rejected: &dyn Fn(&str) -> bool,
) -> Result<(), AuthError> {
    // Rule 1: > If type is `m.room.create`: ... Otherwise, allow.
    if event.kind == "m.room.create" {
        return create::check_create(rules, event);
    }
    // Every other rule compares room IDs; an event without one cannot be in any room.
    let room_id = match &event.room_id {
        Some(r) => r,
        None => return Err(deny("event.missing_room_id", "event has no room_id".to_owned())),
    };
    // v12 rule 2: > If the event's `room_id` is not an event ID for an accepted (not rejected)
    // > `m.room.create` event, with the sigil `!` instead of `$`, reject.
    if rules.room_id_is_create_event_hash {
        let wanted = ids::create_event_id_for_room(room_id);
        let found = create.filter(|c| Some(&c.event_id) == wanted.as_ref() && c.kind == "m.room.create");
        match found {
            None => {
                return Err(deny("room_id.not_create_event", format!("room {room_id} does not name a known m.room.create")))
            }
            Some(c) if is_rejected(&c.event_id) => {
                return Err(deny("room_id.create_rejected", format!("the create event {} was rejected", c.event_id)))
            }
            Some(_) => {}
        }
    }
    // v12 rule 3 (v1–v11 rule 2): the event's `auth_events`.
    selection::check_auth_events(rules, event, auth_events, is_rejected)
}

/// State-dependent rules (m.federate, aliases v1–5, membership incl. knock/restricted/
/// knock_restricted with join_authorised_via_users_server, third-party invites, sender membership,
/// required power level, @-state keys, power-level changes, notifications (v6+), redaction rule
/// v1–2), against `state` (which includes the create event, also in v12).
///
/// An `m.room.create` event gets the create rules (it has no state to depend on).
pub fn check_state_dependent(
    rules: &RoomVersionRules,
    event: &Pdu,
    state: &StateMap<'_>,
    sigs: &dyn SignatureOracle,
) -> Result<(), AuthError> {
    if event.kind == "m.room.create" {
        return create::check_create(rules, event);
    }
    let create = match create::create_event(state) {
        Some(c) => c,
        None if rules.room_id_is_create_event_hash => {
            return Err(deny("room_id.not_create_event", "no m.room.create in the state".to_owned()))
        }
        None => return Err(deny("auth_events.missing_create", "no m.room.create in the state".to_owned())),
    };
    // The state must belong to the event's room (v1–v11 rule 2.5 / v12 rule 2, as seen through the
    // state's create event): the create event's room is its `room_id`, or in v12 its derived ID.
    let create_room = if rules.room_id_is_create_event_hash {
        ids::room_id_for_create_event(&create.event_id)
    } else {
        create.room_id.clone()
    };
    if event.room_id.is_some() && create_room.is_some() && event.room_id != create_room {
        return Err(deny("auth_events.wrong_room", format!("event is in {:?}, the state in {:?}", event.room_id, create_room)));
    }

    // Rule 4: > If the `content` of the `m.room.create` event in the room state has the property
    // > `m.federate` set to `false`, and the `sender` domain of the event does not match the
    // > `sender` domain of the create event, reject.
    if create.content.get("m.federate") == Some(&Value::Bool(false)) && ids::domain(&event.sender) != ids::domain(&create.sender) {
        return Err(deny("federate.disallowed", "the room does not federate".to_owned()));
    }

    // v1–v5 rule 4: > If type is `m.room.aliases`: If event has no `state_key`, reject. If sender's
    // > domain doesn't match `state_key`, reject. Otherwise, allow.
    if rules.special_case_aliases_auth && event.kind == "m.room.aliases" {
        return match &event.state_key {
            None => Err(deny("aliases.no_state_key", "m.room.aliases has no state_key".to_owned())),
            Some(k) if Some(k.as_str()) != ids::domain(&event.sender) => {
                Err(deny("aliases.domain_mismatch", format!("state_key {k} is not the sender's server")))
            }
            Some(_) => Ok(()),
        };
    }

    // Rule 5: > If type is `m.room.member`: ...
    if event.kind == "m.room.member" {
        return membership::check_member(rules, event, state, create, sigs);
    }

    // Rule 6: > If the `sender`'s current membership state is not `join`, reject.
    if membership_of(state, &event.sender) != Some("join") {
        return Err(deny("sender_not_joined", format!("{} is not joined", event.sender)));
    }

    let current_pl = power_levels::current(rules, state);
    let sender_power = user_power(rules, &event.sender, state);

    // Rule 7: > If type is `m.room.third_party_invite`: Allow if and only if `sender`'s current
    // > power level is greater than or equal to the *invite level*.
    if event.kind == "m.room.third_party_invite" {
        let invite = power_levels::int_level(current_pl.as_ref(), "invite");
        return if sender_power >= UserPower::Level(invite) {
            Ok(())
        } else {
            Err(deny("third_party_invite.insufficient_power", format!("{} is below the invite level", event.sender)))
        };
    }

    // Rule 8: > If the event type's *required power level* is greater than the `sender`'s power
    // > level, reject.
    let required = power_levels::required_level(current_pl.as_ref(), &event.kind, event.is_state());
    if UserPower::Level(required) > sender_power {
        return Err(deny("event.insufficient_power", format!("{} needs level {required}", event.kind)));
    }

    // Rule 9: > If the event has a `state_key` that starts with an `@` and does not match the
    // > `sender`, reject.
    if let Some(k) = &event.state_key {
        if k.starts_with('@') && *k != event.sender {
            return Err(deny("state_key.other_user", format!("state_key {k} belongs to another user")));
        }
    }

    // Rule 10: > If type is `m.room.power_levels`: ...
    if event.kind == "m.room.power_levels" {
        return power_levels::check_power_levels_event(rules, event, state, sender_power);
    }

    // v1–v2 rule 11: > If type is `m.room.redaction`: If the `sender`'s power level is greater
    // > than or equal to the *redact level*, allow. If the domain of the `event_id` of the event
    // > being redacted is the same as the domain of the `event_id` of the `m.room.redaction`,
    // > allow. Otherwise, reject.
    if rules.special_case_redaction_auth && event.kind == "m.room.redaction" {
        let redact = power_levels::int_level(current_pl.as_ref(), "redact");
        if sender_power >= UserPower::Level(redact) {
            return Ok(());
        }
        let redacted_domain = event.redacts(rules).and_then(ids::domain);
        if redacted_domain.is_some() && redacted_domain == ids::domain(&event.event_id) {
            return Ok(());
        }
        return Err(deny("redaction.insufficient_power", format!("{} cannot redact that event", event.sender)));
    }

    // > Otherwise, allow.
    Ok(())
}

/// Power of `user_id` in `state`: creators have Infinite power in v12
/// (`creators_have_infinite_power`); otherwise users[user] / users_default / implicit creator 100
/// when there is no power-levels event.
pub fn user_power(rules: &RoomVersionRules, user_id: &str, state: &StateMap<'_>) -> UserPower {
    power_levels::user_power(rules, user_id, state)
}

/// Room creators according to the state's create event (empty without one).
pub fn creators(rules: &RoomVersionRules, state: &StateMap<'_>) -> Vec<String> {
    create::create_event(state).map(|c| create::creators_of(rules, c)).unwrap_or_default()
}

/// `content.membership` of a user's current `m.room.member` event in `state`.
pub fn membership_of<'a>(state: &StateMap<'a>, user_id: &str) -> Option<&'a str> {
    state
        .get(&("m.room.member".to_owned(), user_id.to_owned()))
        .and_then(|ev| ev.content.get("membership"))
        .and_then(Value::as_str)
}

/// `content.join_rule` of the current `m.room.join_rules` event (`None` without one, which no
/// join rule branch matches).
pub fn join_rule<'a>(state: &StateMap<'a>) -> Option<&'a str> {
    state
        .get(&("m.room.join_rules".to_owned(), String::new()))
        .and_then(|ev| ev.content.get("join_rule"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests;
