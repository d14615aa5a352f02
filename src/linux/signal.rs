//! Signal name/number parsing for `kill` and friends, accepting the same spellings as `runc kill`.

use anyhow::{bail, Result};

/// Standard signals with exactly one (canonical) name per number, so that
/// `signal_name` reports what users expect (SIGABRT rather than SIGIOT).
const STANDARD: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGBUS", libc::SIGBUS),
    ("SIGFPE", libc::SIGFPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    // MIPS and SPARC have no SIGSTKFLT and libc does not define it there.
    #[cfg(not(any(
        target_arch = "mips",
        target_arch = "mips32r6",
        target_arch = "mips64",
        target_arch = "mips64r6",
        target_arch = "sparc",
        target_arch = "sparc64"
    )))]
    ("SIGSTKFLT", libc::SIGSTKFLT),
    ("SIGCHLD", libc::SIGCHLD),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGPROF", libc::SIGPROF),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGIO", libc::SIGIO),
    ("SIGPWR", libc::SIGPWR),
    ("SIGSYS", libc::SIGSYS),
];

/// Historical alternative names: accepted on input, never produced.
const ALIASES: &[(&str, i32)] = &[
    ("SIGIOT", libc::SIGIOT),
    ("SIGPOLL", libc::SIGPOLL),
    ("SIGCLD", libc::SIGCHLD),
];

/// Real-time signal names in the `kill -l` style. Linux has at most 33
/// real-time signals, so 32 offsets in each direction always suffice.
const RTMIN_PLUS: [&str; 33] = [
    "SIGRTMIN",
    "SIGRTMIN+1",
    "SIGRTMIN+2",
    "SIGRTMIN+3",
    "SIGRTMIN+4",
    "SIGRTMIN+5",
    "SIGRTMIN+6",
    "SIGRTMIN+7",
    "SIGRTMIN+8",
    "SIGRTMIN+9",
    "SIGRTMIN+10",
    "SIGRTMIN+11",
    "SIGRTMIN+12",
    "SIGRTMIN+13",
    "SIGRTMIN+14",
    "SIGRTMIN+15",
    "SIGRTMIN+16",
    "SIGRTMIN+17",
    "SIGRTMIN+18",
    "SIGRTMIN+19",
    "SIGRTMIN+20",
    "SIGRTMIN+21",
    "SIGRTMIN+22",
    "SIGRTMIN+23",
    "SIGRTMIN+24",
    "SIGRTMIN+25",
    "SIGRTMIN+26",
    "SIGRTMIN+27",
    "SIGRTMIN+28",
    "SIGRTMIN+29",
    "SIGRTMIN+30",
    "SIGRTMIN+31",
    "SIGRTMIN+32",
];

const RTMAX_MINUS: [&str; 33] = [
    "SIGRTMAX",
    "SIGRTMAX-1",
    "SIGRTMAX-2",
    "SIGRTMAX-3",
    "SIGRTMAX-4",
    "SIGRTMAX-5",
    "SIGRTMAX-6",
    "SIGRTMAX-7",
    "SIGRTMAX-8",
    "SIGRTMAX-9",
    "SIGRTMAX-10",
    "SIGRTMAX-11",
    "SIGRTMAX-12",
    "SIGRTMAX-13",
    "SIGRTMAX-14",
    "SIGRTMAX-15",
    "SIGRTMAX-16",
    "SIGRTMAX-17",
    "SIGRTMAX-18",
    "SIGRTMAX-19",
    "SIGRTMAX-20",
    "SIGRTMAX-21",
    "SIGRTMAX-22",
    "SIGRTMAX-23",
    "SIGRTMAX-24",
    "SIGRTMAX-25",
    "SIGRTMAX-26",
    "SIGRTMAX-27",
    "SIGRTMAX-28",
    "SIGRTMAX-29",
    "SIGRTMAX-30",
    "SIGRTMAX-31",
    "SIGRTMAX-32",
];

/// Parses a signal given as a number ("9") or a name ("KILL", "SIGKILL",
/// "sigkill", "RTMIN+3", "SIGRTMAX-2").
///
/// glibc reserves the first real-time signals for its own threading, so the
/// real-time range comes from libc at run time rather than from constants.
pub fn parse_signal(s: &str) -> Result<i32> {
    if looks_numeric(s) {
        let max = libc::SIGRTMAX();
        return match s.parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => bail!("invalid signal number {s}"),
        };
    }

    let upper = s.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let full = format!("SIG{bare}");
    if let Some(&(_, n)) = STANDARD
        .iter()
        .chain(ALIASES)
        .find(|(known, _)| *known == full)
    {
        return Ok(n);
    }
    if let Some(n) = parse_realtime(bare) {
        return Ok(n);
    }
    bail!("unknown signal {s:?}")
}

