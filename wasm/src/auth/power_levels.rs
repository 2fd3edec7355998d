//! `m.room.power_levels`: value parsing per room version, user power, required levels, and
//! the power-levels rules (v1–v9 rule 10 / v10–v12 rule 10).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{creators, deny, ids, AuthError, StateMap, UserPower};
use crate::{event::Pdu, rules::RoomVersionRules};

/// The integer-valued properties and their defaults when absent (client-server API,
/// `m.room.power_levels`; the vectors' README: `users_default 0`, `events_default 0`,
/// `state_default 50`, `invite 0`, `kick 50`, `ban 50`, `redact 50`).
pub const INT_FIELDS: [(&str, i64); 7] = [
    ("users_default", 0),
    ("events_default", 0),
    ("state_default", 50),
    ("ban", 50),
    ("redact", 50),
    ("kick", 50),
    ("invite", 0),
];

/// With no `m.room.power_levels` event:
/// > the room's creator has a power level of 100, and all other users have a power level of 0.
const IMPLICIT_CREATOR_LEVEL: i64 = 100;

pub fn default_of(field: &str) -> i64 {
    INT_FIELDS.iter().find(|(f, _)| *f == field).map(|(_, d)| *d).unwrap_or(0)
}

/// v1–v9 "`m.room.power_levels` events accept values as strings":
/// > a single base 10 integer, no float values or decimal points, optionally with any number of
/// > leading zeroes; optionally prefixed with a single `-` or `+` character before the integer;
/// > optionally with any number of leading or trailing whitespace characters.
pub fn parse_int_string(s: &str) -> Option<i64> {
    let t = s.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Leading zeroes are allowed; strip them so long zero runs cannot overflow the parse.
    let significant = digits.trim_start_matches('0');
    let magnitude: i64 = if significant.is_empty() { 0 } else { significant.parse().ok()? };
    Some(if negative { -magnitude } else { magnitude })
}

/// One power level value under the room version's rules:
/// * v10+ (`integer_power_levels`): only JSON integers.
/// * v1–v9 (`power_level_values_may_be_strings`): integers or integer strings.
/// * v1–v5 (`power_level_values_may_be_floats`): floats too,
///   > the value is truncated at the decimal point
pub fn parse_level(rules: &RoomVersionRules, v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else if n.is_f64() && rules.power_level_values_may_be_floats && !rules.integer_power_levels {
                let f = n.as_f64()?.trunc();
                // Values outside the range of the integer type are not power levels.
                if f.is_finite() && f >= -9.007_199_254_740_991e15 && f <= 9.007_199_254_740_991e15 {
                    Some(f as i64)
                } else {
                    None
                }
            } else {
                None
            }
        }
        Value::String(s) if rules.power_level_values_may_be_strings && !rules.integer_power_levels => {
            parse_int_string(s)
        }
        _ => None,
    }
}

/// Parsed content of an `m.room.power_levels` event. Absent properties are absent here too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PowerLevels {
    pub ints: BTreeMap<&'static str, i64>,
    pub events: BTreeMap<String, i64>,
    pub notifications: BTreeMap<String, i64>,
    pub users: BTreeMap<String, i64>,
}

fn int_map(rules: &RoomVersionRules, v: &Value) -> Option<BTreeMap<String, i64>> {
    let obj = v.as_object()?;
    obj.iter().map(|(k, v)| parse_level(rules, v).map(|l| (k.clone(), l))).collect()
}

