//! Rule 1 (`m.room.create`) and the notion of "room creator(s)".

use serde_json::Value;

use super::{deny, ids, AuthError, StateMap};
use crate::{event::Pdu, rules::RoomVersionRules};

/// Room versions this implementation recognises (spec v1.16: stable versions 1–12).
/// > If `content.room_version` is present and is not a recognised version, reject.
/// The rules the host sends describe one version; which versions exist at all is a property of
/// the implementation, so the list lives here.
pub const KNOWN_ROOM_VERSIONS: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];

/// Rule 1, applied to an `m.room.create` event.
pub fn check_create(rules: &RoomVersionRules, event: &Pdu) -> Result<(), AuthError> {
    // > If it has any `prev_events`, reject.
    if !event.prev_events.is_empty() {
        return Err(deny("create.has_prev_events", "m.room.create has prev_events".to_owned()));
    }
    if rules.room_id_is_create_event_hash {
        // v12: > If the event has a `room_id`, reject.
        if event.room_id.is_some() {
            return Err(deny("create.has_room_id", "v12 m.room.create must not have a room_id".to_owned()));
        }
    } else {
        // v1–v11: > If the domain of the `room_id` does not match the domain of the `sender`, reject.
        let room_domain = event.room_id.as_deref().and_then(ids::domain);
        if room_domain.is_none() || room_domain != ids::domain(&event.sender) {
            return Err(deny(
                "create.room_id_domain_mismatch",
                format!("room_id {:?} is not on the sender's server", event.room_id),
            ));
        }
    }
    if let Some(v) = event.content.get("room_version") {
        let known = v.as_str().map_or(false, |s| KNOWN_ROOM_VERSIONS.contains(&s));
        if !known {
            return Err(deny("create.unknown_room_version", format!("room_version {v} is not recognised")));
        }
    }
    // v1–v10: > If `content` has no `creator` property, reject.
    if rules.create_content_creator_required && event.content.get("creator").is_none() {
        return Err(deny("create.missing_creator", "m.room.create content has no creator".to_owned()));
    }
    // v12: > If `additional_creators` is present in `content` and is not an array of strings where
    // > each string passes the same user ID validation applied to `sender`, reject.
    if rules.additional_creators {
        if let Some(v) = event.content.get("additional_creators") {
            let ok = v
                .as_array()
                .map_or(false, |a| a.iter().all(|u| u.as_str().map_or(false, ids::is_valid_user_id)));
            if !ok {
                return Err(deny(
                    "create.invalid_additional_creators",
                    "additional_creators is not an array of user IDs".to_owned(),
                ));
            }
        }
    }
    Ok(())
}

/// The create event of `state`.
pub fn create_event<'a>(state: &StateMap<'a>) -> Option<&'a Pdu> {
    state.get(&("m.room.create".to_owned(), String::new())).copied()
}

/// Room creators of the room whose create event is `create`:
/// * v1–v10: `content.creator`;
/// * v11 (`implicit_room_creator`): the create event's `sender`;
/// * v12 (`additional_creators`): the `sender` plus `content.additional_creators`.
pub fn creators_of(rules: &RoomVersionRules, create: &Pdu) -> Vec<String> {
    let mut out = Vec::new();
    if rules.implicit_room_creator {
        out.push(create.sender.clone());
    } else if let Some(c) = create.content.get("creator").and_then(Value::as_str) {
        out.push(c.to_owned());
    }
    if rules.additional_creators {
        if let Some(list) = create.content.get("additional_creators").and_then(Value::as_array) {
            out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    out
}

/// The user the first-join rule names:
/// > If the only previous event is an `m.room.create` and the `state_key` is the creator, allow.
/// (v11+: "the sender of the `m.room.create`"; additional creators do not count.)
pub fn first_join_user(rules: &RoomVersionRules, create: &Pdu) -> Option<String> {
    if rules.implicit_room_creator {
        Some(create.sender.clone())
    } else {
        create.content.get("creator").and_then(Value::as_str).map(str::to_owned)
    }
}
