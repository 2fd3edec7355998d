//! Unit tests for the subtle parts: power-level value parsing per room version, v12 creators.

use serde_json::{json, Value};

use super::power_levels::{parse_int_string, parse_level, PowerLevels};
use super::*;
use crate::{event::Pdu, rules::RoomVersionRules};

fn rules(version: &str) -> RoomVersionRules {
    let n: u32 = version.parse().unwrap();
    let v = json!({
        "room_version": version,
        "state_resolution": if n == 1 { "v1" } else if n < 12 { "v2.0" } else { "v2.1" },
        "begin_iterative_auth_checks_with_empty_state": n >= 12,
        "full_conflicted_set_includes_conflicted_state_subgraph": n >= 12,
        "event_refs_include_hashes": n <= 2,
        "create_in_auth_events": n <= 11,
        "create_has_room_id": n <= 11,
        "create_content_creator_required": n <= 10,
        "redacts_in_content": n >= 11,
        "special_case_aliases_auth": n <= 5,
        "special_case_redaction_auth": n <= 2,
        "limit_notifications_power_levels": n >= 6,
        "knock_join_rule": n >= 7,
        "restricted_join_rule": n >= 8,
        "knock_restricted_join_rule": n >= 10,
        "integer_power_levels": n >= 10,
        "power_level_values_may_be_strings": n <= 9,
        "power_level_values_may_be_floats": n <= 5,
        "implicit_room_creator": n >= 11,
        "creators_have_infinite_power": n >= 12,
        "additional_creators": n >= 12,
        "power_levels_users_must_not_contain_creators": n >= 12,
        "room_id_is_create_event_hash": n >= 12,
    });
    RoomVersionRules::from_json(&v).unwrap()
}

fn pdu(v: Value) -> Pdu {
    Pdu::from_json(&v).unwrap()
}

fn state<'a>(events: &'a [Pdu]) -> StateMap<'a> {
    events.iter().filter_map(|e| e.state_key_pair().map(|k| (k, e))).collect()
}

#[test]
fn int_strings() {
    assert_eq!(parse_int_string("50"), Some(50));
    assert_eq!(parse_int_string(" +50 "), Some(50));
    assert_eq!(parse_int_string(" -100 "), Some(-100));
    assert_eq!(parse_int_string("000100"), Some(100));
    assert_eq!(parse_int_string("\t 00100\n"), Some(100));
    assert_eq!(parse_int_string("+-5"), None);
    assert_eq!(parse_int_string("++5"), None);
    assert_eq!(parse_int_string("5.0"), None);
    assert_eq!(parse_int_string("1e3"), None);
    assert_eq!(parse_int_string("foo"), None);
    assert_eq!(parse_int_string(""), None);
    assert_eq!(parse_int_string("-"), None);
    assert_eq!(parse_int_string("99999999999999999999999"), None);
}

#[test]
fn level_values_by_version() {
    let (v1, v6, v10) = (rules("1"), rules("6"), rules("10"));
    assert_eq!(parse_level(&v6, &json!(" +50 ")), Some(50));
    assert_eq!(parse_level(&v10, &json!("50")), None);
    assert_eq!(parse_level(&v10, &json!(50)), Some(50));
    // Floats: truncated in v1–v5, invalid from v6.
    assert_eq!(parse_level(&v1, &json!(50.57)), Some(50));
    assert_eq!(parse_level(&v1, &json!(-5.9)), Some(-5));
    assert_eq!(parse_level(&v6, &json!(50.5)), None);
    assert_eq!(parse_level(&v10, &json!(50.0)), None);
    assert_eq!(parse_level(&v6, &json!(true)), None);
    assert_eq!(parse_level(&v6, &json!(null)), None);
}