impl PowerLevels {
    /// Rules 10.1–10.3 (v10+), and the v1–v9 equivalent (the `users` rule plus, following the
    /// vectors' stated convention, the same integer-or-integer-string check on every other field):
    /// > If any of the properties `users_default`, `events_default`, `state_default`, `ban`,
    /// > `redact`, `kick`, or `invite` in `content` are present and not an integer, reject.
    /// > If either of the properties `events` or `notifications` in `content` are present and not
    /// > an object with values that are integers, reject.
    /// > If the `users` property in `content` is not an object with keys that are valid user IDs
    /// > with values that are integers, reject.
    pub fn validate(rules: &RoomVersionRules, content: &Value) -> Result<Self, AuthError> {
        let mut pl = PowerLevels::default();
        for (field, _) in INT_FIELDS.iter() {
            if let Some(v) = content.get(*field) {
                let level = parse_level(rules, v).ok_or_else(|| {
                    deny("power_levels.invalid_value", format!("`{field}` is not a valid power level"))
                })?;
                pl.ints.insert(field, level);
            }
        }
        for field in ["events", "notifications"] {
            if let Some(v) = content.get(field) {
                let map = int_map(rules, v).ok_or_else(|| {
                    deny("power_levels.invalid_value", format!("`{field}` is not an object of power levels"))
                })?;
                if field == "events" {
                    pl.events = map;
                } else {
                    pl.notifications = map;
                }
            }
        }
        // An absent `users` is an empty map (nothing to validate).
        if let Some(v) = content.get("users") {
            let map = int_map(rules, v).ok_or_else(|| {
                deny("power_levels.invalid_users", "`users` is not an object of power levels".to_owned())
            })?;
            if let Some(bad) = map.keys().find(|k| !ids::is_valid_user_id(k)) {
                return Err(deny("power_levels.invalid_users", format!("`users` key {bad:?} is not a user ID")));
            }
            pl.users = map;
        }
        Ok(pl)
    }

    /// The current power levels of the room, as already accepted: entries that do not parse are
    /// treated as absent (they cannot be in an accepted event under the same rules anyway).
    pub fn lenient(rules: &RoomVersionRules, content: &Value) -> Self {
        let mut pl = PowerLevels::default();
        for (field, _) in INT_FIELDS.iter() {
            if let Some(level) = content.get(*field).and_then(|v| parse_level(rules, v)) {
                pl.ints.insert(field, level);
            }
        }
        let loose = |v: Option<&Value>| -> BTreeMap<String, i64> {
            v.and_then(Value::as_object)
                .map(|o| o.iter().filter_map(|(k, v)| parse_level(rules, v).map(|l| (k.clone(), l))).collect())
                .unwrap_or_default()
        };
        pl.events = loose(content.get("events"));
        pl.notifications = loose(content.get("notifications"));
        pl.users = loose(content.get("users"));
        pl
    }

    /// An integer property, or its default when absent.
    pub fn int(&self, field: &str) -> i64 {
        self.ints.get(field).copied().unwrap_or_else(|| default_of(field))
    }
}

/// The current `m.room.power_levels` of `state`, if any.
pub fn current(rules: &RoomVersionRules, state: &StateMap<'_>) -> Option<PowerLevels> {
    state
        .get(&("m.room.power_levels".to_owned(), String::new()))
        .map(|ev| PowerLevels::lenient(rules, &ev.content))
}

/// An integer property of the current power levels, default when there is no event.
pub fn int_level(current: Option<&PowerLevels>, field: &str) -> i64 {
    current.map(|pl| pl.int(field)).unwrap_or_else(|| default_of(field))
}

/// See [`super::user_power`].
pub fn user_power(rules: &RoomVersionRules, user_id: &str, state: &StateMap<'_>) -> UserPower {
    let creators = creators(rules, state);
    // v12: > The power level of "room creators" is infinitely high.
    if rules.creators_have_infinite_power && creators.iter().any(|c| c == user_id) {
        return UserPower::Infinite;
    }
    match current(rules, state) {
        Some(pl) => UserPower::Level(pl.users.get(user_id).copied().unwrap_or_else(|| pl.int("users_default"))),
        None if creators.iter().any(|c| c == user_id) => UserPower::Level(IMPLICIT_CREATOR_LEVEL),
        None => UserPower::Level(default_of("users_default")),
    }
}

/// The *required power level* of an event type: `events[type]`, else `state_default` for state
/// events, else `events_default`.
pub fn required_level(current: Option<&PowerLevels>, kind: &str, is_state: bool) -> i64 {
    if let Some(level) = current.and_then(|pl| pl.events.get(kind)) {
        return *level;
    }
    int_level(current, if is_state { "state_default" } else { "events_default" })
}

