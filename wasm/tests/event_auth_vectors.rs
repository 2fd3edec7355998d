//! Runs every case of the shared event-authorisation vectors
//! (`../../shared/vectors/event_auth.json`) through the `auth_check` operation, generically.
//!
//! Third-party-invite signatures need Ed25519, which runs in the host, not in this crate: here
//! the oracle says "nothing verified" unless `tests/third_party_verified.json` (optional) supplies
//! verdicts, keyed by case id because several cases reuse one event ID with different signatures:
//! `{"<case id>": {"<event_id>": ["<public key>", ...]}}` (each value is that case's request
//! `third_party_verified`). Without that file, cases that need a real signature are reported
//! separately and do not fail the test.

use std::{collections::BTreeMap, path::PathBuf};

use matrix_core::auth::request::auth_check_json;
use serde_json::{json, Map, Value};

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Resolve a room version's `extends` chain from core/room-versions.json (child keys win).
fn resolve_rules(versions: &Map<String, Value>, version: &str) -> Value {
    let mut chain = Vec::new();
    let mut cur = Some(version.to_owned());
    while let Some(v) = cur {
        let entry = versions.get(&v).unwrap_or_else(|| panic!("unknown room version {v}"));
        chain.push(entry.clone());
        cur = entry.get("extends").and_then(Value::as_str).map(str::to_owned);
        assert!(chain.len() < 64, "extends cycle at {version}");
    }
    let mut out = Map::new();
    for entry in chain.into_iter().rev() {
        for (k, v) in entry.as_object().expect("version entry is an object") {
            out.insert(k.clone(), v.clone());
        }
    }
    out.remove("extends");
    out.insert("room_version".to_owned(), json!(version));
    Value::Object(out)
}

/// Does a case depend on a real third-party-invite signature (an invite carrying `signed`
/// signatures that is expected to be allowed)?
fn needs_real_signature(case: &Value) -> bool {
    case["expected"]["allowed"] == json!(true)
        && case["event"]["content"]["third_party_invite"]["signed"].get("signatures").is_some()
}

#[test]
fn event_auth_vectors() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vectors = read_json(&manifest.join("../../shared/vectors/event_auth.json"));
    let versions = read_json(&manifest.join("../core/room-versions.json"));
    let versions = versions["versions"].as_object().expect("versions object").clone();
    let verified_path = manifest.join("tests/third_party_verified.json");
    let verified = if verified_path.exists() { read_json(&verified_path) } else { json!({}) };

    let mut rules_cache: BTreeMap<String, Value> = BTreeMap::new();
    let cases = vectors["cases"].as_array().expect("cases array");
    let (mut passed, mut failures, mut signature_only) = (0usize, Vec::new(), Vec::new());

    for case in cases {
        let id = case["id"].as_str().unwrap_or("<no id>");
        let version = case["room_version"].as_str().expect("room_version");
        let rules = rules_cache.entry(version.to_owned()).or_insert_with(|| resolve_rules(&versions, version)).clone();
        let request = json!({
            "rules": rules,
            "scope": case["check_scope"],
            "event": case["event"],
            "auth_state": case.get("auth_state").cloned().unwrap_or(json!([])),
            "other_events": case.get("other_events").cloned().unwrap_or(json!([])),
            "rejected_event_ids": case.get("rejected_event_ids").cloned().unwrap_or(json!([])),
            "third_party_verified": verified.get(id).cloned().unwrap_or(json!({})),
        });
        let expected = &case["expected"];
        let mismatch = match auth_check_json(request) {
            Err(e) => Some(format!("error: {e}")),
            Ok(got) => {
                let allowed_ok = got["allowed"] == expected["allowed"];
                let reason_ok = expected["allowed"] == json!(true) || got["reason"] == expected["reason"];
                if allowed_ok && reason_ok {
                    None
                } else {
                    Some(format!(
                        "expected allowed={} reason={}, got allowed={} reason={} ({})",
                        expected["allowed"], expected["reason"], got["allowed"], got["reason"], got["message"]
                    ))
                }
            }
        };
        match mismatch {
            None => passed += 1,
            Some(m) if needs_real_signature(case) && !verified_path.exists() => signature_only.push(format!("{id}: {m}")),
            Some(m) => failures.push(format!("{id} (v{version}, {}): {m}", case["check_scope"])),
        }
    }

    println!("event_auth vectors: {passed} passed, {} failed, {} need a real signature", failures.len(), signature_only.len());
    for s in &signature_only {
        println!("  needs host Ed25519 (not a failure here): {s}");
    }
    assert!(failures.is_empty(), "{} of {} cases mismatched:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
