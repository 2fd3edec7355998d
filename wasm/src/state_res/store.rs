//! The events a resolution may touch, interned: every event gets a dense index (`Ix`), its
//! `auth_events` are resolved to indices once, and the fields the graph algorithms read (ID,
//! type, state key, room ID, timestamps) sit in flat arrays. The full `Pdu` (with `content`),
//! which only the auth checks need, is decoded on first use: a resolution usually checks a few
//! thousand events of a room of tens of thousands.

use std::borrow::Cow;
use once_cell::unsync::OnceCell;
use std::collections::hash_map::Entry;
use std::hash::Hasher;
use std::ops::Range;

use serde_json::Value;

use crate::{event::Pdu, rules::RoomVersionRules};

use super::fxhash::{map_with_capacity, FastMap, FxHasher};
use super::json_scan::Reader;

/// Dense index of an event inside an [`EventStore`].
pub type Ix = u32;

/// Events by ID, as supplied by the host: the state sets' events and their full auth chains.
/// `'a` is the lifetime of the request bytes the store was scanned from (`'static` otherwise).
pub struct EventStore<'a> {
    bytes: &'a [u8],
    ids: Vec<Cow<'a, str>>,
    kinds: Vec<Cow<'a, str>>,
    state_keys: Vec<Option<Cow<'a, str>>>,
    room_ids: Vec<Option<Cow<'a, str>>>,
    ts: Vec<i64>,
    /// `depth` is only read by state resolution v1 (room v1); `Pdu` does not carry it.
    depth: Vec<i64>,
    /// `auth_events` resolved to indices (duplicates removed, unknown IDs skipped): event `i`'s
    /// are `auth_flat[auth_off[i]..auth_off[i + 1]]`.
    auth_off: Vec<u32>,
    auth_flat: Vec<Ix>,
    /// Hash of the event ID -> index; IDs whose hash collides with another's go to `collided`.
    index: FastMap<u64, Ix>,
    collided: Vec<Ix>,
    /// Where each event's JSON is in `bytes` (scanned stores only).
    ranges: Vec<Range<usize>>,
    pdus: Vec<OnceCell<Option<Box<Pdu>>>>,
    rejected: Vec<bool>,
}

fn hash_id(id: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    h.finish()
}

/// One event's fields read by the graph algorithms, before interning.
struct Fields<'a> {
    id: Cow<'a, str>,
    kind: Cow<'a, str>,
    state_key: Option<Cow<'a, str>>,
    room_id: Option<Cow<'a, str>>,
    ts: i64,
    depth: i64,
    range: Range<usize>,
}

impl EventStore<'static> {
    /// Intern already-parsed events (depth unknown: 0). A repeated event ID keeps the first copy.
    pub fn new(events: Vec<Pdu>) -> Self {
        let depth = vec![0; events.len()];
        Self::from_pdus(events, depth)
    }

    /// Parse events from their JSON form (with `depth`, for state resolution v1).
    pub fn from_json(values: Vec<Value>) -> Result<Self, String> {
        let mut pdus = Vec::with_capacity(values.len());
        let mut depth = Vec::with_capacity(values.len());
        for v in &values {
            pdus.push(Pdu::from_json(v)?);
            depth.push(v.get("depth").and_then(Value::as_i64).unwrap_or(0));
        }
        Ok(Self::from_pdus(pdus, depth))
    }

    fn from_pdus(events: Vec<Pdu>, depth: Vec<i64>) -> Self {
        let mut store = Self::with_capacity(&[], events.len());
        let mut auth_ids: Vec<Cow<'static, str>> = Vec::new();
        let mut auth_ranges = Vec::with_capacity(events.len());
        for (p, depth) in events.into_iter().zip(depth) {
            let fields = Fields {
                id: Cow::Owned(p.event_id.clone()),
                kind: Cow::Owned(p.kind.clone()),
                state_key: p.state_key.clone().map(Cow::Owned),
                room_id: p.room_id.clone().map(Cow::Owned),
                ts: p.origin_server_ts,
                depth,
                range: 0..0,
            };
            let from = auth_ids.len();
            auth_ids.extend(p.auth_events.iter().cloned().map(Cow::Owned));
            if store.push(fields, Some(p)) {
                auth_ranges.push(from..auth_ids.len());
            }
        }
        store.finish(&auth_ids, &auth_ranges);
        store
    }
}

