//! `m.room.member` rules (v1–v11 rule 4/5, v12 rule 5).

use serde_json::Value;

use super::{create, deny, join_rule, membership_of, power_levels as pl, third_party, AuthError, SignatureOracle, StateMap, UserPower};
use crate::{event::Pdu, rules::RoomVersionRules};

/// Rule "If type is `m.room.member`" (the event has passed the earlier rules; `create` is the
/// create event of `state`).
pub fn check_member(
    rules: &RoomVersionRules,
    event: &Pdu,
    state: &StateMap<'_>,
    create: &Pdu,
    sigs: &dyn SignatureOracle,
) -> Result<(), AuthError> {
    // > If there is no `state_key` property, or no `membership` property in `content`, reject.
    let target = match &event.state_key {
        Some(k) => k.as_str(),
        None => return Err(deny("member.missing_state_key_or_membership", "m.room.member has no state_key".to_owned())),
    };
    let membership = match event.content.get("membership").and_then(Value::as_str) {
        Some(m) => m,
        None => {
            return Err(deny("member.missing_state_key_or_membership", "m.room.member has no content.membership".to_owned()))
        }
    };
    // (v8+) > If `content` has a `join_authorised_via_users_server` key: If the event is not validly
    // > signed by the homeserver of the user ID denoted by the key, reject.
    // Signatures are verified by the host before an event reaches this crate.
    match membership {
        "join" => check_join(rules, event, target, state, create),
        "invite" => check_invite(rules, event, target, state, sigs),
        "leave" => check_leave(rules, event, target, state),
        "ban" => check_ban(rules, event, target, state),
        "knock" if rules.knock_join_rule => check_knock(rules, event, target, state),
        // > Otherwise, the membership is unknown. Reject.
        other => Err(deny("member.unknown_membership", format!("unknown membership {other:?}"))),
    }
}

fn check_join(
    rules: &RoomVersionRules,
    event: &Pdu,
    target: &str,
    state: &StateMap<'_>,
    create: &Pdu,
) -> Result<(), AuthError> {
    // > If the only previous event is an `m.room.create` and the `state_key` is the creator, allow.
    // (The sender is deliberately not looked at here: see the vectors' known disagreements.)
    if event.prev_events.len() == 1
        && event.prev_events[0] == create.event_id
        && create::first_join_user(rules, create).as_deref() == Some(target)
    {
        return Ok(());
    }
    // > If the `sender` does not match `state_key`, reject.
    if event.sender != target {
        return Err(deny("join.sender_mismatch", "a join's sender must be its state_key".to_owned()));
    }
    let current = membership_of(state, target);
    // > If the `sender` is banned, reject.
    if current == Some("ban") {
        return Err(deny("join.banned", format!("{target} is banned")));
    }
    let invited_or_joined = matches!(current, Some("invite") | Some("join"));
    let rule = join_rule(state);
    // > If the `join_rule` is `invite` or `knock` then allow if membership state is `invite` or `join`.
    // (`knock` from v7.) Not invited: the taxonomy's `join.not_invited`.
    if rule == Some("invite") || (rules.knock_join_rule && rule == Some("knock")) {
        return if invited_or_joined {
            Ok(())
        } else {
            Err(deny("join.not_invited", format!("join rule is {rule:?} and {target} is not invited")))
        };
    }
    // (v8+) > If the `join_rule` is `restricted` (v10+: or `knock_restricted`):
    if (rules.restricted_join_rule && rule == Some("restricted"))
        || (rules.knock_restricted_join_rule && rule == Some("knock_restricted"))
    {
        // > If membership state is `join` or `invite`, allow.
        if invited_or_joined {
            return Ok(());
        }
        // > If the `join_authorised_via_users_server` key in `content` is not a user with
        // > sufficient permission to invite other users or is not a joined member of the room,
        // > reject. Otherwise, allow.
        let via = match event.content.get("join_authorised_via_users_server").and_then(Value::as_str) {
            Some(u) => u,
            None => {
                return Err(deny(
                    "join.restricted_missing_authoriser",
                    "restricted join without join_authorised_via_users_server".to_owned(),
                ))
            }
        };
        if membership_of(state, via) != Some("join") {
            return Err(deny("join.restricted_authoriser_not_joined", format!("authoriser {via} is not joined")));
        }
        let invite = pl::int_level(pl::current(rules, state).as_ref(), "invite");
        if pl::user_power(rules, via, state) < UserPower::Level(invite) {
            return Err(deny(
                "join.restricted_authoriser_insufficient_power",
                format!("authoriser {via} cannot invite"),
            ));
        }
        return Ok(());
    }
    // > If the `join_rule` is `public`, allow. Otherwise, reject.
    if rule == Some("public") {
        Ok(())
    } else {
        Err(deny("join.not_allowed", format!("join rule {rule:?} does not allow {target} to join")))
    }
}

