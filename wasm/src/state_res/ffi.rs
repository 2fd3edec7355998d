//! The exported operations: `resolve_state` and `auth_chain` (JSON in, JSON out; see
//! `crate::ffi` for the envelope).
//!
//! `resolve_state` request:
//! `{"rules": {...}, "state_sets": [[[type, state_key, event_id], ...], ...],
//!   "events": [event, ...], "third_party_verified": {"$event_id": ["<public key>", ...]},
//!   "rejected": ["$event_id", ...]}` (the last two optional);
//! ok value: the resolved state as `[type, state_key, event_id]` triples, sorted.
//!
//! `auth_chain` request: `{"events": [event, ...], "event_ids": ["$id", ...]}`;
//! ok value: the union of the auth chains of `event_ids` (excluding themselves), sorted.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::auth::{SignatureOracle, StateKey};
use crate::ffi::handle;
use crate::rules::RoomVersionRules;

use super::conflicted::sorted_entries;
use super::{auth_chain_ids, resolve_refs, EventStore};

/// Third-party-invite signatures the host has verified, per event.
pub struct HostVerified(pub HashMap<String, Vec<String>>);

impl SignatureOracle for HostVerified {
    fn third_party_signed_verifies(&self, event_id: &str, public_key: &str) -> bool {
        self.0.get(event_id).map_or(false, |keys| keys.iter().any(|k| k == public_key))
    }
}

fn take_array(req: &mut Value, field: &str) -> Result<Vec<Value>, String> {
    match req.get_mut(field).map(Value::take) {
        Some(Value::Array(a)) => Ok(a),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(format!("{field} must be an array")),
    }
}

/// Parse a state map encoded as `[type, state_key, event_id]` triples.
pub fn parse_state_map(v: &Value) -> Result<BTreeMap<StateKey, String>, String> {
    let triples = v.as_array().ok_or("a state set must be an array of triples")?;
    let mut map = BTreeMap::new();
    for t in triples {
        let s = |i: usize| t.get(i).and_then(Value::as_str).map(str::to_owned);
        match (t.as_array().map(Vec::len), s(0), s(1), s(2)) {
            (Some(3), Some(ty), Some(key), Some(id)) => {
                map.insert((ty, key), id);
            }
            _ => return Err("a state entry must be [type, state_key, event_id] strings".to_owned()),
        }
    }
    Ok(map)
}

/// Encode a state map as sorted `[type, state_key, event_id]` triples.
pub fn encode_state_map(map: &BTreeMap<StateKey, String>) -> Value {
    Value::Array(
        map.iter()
            .map(|((t, k), id)| Value::Array(vec![Value::from(t.as_str()), Value::from(k.as_str()), Value::from(id.as_str())]))
            .collect(),
    )
}

fn string_list(v: &Value, field: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or_else(|| format!("{field} must be an array of strings"))?
        .iter()
        .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| format!("{field} must be an array of strings")))
        .collect()
}

/// Parse a `resolve_state` request, resolve, and hand the sorted result entries to `f`.
fn with_resolution<R>(mut req: Value, f: impl FnOnce(&[(&str, &str, &str)]) -> R) -> Result<R, String> {
    let rules = RoomVersionRules::from_json(req.get("rules").ok_or("request has no rules")?)?;
    let state_sets = req
        .get("state_sets")
        .and_then(Value::as_array)
        .ok_or("state_sets must be an array")?
        .iter()
        .map(parse_state_map)
        .collect::<Result<Vec<_>, _>>()?;
    let mut verified = HashMap::new();
    match req.get("third_party_verified") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (id, keys) in m {
                verified.insert(id.clone(), string_list(keys, "third_party_verified entries")?);
            }
        }
        Some(_) => return Err("third_party_verified must be an object".to_owned()),
    }
    let rejected = match req.get("rejected") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => string_list(v, "rejected")?,
    };
    let events = take_array(&mut req, "events")?;
    drop(req);
    let mut store = EventStore::from_json(events)?;
    for id in &rejected {
        store.mark_rejected(id);
    }
    let resolved = resolve_refs(&rules, &state_sets, &store, &HostVerified(verified), None);
    Ok(f(&sorted_entries(&resolved)))
}

/// The `resolve_state` operation on a parsed request (the value form, for tests and hosts that
/// hold a parsed request).
pub fn resolve_state_request(req: Value) -> Result<Value, String> {
    with_resolution(req, |entries| {
        Value::Array(
            entries
                .iter()
                .map(|&(t, k, id)| Value::Array(vec![Value::from(t), Value::from(k), Value::from(id)]))
                .collect(),
        )
    })
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// The `resolve_state` operation from request bytes to response bytes. The response is written
/// directly: tens of thousands of entries would otherwise be copied into a `Value` first.
pub fn resolve_state_bytes(input: &[u8]) -> Vec<u8> {
    let result = serde_json::from_slice::<Value>(input)
        .map_err(|e| format!("request is not JSON: {e}"))
        .and_then(|req| {
            with_resolution(req, |entries| {
                let mut out = Vec::with_capacity(16 + entries.len() * 80);
                out.extend_from_slice(b"{\"ok\":[");
                for (n, &(t, k, id)) in entries.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    push_json_str(&mut out, t);
                    out.push(b',');
                    push_json_str(&mut out, k);
                    out.push(b',');
                    push_json_str(&mut out, id);
                    out.push(b']');
                }
                out.extend_from_slice(b"]}");
                out
            })
        });
    match result {
        Ok(bytes) => bytes,
        Err(e) => serde_json::to_vec(&serde_json::json!({ "error": e }))
            .unwrap_or_else(|_| b"{\"error\":\"encode\"}".to_vec()),
    }
}

/// The `auth_chain` operation on a parsed request.
pub fn auth_chain_request(mut req: Value) -> Result<Value, String> {
    let ids = string_list(req.get("event_ids").ok_or("request has no event_ids")?, "event_ids")?;
    let store = EventStore::from_json(take_array(&mut req, "events")?)?;
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    Ok(Value::from(auth_chain_ids(&store, &refs)))
}

/// Resolve a set of room states; see the module documentation for the request. Same envelope
/// as `crate::ffi::handle`, which this does not use only to write the response without a
/// `Value` in between.
///
/// # Safety
/// `(ptr, len)` must be a buffer from `alloc` that the host filled with `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn resolve_state(ptr: *mut u8, len: usize) -> u64 {
    let input = Vec::from_raw_parts(ptr, len, len.max(1));
    let mut out = resolve_state_bytes(&input);
    drop(input);
    out.shrink_to_fit();
    let (out_ptr, out_len) = (out.as_mut_ptr() as u64, out.len() as u64);
    std::mem::forget(out);
    (out_ptr << 32) | out_len
}

/// The union of the auth chains of some events; see the module documentation for the request.
///
/// # Safety
/// `(ptr, len)` must be a buffer from `alloc` that the host filled with `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn auth_chain(ptr: *mut u8, len: usize) -> u64 {
    handle(ptr, len, auth_chain_request)
}
