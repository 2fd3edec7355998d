//! The `auth_check` FFI operation: JSON request in, verdict out (see `lib.rs` for the envelope).
//!
//! Request:
//! ```json
//! {"rules": {...resolved room version rules...},
//!  "scope": "full" | "state_independent" | "state_dependent" | "format_and_auth",
//!  "event": {...},
//!  "auth_state": [events], "other_events": [events], "rejected_event_ids": ["$id", ...],
//!  "third_party_verified": {"$event_id": ["<public key, unpadded base64>", ...]}}
//! ```
//! Only `rules` and `event` are required (`scope` defaults to `full`).
//! Response value: `{"allowed": true}` or `{"allowed": false, "reason": "<code>", "message": "..."}`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{check_state_dependent, check_state_independent, deny, format, AuthError, SignatureOracle, StateMap};
use crate::{event::Pdu, rules::RoomVersionRules};

/// The host's verdicts on third-party-invite signatures.
pub struct VerifiedKeys(pub BTreeMap<String, BTreeSet<String>>);

impl SignatureOracle for VerifiedKeys {
    fn third_party_signed_verifies(&self, event_id: &str, public_key: &str) -> bool {
        self.0.get(event_id).map_or(false, |keys| keys.contains(public_key))
    }
}

impl VerifiedKeys {
    pub fn from_json(v: Option<&Value>) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        match v {
            None | Some(Value::Null) => {}
            Some(Value::Object(o)) => {
                for (id, keys) in o {
                    let keys = keys
                        .as_array()
                        .ok_or("third_party_verified values must be arrays")?
                        .iter()
                        .map(|k| k.as_str().map(str::to_owned).ok_or("third_party_verified keys must be strings"))
                        .collect::<Result<BTreeSet<_>, _>>()?;
                    out.insert(id.clone(), keys);
                }
            }
            Some(_) => return Err("third_party_verified must be an object".to_owned()),
        }
        Ok(VerifiedKeys(out))
    }
}

fn events(req: &Value, field: &str) -> Result<Vec<Pdu>, String> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|e| Pdu::from_json(e).map_err(|m| format!("{field}: {m}"))).collect(),
        Some(_) => Err(format!("{field} must be an array")),
    }
}

fn verdict(result: Result<(), AuthError>) -> Value {
    match result {
        Ok(()) => json!({ "allowed": true }),
        Err(e) => json!({ "allowed": false, "reason": e.reason, "message": e.message }),
    }
}

/// The operation behind the exported `auth_check`.
pub fn auth_check_json(req: Value) -> Result<Value, String> {
    let rules = RoomVersionRules::from_json(req.get("rules").ok_or("request has no rules")?)?;
    let scope = req.get("scope").map_or(Some("full"), Value::as_str).ok_or("scope must be a string")?;
    if !matches!(scope, "full" | "state_independent" | "state_dependent" | "format_and_auth") {
        return Err(format!("unknown scope {scope:?}"));
    }
    let raw_event = req.get("event").ok_or("request has no event")?;
    let auth_state = events(&req, "auth_state")?;
    let other_events = events(&req, "other_events")?;
    let rejected: BTreeSet<String> = match req.get("rejected_event_ids") {
        None | Some(Value::Null) => BTreeSet::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or("rejected_event_ids must be strings"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("rejected_event_ids must be an array".to_owned()),
    };
    let sigs = VerifiedKeys::from_json(req.get("third_party_verified"))?;
    Ok(verdict(run(&rules, scope, raw_event, &auth_state, &other_events, &rejected, &sigs)))
}

fn run(
    rules: &RoomVersionRules,
    scope: &str,
    raw_event: &Value,
    auth_state: &[Pdu],
    other_events: &[Pdu],
    rejected: &BTreeSet<String>,
    sigs: &dyn SignatureOracle,
) -> Result<(), AuthError> {
    if scope == "format_and_auth" {
        format::check_format(rules, raw_event)?;
    }
    // An event the crate cannot even read is malformed, whatever the scope.
    let event = Pdu::from_json(raw_event).map_err(|m| deny("format.invalid_event", m))?;
    let is_rejected = |id: &str| rejected.contains(id);

    if scope != "state_dependent" {
        // Event lookup for `auth_events` and the v12 create event: auth_state, then other_events.
        let lookup = |id: &str| auth_state.iter().chain(other_events.iter()).find(|e| e.event_id == id);
        let mut resolved = Vec::new();
        let mut missing = Vec::new();
        if event.kind != "m.room.create" {
            for id in &event.auth_events {
                match lookup(id) {
                    Some(e) => resolved.push(e),
                    None => missing.push(id.clone()),
                }
            }
        }
        let create = event
            .room_id
            .as_deref()
            .and_then(super::ids::create_event_id_for_room)
            .and_then(|id| lookup(&id));
        check_state_independent(rules, &event, &resolved, create, &is_rejected)?;
        // An auth event we were not given cannot be judged; say so rather than guess.
        if !missing.is_empty() {
            return Err(deny("auth_events.missing", format!("auth events not provided: {}", missing.join(", "))));
        }
    }
    if scope == "state_independent" {
        return Ok(());
    }
    let mut state: StateMap<'_> = BTreeMap::new();
    for e in auth_state {
        if let Some(key) = e.state_key_pair() {
            state.insert(key, e);
        }
    }
    check_state_dependent(rules, &event, &state, sigs)
}