impl<'a> EventStore<'a> {
    fn with_capacity(bytes: &'a [u8], n: usize) -> Self {
        EventStore {
            bytes,
            ids: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            state_keys: Vec::with_capacity(n),
            room_ids: Vec::with_capacity(n),
            ts: Vec::with_capacity(n),
            depth: Vec::with_capacity(n),
            auth_off: Vec::with_capacity(n + 1),
            auth_flat: Vec::new(),
            index: map_with_capacity(n),
            collided: Vec::new(),
            ranges: Vec::with_capacity(n),
            pdus: Vec::with_capacity(n),
            rejected: Vec::new(),
        }
    }

    /// A store without events.
    pub fn empty() -> Self {
        let mut store = Self::with_capacity(&[], 0);
        store.finish(&[], &[]);
        store
    }

    /// Add an event; `false` if its ID is already taken (the first copy is kept).
    fn push(&mut self, f: Fields<'a>, pdu: Option<Pdu>) -> bool {
        let i = self.ids.len() as Ix;
        match self.index.entry(hash_id(&f.id)) {
            Entry::Vacant(v) => {
                v.insert(i);
            }
            Entry::Occupied(o) => {
                let j = *o.get();
                if self.ids[j as usize] == f.id || self.collided.iter().any(|&c| self.ids[c as usize] == f.id)
                {
                    return false;
                }
                self.collided.push(i);
            }
        }
        self.ids.push(f.id);
        self.kinds.push(f.kind);
        self.state_keys.push(f.state_key);
        self.room_ids.push(f.room_id);
        self.ts.push(f.ts);
        self.depth.push(f.depth);
        self.ranges.push(f.range);
        self.pdus.push(match pdu {
            Some(p) => OnceCell::with_value(Some(Box::new(p))),
            None => OnceCell::new(),
        });
        true
    }

