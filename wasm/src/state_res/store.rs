//! The events a resolution may touch, interned: every event gets a dense index (`Ix`) and its
//! `auth_events` are resolved to indices once, so the graph walks below never hash a string.

use serde_json::{Map, Value};

use crate::{event::Pdu, rules::RoomVersionRules};

use super::fxhash::{map_with_capacity, FastMap};

/// Dense index of an event inside an [`EventStore`].
pub type Ix = u32;

/// Events by ID, as supplied by the host: the state sets' events and their full auth chains.
pub struct EventStore {
    events: Vec<Pdu>,
    /// `depth` is only read by state resolution v1 (room v1); `Pdu` does not carry it.
    depth: Vec<i64>,
    index: FastMap<String, Ix>,
    /// `auth_events` resolved to indices: duplicates removed, unknown IDs skipped.
    auth: Vec<Vec<Ix>>,
    rejected: Vec<bool>,
}

impl EventStore {
    /// Intern already-parsed events (depth unknown: 0). A repeated event ID keeps the first copy.
    pub fn new(events: Vec<Pdu>) -> Self {
        let depth = vec![0; events.len()];
        Self::build(events, depth)
    }

    /// Parse events from their JSON form, keeping `depth` for state resolution v1. Each value
    /// is consumed: its strings and `content` are moved into the `Pdu`, not copied.
    pub fn from_json(values: Vec<Value>) -> Result<Self, String> {
        let mut events = Vec::with_capacity(values.len());
        let mut depth = Vec::with_capacity(values.len());
        for v in values {
            let (pdu, d) = pdu_from_owned(v)?;
            events.push(pdu);
            depth.push(d);
        }
        Ok(Self::build(events, depth))
    }

    fn build(events: Vec<Pdu>, depth: Vec<i64>) -> Self {
        let mut index = map_with_capacity(events.len());
        let mut kept = Vec::with_capacity(events.len());
        let mut kept_depth = Vec::with_capacity(events.len());
        for (e, d) in events.into_iter().zip(depth) {
            if index.contains_key(&e.event_id) {
                continue;
            }
            index.insert(e.event_id.clone(), kept.len() as Ix);
            kept.push(e);
            kept_depth.push(d);
        }
        let auth = kept
            .iter()
            .map(|e| {
                let mut ids: Vec<Ix> = Vec::with_capacity(e.auth_events.len());
                for a in &e.auth_events {
                    if let Some(&i) = index.get(a) {
                        if !ids.contains(&i) {
                            ids.push(i);
                        }
                    }
                }
                ids
            })
            .collect();
        let rejected = vec![false; kept.len()];
        Self { events: kept, depth: kept_depth, index, auth, rejected }
    }

    /// Mark an event as rejected (it failed auth against its own auth events). Rejected events
    /// are not used as auth events during the iterative auth checks.
    pub fn mark_rejected(&mut self, event_id: &str) {
        if let Some(&i) = self.index.get(event_id) {
            self.rejected[i as usize] = true;
        }
    }