fn above(level: i64, sender: UserPower) -> bool {
    UserPower::Level(level) > sender
}

/// Rule 10 (v10–v12 numbering): an `m.room.power_levels` event that passed rules 1–9.
pub fn check_power_levels_event(
    rules: &RoomVersionRules,
    event: &Pdu,
    state: &StateMap<'_>,
    sender_power: UserPower,
) -> Result<(), AuthError> {
    let new = PowerLevels::validate(rules, &event.content)?;

    // v12 rule 10.4:
    // > If the `users` property in `content` contains the `sender` of the `m.room.create` event or
    // > any of the `additional_creators` array (if present) ..., reject.
    if rules.power_levels_users_must_not_contain_creators {
        if let Some(c) = creators(rules, state).into_iter().find(|c| new.users.contains_key(c)) {
            return Err(deny("power_levels.creator_in_users", format!("`users` contains room creator {c}")));
        }
    }

    // > If there is no previous `m.room.power_levels` event in the room, allow.
    let old = match current(rules, state) {
        Some(pl) => pl,
        None => return Ok(()),
    };

    // > For the properties users_default, events_default, state_default, ban, redact, kick, invite
    // > check if they were added, changed or removed. For each found alteration: If the current
    // > value is higher than the sender's current power level, reject. If the new value is higher
    // > than the sender's current power level, reject.
    // An added or removed property's missing side is its default ("Power levels are inferred from
    // defaults when not explicitly supplied"), as ruma does.
    for (field, _) in INT_FIELDS.iter() {
        let (o, n) = (old.ints.get(field), new.ints.get(field));
        if o == n {
            continue;
        }
        let (o, n) = (o.copied().unwrap_or_else(|| default_of(field)), n.copied().unwrap_or_else(|| default_of(field)));
        if above(o, sender_power) || above(n, sender_power) {
            return Err(deny(
                "power_levels.change_above_own_level",
                format!("changing `{field}` from {o} to {n} needs more than the sender's power"),
            ));
        }
    }

    // > For each entry being changed in, or removed from, the `events` or `notifications`
    // > properties: If the current value is greater than the sender's current power level, reject.
    // > For each entry being added to, or changed in, ...: If the new value is greater than the
    // > sender's current power level, reject.
    // `notifications` joined these rules in v6 (`limit_notifications_power_levels`).
    let mut maps: Vec<(&str, &BTreeMap<String, i64>, &BTreeMap<String, i64>)> = vec![("events", &old.events, &new.events)];
    if rules.limit_notifications_power_levels {
        maps.push(("notifications", &old.notifications, &new.notifications));
    }
    for (name, o, n) in maps {
        for key in o.keys().chain(n.keys()) {
            let (ov, nv) = (o.get(key), n.get(key));
            if ov == nv {
                continue;
            }
            if ov.map_or(false, |l| above(*l, sender_power)) || nv.map_or(false, |l| above(*l, sender_power)) {
                return Err(deny(
                    "power_levels.change_above_own_level",
                    format!("changing `{name}.{key}` needs more than the sender's power"),
                ));
            }
        }
    }

    // > For each entry being changed in, or removed from, the `users` property, other than the
    // > `sender`'s own entry: If the current value is greater than or equal to the `sender`'s
    // > current power level, reject.
    for (user, ov) in old.users.iter() {
        if new.users.get(user) != Some(ov) && *user != event.sender && UserPower::Level(*ov) >= sender_power {
            return Err(deny(
                "power_levels.change_user_at_or_above_own_level",
                format!("cannot change the level of {user}, who has at least the sender's power"),
            ));
        }
    }
    // > For each entry being added to, or changed in, the `users` property: If the new value is
    // > greater than the `sender`'s current power level, reject.
    for (user, nv) in new.users.iter() {
        if old.users.get(user) != Some(nv) && above(*nv, sender_power) {
            return Err(deny(
                "power_levels.change_above_own_level",
                format!("cannot give {user} level {nv}, above the sender's power"),
            ));
        }
    }
    Ok(())
}