/// Numbers take priority over names, and anything that is only a sign and
/// digits is reported as a bad number rather than an unknown name.
fn looks_numeric(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Handles "RTMIN", "RTMIN+n", "RTMAX" and "RTMAX-n" (already upper-cased,
/// prefix stripped). Offsets that leave the real-time range are rejected.
fn parse_realtime(name: &str) -> Option<i32> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let (base, rest, sign) = if let Some(rest) = name.strip_prefix("RTMIN") {
        (min, rest, 1)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        (max, rest, -1)
    } else {
        return None;
    };
    let offset = if rest.is_empty() {
        0
    } else {
        let digits = rest.strip_prefix(if sign > 0 { '+' } else { '-' })?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i32>().ok()?
    };
    let n = base.checked_add(sign * offset)?;
    (min..=max).contains(&n).then_some(n)
}

/// Returns the conventional name of signal `n` ("SIGTERM" for 15, and the
/// `kill -l` spelling such as "SIGRTMIN+3" or "SIGRTMAX-2" for real-time
/// signals), or `None` if `n` is not a valid signal.
pub fn signal_name(n: i32) -> Option<&'static str> {
    if let Some(&(name, _)) = STANDARD.iter().find(|&&(_, num)| num == n) {
        return Some(name);
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if !(min..=max).contains(&n) {
        return None;
    }
    // Like `kill -l`, name the lower half relative to RTMIN and the upper half
    // relative to RTMAX, so the common small offsets from either end read
    // naturally.
    let from_min = usize::try_from(n - min).ok()?;
    let from_max = usize::try_from(max - n).ok()?;
    let half = usize::try_from((max - min) / 2).ok()?;
    if from_min <= half {
        RTMIN_PLUS.get(from_min).copied()
    } else {
        RTMAX_MINUS.get(from_max).copied()
    }
}

/// What a signal means, in the C library's (and Go's) words: error messages about a
/// process killed by a signal read "bad system call", "segmentation fault", ...
pub fn description(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "hangup",
        libc::SIGINT => "interrupt",
        libc::SIGQUIT => "quit",
        libc::SIGILL => "illegal instruction",
        libc::SIGTRAP => "trace/breakpoint trap",
        libc::SIGABRT => "aborted",
        libc::SIGBUS => "bus error",
        libc::SIGFPE => "floating point exception",
        libc::SIGKILL => "killed",
        libc::SIGUSR1 => "user defined signal 1",
        libc::SIGSEGV => "segmentation fault",
        libc::SIGUSR2 => "user defined signal 2",
        libc::SIGPIPE => "broken pipe",
        libc::SIGALRM => "alarm clock",
        libc::SIGTERM => "terminated",
        libc::SIGXCPU => "CPU time limit exceeded",
        libc::SIGXFSZ => "file size limit exceeded",
        libc::SIGSYS => "bad system call",
        _ => "signal",
    }
}