#[test]
fn validate_power_levels_content() {
    let v6 = rules("6");
    let ok = PowerLevels::validate(&v6, &json!({"ban": "50", "users": {"@a:x": " 10 "}, "events": {"m.room.name": "+20"}})).unwrap();
    assert_eq!(ok.int("ban"), 50);
    assert_eq!(ok.users.get("@a:x"), Some(&10));
    assert_eq!(ok.events.get("m.room.name"), Some(&20));
    let e = PowerLevels::validate(&v6, &json!({"kick": "lots"})).unwrap_err();
    assert_eq!(e.reason, "power_levels.invalid_value");
    let e = PowerLevels::validate(&v6, &json!({"users": {"spambot": 1}})).unwrap_err();
    assert_eq!(e.reason, "power_levels.invalid_users");
    let e = PowerLevels::validate(&rules("10"), &json!({"users": {"@a:x": "1"}})).unwrap_err();
    assert_eq!(e.reason, "power_levels.invalid_users");
    let e = PowerLevels::validate(&rules("10"), &json!({"notifications": {"room": "1"}})).unwrap_err();
    assert_eq!(e.reason, "power_levels.invalid_value");
}

fn v12_room() -> Vec<Pdu> {
    vec![
        pdu(json!({"event_id": "$c", "type": "m.room.create", "state_key": "", "sender": "@alice:x",
                   "content": {"room_version": "12", "additional_creators": ["@bob:y"]}})),
        pdu(json!({"event_id": "$pl", "room_id": "!c", "type": "m.room.power_levels", "state_key": "",
                   "sender": "@alice:x", "content": {"users": {"@carol:x": 100}, "users_default": 5}})),
    ]
}

#[test]
fn v12_creators_are_infinite() {
    let r = rules("12");
    let evs = v12_room();
    let s = state(&evs);
    assert_eq!(user_power(&r, "@alice:x", &s), UserPower::Infinite);
    assert_eq!(user_power(&r, "@bob:y", &s), UserPower::Infinite);
    assert_eq!(user_power(&r, "@carol:x", &s), UserPower::Level(100));
    assert_eq!(user_power(&r, "@dave:x", &s), UserPower::Level(5));
    assert!(UserPower::Infinite > UserPower::Level(i64::MAX));
    // Without a power-levels event creators are still infinite.
    let only_create = state(&evs[..1]);
    assert_eq!(user_power(&r, "@bob:y", &only_create), UserPower::Infinite);
    assert_eq!(user_power(&r, "@dave:x", &only_create), UserPower::Level(0));
}

#[test]
fn implicit_creator_before_v12() {
    let create = |v: &str| {
        pdu(json!({"event_id": "$c", "room_id": "!r:x", "type": "m.room.create", "state_key": "",
                   "sender": "@alice:x", "content": {"room_version": v, "creator": "@zed:x"}}))
    };
    // v1–v10: content.creator; v11: the create sender.
    let c10 = [create("10")];
    assert_eq!(user_power(&rules("10"), "@zed:x", &state(&c10)), UserPower::Level(100));
    assert_eq!(user_power(&rules("10"), "@alice:x", &state(&c10)), UserPower::Level(0));
    let c11 = [create("11")];
    assert_eq!(user_power(&rules("11"), "@alice:x", &state(&c11)), UserPower::Level(100));
    assert_eq!(user_power(&rules("11"), "@zed:x", &state(&c11)), UserPower::Level(0));
}

#[test]
fn v12_power_levels_cannot_name_creators() {
    let r = rules("12");
    let mut evs = v12_room();
    evs.push(pdu(json!({"event_id": "$j", "room_id": "!c", "type": "m.room.member", "state_key": "@alice:x",
                        "sender": "@alice:x", "content": {"membership": "join"}})));
    let s = state(&evs);
    let new_pl = |users: Value| {
        pdu(json!({"event_id": "$pl2", "room_id": "!c", "type": "m.room.power_levels", "state_key": "",
                   "sender": "@alice:x", "content": {"users": users}}))
    };
    let bad = new_pl(json!({"@bob:y": 50}));
    assert_eq!(check_state_dependent(&r, &bad, &s, &NoSignatures).unwrap_err().reason, "power_levels.creator_in_users");
    // An infinitely powerful creator may set any level for others.
    let good = new_pl(json!({"@carol:x": 9_000_000}));
    assert_eq!(check_state_dependent(&r, &good, &s, &NoSignatures), Ok(()));
}

