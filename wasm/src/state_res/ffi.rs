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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::auth::{SignatureOracle, StateKey};
use crate::ffi::handle;
use crate::rules::RoomVersionRules;

use super::conflicted::{into_sorted_set, sorted_entries, SortedSet};
use super::json_scan::Reader;
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
            _ => return Err(BAD_ENTRY.to_owned()),
        }
    }
    Ok(map)
}

const BAD_ENTRY: &str = "a state entry must be [type, state_key, event_id] strings";

fn string_list(v: &Value, field: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or_else(|| format!("{field} must be an array of strings"))?
        .iter()
        .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| format!("{field} must be an array of strings")))
        .collect()
}

type Triple<'a> = [Cow<'a, str>; 3];

/// Read a `resolve_state` request from its bytes, resolve, and hand the sorted result entries
/// to `f`. Strings are borrowed from `input` where they have no escapes.
fn with_resolution<R>(input: &[u8], f: impl FnOnce(&[(&str, &str, &str)]) -> R) -> Result<R, String> {
    let mut r = Reader::new(input)?;
    let mut rules: Option<Value> = None;
    let mut sets: Option<Vec<Vec<Triple<'_>>>> = None;
    let mut store: Option<EventStore<'_>> = None;
    let mut verified = HashMap::new();
    let mut rejected = Vec::new();
    if r.peek() != Some(b'{') {
        return Err("the request must be a JSON object".to_owned());
    }
    r.object(|r, key| {
        match key.as_ref() {
            "rules" => rules = Some(r.value()?),
            "state_sets" => {
                if r.peek() != Some(b'[') {
                    return Err("state_sets must be an array".to_owned());
                }
                let mut all = Vec::new();
                r.array(|r| {
                    if r.peek() != Some(b'[') {
                        return Err("a state set must be an array of triples".to_owned());
                    }
                    let mut set: Vec<Triple<'_>> = Vec::new();
                    r.array(|r| {
                        let mut t: Triple<'_> = Default::default();
                        let mut n = 0;
                        if r.peek() != Some(b'[') {
                            return Err(BAD_ENTRY.to_owned());
                        }
                        r.array(|r| {
                            if n >= 3 || r.peek() != Some(b'"') {
                                return Err(BAD_ENTRY.to_owned());
                            }
                            t[n] = r.string()?;
                            n += 1;
                            Ok(())
                        })?;
                        if n != 3 {
                            return Err(BAD_ENTRY.to_owned());
                        }
                        set.push(t);
                        Ok(())
                    })?;
                    all.push(set);
                    Ok(())
                })?;
                sets = Some(all);
            }
            "events" => match r.peek() {
                Some(b'[') => store = Some(EventStore::scan(r)?),
                _ => return Err("events must be an array".to_owned()),
            },
            "third_party_verified" => match r.value()? {
                Value::Null => {}
                Value::Object(m) => {
                    for (id, keys) in m {
                        let keys = string_list(&keys, "third_party_verified entries")?;
                        verified.insert(id, keys);
                    }
                }
                _ => return Err("third_party_verified must be an object".to_owned()),
            },
            "rejected" => match r.value()? {
                Value::Null => {}
                v => rejected = string_list(&v, "rejected")?,
            },
            _ => {
                r.skip()?;
            }
        }
        Ok(())
    })?;
    r.end()?;
    let rules = RoomVersionRules::from_json(rules.as_ref().ok_or("request has no rules")?)?;
    let sets = sets.ok_or("request has no state_sets")?;
    let mut store = store.unwrap_or_else(EventStore::empty);
    for id in &rejected {
        store.mark_rejected(id);
    }
    let sorted: Vec<SortedSet<'_>> = sets
        .iter()
        .map(|s| into_sorted_set(s.iter().map(|[t, k, id]| (&**t, &**k, &**id)).collect()))
        .collect();
    let resolved = resolve_refs(&rules, &sorted, &store, &HostVerified(verified), None);
    Ok(f(&sorted_entries(&resolved)))
}

/// The `resolve_state` operation on a parsed request (the value form, for tests and hosts that
/// hold a parsed request).
pub fn resolve_state_request(req: Value) -> Result<Value, String> {
    let bytes = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
    with_resolution(&bytes, |entries| {
        Value::Array(
            entries
                .iter()
                .map(|&(t, k, id)| Value::Array(vec![Value::from(t), Value::from(k), Value::from(id)]))
                .collect(),
        )
    })
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|c| c < 0x20 || c == b'"' || c == b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// The `resolve_state` operation from request bytes to response bytes. The response is written
/// directly: tens of thousands of entries would otherwise be copied into a `Value` first.
pub fn resolve_state_bytes(input: &[u8]) -> Vec<u8> {
    let result = with_resolution(input, |entries| {
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
