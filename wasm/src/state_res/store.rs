//! The events a resolution may touch, interned: every event gets a dense index (`Ix`), its
//! `auth_events` are resolved to indices once, and the fields the graph algorithms read (ID,
//! type, state key, room ID, timestamps) sit in flat arrays. The full `Pdu` (with `content`),
//! which only the auth checks need, is decoded on first use: a resolution usually checks a few
//! thousand events of a room of tens of thousands.

use std::borrow::Cow;
use std::cell::UnsafeCell;
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
    pdus: Box<[UnsafeCell<Option<Box<Pdu>>>]>,
    rejected: Vec<bool>,
}

fn hash_id(id: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    h.finish()
}

/// One event's scanned fields, before interning.
struct Scanned<'a> {
    id: Cow<'a, str>,
    kind: Cow<'a, str>,
    state_key: Option<Cow<'a, str>>,
    room_id: Option<Cow<'a, str>>,
    ts: i64,
    depth: i64,
    auth: Vec<Cow<'a, str>>,
    range: Range<usize>,
    pdu: Option<Pdu>,
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
        let scanned = events
            .into_iter()
            .zip(depth)
            .map(|(p, depth)| Scanned {
                id: Cow::Owned(p.event_id.clone()),
                kind: Cow::Owned(p.kind.clone()),
                state_key: p.state_key.clone().map(Cow::Owned),
                room_id: p.room_id.clone().map(Cow::Owned),
                ts: p.origin_server_ts,
                depth,
                auth: p.auth_events.iter().cloned().map(Cow::Owned).collect(),
                range: 0..0,
                pdu: Some(p),
            })
            .collect();
        Self::build(&[], scanned)
    }
}

impl<'a> EventStore<'a> {
    /// A store without events.
    pub fn empty() -> Self {
        Self::build(&[], Vec::new())
    }

    /// Scan a JSON array of events from the request bytes without building a `Value` tree.
    pub fn scan(r: &mut Reader<'a>) -> Result<Self, String> {
        let mut scanned: Vec<Scanned<'a>> = Vec::new();
        r.array(|r| {
            let mut e = Scanned {
                id: Cow::Borrowed(""),
                kind: Cow::Borrowed(""),
                state_key: None,
                room_id: None,
                ts: 0,
                depth: 0,
                auth: Vec::new(),
                range: 0..0,
                pdu: None,
            };
            let (mut has_id, mut has_type) = (false, false);
            let begin = r.skip_ws_pos();
            r.object(|r, key| {
                let opt_str = |r: &mut Reader<'a>| -> Result<Option<Cow<'a, str>>, String> {
                    if r.peek() == Some(b'"') {
                        r.string().map(Some)
                    } else {
                        r.skip().map(|_| None)
                    }
                };
                match key.as_ref() {
                    "event_id" => {
                        if let Some(s) = opt_str(r)? {
                            e.id = s;
                            has_id = true;
                        }
                    }
                    "type" => {
                        if let Some(s) = opt_str(r)? {
                            e.kind = s;
                            has_type = true;
                        }
                    }
                    "state_key" => e.state_key = opt_str(r)?,
                    "room_id" => e.room_id = opt_str(r)?,
                    "origin_server_ts" => e.ts = r.i64()?.unwrap_or(0),
                    "depth" => e.depth = r.i64()?.unwrap_or(0),
                    "auth_events" if r.peek() == Some(b'[') => {
                        e.auth.clear();
                        r.array(|r| {
                            if r.peek() == Some(b'[') {
                                // ["$id", {hashes}] (room v1-v2)
                                let mut first = true;
                                r.array(|r| {
                                    if first && r.peek() == Some(b'"') {
                                        e.auth.push(r.string()?);
                                    } else {
                                        r.skip()?;
                                    }
                                    first = false;
                                    Ok(())
                                })
                            } else if r.peek() == Some(b'"') {
                                e.auth.push(r.string()?);
                                Ok(())
                            } else {
                                r.skip().map(|_| ())
                            }
                        })?;
                    }
                    _ => {
                        r.skip()?;
                    }
                }
                Ok(())
            })?;
            if !has_id || !has_type {
                return Err(format!("event at byte {begin} has no event_id or type"));
            }
            e.range = begin..r.skip_ws_pos();
            scanned.push(e);
            Ok(())
        })?;
        Ok(Self::build(r.bytes(), scanned))
    }

    fn build(bytes: &'a [u8], scanned: Vec<Scanned<'a>>) -> Self {
        let n = scanned.len();
        let mut store = EventStore {
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
            pdus: Box::new([]),
            rejected: Vec::new(),
        };
        let mut auths: Vec<Vec<Cow<'a, str>>> = Vec::with_capacity(n);
        let mut pdus: Vec<UnsafeCell<Option<Box<Pdu>>>> = Vec::with_capacity(n);
        for e in scanned {
            if store.ix(&e.id).is_some() {
                continue; // a repeated event ID keeps the first copy
            }
            let i = store.ids.len() as Ix;
            let h = hash_id(&e.id);
            if store.index.contains_key(&h) {
                store.collided.push(i);
            } else {
                store.index.insert(h, i);
            }
            store.ids.push(e.id);
            store.kinds.push(e.kind);
            store.state_keys.push(e.state_key);
            store.room_ids.push(e.room_id);
            store.ts.push(e.ts);
            store.depth.push(e.depth);
            store.ranges.push(e.range);
            pdus.push(UnsafeCell::new(e.pdu.map(Box::new)));
            auths.push(e.auth);
        }
        let mut flat = Vec::with_capacity(auths.iter().map(Vec::len).sum());
        for list in &auths {
            store.auth_off.push(flat.len() as u32);
            let from = flat.len();
            for a in list {
                if let Some(i) = store.ix(a) {
                    if !flat[from..].contains(&i) {
                        flat.push(i);
                    }
                }
            }
        }
        store.auth_off.push(flat.len() as u32);
        store.auth_flat = flat;
        store.rejected = vec![false; store.ids.len()];
        store.pdus = pdus.into_boxed_slice();
        store
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
        // SAFETY: a slot only ever goes from `None` to `Some` (below), and its box is never
        // replaced or dropped while `self` lives, so references handed out stay valid. A shared
        // reference to the slot is taken first; the mutable one only when it is `None`, when no
        // reference into it exists. `UnsafeCell` makes the store `!Sync`, so there is no racing
        // initialisation, and decoding below does not touch the store.
        unsafe {
            if let Some(b) = &*cell.get() {
                return Some(b);
            }
            let range = self.ranges.get(i as usize)?.clone();
            let v: Value = serde_json::from_slice(self.bytes.get(range)?).ok()?;
            let pdu = Pdu::from_json(&v).ok()?;
            let slot = &mut *cell.get();
            *slot = Some(Box::new(pdu));
            slot.as_deref()
        }
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