fn check_invite(
    rules: &RoomVersionRules,
    event: &Pdu,
    target: &str,
    state: &StateMap<'_>,
    sigs: &dyn SignatureOracle,
) -> Result<(), AuthError> {
    // > If `content` has a `third_party_invite` property: ...
    if let Some(tpi) = event.content.get("third_party_invite") {
        return third_party::check_third_party_invite(event, target, tpi, state, sigs);
    }
    // > If the `sender`'s current membership state is not `join`, reject.
    if membership_of(state, &event.sender) != Some("join") {
        return Err(deny("invite.sender_not_joined", format!("{} is not joined", event.sender)));
    }
    // > If *target user*'s current membership state is `join` or `ban`, reject.
    if matches!(membership_of(state, target), Some("join") | Some("ban")) {
        return Err(deny("invite.target_joined_or_banned", format!("{target} is joined or banned")));
    }
    // > If the `sender`'s power level is greater than or equal to the *invite level*, allow.
    // > Otherwise, reject.
    let invite = pl::int_level(pl::current(rules, state).as_ref(), "invite");
    if pl::user_power(rules, &event.sender, state) >= UserPower::Level(invite) {
        Ok(())
    } else {
        Err(deny("invite.insufficient_power", format!("{} is below the invite level {invite}", event.sender)))
    }
}

fn check_leave(rules: &RoomVersionRules, event: &Pdu, target: &str, state: &StateMap<'_>) -> Result<(), AuthError> {
    let sender_membership = membership_of(state, &event.sender);
    // > If the `sender` matches `state_key`, allow if and only if that user's current membership
    // > state is `invite` or `join` (v7+: `invite`, `join`, or `knock`).
    if event.sender == target {
        let ok = matches!(sender_membership, Some("invite") | Some("join"))
            || (rules.knock_join_rule && sender_membership == Some("knock"));
        return if ok {
            Ok(())
        } else {
            Err(deny("leave.self_not_member", format!("{target} cannot leave from {sender_membership:?}")))
        };
    }
    // > If the `sender`'s current membership state is not `join`, reject.
    if sender_membership != Some("join") {
        return Err(deny("leave.sender_not_joined", format!("{} is not joined", event.sender)));
    }
    let current = pl::current(rules, state);
    let sender_power = pl::user_power(rules, &event.sender, state);
    // > If the *target user*'s current membership state is `ban`, and the `sender`'s power level is
    // > less than the *ban level*, reject.
    if membership_of(state, target) == Some("ban") && sender_power < UserPower::Level(pl::int_level(current.as_ref(), "ban")) {
        return Err(deny("leave.unban_insufficient_power", format!("{} cannot unban", event.sender)));
    }
    // > If the `sender`'s power level is greater than or equal to the *kick level*, and the *target
    // > user*'s power level is less than the `sender`'s power level, allow. Otherwise, reject.
    let kick = pl::int_level(current.as_ref(), "kick");
    if sender_power >= UserPower::Level(kick) && pl::user_power(rules, target, state) < sender_power {
        Ok(())
    } else {
        Err(deny("leave.kick_insufficient_power", format!("{} cannot kick {target}", event.sender)))
    }
}

fn check_ban(rules: &RoomVersionRules, event: &Pdu, target: &str, state: &StateMap<'_>) -> Result<(), AuthError> {
    // > If the `sender`'s current membership state is not `join`, reject.
    if membership_of(state, &event.sender) != Some("join") {
        return Err(deny("ban.sender_not_joined", format!("{} is not joined", event.sender)));
    }
    // > If the `sender`'s power level is greater than or equal to the *ban level*, and the *target
    // > user*'s power level is less than the `sender`'s power level, allow. Otherwise, reject.
    let ban = pl::int_level(pl::current(rules, state).as_ref(), "ban");
    let sender_power = pl::user_power(rules, &event.sender, state);
    if sender_power >= UserPower::Level(ban) && pl::user_power(rules, target, state) < sender_power {
        Ok(())
    } else {
        Err(deny("ban.insufficient_power", format!("{} cannot ban {target}", event.sender)))
    }
}

fn check_knock(rules: &RoomVersionRules, event: &Pdu, target: &str, state: &StateMap<'_>) -> Result<(), AuthError> {
    // > If the `join_rule` is anything other than `knock` (v10+: or `knock_restricted`), reject.
    let rule = join_rule(state);
    if !(rule == Some("knock") || (rules.knock_restricted_join_rule && rule == Some("knock_restricted"))) {
        return Err(deny("knock.join_rule_not_knock", format!("join rule {rule:?} does not allow knocking")));
    }
    // > If `sender` does not match `state_key`, reject.
    if event.sender != target {
        return Err(deny("knock.sender_mismatch", "a knock's sender must be its state_key".to_owned()));
    }
    // > If the `sender`'s current membership is not `ban`, `invite`, or `join`, allow. Otherwise, reject.
    match membership_of(state, target) {
        Some("ban") | Some("invite") | Some("join") => {
            Err(deny("knock.already_member", format!("{target} is banned, invited or joined")))
        }
        _ => Ok(()),
    }
}
