//! Process-wide logger producing runc-compatible (logrus-style) text or JSON lines for `--log`/`--log-format`/`--debug`.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};

use crate::timefmt;

/// Output format selected with `--log-format`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LogFormat {
    Text,
    Json,
}

// anyhow::Error works both with `?` and as a clap `value_parser` error.
impl FromStr for LogFormat {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => bail!("invalid log format {s:?}: expected text or json"),
        }
    }
}

/// Severity of a log line, ordered from least to most severe.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Debug,
    /// logrus's level between debug and warning; nothing in berth logs at it yet.
    #[allow(dead_code)]
    Info,
    Warn,
    Error,
}

impl Level {
    /// The logrus spelling, which containerd and other callers parse back out
    /// of the log file (note "warning", not "warn").
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

enum Sink {
    Stderr,
    File(File),
}

struct Logger {
    sink: Sink,
    format: LogFormat,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Installs the process-wide logger. Must be called at most once; a second
/// call is an error so that a misconfiguration cannot silently redirect logs.
///
/// With a path, lines are appended to that file (created 0644 if missing);
/// without one they go to stderr. Debug lines are kept only if `debug`.
pub fn init(path: Option<&Path>, format: LogFormat, debug: bool) -> Result<()> {
    let sink = match path {
        Some(p) => {
            // O_APPEND makes each write(2) land atomically at the end even
            // when the parent runtime, `init` and hooks share the file.
            // O_CLOEXEC keeps the descriptor out of the container process.
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)
                .with_context(|| format!("open log file {}", p.display()))?;
            Sink::File(file)
        }
        None => Sink::Stderr,
    };
    LOGGER
        .set(Logger {
            sink,
            format,
            debug,
        })
        .map_err(|_| anyhow!("logger already initialized"))
}

/// Builds one log line without the trailing newline. `time` is inserted
/// verbatim so callers and tests control the timestamp.
///
/// Text follows logrus' TextFormatter (`time="…" level=… msg="…"`), JSON
/// follows logrus' JSONFormatter, whose keys come out sorted.
pub fn format_line(format: LogFormat, level: Level, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Text => {
            let mut line = String::with_capacity(msg.len() + time.len() + 32);
            line.push_str("time=");
            push_go_quoted(&mut line, time);
            line.push_str(" level=");
            line.push_str(level.as_str());
            line.push_str(" msg=");
            push_go_quoted(&mut line, msg);
            line
        }
        LogFormat::Json => format!(
            "{{\"level\":{},\"msg\":{},\"time\":{}}}",
            json_string(level.as_str()),
            json_string(msg),
            json_string(time)
        ),
    }
}

/// Appends `s` as a double-quoted Go string literal, matching
/// `strconv.Quote` for everything a log message realistically contains:
/// printable text is kept (including non-ASCII), control and invisible
/// characters are escaped so one log record can never span several lines.
fn push_go_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if !go_printable(c) => {
                let cp = u32::from(c);
                let _ = if cp <= 0xffff {
                    write!(out, "\\u{cp:04x}")
                } else {
                    write!(out, "\\U{cp:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Approximates Go's `strconv.IsPrint` for non-ASCII characters: controls,
/// non-space whitespace (which includes the U+2028/U+2029 line separators)
/// and the common invisible format characters are treated as unprintable.
fn go_printable(c: char) -> bool {
    if c.is_control() || (c.is_whitespace() && c != ' ') {
        return false;
    }
    !matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
    )
}

/// JSON-encodes a string the way Go's encoding/json does by default, which
/// additionally escapes HTML-significant characters and the JavaScript line
/// separators. Any JSON parser reads both forms the same; this just keeps
/// output byte-for-byte familiar to people diffing against runc.
fn json_string(s: &str) -> String {
    let encoded = serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""));
    if !encoded.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + 16);
    for c in encoded.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Writes one complete line with a single `write_all`, so lines from
/// concurrent processes appending to the same file do not interleave.
/// Failures are ignored: there is nowhere left to report them.
fn emit(sink: &Sink, line: &str) {
    let _ = match sink {
        Sink::File(f) => (&*f).write_all(line.as_bytes()),
        Sink::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
    };
}