/// Pass a signal that `run` or `exec` (`who`) received on to the container process.
/// SIGURG is dropped: runtimes and shells raise it as noise, not as a request.
pub fn forward(who: &str, pid: i32, sig: i32) {
    if sig == libc::SIGURG {
        return;
    }
    crate::logging::debug(&format!(
        "{who}: forwarding {} to {pid}",
        signal_name(sig).unwrap_or("signal")
    ));
    let _ = crate::linux::sys::kill_raw(pid, sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("15").unwrap(), 15);
        assert_eq!(parse_signal("1").unwrap(), 1);
        let max = libc::SIGRTMAX();
        assert_eq!(parse_signal(&max.to_string()).unwrap(), max);
    }

    #[test]
    fn bad_numbers() {
        let max = libc::SIGRTMAX();
        for s in [
            "0".to_string(),
            "-9".to_string(),
            "99".to_string(),
            (max + 1).to_string(),
            "99999999999999999999999".to_string(),
        ] {
            let err = parse_signal(&s).unwrap_err().to_string();
            assert_eq!(err, format!("invalid signal number {s}"));
        }
        assert_eq!(
            parse_signal("99").unwrap_err().to_string(),
            "invalid signal number 99"
        );
    }

    #[test]
    fn names_with_and_without_prefix() {
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("SIGTERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("kill").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("sigKill").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("SIGHUP").unwrap(), libc::SIGHUP);
        assert_eq!(parse_signal("usr1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse_signal("SIGWINCH").unwrap(), libc::SIGWINCH);
        assert_eq!(parse_signal("URG").unwrap(), libc::SIGURG);
        assert_eq!(parse_signal("SIGSYS").unwrap(), libc::SIGSYS);
        assert_eq!(parse_signal("PWR").unwrap(), libc::SIGPWR);
    }

    #[test]
    fn aliases() {
        assert_eq!(parse_signal("SIGIOT").unwrap(), libc::SIGABRT);
        assert_eq!(parse_signal("POLL").unwrap(), libc::SIGIO);
        assert_eq!(parse_signal("SIGCLD").unwrap(), libc::SIGCHLD);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_numbers() {
        assert_eq!(parse_signal("STKFLT").unwrap(), 16);
        assert_eq!(parse_signal("SIGPWR").unwrap(), 30);
        assert_eq!(parse_signal("SIGSYS").unwrap(), 31);
        assert_eq!(signal_name(16), Some("SIGSTKFLT"));
    }

    #[test]
    fn every_standard_name_round_trips() {
        for &(name, n) in STANDARD {
            assert_eq!(parse_signal(name).unwrap(), n, "{name}");
            assert_eq!(signal_name(n), Some(name), "{n}");
            let short = name.strip_prefix("SIG").unwrap().to_ascii_lowercase();
            assert_eq!(parse_signal(&short).unwrap(), n, "{short}");
        }
        for &(name, n) in ALIASES {
            assert_eq!(parse_signal(name).unwrap(), n, "{name}");
            assert_ne!(signal_name(n), Some(name), "{name}");
        }
    }

    #[test]
    fn realtime() {
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        assert_eq!(parse_signal("SIGRTMIN").unwrap(), min);
        assert_eq!(parse_signal("rtmin").unwrap(), min);
        assert_eq!(parse_signal("RTMIN+3").unwrap(), min + 3);
        assert_eq!(parse_signal("SIGRTMIN+0").unwrap(), min);
        assert_eq!(parse_signal("SIGRTMAX").unwrap(), max);
        assert_eq!(parse_signal("SIGRTMAX-2").unwrap(), max - 2);
        assert_eq!(parse_signal("rtmax-0").unwrap(), max);
        let span = max - min;
        assert_eq!(parse_signal(&format!("RTMIN+{span}")).unwrap(), max);
        assert_eq!(parse_signal(&format!("RTMAX-{span}")).unwrap(), min);
    }

    #[test]
    fn realtime_out_of_range_or_malformed() {
        let span = libc::SIGRTMAX() - libc::SIGRTMIN();
        let too_far_up = format!("RTMIN+{}", span + 1);
        let too_far_down = format!("SIGRTMAX-{}", span + 1);
        for s in [
            too_far_up.as_str(),
            too_far_down.as_str(),
            "RTMIN-1",
            "RTMAX+1",
            "RTMIN+",
            "RTMIN+x",
            "RTMIN++1",
            "RTMIN+-1",
            "RTMAX-99999999999999",
        ] {
            let err = parse_signal(s).unwrap_err().to_string();
            assert_eq!(err, format!("unknown signal \"{s}\""));
        }
    }

    #[test]
    fn unknown_names() {
        assert_eq!(
            parse_signal("FOO").unwrap_err().to_string(),
            "unknown signal \"FOO\""
        );
        assert_eq!(
            parse_signal("SIGFOO").unwrap_err().to_string(),
            "unknown signal \"SIGFOO\""
        );
        assert!(parse_signal("").is_err());
        assert!(parse_signal("SIG").is_err());
        assert!(parse_signal(" TERM").is_err());
        assert!(parse_signal("9x").is_err());
    }

    #[test]
    fn names_for_numbers() {
        assert_eq!(signal_name(libc::SIGTERM), Some("SIGTERM"));
        assert_eq!(signal_name(libc::SIGKILL), Some("SIGKILL"));
        assert_eq!(signal_name(libc::SIGABRT), Some("SIGABRT"));
        assert_eq!(signal_name(libc::SIGIO), Some("SIGIO"));
        assert_eq!(signal_name(libc::SIGCHLD), Some("SIGCHLD"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(-1), None);
        assert_eq!(signal_name(libc::SIGRTMAX() + 1), None);
    }

    #[test]
    fn realtime_names_round_trip() {
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        assert_eq!(signal_name(min), Some("SIGRTMIN"));
        assert_eq!(signal_name(max), Some("SIGRTMAX"));
        assert_eq!(signal_name(min + 1), Some("SIGRTMIN+1"));
        assert_eq!(signal_name(max - 1), Some("SIGRTMAX-1"));
        for n in min..=max {
            let name = signal_name(n).unwrap();
            assert_eq!(parse_signal(name).unwrap(), n, "{name}");
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
    #[test]
    fn realtime_names_match_kill_l_on_glibc() {
        // glibc: SIGRTMIN is 34, SIGRTMAX is 64.
        assert_eq!(signal_name(49), Some("SIGRTMIN+15"));
        assert_eq!(signal_name(50), Some("SIGRTMAX-14"));
    }

    #[test]
    fn every_standard_number_has_a_name() {
        // 1..=31 are all standard signals on Linux; 32 and up are either
        // reserved by the C library or real-time.
        for n in 1..32 {
            assert!(signal_name(n).is_some(), "{n}");
        }
    }
}
