//! Third-party invites: the `m.room.member` invite rule with `content.third_party_invite`.
//! The Ed25519 verification itself runs in the host and is reported through [`SignatureOracle`].

use serde_json::Value;

use super::{deny, membership_of, AuthError, SignatureOracle, StateMap};
use crate::event::Pdu;

/// The public keys an `m.room.third_party_invite` event lists:
/// > A single public key in the `public_key` property. A list of public keys in the
/// > `public_keys` property.
pub fn public_keys(invite: &Pdu) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(k) = invite.content.get("public_key").and_then(Value::as_str) {
        keys.push(k.to_owned());
    }
    if let Some(list) = invite.content.get("public_keys").and_then(Value::as_array) {
        for k in list.iter().filter_map(|e| e.get("public_key")).filter_map(Value::as_str) {
            if !keys.iter().any(|x| x == k) {
                keys.push(k.to_owned());
            }
        }
    }
    keys
}

pub fn check_third_party_invite(
    event: &Pdu,
    target: &str,
    tpi: &Value,
    state: &StateMap<'_>,
    sigs: &dyn SignatureOracle,
) -> Result<(), AuthError> {
    // > If *target user* is banned, reject.
    if membership_of(state, target) == Some("ban") {
        return Err(deny("invite.3pid.target_banned", format!("{target} is banned")));
    }
    // > If `content.third_party_invite` does not have a `signed` property, reject.
    let signed = match tpi.get("signed") {
        Some(s) if s.is_object() => s,
        _ => return Err(deny("invite.3pid.missing_signed", "third_party_invite has no signed object".to_owned())),
    };
    // > If `signed` does not have `mxid` and `token` properties, reject.
    let (mxid, token) = match (signed.get("mxid").and_then(Value::as_str), signed.get("token").and_then(Value::as_str)) {
        (Some(m), Some(t)) => (m, t),
        _ => return Err(deny("invite.3pid.missing_mxid_or_token", "signed lacks mxid or token".to_owned())),
    };
    // > If `mxid` does not match `state_key`, reject.
    if mxid != target {
        return Err(deny("invite.3pid.mxid_mismatch", format!("signed.mxid {mxid} is not the target {target}")));
    }
    // > If there is no `m.room.third_party_invite` event in the current room state with
    // > `state_key` matching `token`, reject.
    let invite = match state.get(&("m.room.third_party_invite".to_owned(), token.to_owned())) {
        Some(ev) => *ev,
        None => {
            return Err(deny("invite.3pid.no_matching_invite_event", format!("no m.room.third_party_invite for token {token}")))
        }
    };
    // > If `sender` does not match `sender` of the `m.room.third_party_invite`, reject.
    if invite.sender != event.sender {
        return Err(deny("invite.3pid.sender_mismatch", "sender differs from the third-party invite's sender".to_owned()));
    }
    // > If any signature in `signed` matches any public key in the `m.room.third_party_invite`
    // > event, allow. ... Otherwise, reject.
    let has_signatures = signed.get("signatures").and_then(Value::as_object).map_or(false, |o| !o.is_empty());
    if has_signatures && public_keys(invite).iter().any(|k| sigs.third_party_signed_verifies(&event.event_id, k)) {
        return Ok(());
    }
    Err(deny("invite.3pid.no_valid_signature", "no signature in signed verifies with the invite's public keys".to_owned()))
}