/// Logs `msg` at `level`. Before `init` (or if it failed) lines go to
/// stderr as text, so errors hit while parsing arguments are never lost.
pub fn log(level: Level, msg: &str) {
    let (sink, format, debug) = match LOGGER.get() {
        Some(l) => (&l.sink, l.format, l.debug),
        None => (&Sink::Stderr, LogFormat::Text, false),
    };
    if level == Level::Debug && !debug {
        return;
    }
    let time = timefmt::rfc3339(SystemTime::now());
    let mut line = format_line(format, level, msg, &time);
    line.push('\n');
    emit(sink, &line);
}

/// Whether `--debug` was given; lets callers skip building expensive messages.
pub fn debug_enabled() -> bool {
    LOGGER.get().is_some_and(|l| l.debug)
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg);
}

pub fn error(msg: &str) {
    log(Level::Error, msg);
}

/// Times a phase of work for `--debug`; logs "<name> took <ms>ms" on drop.
///
/// Create it with [`step`] and keep it alive for the phase being measured
/// (`let _t = logging::step("create: mount rootfs");` — note `_t`, not `_`,
/// which would drop it immediately).
pub struct Step {
    name: &'static str,
    // None when debug is off, so the disabled path never reads the clock.
    start: Option<Instant>,
}

/// Starts timing the phase `name`. Costs one flag check when debug is off.
pub fn step(name: &'static str) -> Step {
    step_if(name, debug_enabled())
}

fn step_if(name: &'static str, enabled: bool) -> Step {
    Step {
        name,
        start: enabled.then(Instant::now),
    }
}

impl Step {
    fn message(&self, start: Instant) -> String {
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        format!("{} took {ms:.3}ms", self.name)
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            debug(&self.message(start));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    const T: &str = "2026-11-27T02:22:12Z";

    fn temp_path(tag: &str) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        std::env::temp_dir().join(format!(
            "berth-logging-{tag}-{}-{nanos}.log",
            std::process::id()
        ))
    }

    #[test]
    fn log_format_from_str() {
        assert_eq!("text".parse::<LogFormat>().unwrap(), LogFormat::Text);
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!(
            "xml".parse::<LogFormat>().unwrap_err().to_string(),
            "invalid log format \"xml\": expected text or json"
        );
        assert!("JSON".parse::<LogFormat>().is_err());
        assert!("".parse::<LogFormat>().is_err());
    }

    #[test]
    fn levels() {
        assert_eq!(Level::Debug.as_str(), "debug");
        assert_eq!(Level::Info.as_str(), "info");
        assert_eq!(Level::Warn.as_str(), "warning");
        assert_eq!(Level::Error.as_str(), "error");
        assert!(Level::Debug < Level::Info);
        assert!(Level::Info < Level::Warn);
        assert!(Level::Warn < Level::Error);
    }

    #[test]
    fn text_line() {
        assert_eq!(
            format_line(LogFormat::Text, Level::Error, "the message", T),
            r#"time="2026-11-27T02:22:12Z" level=error msg="the message""#
        );
        assert_eq!(
            format_line(LogFormat::Text, Level::Warn, "", T),
            r#"time="2026-11-27T02:22:12Z" level=warning msg="""#
        );
    }

