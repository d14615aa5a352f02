//! Property tests of `state::validate_id` against runc's rule, written out separately.

use super::state::validate_id;
use crate::fuzz::{config, nasty};
use proptest::prelude::*;

/// runc's rule: one or more of `[A-Za-z0-9_+.-]`, not "." or ".." (those are not a
/// clean path of their own), and berth's own cap on the length.
fn runc_accepts(id: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"_+-.".contains(&b);
    !id.is_empty() && id.len() <= 1024 && id != "." && id != ".." && id.bytes().all(allowed)
}

/// Ids close to valid: the allowed characters, with a stray one now and then.
fn near_id() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        20 => prop::sample::select(b"abcXYZ019_+-.".to_vec()).prop_map(char::from),
        1 => prop::sample::select(vec!['/', '\0', ' ', '\n', 'é', '\u{2024}', ':', '~']),
    ];
    prop::collection::vec(c, 0..1100).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn validate_id_matches_runc(id in prop_oneof![nasty(), near_id()]) {
        let r = validate_id(&id);
        prop_assert_eq!(r.is_ok(), runc_accepts(&id), "{:?}: {:?}", id, r);
        if let Err(e) = r {
            prop_assert!(e.to_string().starts_with("invalid container id"), "{}", e);
        }
    }

    #[test]
    fn dots_and_slashes(parts in prop::collection::vec(prop::sample::select(vec![".", "..", "/", "a", ".a"]), 1..6)) {
        let id = parts.concat();
        prop_assert_eq!(validate_id(&id).is_ok(), runc_accepts(&id), "{:?}", id);
    }
}

#[test]
fn length_limit_is_exact() {
    assert!(validate_id(&"a".repeat(1024)).is_ok());
    assert!(validate_id(&"a".repeat(1025)).is_err());
    assert!(validate_id("...").is_ok());
}