    pub fn get(&self, event_id: &str) -> Option<&Pdu> {
        self.index.get(event_id).map(|&i| &self.events[i as usize])
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub(crate) fn ix(&self, event_id: &str) -> Option<Ix> {
        self.index.get(event_id).copied()
    }

    pub(crate) fn ev(&self, i: Ix) -> &Pdu {
        &self.events[i as usize]
    }

    pub(crate) fn auth_of(&self, i: Ix) -> &[Ix] {
        &self.auth[i as usize]
    }

    pub(crate) fn depth(&self, i: Ix) -> i64 {
        self.depth[i as usize]
    }

    pub(crate) fn is_rejected(&self, i: Ix) -> bool {
        self.rejected[i as usize]
    }

    /// The `m.room.power_levels` event among `i`'s auth events, if any.
    pub(crate) fn power_levels_in_auth(&self, i: Ix) -> Option<Ix> {
        self.auth_of(i).iter().copied().find(|&a| is_type_and_key(self.ev(a), "m.room.power_levels", ""))
    }

    /// The room's `m.room.create` event as reachable from `i`: among its auth events, or, when
    /// the room ID is the create event's hash (room v12), through `room_id` ("!x" -> "$x").
    pub(crate) fn create_for(&self, rules: &RoomVersionRules, i: Ix) -> Option<Ix> {
        let e = self.ev(i);
        if e.kind == "m.room.create" && e.state_key.as_deref() == Some("") {
            return None;
        }
        if rules.room_id_is_create_event_hash {
            let room_id = e.room_id.as_deref()?;
            let local = room_id.strip_prefix('!')?;
            let mut id = String::with_capacity(local.len() + 1);
            id.push('$');
            id.push_str(local);
            return self.ix(&id);
        }
        self.auth_of(i).iter().copied().find(|&a| is_type_and_key(self.ev(a), "m.room.create", ""))
    }
}

/// The fields `Pdu::from_json` reads, with the same meaning and errors, but moved out of the
/// value in one pass (30,000 events make the copies show), plus `depth`.
fn pdu_from_owned(v: Value) -> Result<(Pdu, i64), String> {
    let map: Map<String, Value> = match v {
        Value::Object(m) => m,
        _ => return Err("every event must be a JSON object".to_owned()),
    };
    let mut pdu = Pdu {
        event_id: String::new(),
        room_id: None,
        sender: String::new(),
        kind: String::new(),
        state_key: None,
        content: Value::Object(Map::new()),
        origin_server_ts: 0,
        prev_events: Vec::new(),
        auth_events: Vec::new(),
        redacts_top_level: None,
    };
    let (mut has_id, mut has_sender, mut has_type, mut depth) = (false, false, false, 0);
    let string = |v: Value| match v {
        Value::String(s) => Some(s),
        _ => None,
    };
    for (k, v) in map {
        match k.as_str() {
            "event_id" => has_id = string(v).map(|s| pdu.event_id = s).is_some(),
            "sender" => has_sender = string(v).map(|s| pdu.sender = s).is_some(),
            "type" => has_type = string(v).map(|s| pdu.kind = s).is_some(),
            "room_id" => pdu.room_id = string(v),
            "state_key" => pdu.state_key = string(v),
            "redacts" => pdu.redacts_top_level = string(v),
            "content" => pdu.content = v,
            "origin_server_ts" => pdu.origin_server_ts = v.as_i64().unwrap_or(0),
            "depth" => depth = v.as_i64().unwrap_or(0),
            "prev_events" => pdu.prev_events = event_refs(v, "prev_events")?,
            "auth_events" => pdu.auth_events = event_refs(v, "auth_events")?,
            _ => {}
        }
    }
    if !has_id {
        return Err("event has no event_id".to_owned());
    }
    if !has_sender {
        return Err("event has no sender".to_owned());
    }
    if !has_type {
        return Err("event has no type".to_owned());
    }
    Ok((pdu, depth))
}

/// Event references are `"$id"` (v3+) or `["$id", {hashes}]` (v1-v2); take the ID.
fn event_refs(v: Value, field: &str) -> Result<Vec<String>, String> {
    let arr = match v {
        Value::Array(a) => a,
        _ => return Err(format!("{field} must be an array")),
    };
    arr.into_iter()
        .map(|r| match r {
            Value::String(s) => Ok(s),
            Value::Array(pair) => match pair.into_iter().next() {
                Some(Value::String(s)) => Ok(s),
                _ => Err(format!("{field} entry has no event ID")),
            },
            _ => Err(format!("{field} entry is neither an ID nor a pair")),
        })
        .collect()
}

pub(crate) fn is_type_and_key(e: &Pdu, kind: &str, state_key: &str) -> bool {
    e.kind == kind && e.state_key.as_deref() == Some(state_key)
}

/// A fixed-size set of event indices.
#[derive(Clone)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub fn new(n: usize) -> Self {
        Self { words: vec![0; (n + 63) / 64] }
    }
    #[inline]
    pub fn insert(&mut self, i: Ix) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        let had = self.words[w] >> b & 1 == 1;
        self.words[w] |= 1 << b;
        !had
    }
    #[inline]
    pub fn contains(&self, i: Ix) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        self.words.get(w).map_or(false, |x| x >> b & 1 == 1)
    }
    pub fn union_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }
    pub fn intersect_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= *b;
        }
    }
    pub fn difference_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !*b;
        }
    }
    /// Members in increasing index order.
    pub fn iter(&self) -> impl Iterator<Item = Ix> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let b = rest.trailing_zeros();
                rest &= rest - 1;
                Some(w as Ix * 64 + b)
            })
        })
    }
}
