//! Room version rules as received from the host (core/room-versions.json, resolved by
//! core/room-versions.ts). The crate keeps no table of its own: one owner for the data.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateResAlgorithm {
    V1,
    V2_0,
    V2_1,
}

/// The subset of a room version's rules that auth and state resolution consult.
#[derive(Debug, Clone)]
pub struct RoomVersionRules {
    pub room_version: String,
    pub state_resolution: StateResAlgorithm,
    pub begin_iterative_auth_checks_with_empty_state: bool,
    pub full_conflicted_set_includes_conflicted_state_subgraph: bool,
    pub event_refs_include_hashes: bool,
    pub create_in_auth_events: bool,
    pub create_has_room_id: bool,
    pub create_content_creator_required: bool,
    pub redacts_in_content: bool,
    pub special_case_aliases_auth: bool,
    pub special_case_redaction_auth: bool,
    pub limit_notifications_power_levels: bool,
    pub knock_join_rule: bool,
    pub restricted_join_rule: bool,
    pub knock_restricted_join_rule: bool,
    pub integer_power_levels: bool,
    pub power_level_values_may_be_strings: bool,
    /// v1–v5: float power levels are accepted and truncated. Optional in the JSON (absent = false).
    pub power_level_values_may_be_floats: bool,
    pub implicit_room_creator: bool,
    pub creators_have_infinite_power: bool,
    pub additional_creators: bool,
    pub power_levels_users_must_not_contain_creators: bool,
    pub room_id_is_create_event_hash: bool,
}

fn flag(v: &Value, key: &str) -> Result<bool, String> {
    v.get(key).and_then(Value::as_bool).ok_or_else(|| format!("rules.{key} must be a boolean"))
}

impl RoomVersionRules {
    /// Parse the resolved rules object the host sends as `rules` in every request.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let state_resolution = match v.get("state_resolution").and_then(Value::as_str) {
            Some("v1") => StateResAlgorithm::V1,
            Some("v2.0") => StateResAlgorithm::V2_0,
            Some("v2.1") => StateResAlgorithm::V2_1,
            other => return Err(format!("rules.state_resolution unknown: {other:?}")),
        };
        Ok(Self {
            room_version: v
                .get("room_version")
                .and_then(Value::as_str)
                .ok_or("rules.room_version must be a string")?
                .to_owned(),
            state_resolution,
            begin_iterative_auth_checks_with_empty_state: flag(v, "begin_iterative_auth_checks_with_empty_state")?,
            full_conflicted_set_includes_conflicted_state_subgraph: flag(v, "full_conflicted_set_includes_conflicted_state_subgraph")?,
            event_refs_include_hashes: flag(v, "event_refs_include_hashes")?,
            create_in_auth_events: flag(v, "create_in_auth_events")?,
            create_has_room_id: flag(v, "create_has_room_id")?,
            create_content_creator_required: flag(v, "create_content_creator_required")?,
            redacts_in_content: flag(v, "redacts_in_content")?,
            special_case_aliases_auth: flag(v, "special_case_aliases_auth")?,
            special_case_redaction_auth: flag(v, "special_case_redaction_auth")?,
            limit_notifications_power_levels: flag(v, "limit_notifications_power_levels")?,
            knock_join_rule: flag(v, "knock_join_rule")?,
            restricted_join_rule: flag(v, "restricted_join_rule")?,
            knock_restricted_join_rule: flag(v, "knock_restricted_join_rule")?,
            integer_power_levels: flag(v, "integer_power_levels")?,
            power_level_values_may_be_strings: flag(v, "power_level_values_may_be_strings")?,
            power_level_values_may_be_floats: v.get("power_level_values_may_be_floats").and_then(Value::as_bool).unwrap_or(false),
            implicit_room_creator: flag(v, "implicit_room_creator")?,
            creators_have_infinite_power: flag(v, "creators_have_infinite_power")?,
            additional_creators: flag(v, "additional_creators")?,
            power_levels_users_must_not_contain_creators: flag(v, "power_levels_users_must_not_contain_creators")?,
            room_id_is_create_event_hash: flag(v, "room_id_is_create_event_hash")?,
        })
    }
}
