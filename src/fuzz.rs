//! Shared by the property tests (the `proptests.rs` modules): the case count and the
//! input generators. `make test` runs few cases; `make fuzz` runs many.
//!
//! The case count is `PROPTEST_CASES` (default [`DEFAULT_CASES`]). Failures are not
//! persisted to files: a failing input found here is kept as a plain unit test.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

/// Cases per property when `PROPTEST_CASES` is unset: enough to catch a regression,
/// few enough that all properties together take about a second.
pub const DEFAULT_CASES: u32 = 48;

pub fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// Pieces that trip parsers: separators, dots, NUL, control and non-ASCII characters,
/// signs, and fragments of real keys and values.
const PIECES: &[&str] = &[
    "",
    ".",
    "..",
    "/",
    "\0",
    "\n",
    " ",
    "\t",
    "-",
    "+",
    "_",
    ",",
    "=",
    ":",
    "*",
    "%",
    "é",
    "ß",
    "\u{202e}",
    "😀",
    "\u{fffd}",
    "0",
    "1",
    "9",
    "-1",
    "4294967296",
    "18446744073709551616",
    "a",
    "Z",
    "x",
    "SIG",
    "net.",
    "kernel.",
    "/dev/",
    "/proc",
    "ms",
    "s",
    "k",
    "m",
    "g",
    "i",
    "b",
    "ro",
    "rw",
    "bind",
    "rbind",
    "shared",
    "0-3",
];

/// A string made of `PIECES`, up to `n` of them.
pub fn pieces(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..=n).prop_map(|v| v.concat())
}

/// Any string a config or a command line may hold: arbitrary Unicode, strings of tricky
/// pieces, and very long ones.
pub fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => pieces(8),
        3 => any::<String>(),
        2 => "[a-zA-Z0-9_.+-]{0,12}",
        1 => (prop::sample::select(PIECES), 0usize..70_000).prop_map(|(p, n)| p.repeat(n.min(70_000 / p.len().max(1)))),
    ]
}

/// Integers around the edges of the types config values are read as.
pub fn edge_int() -> impl Strategy<Value = i128> {
    prop_oneof![
        12 => -3i128..1100,
        4 => prop::sample::select(vec![0, 1, 2, 10, 100, 1000, 1024, 4096, 100_000, 262_144, 1_000_000, 1 << 20, 1 << 30]),
        1 => prop::sample::select(vec![
            i128::from(i16::MIN), i128::from(i16::MAX), i128::from(u16::MAX), 65536,
            i128::from(i32::MIN), i128::from(i32::MAX), i128::from(u32::MAX), 1 << 32,
            i128::from(i64::MIN), i128::from(i64::MAX), i128::from(u64::MAX),
            i128::from(u64::MAX) + 1,
        ]),
        1 => any::<i64>().prop_map(i128::from),
        1 => any::<u64>().prop_map(i128::from),
    ]
}

/// An edge integer as JSON (a float when it fits no integer type, as serde_json would
/// read such a literal).
pub fn int_json() -> impl Strategy<Value = Value> {
    edge_int().prop_map(|n| {
        if let Ok(v) = i64::try_from(n) {
            json!(v)
        } else if let Ok(v) = u64::try_from(n) {
            json!(v)
        } else {
            json!(n as f64)
        }
    })
}

/// Any JSON value, nested a few levels.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        int_json(),
        any::<f64>().prop_map(|f| json!(f)),
        nasty().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(pieces(3), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Mostly `good` (values of the right shape), now and then anything at all (rarely, as
/// one such value spoils a whole config).
pub fn or_any(good: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop_oneof![40 => good, 1 => any_json()]
}

/// One of `names` (the values a field knows), or sometimes a nasty string.
pub fn name_or_nasty(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        20 => prop::sample::select(names).prop_map(Value::from),
        1 => nasty().prop_map(Value::from),
    ]
}

/// A list of 0..n elements from `elem`, as JSON.
pub fn list(elem: impl Strategy<Value = Value>, n: usize) -> impl Strategy<Value = Value> {
    prop::collection::vec(elem, 0..n).prop_map(Value::from)
}

/// A JSON object with some of `fields` (name, value strategy) present.
pub fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let parts: Vec<BoxedStrategy<Option<(&'static str, Value)>>> = fields
        .into_iter()
        .map(|(k, s)| prop::option::weighted(0.4, s.prop_map(move |v| (k, v))).boxed())
        .collect();
    parts
        .prop_map(|kv| {
            Value::Object(
                kv.into_iter()
                    .flatten()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        })
        .boxed()
}
