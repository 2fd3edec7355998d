//! Small operations the room's host needs beside `auth_check`, so that no auth rule is copied
//! into TypeScript:
//! * `auth_types`: the auth events selection for an event being built or checked;
//! * `redaction_allowed`: whether an accepted redaction may be applied to its target.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{deny, power_levels, user_power, AuthError, StateMap, UserPower};
use crate::{event::Pdu, rules::RoomVersionRules};

fn rules_of(req: &Value) -> Result<RoomVersionRules, String> {
    RoomVersionRules::from_json(req.get("rules").ok_or("request has no rules")?)
}

/// Request `{"rules", "event"}` (the event needs type, sender, content and state_key; an
/// `event_id` is not required yet). Answer: `[[type, state_key], ...]`.
pub fn auth_types_json(req: Value) -> Result<Value, String> {
    let rules = rules_of(&req)?;
    let mut raw = req.get("event").cloned().ok_or("request has no event")?;
    if raw.get("event_id").is_none() {
        if let Some(o) = raw.as_object_mut() {
            o.insert("event_id".to_owned(), json!("$unbuilt"));
        }
    }
    let event = Pdu::from_json(&raw)?;
    let types = super::auth_types_for_event(&rules, &event);
    Ok(Value::Array(types.into_iter().map(|(t, k)| json!([t, k])).collect()))
}

/// Spec (room versions 3+, "Handling redactions"): a redaction is applied when its sender's
/// power is at least the `redact` level, or when its sender's server is the target's
/// sender's server. In v1–v2 the same rule is part of event authorisation, so a redaction that
/// was accepted may always be applied.
pub fn redaction_allowed(rules: &RoomVersionRules, redaction: &Pdu, target_sender: &str, state: &StateMap<'_>) -> Result<(), AuthError> {
    if rules.special_case_redaction_auth {
        return Ok(());
    }
    let domain = |id: &str| id.split_once(':').map(|(_, d)| d.to_owned());
    if domain(&redaction.sender).is_some() && domain(&redaction.sender) == domain(target_sender) {
        return Ok(());
    }
    let pl = power_levels::current(rules, state);
    let redact = power_levels::int_level(pl.as_ref(), "redact");
    match user_power(rules, &redaction.sender, state) {
        UserPower::Infinite => Ok(()),
        UserPower::Level(l) if l >= redact => Ok(()),
        UserPower::Level(l) => Err(deny(
            "redaction.insufficient_power",
            format!("{} has power {l}, below the redact level {redact}, and is not on the target's server", redaction.sender),
        )),
    }
}

/// Request `{"rules", "redaction", "target_sender", "auth_state": [events]}` where
/// `auth_state` holds the create, power-levels and sender's member events of the state before
/// the redaction. Answer: `{"allowed": bool, "message"?}`.
pub fn redaction_allowed_json(req: Value) -> Result<Value, String> {
    let rules = rules_of(&req)?;
    let redaction = Pdu::from_json(req.get("redaction").ok_or("request has no redaction")?)?;
    let target_sender = req.get("target_sender").and_then(Value::as_str).ok_or("target_sender must be a string")?;
    let events: Vec<Pdu> = match req.get("auth_state") {
        Some(Value::Array(a)) => a.iter().map(Pdu::from_json).collect::<Result<_, _>>()?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err("auth_state must be an array".to_owned()),
    };
    let mut state: StateMap<'_> = BTreeMap::new();
    for e in &events {
        if let Some(key) = e.state_key_pair() {
            state.insert(key, e);
        }
    }
    Ok(match redaction_allowed(&rules, &redaction, target_sender, &state) {
        Ok(()) => json!({ "allowed": true }),
        Err(e) => json!({ "allowed": false, "message": e.message }),
    })
}
