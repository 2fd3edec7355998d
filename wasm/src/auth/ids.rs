//! Identifier helpers: the few syntactic checks the auth rules need (domains of user, room and
//! event IDs; "valid user ID" for `m.room.power_levels` `users` keys and `additional_creators`).

/// The server name of a `sigil localpart:server` identifier: everything after the FIRST `:`
/// (a server name may itself carry a `:port`).
pub fn domain(id: &str) -> Option<&str> {
    id.split_once(':').map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// Server name grammar (appendices, "Server name"): `host [":" port]`, host = IPv4, `[IPv6]` or a
/// DNS name of `[A-Za-z0-9.-]`. Kept permissive on purpose: auth must not depend on fine DNS rules.
pub fn is_valid_server_name(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        // IPv6 literal: `[addr]` optionally followed by `:port`.
        let (ip6, tail) = match rest.split_once(']') {
            Some(pair) => pair,
            None => return false,
        };
        if ip6.is_empty() || !ip6.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return false;
        }
        if tail.is_empty() {
            (None, None)
        } else {
            match tail.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return false,
            }
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(s), None),
        }
    };
    if let Some(h) = host {
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
            return false;
        }
    }
    match port {
        None => true,
        Some(p) => !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()),
    }
}

/// User ID validation ("appendices#user-identifiers"): `@localpart:server_name`, at most 255
/// bytes. Historical localparts are accepted (any non-empty text without `:`), as servers must
/// still accept them in existing rooms.
pub fn is_valid_user_id(s: &str) -> bool {
    if s.len() > 255 {
        return false;
    }
    let rest = match s.strip_prefix('@') {
        Some(r) => r,
        None => return false,
    };
    match rest.split_once(':') {
        Some((local, server)) => !local.is_empty() && is_valid_server_name(server),
        None => false,
    }
}

/// `<sigil>opaque:server` when `has_domain`, else `<sigil>opaque` (a reference hash, not
/// re-derived here).
fn is_valid_sigil_id(s: &str, sigil: char, has_domain: bool) -> bool {
    let rest = match s.strip_prefix(sigil) {
        Some(r) if !r.is_empty() => r,
        _ => return false,
    };
    if !has_domain {
        return true;
    }
    match rest.split_once(':') {
        Some((opaque, server)) => !opaque.is_empty() && is_valid_server_name(server),
        None => false,
    }
}

/// Room ID: `!opaque:server` (v1–v11), `!<create event ID hash>` (v12, no server part).
pub fn is_valid_room_id(s: &str, has_domain: bool) -> bool {
    is_valid_sigil_id(s, '!', has_domain)
}

/// Event ID: `$opaque:server` (v1–v2), `$<hash>` (v3+).
pub fn is_valid_event_id(s: &str, has_domain: bool) -> bool {
    is_valid_sigil_id(s, '$', has_domain)
}

/// v12: the room ID is the create event's ID with sigil `!` instead of `$`.
pub fn create_event_id_for_room(room_id: &str) -> Option<String> {
    room_id.strip_prefix('!').map(|rest| format!("${rest}"))
}

/// v12: the room ID designated by a create event ID.
pub fn room_id_for_create_event(event_id: &str) -> Option<String> {
    event_id.strip_prefix('$').map(|rest| format!("!{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        assert!(is_valid_user_id("@alice:example.org"));
        assert!(is_valid_user_id("@alice:example.org:8448"));
        assert!(is_valid_user_id("@a:[::1]:80"));
        assert!(is_valid_user_id("@u1:a"));
        assert!(!is_valid_user_id("spambot"));
        assert!(!is_valid_user_id("not_a_user_id"));
        assert!(!is_valid_user_id("@nodomain"));
        assert!(!is_valid_user_id("@:example.org"));
        assert!(!is_valid_user_id("@a:bad host"));
    }

    #[test]
    fn domains() {
        assert_eq!(domain("@a:b.c:8448"), Some("b.c:8448"));
        assert_eq!(domain("!r1:a"), Some("a"));
        assert_eq!(domain("not_a_room_id"), None);
        assert_eq!(create_event_id_for_room("!abc").as_deref(), Some("$abc"));
        assert_eq!(room_id_for_create_event("$abc").as_deref(), Some("!abc"));
    }
}
