//! State resolution vectors (../../shared/vectors/state_resolution_v2.json, README section 1),
//! run generically: every scenario's resolutions, its final state, and the algorithm vectors.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use matrix_core::auth::{NoSignatures, StateKey, UserPower};
use matrix_core::event::Pdu;
use matrix_core::rules::RoomVersionRules;
use matrix_core::state_res::{
    self, auth_chain_ids, auth_difference_ids, conflicted_subgraph_ids, ffi,
    lexicographical_topological_sort, EventStore, PowerOrderKey, Trace,
};
use serde_json::{json, Value};

type State = BTreeMap<StateKey, String>;

fn read_json(rel: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Resolved rules of a room version from core/room-versions.json (`extends` chains merged).
fn rules_json(version: &str) -> Value {
    let table = read_json("../core/room-versions.json");
    let versions = &table["versions"];
    let mut chain = Vec::new();
    let mut cur = Some(version.to_owned());
    while let Some(v) = cur {
        let entry = versions.get(&v).unwrap_or_else(|| panic!("no room version {v}"));
        cur = entry.get("extends").and_then(Value::as_str).map(str::to_owned);
        chain.push(entry.clone());
    }
    let mut merged = serde_json::Map::new();
    for entry in chain.into_iter().rev() {
        for (k, v) in entry.as_object().unwrap() {
            merged.insert(k.clone(), v.clone());
        }
    }
    merged.remove("extends");
    merged.insert("room_version".into(), Value::from(version));
    Value::Object(merged)
}

fn rules(version: &str) -> RoomVersionRules {
    RoomVersionRules::from_json(&rules_json(version)).unwrap()
}

fn store_of(events: &Value) -> EventStore {
    EventStore::from_json(events.as_array().unwrap().clone()).unwrap()
}

fn state_of(v: &Value) -> State {
    ffi::parse_state_map(v).unwrap()
}

fn show(s: &State) -> String {
    let parts: Vec<String> = s.iter().map(|((t, k), id)| format!("({t},{k})={id}")).collect();
    parts.join(" ")
}

fn diff(expected: &State, got: &State) -> String {
    let mut out = Vec::new();
    let keys: HashSet<&StateKey> = expected.keys().chain(got.keys()).collect();
    let mut keys: Vec<_> = keys.into_iter().collect();
    keys.sort();
    for k in keys {
        let (e, g) = (expected.get(k), got.get(k));
        if e != g {
            out.push(format!("({},{}): expected {:?} got {:?}", k.0, k.1, e, g));
        }
    }
    out.join("; ")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

#[test]
fn scenarios() {
    let doc = read_json("../../shared/vectors/state_resolution_v2.json");
    let mut failures = Vec::new();
    let mut passed = 0;
    for sc in doc["scenarios"].as_array().unwrap() {
        let id = sc["id"].as_str().unwrap();
        let rules = rules(sc["room_version"].as_str().unwrap());
        let store = store_of(&sc["events"]);
        let resolutions = sc["resolutions"].as_array().cloned().unwrap_or_default();
        let mut last_explicit: Option<State> = None;
        for (n, r) in resolutions.iter().enumerate() {
            let sets: Vec<State> = r["state_sets"].as_array().unwrap().iter().map(state_of).collect();
            let expected = state_of(&r["expected"]);
            let mut trace = Trace::default();
            match state_res::resolve_traced(&rules, &sets, &store, &NoSignatures, Some(&mut trace)) {
                Ok(got) if got == expected => {
                    passed += 1;
                    informative_intermediates(id, n, r, &trace);
                }
                Ok(got) => failures.push(format!(
                    "{id} resolution #{n} (at {}): {}\n    trace: {trace:?}\n    intermediate_derived: {}",
                    r["at_event"],
                    diff(&expected, &got),
                    r.get("intermediate_derived").map(Value::to_string).unwrap_or_default()
                )),
                Err(e) => failures.push(format!("{id} resolution #{n}: error {e}")),
            }
            if r["at_event"].is_null() && r.get("leaves").is_none() {
                last_explicit = state_res::resolve(&rules, &sets, &store, &NoSignatures).ok();
            }
        }
        let expected = match sc.get("final").and_then(|f| f.get("expected_state")) {
            Some(v) => state_of(v),
            None => continue,
        };
        // Explicit state sets (not derived from the DAG): the final state is the last resolution.
        let got = match last_explicit {
            Some(s) => Ok(s),
            None => walk(&rules, &sc["events"], &store),
        };
        match got {
            Ok(got) if got == expected => passed += 1,
            Ok(got) => {
                failures.push(format!("{id} final: {}\n    got {}", diff(&expected, &got), show(&got)))
            }
            Err(e) => failures.push(format!("{id} final: error {e}")),
        }
    }
    println!("state resolution scenarios: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// `intermediate_derived` comes from an independent resolver and is informative only: a
/// difference is printed, not failed.
fn informative_intermediates(id: &str, n: usize, r: &Value, trace: &Trace) {
    let derived = match r.get("intermediate_derived") {
        Some(d) => d,
        None => return,
    };
    let pairs = [
        ("full_conflicted_set", &trace.full_conflicted_set),
        ("sorted_power_events", &trace.sorted_power_events),
        ("sorted_other_events", &trace.sorted_other_events),
    ];
    for (field, ours) in pairs {
        if let Some(v) = derived.get(field) {
            let theirs = strings(v);
            if &theirs != ours {
                println!("note: {id} resolution #{n} {field}: derived {theirs:?}, ours {ours:?}");
            }
        }
    }
}

/// Walk the events in order: state before = the single prev's state after, or the resolution of
/// the prevs' states; state after = before + the event if it is a state event. The final state
/// is the state after the only leaf, or the resolution of the leaves' states.
fn walk(rules: &RoomVersionRules, events: &Value, store: &EventStore) -> Result<State, String> {
    let mut after: HashMap<String, State> = HashMap::new();
    let mut referenced = HashSet::new();
    let mut order = Vec::new();
    for ev in events.as_array().unwrap() {
        let pdu = Pdu::from_json(ev)?;
        let prevs: Vec<State> = pdu
            .prev_events
            .iter()
            .map(|p| after.get(p).cloned().ok_or_else(|| format!("prev {p} not seen before")))
            .collect::<Result<_, _>>()?;
        let mut state = match prevs.len() {
            0 => State::new(),
            1 => prevs.into_iter().next().unwrap(),
            _ => state_res::resolve(rules, &prevs, store, &NoSignatures)?,
        };
        if let Some(k) = pdu.state_key_pair() {
            state.insert(k, pdu.event_id.clone());
        }
        referenced.extend(pdu.prev_events.iter().cloned());
        order.push(pdu.event_id.clone());
        after.insert(pdu.event_id, state);
    }
    let leaves: Vec<State> =
        order.iter().filter(|id| !referenced.contains(*id)).map(|id| after[id].clone()).collect();
    state_res::resolve(rules, &leaves, store, &NoSignatures)
}

/// A minimal state event for graph-only vectors.
fn bare_event(id: &str, auth: &[String]) -> Value {
    json!({"event_id": id, "room_id": "!r:x", "sender": "@u:x", "type": "t", "state_key": id,
           "content": {}, "origin_server_ts": 0, "prev_events": [], "auth_events": auth})
}

fn graph_store(graph: &Value) -> EventStore {
    let events: Vec<Value> =
        graph.as_object().unwrap().iter().map(|(id, auth)| bare_event(id, &strings(auth))).collect();
    EventStore::from_json(events).unwrap()
}

#[test]
fn algorithm_vectors() {
    let doc = read_json("../../shared/vectors/state_resolution_v2.json");
    let av = &doc["algorithm_vectors"];
    let mut failures = Vec::new();
    let mut passed = 0;
    let mut check = |name: String, expected: Vec<String>, got: Vec<String>| {
        if expected == got {
            passed += 1;
        } else {
            failures.push(format!("{name}: expected {expected:?} got {got:?}"));
        }
    };

    for case in av["lexicographical_topological_sort"].as_array().unwrap() {
        let graph = case["graph"].as_object().unwrap();
        let names: Vec<&String> = graph.keys().collect();
        let pos: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
        let deps: Vec<Vec<usize>> = names
            .iter()
            .map(|n| strings(&graph[n.as_str()]).iter().map(|d| pos[d.as_str()]).collect())
            .collect();
        let keys: Vec<PowerOrderKey> = names
            .iter()
            .map(|n| PowerOrderKey { power: UserPower::Level(0), origin_server_ts: 0, event_id: n })
            .collect();
        let order = lexicographical_topological_sort(&deps, &keys);
        let got = order.into_iter().map(|i| names[i].clone()).collect();
        check(case["id"].as_str().unwrap().to_owned(), strings(&case["expected"]), got);
    }

    for case in av["power_ordering_comparator"].as_array().unwrap() {
        let items = case["items"].as_array().unwrap();
        let mut keys: Vec<PowerOrderKey> = items
            .iter()
            .map(|it| PowerOrderKey {
                power: UserPower::Level(it["power_level"].as_i64().unwrap()),
                origin_server_ts: it["origin_server_ts"].as_i64().unwrap(),
                event_id: it["event_id"].as_str().unwrap(),
            })
            .collect();
        keys.reverse();
        keys.sort();
        let got = keys.iter().map(|k| k.event_id.to_owned()).collect();
        check(case["id"].as_str().unwrap().to_owned(), strings(&case["expected"]), got);
    }

    let ac = &av["auth_chain_and_conflicted_subgraph"];
    let store = graph_store(&ac["auth_graph"]);
    for case in ac["full_auth_chain_cases"].as_array().unwrap() {
        let starts = strings(&case["start_events"]);
        let refs: Vec<&str> = starts.iter().map(String::as_str).collect();
        check(
            format!("full_auth_chain/{}", case["name"]),
            strings(&case["expected_full_auth_chain"]),
            auth_chain_ids(&store, &refs),
        );
    }
    for case in ac["conflicted_subgraph_cases"].as_array().unwrap() {
        let starts = strings(&case["start_events"]);
        let refs: Vec<&str> = starts.iter().map(String::as_str).collect();
        check(
            format!("subgraph_chain/{}", case["name"]),
            strings(&case["expected_full_auth_chain"]),
            auth_chain_ids(&store, &refs),
        );
        let conflicted = strings(&case["conflicted_events"]);
        let refs: Vec<&str> = conflicted.iter().map(String::as_str).collect();
        check(
            format!("conflicted_subgraph/{}", case["name"]),
            strings(&case["expected_conflicted_subgraph"]),
            conflicted_subgraph_ids(&store, &refs),
        );
    }

    let ad = &av["auth_difference"];
    let store = graph_store(&ad["auth_graph"]);
    for case in ad["cases"].as_array().unwrap() {
        let sets: Vec<State> = case["state_sets"].as_array().unwrap().iter().map(state_of).collect();
        check(
            format!("auth_difference/{}", case["name"]),
            strings(&case["auth_difference_spec_strict_derived"]),
            auth_difference_ids(&store, &sets),
        );
    }

    for (n, case) in av["sender_power_level"]["cases"].as_array().unwrap().iter().enumerate() {
        for version in strings(&case["room_versions"]) {
            let rules = rules(&version);
            let creator = case["create"]["sender"].as_str().unwrap();
            let content = case["create"]
                .get(format!("content_v{version}").as_str())
                .cloned()
                .unwrap_or_else(|| json!({"creator": creator, "room_version": version}));
            let mut events = vec![json!({"event_id": "$create", "room_id": "!r:x", "sender": creator,
                "type": "m.room.create", "state_key": "", "content": content, "origin_server_ts": 0,
                "prev_events": [], "auth_events": []})];
            let mut auth = vec!["$create".to_owned()];
            if !case["power_levels_in_auth_events"].is_null() {
                events.push(json!({"event_id": "$pl", "room_id": "!r:x", "sender": creator,
                    "type": "m.room.power_levels", "state_key": "", "content": case["power_levels_in_auth_events"],
                    "origin_server_ts": 1, "prev_events": [], "auth_events": ["$create"]}));
                auth.push("$pl".to_owned());
            }
            let users: Vec<(&String, &Value)> = case["expected"].as_object().unwrap().iter().collect();
            for (i, (user, _)) in users.iter().enumerate() {
                events.push(json!({"event_id": format!("$e{i}"), "room_id": "!r:x", "sender": user,
                    "type": "m.room.topic", "state_key": "", "content": {"topic": "x"},
                    "origin_server_ts": 2, "prev_events": [], "auth_events": auth}));
            }
            let store = EventStore::from_json(events).unwrap();
            for (i, (user, level)) in users.iter().enumerate() {
                let got = state_res::sender_power_level(&rules, &store, &format!("$e{i}"));
                let want = Some(UserPower::Level(level.as_i64().unwrap()));
                check(
                    format!("sender_power_level #{n} v{version} {user}"),
                    vec![format!("{want:?}")],
                    vec![format!("{got:?}")],
                );
            }
        }
    }

    println!("algorithm vectors: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ffi_request_round_trip() {
    let doc = read_json("../../shared/vectors/state_resolution_v2.json");
    let sc = doc["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| !s["resolutions"].as_array().unwrap().is_empty())
        .unwrap();
    let r = &sc["resolutions"][0];
    let req = json!({"rules": rules_json(sc["room_version"].as_str().unwrap()), "state_sets": r["state_sets"],
                     "events": sc["events"], "third_party_verified": {}});
    assert_eq!(ffi::resolve_state_request(req).unwrap(), r["expected"]);
    // Bad input is an error, not a panic.
    assert!(ffi::resolve_state_request(json!({"rules": 1})).is_err());
    let bad = json!({"rules": rules_json("10"), "state_sets": [[["a", "b"]]], "events": []});
    assert!(ffi::resolve_state_request(bad).is_err());
    let bad = json!({"rules": rules_json("10"), "state_sets": [], "events": [1]});
    assert!(ffi::resolve_state_request(bad).is_err());
    // Truncated or corrupted requests give an error response, never a panic.
    let bytes = serde_json::to_vec(&json!({"rules": rules_json(sc["room_version"].as_str().unwrap()),
        "state_sets": r["state_sets"], "events": sc["events"]}))
    .unwrap();
    for cut in (0..bytes.len()).step_by(7) {
        let out = ffi::resolve_state_bytes(&bytes[..cut]);
        assert!(out.starts_with(b"{\"error\""), "{}", String::from_utf8_lossy(&out));
    }
    for (n, pos) in (0..bytes.len()).step_by(13).enumerate() {
        let mut b = bytes.clone();
        b[pos] = b"\"[]{},:x\\\xff"[n % 10];
        let out = ffi::resolve_state_bytes(&b);
        assert!(out.starts_with(b"{\"error\"") || out.starts_with(b"{\"ok\""));
    }
}

/// State resolution v1 (room v1): no vectors are shipped, so a hand-made case from the spec
/// text: power levels resolve by ascending depth while each next one passes auth; other
/// conflicts take the highest depth that passes auth.
#[test]
fn v1_basic() {
    let rules = rules("1");
    let ev = |id: &str, sender: &str, ty: &str, key: &str, content: Value, auth: &[&str], depth: i64| {
        json!({"event_id": id, "room_id": "!r:x", "sender": sender, "type": ty, "state_key": key,
               "content": content, "origin_server_ts": depth, "depth": depth, "prev_events": [],
               "auth_events": auth.iter().map(|a| json!([a, {}])).collect::<Vec<_>>()})
    };
    let (a, b) = ("@alice:x", "@bob:x");
    let events = vec![
        ev("$c:x", a, "m.room.create", "", json!({"creator": a}), &[], 1),
        ev("$ja:x", a, "m.room.member", a, json!({"membership": "join"}), &["$c:x"], 2),
        ev("$pl1:x", a, "m.room.power_levels", "", json!({"users": {a: 100}}), &["$c:x", "$ja:x"], 3),
        ev(
            "$jr:x",
            a,
            "m.room.join_rules",
            "",
            json!({"join_rule": "public"}),
            &["$c:x", "$ja:x", "$pl1:x"],
            4,
        ),
        ev("$jb:x", b, "m.room.member", b, json!({"membership": "join"}), &["$c:x", "$pl1:x", "$jr:x"], 5),
        // Fork 1: alice gives bob 50; fork 2: bob (power 0) tries to make himself 100.
        ev(
            "$pl2:x",
            a,
            "m.room.power_levels",
            "",
            json!({"users": {a: 100, b: 50}}),
            &["$c:x", "$ja:x", "$pl1:x"],
            6,
        ),
        ev(
            "$pl3:x",
            b,
            "m.room.power_levels",
            "",
            json!({"users": {a: 100, b: 100}}),
            &["$c:x", "$jb:x", "$pl1:x"],
            7,
        ),
        ev("$t1:x", a, "m.room.topic", "", json!({"topic": "one"}), &["$c:x", "$ja:x", "$pl1:x"], 6),
        ev("$t2:x", b, "m.room.topic", "", json!({"topic": "two"}), &["$c:x", "$jb:x", "$pl1:x"], 8),
    ];
    let store = EventStore::from_json(events).unwrap();
    let base: Vec<(&str, &str, &str)> = vec![
        ("m.room.create", "", "$c:x"),
        ("m.room.member", a, "$ja:x"),
        ("m.room.join_rules", "", "$jr:x"),
        ("m.room.member", b, "$jb:x"),
    ];
    let set = |extra: &[(&str, &str, &str)]| -> State {
        base.iter().chain(extra).map(|&(t, k, id)| ((t.to_owned(), k.to_owned()), id.to_owned())).collect()
    };
    let s1 = set(&[("m.room.power_levels", "", "$pl2:x"), ("m.room.topic", "", "$t1:x")]);
    let s2 = set(&[("m.room.power_levels", "", "$pl3:x"), ("m.room.topic", "", "$t2:x")]);
    let got = state_res::resolve(&rules, &[s1, s2], &store, &NoSignatures).unwrap();
    let pl = &got[&("m.room.power_levels".to_owned(), String::new())];
    let topic = &got[&("m.room.topic".to_owned(), String::new())];
    // $pl2 (depth 6) comes first; $pl3 by bob (power 50 under $pl2) may not raise himself to 100.
    assert_eq!(pl, "$pl2:x");
    // Bob (50) may set the topic (state_default 50 in v1 defaults): the deeper $t2 wins.
    assert_eq!(topic, "$t2:x");
    assert_eq!(got.len(), 6);
}

// ---------------------------------------------------------------------------------------------
// Synthetic scale test: `cargo test --release -- --ignored --nocapture synthetic`

/// A room with `members` joined users and `extra` other state events on a common trunk, then two
/// forks that each change `conflicted` keys (topics per user and member display names) plus a
/// power-levels change on one side and a few kicks on the other.
pub fn synthetic_room(total_state: usize, conflicted: usize) -> (Value, Vec<Value>) {
    let version = "10";
    let room = "!bench:x";
    let mut events: Vec<Value> = Vec::new();
    let mut ts = 0i64;
    let mut ev = |events: &mut Vec<Value>,
                  id: String,
                  sender: &str,
                  ty: &str,
                  key: &str,
                  content: Value,
                  auth: Vec<String>,
                  prev: Vec<String>| {
        ts += 1;
        events.push(json!({"event_id": id, "room_id": room, "sender": sender, "type": ty, "state_key": key,
            "content": content, "origin_server_ts": ts, "depth": ts, "prev_events": prev, "auth_events": auth}));
    };
    let admin = "@admin:x";
    ev(
        &mut events,
        "$create".into(),
        admin,
        "m.room.create",
        "",
        json!({"creator": admin, "room_version": version}),
        vec![],
        vec![],
    );
    ev(
        &mut events,
        "$join-admin".into(),
        admin,
        "m.room.member",
        admin,
        json!({"membership": "join"}),
        vec!["$create".into()],
        vec!["$create".into()],
    );
    let mut users_pl = serde_json::Map::new();
    users_pl.insert(admin.into(), json!(100));
    ev(
        &mut events,
        "$pl0".into(),
        admin,
        "m.room.power_levels",
        "",
        json!({"users": users_pl, "state_default": 0, "events_default": 0}),
        vec!["$create".into(), "$join-admin".into()],
        vec!["$join-admin".into()],
    );
    ev(
        &mut events,
        "$jr".into(),
        admin,
        "m.room.join_rules",
        "",
        json!({"join_rule": "public"}),
        vec!["$create".into(), "$join-admin".into(), "$pl0".into()],
        vec!["$pl0".into()],
    );
    let mut state: Vec<(String, String, String)> = vec![
        ("m.room.create".into(), "".into(), "$create".into()),
        ("m.room.member".into(), admin.into(), "$join-admin".into()),
        ("m.room.power_levels".into(), "".into(), "$pl0".into()),
        ("m.room.join_rules".into(), "".into(), "$jr".into()),
    ];
    let members = (total_state - 4) / 2;
    let mut last = "$jr".to_owned();
    for u in 0..members {
        let user = format!("@u{u}:x");
        let id = format!("$join-{u}");
        ev(
            &mut events,
            id.clone(),
            &user,
            "m.room.member",
            &user,
            json!({"membership": "join", "displayname": format!("u{u}")}),
            vec!["$create".into(), "$pl0".into(), "$jr".into()],
            vec![last.clone()],
        );
        state.push(("m.room.member".into(), user.clone(), id.clone()));
        last = id;
        let id = format!("$topic-{u}");
        ev(
            &mut events,
            id.clone(),
            &user,
            "x.user.topic",
            &user,
            json!({"topic": "a"}),
            vec!["$create".into(), "$pl0".into(), format!("$join-{u}")],
            vec![last.clone()],
        );
        state.push(("x.user.topic".into(), user.clone(), id.clone()));
        last = id;
    }
    let trunk = last.clone();
    let mut fork_a = state.clone();
    let mut fork_b = state.clone();
    // Fork A: the admin raises a user, then each conflicted user changes their topic.
    let mut users_pl = serde_json::Map::new();
    users_pl.insert(admin.into(), json!(100));
    users_pl.insert("@u0:x".into(), json!(50));
    ev(
        &mut events,
        "$pl1".into(),
        admin,
        "m.room.power_levels",
        "",
        json!({"users": users_pl, "state_default": 0, "events_default": 0}),
        vec!["$create".into(), "$join-admin".into(), "$pl0".into()],
        vec![trunk.clone()],
    );
    fork_a[2].2 = "$pl1".into();
    let (mut la, mut lb) = ("$pl1".to_owned(), trunk.clone());
    for c in 0..conflicted / 2 {
        let u = c % members;
        let user = format!("@u{u}:x");
        let id = format!("$a-topic-{u}");
        ev(
            &mut events,
            id.clone(),
            &user,
            "x.user.topic",
            &user,
            json!({"topic": "from a"}),
            vec!["$create".into(), "$pl1".into(), format!("$join-{u}")],
            vec![la.clone()],
        );
        fork_a[5 + 2 * u].2 = id.clone();
        la = id;
        // Fork B: the same users change their display names, and the admin kicks a few.
        let id = format!("$b-member-{u}");
        let kick = c % 50 == 49;
        let (sender, content) = if kick {
            (admin.to_owned(), json!({"membership": "leave"}))
        } else {
            (user.clone(), json!({"membership": "join", "displayname": format!("u{u} (b)")}))
        };
        let mut auth = vec!["$create".to_owned(), "$pl0".to_owned(), format!("$join-{u}")];
        if kick {
            auth.push("$join-admin".into());
        } else {
            auth.push("$jr".into());
        }
        ev(&mut events, id.clone(), &sender, "m.room.member", &user, content, auth, vec![lb.clone()]);
        fork_b[4 + 2 * u].2 = id.clone();
        lb = id;
    }
    let enc = |s: &Vec<(String, String, String)>| {
        let mut s = s.clone();
        s.sort();
        Value::Array(s.into_iter().map(|(a, b, c)| json!([a, b, c])).collect())
    };
    let request = json!({"rules": rules_json(version), "state_sets": [enc(&fork_a), enc(&fork_b)], "third_party_verified": {}});
    (request, events)
}

#[test]
#[ignore]
fn synthetic_30k_timing() {
    let (mut request, events) = synthetic_room(30_000, 1_000);
    let n_events = events.len();
    request["events"] = Value::Array(events);
    let bytes = serde_json::to_vec(&request).unwrap();
    std::fs::write(std::env::temp_dir().join("state_res_synthetic.json"), &bytes).unwrap();
    for round in 0..3 {
        let t0 = Instant::now();
        let out = ffi::resolve_state_bytes(&bytes);
        let elapsed = t0.elapsed();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let entries = v["ok"].as_array().unwrap_or_else(|| panic!("{v}")).len();
        println!(
            "round {round}: {n_events} events, {} KiB request -> {entries} entries: {elapsed:?} (JSON parse + decode + resolve + encode)",
            bytes.len() / 1024
        );
    }
}

/// For profiling: resolve the request `synthetic_30k_timing` wrote, ten times.
#[test]
#[ignore]
fn synthetic_profile_loop() {
    let bytes = std::fs::read(std::env::temp_dir().join("state_res_synthetic.json")).unwrap();
    let t0 = Instant::now();
    for _ in 0..10 {
        assert!(ffi::resolve_state_bytes(&bytes).starts_with(b"{\"ok\""));
    }
    println!("mean {:?}", t0.elapsed() / 10);
}