    #[test]
    fn text_escaping_matches_strconv_quote() {
        let line = format_line(
            LogFormat::Text,
            Level::Info,
            "a \"b\" c\\d\ne\tf\r\u{1}\u{7}\u{8}\u{b}\u{c}\u{7f}",
            T,
        );
        assert_eq!(
            line,
            r#"time="2026-11-27T02:22:12Z" level=info msg="a \"b\" c\\d\ne\tf\r\x01\a\b\v\f\x7f""#
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn text_keeps_printable_unicode_and_escapes_invisible() {
        let line = format_line(LogFormat::Text, Level::Info, "héllo 世界 🦀", T);
        assert!(line.ends_with("msg=\"héllo 世界 🦀\""), "{line}");
        let line = format_line(
            LogFormat::Text,
            Level::Info,
            "x\u{85}y\u{2028}z\u{feff}\u{a0}",
            T,
        );
        assert!(
            line.ends_with(r#"msg="x\u0085y\u2028z\ufeff\u00a0""#),
            "{line}"
        );
    }

    #[test]
    fn json_line() {
        assert_eq!(
            format_line(LogFormat::Json, Level::Error, "the message", T),
            r#"{"level":"error","msg":"the message","time":"2026-11-27T02:22:12Z"}"#
        );
        assert_eq!(
            format_line(LogFormat::Json, Level::Warn, "w", T),
            r#"{"level":"warning","msg":"w","time":"2026-11-27T02:22:12Z"}"#
        );
    }

    #[test]
    fn json_escaping() {
        let msg = "q\"b\\n\nt\t\u{1}<a&b>\u{2028}é";
        let line = format_line(LogFormat::Json, Level::Debug, msg, T);
        assert_eq!(
            line,
            r#"{"level":"debug","msg":"q\"b\\n\nt\t\u0001\u003ca\u0026b\u003e\u2028é","time":"2026-11-27T02:22:12Z"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["msg"], msg);
        assert_eq!(v["level"], "debug");
        assert_eq!(v["time"], T);
    }

    #[test]
    fn step_disabled_does_not_read_clock() {
        let s = step_if("create: mount rootfs", false);
        assert!(s.start.is_none());
        let s = step_if("create: mount rootfs", true);
        assert!(s.start.is_some());
    }

    #[test]
    fn step_message_format() {
        let s = step_if("create: mount rootfs", true);
        let msg = s.message(s.start.unwrap());
        let rest = msg.strip_prefix("create: mount rootfs took ").unwrap();
        let num = rest.strip_suffix("ms").unwrap();
        let (_, frac) = num.split_once('.').unwrap();
        assert_eq!(frac.len(), 3, "{msg}");
        assert!(num.parse::<f64>().unwrap() >= 0.0);
    }

    #[test]
    fn concurrent_appends_do_not_interleave() {
        let path = temp_path("concurrent");
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Separate opens mimic separate processes sharing a file.
                    let f = OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(&path)
                        .unwrap();
                    let sink = Sink::File(f);
                    let msg = format!("thread {t} ").repeat(200);
                    for _ in 0..200 {
                        let mut line = format_line(LogFormat::Json, Level::Info, &msg, T);
                        line.push('\n');
                        emit(&sink, &line);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut text = String::new();
        File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 8 * 200);
        for l in lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["level"], "info");
        }
    }

    // The only test that touches the process-wide logger, because it can be
    // initialised just once per test binary.
    #[test]
    fn global_logger_writes_to_file() {
        let path = temp_path("global");
        std::fs::write(&path, "existing\n").unwrap();
        init(Some(&path), LogFormat::Json, true).unwrap();
        assert!(debug_enabled());
        assert!(init(None, LogFormat::Text, false).is_err());

        error("boom");
        warn("careful");
        log(Level::Info, "fyi");
        debug("details");
        {
            let _t = step("create: mount rootfs");
        }

        let text = std::fs::read_to_string(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        std::fs::remove_file(&path).unwrap();

        assert_eq!(mode & 0o777 & !0o644, 0);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("existing"), "must append, not truncate");
        let parsed: Vec<serde_json::Value> =
            lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        let got: Vec<(&str, &str)> = parsed
            .iter()
            .map(|v| (v["level"].as_str().unwrap(), v["msg"].as_str().unwrap()))
            .collect();
        assert_eq!(
            &got[..4],
            &[
                ("error", "boom"),
                ("warning", "careful"),
                ("info", "fyi"),
                ("debug", "details")
            ]
        );
        assert_eq!(got[4].0, "debug");
        assert!(got[4].1.starts_with("create: mount rootfs took "));
        assert!(got[4].1.ends_with("ms"));
        for v in &parsed {
            let t = v["time"].as_str().unwrap();
            assert_eq!(t.len(), T.len(), "{t}");
            assert!(t.ends_with('Z'));
        }
    }

    #[test]
    fn init_fails_on_unopenable_path() {
        // Fails before touching the global, so it cannot disturb the test
        // above whichever runs first.
        let err = init(
            Some(Path::new("/nonexistent-dir-for-berth-test/x.log")),
            LogFormat::Text,
            false,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("open log file"), "{err:#}");
    }
}
