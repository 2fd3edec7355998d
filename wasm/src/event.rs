//! The PDU view used by auth and state resolution. Hashes and signatures are the host's
//! business (checked before an event reaches this crate); only the fields the algorithms read
//! are parsed, the raw JSON is kept for content lookups.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Pdu {
    pub event_id: String,
    /// Absent only on a v12 `m.room.create` (its room ID is derived from its event ID).
    pub room_id: Option<String>,
    pub sender: String,
    pub kind: String,
    pub state_key: Option<String>,
    pub content: Value,
    pub origin_server_ts: i64,
    pub prev_events: Vec<String>,
    pub auth_events: Vec<String>,
    /// Top-level `redacts` (v1-v10) or `content.redacts` (v11+), as the rules say.
    pub redacts_top_level: Option<String>,
}

/// Event references are `"$id"` (v3+) or `["$id", {hashes}]` (v1-v2); take the ID.
fn event_refs(v: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    let arr = match v {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(format!("{field} must be an array")),
    };
    arr.iter()
        .map(|r| match r {
            Value::String(s) => Ok(s.clone()),
            Value::Array(pair) => pair
                .first()
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{field} entry has no event ID")),
            _ => Err(format!("{field} entry is neither an ID nor a pair")),
        })
        .collect()
}

impl Pdu {
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            event_id: s("event_id").ok_or("event has no event_id")?,
            room_id: s("room_id"),
            sender: s("sender").ok_or("event has no sender")?,
            kind: s("type").ok_or("event has no type")?,
            state_key: s("state_key"),
            content: v.get("content").cloned().unwrap_or(Value::Object(Default::default())),
            origin_server_ts: v.get("origin_server_ts").and_then(Value::as_i64).unwrap_or(0),
            prev_events: event_refs(v.get("prev_events"), "prev_events")?,
            auth_events: event_refs(v.get("auth_events"), "auth_events")?,
            redacts_top_level: s("redacts"),
        })
    }

    pub fn is_state(&self) -> bool {
        self.state_key.is_some()
    }

    /// The ID of the event a redaction redacts: top-level `redacts` (v1–v10), or
    /// `content.redacts` from v11 (`redacts_in_content`).
    pub fn redacts(&self, rules: &crate::rules::RoomVersionRules) -> Option<&str> {
        if rules.redacts_in_content {
            self.content.get("redacts").and_then(Value::as_str)
        } else {
            self.redacts_top_level.as_deref()
        }
    }

    /// `(type, state_key)` for state events.
    pub fn state_key_pair(&self) -> Option<(String, String)> {
        self.state_key.as_ref().map(|k| (self.kind.clone(), k.clone()))
    }
}