    /// Resolve every event's `auth_events` (`auth_ids[auth_ranges[i]]`) to indices.
    fn finish(&mut self, auth_ids: &[Cow<'a, str>], auth_ranges: &[Range<usize>]) {
        let mut flat = Vec::with_capacity(auth_ids.len());
        for range in auth_ranges {
            self.auth_off.push(flat.len() as u32);
            let from = flat.len();
            for a in &auth_ids[range.clone()] {
                if let Some(i) = self.ix(a) {
                    if !flat[from..].contains(&i) {
                        flat.push(i);
                    }
                }
            }
        }
        self.auth_off.push(flat.len() as u32);
        self.auth_flat = flat;
        self.rejected = vec![false; self.ids.len()];
    }

    /// Scan a JSON array of events from the request bytes without building a `Value` tree.
    pub fn scan(r: &mut Reader<'a>) -> Result<Self, String> {
        let mut store = Self::with_capacity(r.bytes(), r.bytes().len() / 512);
        let mut auth_ids: Vec<Cow<'a, str>> = Vec::new();
        let mut auth_ranges: Vec<Range<usize>> = Vec::new();
        r.array(|r| {
            let begin = r.skip_ws_pos();
            let (mut id, mut kind, mut state_key, mut room_id) = (None, None, None, None);
            let (mut ts, mut depth) = (0, 0);
            let auth_from = auth_ids.len();
            r.object(|r, key| {
                let opt_str = |r: &mut Reader<'a>| -> Result<Option<Cow<'a, str>>, String> {
                    if r.peek() == Some(b'"') {
                        r.string().map(Some)
                    } else {
                        r.skip().map(|_| None)
                    }
                };
                match key.as_ref() {
                    "event_id" => id = opt_str(r)?,
                    "type" => kind = opt_str(r)?,
                    "state_key" => state_key = opt_str(r)?,
                    "room_id" => room_id = opt_str(r)?,
                    "origin_server_ts" => ts = r.i64()?.unwrap_or(0),
                    "depth" => depth = r.i64()?.unwrap_or(0),
                    "auth_events" if r.peek() == Some(b'[') => {
                        auth_ids.truncate(auth_from);
                        r.array(|r| match r.peek() {
                            Some(b'"') => r.string().map(|s| auth_ids.push(s)),
                            // ["$id", {hashes}] (room v1-v2)
                            Some(b'[') => {
                                let mut first = true;
                                r.array(|r| {
                                    if first && r.peek() == Some(b'"') {
                                        auth_ids.push(r.string()?);
                                    } else {
                                        r.skip()?;
                                    }
                                    first = false;
                                    Ok(())
                                })
                            }
                            _ => r.skip().map(|_| ()),
                        })?;
                    }
                    _ => {
                        r.skip()?;
                    }
                }
                Ok(())
            })?;
            let range = begin..r.skip_ws_pos();
            let (id, kind) = match (id, kind) {
                (Some(id), Some(kind)) => (id, kind),
                _ => return Err(format!("event at byte {begin} has no event_id or type")),
            };
            let fields = Fields { id, kind, state_key, room_id, ts, depth, range };
            if store.push(fields, None) {
                auth_ranges.push(auth_from..auth_ids.len());
            } else {
                auth_ids.truncate(auth_from);
            }
            Ok(())
        })?;
        store.finish(&auth_ids, &auth_ranges);
        Ok(store)
    }

    /// Mark an event as rejected (it failed auth against its own auth events). Rejected events
    /// are not used as auth events during the iterative auth checks.
    pub fn mark_rejected(&mut self, event_id: &str) {
        if let Some(i) = self.ix(event_id) {
            self.rejected[i as usize] = true;
        }
    }

    /// The event with this ID, decoded on first use.
    pub fn get(&self, event_id: &str) -> Option<&Pdu> {
        self.ix(event_id).and_then(|i| self.pdu(i))
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(crate) fn ix(&self, event_id: &str) -> Option<Ix> {
        let i = *self.index.get(&hash_id(event_id))?;
        if self.ids[i as usize] == event_id {
            return Some(i);
        }
        self.collided.iter().copied().find(|&c| self.ids[c as usize] == event_id)
    }

    /// The full event, decoded from the request bytes on first use (`None` if it does not
    /// decode, which `scan` has mostly ruled out).
    pub(crate) fn pdu(&self, i: Ix) -> Option<&Pdu> {
        let cell = self.pdus.get(i as usize)?;
        cell.get_or_init(|| {
            let range = self.ranges.get(i as usize)?.clone();
            let v: Value = serde_json::from_slice(self.bytes.get(range)?).ok()?;
            Pdu::from_json(&v).ok().map(Box::new)
        })
        .as_deref()
    }

    pub(crate) fn event_id(&self, i: Ix) -> &str {
        &self.ids[i as usize]
    }

    pub(crate) fn is_state(&self, i: Ix) -> bool {
        self.state_keys[i as usize].is_some()
    }

    pub(crate) fn state_key_of(&self, i: Ix) -> Option<(&str, &str)> {
        self.state_keys[i as usize].as_deref().map(|k| (&*self.kinds[i as usize], k))
    }

    pub(crate) fn origin_server_ts(&self, i: Ix) -> i64 {
        self.ts[i as usize]
    }

    pub(crate) fn auth_of(&self, i: Ix) -> &[Ix] {
        let (a, b) = (self.auth_off[i as usize] as usize, self.auth_off[i as usize + 1] as usize);
        &self.auth_flat[a..b]
    }

    pub(crate) fn depth(&self, i: Ix) -> i64 {
        self.depth[i as usize]
    }

    pub(crate) fn is_rejected(&self, i: Ix) -> bool {
        self.rejected[i as usize]
    }

    pub(crate) fn is_type_and_key(&self, i: Ix, kind: &str, state_key: &str) -> bool {
        self.state_key_of(i) == Some((kind, state_key))
    }

    /// The `m.room.power_levels` event among `i`'s auth events, if any.
    pub(crate) fn power_levels_in_auth(&self, i: Ix) -> Option<Ix> {
        self.auth_of(i).iter().copied().find(|&a| self.is_type_and_key(a, "m.room.power_levels", ""))
    }

    /// The room's `m.room.create` event as reachable from `i`: among its auth events, or, when
    /// the room ID is the create event's hash (room v12), through `room_id` ("!x" -> "$x").
    pub(crate) fn create_for(&self, rules: &RoomVersionRules, i: Ix) -> Option<Ix> {
        if self.is_type_and_key(i, "m.room.create", "") {
            return None;
        }
        if rules.room_id_is_create_event_hash {
            let local = self.room_ids[i as usize].as_deref()?.strip_prefix('!')?;
            let mut id = String::with_capacity(local.len() + 1);
            id.push('$');
            id.push_str(local);
            return self.ix(&id);
        }
        self.auth_of(i).iter().copied().find(|&a| self.is_type_and_key(a, "m.room.create", ""))
    }
}
