//! Property tests of the flag parsers: `events --interval` (Go durations) and the
//! `update` memory sizes, against oracles built from the generated parts.

use super::events::parse_duration;
use super::update::parse_bytes;
use crate::fuzz::{config, nasty};
use proptest::prelude::*;
use std::time::Duration;

const UNITS: &[(&str, f64)] = &[
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
];

/// A number as typed, with the value it means.
fn number() -> impl Strategy<Value = (String, f64)> {
    (0u64..100_000, prop::option::of("[0-9]{1,4}")).prop_map(|(int, frac)| match frac {
        Some(f) => {
            let s = format!("{int}.{f}");
            let v = s.parse().unwrap();
            (s, v)
        }
        None => (int.to_string(), int as f64),
    })
}

/// Digits, dots and unit letters in any order, and numbers too large for a Duration.
fn duration_like() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "0",
        "1",
        "9",
        "99999999999999999999",
        ".",
        "..",
        "ns",
        "us",
        "µs",
        "µ",
        "ms",
        "s",
        "m",
        "h",
        "d",
        "e",
        "-",
        "+",
        " ",
        "1e9",
    ]);
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

/// Size suffixes: every spelling runc's `units.RAMInBytes` reads, and near misses.
const GOOD_SUFFIXES: &[(&str, u32)] = &[
    ("", 0),
    ("b", 0),
    ("B", 0),
    ("k", 10),
    ("K", 10),
    ("kb", 10),
    ("KiB", 10),
    ("ki", 10),
    ("m", 20),
    ("MB", 20),
    ("mib", 20),
    ("g", 30),
    ("GB", 30),
    ("gIb", 30),
    ("t", 40),
    ("TiB", 40),
    ("p", 50),
    ("PB", 50),
    (" k", 10),
    (" MiB", 20),
    (" b", 0),
    ("i", 0),
];
const BAD_SUFFIXES: &[&str] = &["x", "kk", "bb", "kbb", "e", "KiBB", "bk", "z", "eb", "%"];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn duration_never_panics(s in prop_oneof![nasty(), duration_like()]) {
        if let Ok(d) = parse_duration(&s) {
            prop_assert!(d > Duration::ZERO, "{:?} -> {:?}", s, d);
        }
    }

    #[test]
    fn duration_sums_its_parts(parts in prop::collection::vec((number(), prop::sample::select(UNITS)), 1..4)) {
        let text: String = parts.iter().map(|((n, _), (u, _))| format!("{n}{u}")).collect();
        let want: f64 = parts.iter().map(|((_, v), (_, scale))| v * scale).sum();
        match parse_duration(&text) {
            Ok(d) => {
                let got = d.as_secs_f64();
                prop_assert!((got - want).abs() <= want * 1e-9 + 1e-9, "{}: {} != {}", text, got, want);
            }
            // Only a duration that is zero (or rounds to zero) is refused.
            Err(e) => prop_assert!(want < 1e-9, "{}: {}", text, e),
        }
    }

    #[test]
    fn bytes_never_panic(s in nasty()) {
        if let Ok(n) = parse_bytes(&s) {
            prop_assert!(n >= -1, "{:?} -> {}", s, n);
        }
    }

    #[test]
    fn bytes_match_units((num, v) in number(), suffix in prop::sample::select(GOOD_SUFFIXES)) {
        let (sfx, shift) = suffix;
        let text = format!("{num}{sfx}");
        let want = (v * (1u64 << shift) as f64) as i64;
        prop_assert_eq!(parse_bytes(&text).ok(), Some(want), "{}", text);
    }

    #[test]
    fn bytes_refuse_near_misses(
        (num, _) in number(),
        sfx in prop::sample::select(BAD_SUFFIXES),
        bad_num in prop::sample::select(vec!["nan", "NaN", "inf", "infinity", "-inf", "1e400", "-5", "", ".", "1..2", "--1", "0x10"]),
        which in any::<bool>(),
    ) {
        let text = if which { format!("{num}{sfx}") } else { format!("{bad_num}k") };
        prop_assert!(parse_bytes(&text).is_err(), "{:?} -> {:?}", text, parse_bytes(&text));
    }
}
