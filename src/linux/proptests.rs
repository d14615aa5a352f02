//! Property tests of `signal::parse_signal`: never panics, accepts only real signal
//! numbers, and reads back every name `signal_name` gives and every number.

use super::signal::{parse_signal, signal_name};
use crate::fuzz::{config, nasty};
use proptest::prelude::*;

/// Names with a sign, digits and an RT prefix in every order, in any case.
fn signal_like() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "SIG",
        "sig",
        "RTMIN",
        "rtmax",
        "RTMAX",
        "+",
        "-",
        "0",
        "1",
        "3",
        "15",
        "64",
        "65",
        "2147483647",
        "2147483648",
        "KILL",
        "term",
        "HUP",
        "CLD",
        "IOT",
        "POLL",
        "",
        " ",
    ]);
    prop::collection::vec(piece, 0..5).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics_and_stays_in_range(s in prop_oneof![nasty(), signal_like()]) {
        if let Ok(n) = parse_signal(&s) {
            prop_assert!((1..=libc::SIGRTMAX()).contains(&n), "{:?} -> {}", s, n);
            // A name given to what was accepted reads back to it (glibc keeps 32 and 33,
            // which have none).
            if let Some(name) = signal_name(n) {
                prop_assert_eq!(parse_signal(name).unwrap(), n);
            }
        }
    }

    #[test]
    fn numbers(n in any::<i64>(), plus in any::<bool>()) {
        let s = if plus && n >= 0 { format!("+{n}") } else { n.to_string() };
        let ok = (1..=i64::from(libc::SIGRTMAX())).contains(&n);
        let r = parse_signal(&s);
        prop_assert_eq!(r.is_ok(), ok, "{:?}: {:?}", s, r);
        if ok {
            prop_assert_eq!(i64::from(r.unwrap()), n);
        }
    }

    #[test]
    fn names_read_back_in_any_case(n in 1..=libc::SIGRTMAX(), mask in any::<u64>(), sig in any::<bool>()) {
        let Some(name) = signal_name(n) else {
            prop_assert!((32..libc::SIGRTMIN()).contains(&n), "{} has no name", n);
            return Ok(());
        };
        let name = if sig { name } else { name.strip_prefix("SIG").unwrap() };
        let mixed: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_lowercase() } else { c })
            .collect();
        prop_assert_eq!(parse_signal(&mixed).unwrap(), n, "{:?}", mixed);
    }

    #[test]
    fn realtime_offsets(off in 0i64..200, max in any::<bool>()) {
        let (base, sign) = if max { (libc::SIGRTMAX(), -1) } else { (libc::SIGRTMIN(), 1) };
        let s = format!("SIG{}{}{off}", if max { "RTMAX" } else { "RTMIN" }, if max { '-' } else { '+' });
        let want = i64::from(base) + sign * off;
        let ok = (i64::from(libc::SIGRTMIN())..=i64::from(libc::SIGRTMAX())).contains(&want);
        prop_assert_eq!(parse_signal(&s).ok().map(i64::from), ok.then_some(want), "{}", s);
    }
}
