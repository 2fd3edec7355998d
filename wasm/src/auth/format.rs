//! Format validity of the fields the auth rules read, for the `format_and_auth` scope: a server
//! rejects such events when it parses/validates a PDU, before (or instead of) the auth rules.
//! Reason code: `format.invalid_event`.

use serde_json::Value;

use super::{deny, ids, AuthError};
use crate::{event::Pdu, rules::RoomVersionRules};

fn invalid(message: String) -> AuthError {
    deny("format.invalid_event", message)
}

/// Check the raw event JSON. Only what the auth rules depend on is checked: IDs they take
/// domains from, the `state_key` of `m.room.create`, the `redacts` of `m.room.redaction`.
pub fn check_format(rules: &RoomVersionRules, raw: &Value) -> Result<(), AuthError> {
    let obj = raw.as_object().ok_or_else(|| invalid("event is not an object".to_owned()))?;
    let pdu = Pdu::from_json(raw).map_err(invalid)?;

    if pdu.kind.is_empty() {
        return Err(invalid("type is empty".to_owned()));
    }
    if !ids::is_valid_user_id(&pdu.sender) {
        return Err(invalid(format!("sender {:?} is not a valid user ID", pdu.sender)));
    }
    if let Some(sk) = obj.get("state_key") {
        if !sk.is_string() {
            return Err(invalid("state_key is not a string".to_owned()));
        }
    }
    match obj.get("content") {
        Some(Value::Object(_)) => {}
        _ => return Err(invalid("content is not an object".to_owned())),
    }
    if let Some(ts) = obj.get("origin_server_ts") {
        if !ts.is_i64() && !ts.is_u64() {
            return Err(invalid("origin_server_ts is not an integer".to_owned()));
        }
    }

    let is_create = pdu.kind == "m.room.create";
    // Room IDs: `!opaque:server` before v12; from v12 `!` + the create event's reference hash
    // (and a v12 create has none at all, which rule 1 checks).
    if !(is_create && rules.room_id_is_create_event_hash) {
        match obj.get("room_id") {
            Some(Value::String(r)) if ids::is_valid_room_id(r, !rules.room_id_is_create_event_hash) => {}
            Some(r) => return Err(invalid(format!("room_id {r} is not a valid room ID"))),
            None => return Err(invalid("event has no room_id".to_owned())),
        }
    }

    // `m.room.create` is a state event with an empty state key.
    if is_create && pdu.state_key.as_deref() != Some("") {
        return Err(invalid("m.room.create must have state_key \"\"".to_owned()));
    }

    // `m.room.redaction` must say which event it redacts (top-level before v11, in `content`
    // from v11). Event IDs carry a server name only in v1–v2 (the versions whose event references
    // include hashes).
    if pdu.kind == "m.room.redaction" {
        let ok = pdu.redacts(rules).map_or(false, |r| ids::is_valid_event_id(r, rules.event_refs_include_hashes));
        if !ok {
            return Err(invalid("m.room.redaction has no valid redacts".to_owned()));
        }
    }
    Ok(())
}