#[test]
fn auth_selection() {
    let r = rules("8");
    let ev = pdu(json!({"event_id": "$m", "room_id": "!r:x", "type": "m.room.member", "state_key": "@bob:x",
        "sender": "@bob:x", "content": {"membership": "join", "join_authorised_via_users_server": "@alice:x"}}));
    let types = auth_types_for_event(&r, &ev);
    for k in [("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.member", "@bob:x"), ("m.room.join_rules", ""), ("m.room.member", "@alice:x")] {
        assert!(types.contains(&(k.0.to_owned(), k.1.to_owned())), "{k:?}");
    }
    assert_eq!(types.len(), 5);
    assert!(!auth_types_for_event(&rules("12"), &ev).contains(&("m.room.create".to_owned(), String::new())));
}

#[test]
fn ffi_shapes_and_format_scope() {
    use super::request::auth_check_json;
    let r = json!({
        "room_version": "1", "state_resolution": "v1", "begin_iterative_auth_checks_with_empty_state": false,
        "full_conflicted_set_includes_conflicted_state_subgraph": false, "event_refs_include_hashes": true,
        "create_in_auth_events": true, "create_has_room_id": true, "create_content_creator_required": true,
        "redacts_in_content": false, "special_case_aliases_auth": true, "special_case_redaction_auth": true,
        "limit_notifications_power_levels": false, "knock_join_rule": false, "restricted_join_rule": false,
        "knock_restricted_join_rule": false, "integer_power_levels": false, "power_level_values_may_be_strings": true,
        "power_level_values_may_be_floats": true, "implicit_room_creator": false, "creators_have_infinite_power": false,
        "additional_creators": false, "power_levels_users_must_not_contain_creators": false,
        "room_id_is_create_event_hash": false
    });
    let create = json!({"type": "m.room.create", "state_key": "", "sender": "@u1:a", "room_id": "!r1:a",
                        "event_id": "$e1:a", "content": {"creator": "@u1:a"}});
    let ok = auth_check_json(json!({"rules": r, "scope": "format_and_auth", "event": create})).unwrap();
    assert_eq!(ok, json!({"allowed": true}));
    let mut no_key = create.clone();
    no_key.as_object_mut().unwrap().remove("state_key");
    let bad = auth_check_json(json!({"rules": r, "scope": "format_and_auth", "event": no_key})).unwrap();
    assert_eq!(bad["allowed"], json!(false));
    assert_eq!(bad["reason"], json!("format.invalid_event"));
    assert!(bad["message"].is_string());
    // A redaction without a valid `redacts` is malformed; with one, v1 auth decides.
    let join = json!({"type": "m.room.member", "state_key": "@u1:a", "sender": "@u1:a", "room_id": "!r1:a",
                      "event_id": "$e2:a", "content": {"membership": "join"}});
    let redaction = |redacts: Value| json!({"type": "m.room.redaction", "sender": "@u1:a", "room_id": "!r1:a",
        "event_id": "$e3:a", "redacts": redacts, "content": {}, "auth_events": ["$e1:a", "$e2:a"]});
    let req = |ev: Value| json!({"rules": r, "scope": "format_and_auth", "event": ev, "auth_state": [create, join]});
    assert_eq!(auth_check_json(req(redaction(json!("not_an_id")))).unwrap()["reason"], json!("format.invalid_event"));
    assert_eq!(auth_check_json(req(redaction(json!("$x:a")))).unwrap(), json!({"allowed": true}));
    // An auth event that was not provided cannot be judged.
    let mut ev = redaction(json!("$x:a"));
    ev["auth_events"] = json!(["$e1:a", "$e2:a", "$nowhere:a"]);
    assert_eq!(auth_check_json(req(ev)).unwrap()["reason"], json!("auth_events.missing"));
    // Bad requests are errors, not verdicts.
    assert!(auth_check_json(json!({"rules": r, "scope": "sideways", "event": create})).is_err());
    assert!(auth_check_json(json!({"scope": "full", "event": create})).is_err());
}
