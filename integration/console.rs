//! Terminals (`process.terminal`): `create --console-socket` with a receiver that plays
//! containerd's part, `run` in the foreground driving the pty itself, and the bad inputs.

use crate::common::*;
use serde_json::json;
use std::fs;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// A console socket as an engine provides one: a listening unix socket in a temp dir.
pub struct ConsoleSocket {
    _dir: TempDir,
    path: PathBuf,
    listener: UnixListener,
}

/// What the runtime sent: the pty master, the name that came with it, and the
/// connection (to check that the runtime closed its end).
pub struct Received {
    pub master: OwnedFd,
    pub name: String,
    pub conn: UnixStream,
}

impl ConsoleSocket {
    pub fn new(name: &str) -> ConsoleSocket {
        let dir = TempDir::new(name);
        let path = dir.path().join("console.sock");
        let listener = UnixListener::bind(&path).expect("bind console socket");
        listener.set_nonblocking(true).unwrap();
        ConsoleSocket {
            _dir: dir,
            path,
            listener,
        }
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// Accepts the runtime's connection and receives one fd by SCM_RIGHTS, as go-runc's
    /// console socket and runc's recvtty do.
    pub fn receive(&self) -> Received {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        let conn = loop {
            match self.listener.accept() {
                Ok((c, _)) => break c,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        Instant::now() < deadline,
                        "nobody connected to the console socket"
                    );
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept on console socket: {e}"),
            }
        };
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(WAIT_TIMEOUT)).unwrap();
        let mut name = vec![0u8; 4096];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let (fds, len) = {
            let mut iov = [IoSliceMut::new(&mut name)];
            let msg = recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )
            .expect("recvmsg on console socket");
            let mut fds = Vec::new();
            for c in msg.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(r) = c {
                    fds.extend(r);
                }
            }
            (fds, msg.bytes)
        };
        assert_eq!(fds.len(), 1, "expected exactly one fd, got {fds:?}");
        name.truncate(len);
        Received {
            // SAFETY: the kernel just installed this fd for us; nothing else owns it.
            master: unsafe { OwnedFd::from_raw_fd(fds[0]) },
            name: String::from_utf8_lossy(&name).into_owned(),
            conn,
        }
    }
}

/// Reads `fd` (a pty master) until `done` holds for what was read, the other side is
/// closed (EIO), or `timeout` passes. Returns everything read, with "\r\n" as "\n".
pub fn read_pty(fd: &OwnedFd, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&out).replace("\r\n", "\n");
        if done(&text) {
            return text;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return text;
        }
        let ms = u16::try_from(left.as_millis().min(500)).unwrap();
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Err(e) => panic!("poll pty: {e}"),
            Ok(_) => {}
        }
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(Errno::EIO) => return String::from_utf8_lossy(&out).replace("\r\n", "\n"),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(e) => panic!("read pty: {e}"),
        }
    }
}

fn terminal_bundle(name: &str, script: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.sh(script);
    b.config["process"]["terminal"] = json!(true);
    b
}

fn set_pty_size(fd: &OwnedFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from a live value.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(r, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
}

#[test]
fn console_socket_receives_the_master() {
    let berth = Berth::new("tty-sock");
    let mut b = terminal_bundle(
        "tty-sock",
        "test -t 0 && echo tty; stty size; readlink /proc/self/fd/0; \
         if : </dev/tty; then echo ctty; fi; ls -l /dev/console",
    );
    b.config["process"]["consoleSize"] = json!({"height": 25, "width": 91});
    b.write_config();
    let sock = ConsoleSocket::new("tty-sock");
    let id = berth.id("t");
    berth
        .run(&[
            "create",
            "--bundle",
            b.path_str(),
            "--console-socket",
            sock.path_str(),
            &id,
        ])
        .ok();
    let mut got = sock.receive();
    assert_eq!(got.name, "/dev/ptmx");
    // The init closed the socket after sending (and `create` closed its copy).
    let mut rest = Vec::new();
    assert_eq!(got.conn.read_to_end(&mut rest).unwrap(), 0, "{rest:?}");

    berth.start(&id).ok();
    let out = read_pty(&got.master, WAIT_TIMEOUT, |_| false);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"tty"), "{out:?}");
    assert!(lines.contains(&"25 91"), "consoleSize not applied: {out:?}");
    assert!(lines.contains(&"/dev/pts/0"), "stdin is not pts/0: {out:?}");
    assert!(lines.contains(&"ctty"), "no controlling terminal: {out:?}");
    let console = lines
        .iter()
        .find(|l| l.ends_with("/dev/console"))
        .unwrap_or_else(|| panic!("no /dev/console line: {out:?}"));
    // The pts slave (major 136) bound onto /dev/console.
    assert!(
        console.starts_with('c') && console.contains("136,"),
        "{console:?}"
    );
    berth.wait_status(&id, "stopped");
    berth.delete(&id).ok();
    assert_no_processes(&b);
}

#[test]
fn console_socket_with_a_user_process() {
    // The slave must belong to the process's user so it can reopen its terminal.
    let berth = Berth::new("tty-user");
    let mut b = terminal_bundle(
        "tty-user",
        "id -u; if : </dev/tty; then echo ctty; fi; stat -c %u /proc/self/fd/0",
    );
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.write_config();
    let sock = ConsoleSocket::new("tty-user");
    let id = berth.id("u");
    berth
        .run(&[
            "create",
            "--bundle",
            b.path_str(),
            "--console-socket",
            sock.path_str(),
            &id,
        ])
        .ok();
    let got = sock.receive();
    berth.start(&id).ok();
    let out = read_pty(&got.master, WAIT_TIMEOUT, |_| false);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["1000", "ctty", "1000"], "{out:?}");
}

#[test]
fn run_in_the_foreground_drives_the_pty() {
    let berth = Berth::new("tty-run");
    let b = terminal_bundle(
        "tty-run",
        "test -t 0 && echo tty; stty size; read x; echo got:$x; stty size; exit 3",
    );
    b.write_config();
    let id = berth.id("r");
    let ws = nix::pty::Winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&ws), None).expect("openpty");
    let before = nix::sys::termios::tcgetattr(pty.master.as_fd()).unwrap();
    let mut cmd = berth.command();
    cmd.args(["run", "--bundle", b.path_str(), &id])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave));
    let mut child = cmd.spawn().expect("spawn berth run");
    // Only berth holds the slave now, so the master reports EIO once berth is gone.
    drop(cmd);

    let first = read_pty(&pty.master, WAIT_TIMEOUT, |t| t.contains("30 100\n"));
    // berth's own stderr (warnings) shares this terminal: look for lines, not a prefix.
    assert!(first.lines().any(|l| l == "tty"), "{first:?}");
    assert!(
        first.contains("30 100\n"),
        "the pty did not get our size: {first:?}"
    );

    // A resize of our terminal, then input: berth applies the resize first.
    set_pty_size(&pty.master, 40, 120);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGWINCH,
    )
    .unwrap();
    nix::unistd::write(&pty.master, b"hello\n").unwrap();
    let rest = read_pty(&pty.master, WAIT_TIMEOUT, |_| false);

    let deadline = Instant::now() + WAIT_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("berth run did not exit; output: {first:?} {rest:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(3), "output: {first:?} {rest:?}");
    assert!(rest.contains("got:hello\n"), "{rest:?}");
    assert!(
        rest.contains("40 120\n"),
        "SIGWINCH did not resize: {rest:?}"
    );
    // The caller's terminal is back in the mode it was in.
    let after = nix::sys::termios::tcgetattr(pty.master.as_fd()).unwrap();
    assert_eq!(before.local_flags, after.local_flags);
    assert_eq!(before.input_flags, after.input_flags);
    assert_eq!(before.output_flags, after.output_flags);
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
    assert_no_processes(&b);
}

#[test]
fn run_with_a_terminal_but_no_tty_of_our_own() {
    // stdin is /dev/null and stdout a file: bytes are proxied, consoleSize stays.
    let berth = Berth::new("tty-notty");
    let mut b = terminal_bundle("tty-notty", "test -t 1 && echo tty; stty size; exit 5");
    b.config["process"]["consoleSize"] = json!({"height": 24, "width": 80});
    let id = berth.id("n");
    let out = berth.run_bundle(&b, &id, &[]);
    assert_eq!(out.code, 5, "{out}");
    let text = out.stdout.replace("\r\n", "\n");
    assert_eq!(text, "tty\n24 80\n", "{out}");
}

/// A failed create with a terminal: one error line, non-zero exit, nothing left behind.
fn create_fails(berth: &Berth, b: &Bundle, extra: &[&str]) -> String {
    let id = berth.id("bad");
    b.write_config();
    let before = host_mounts();
    let mut args = vec!["create", "--bundle", b.path_str()];
    args.extend_from_slice(extra);
    args.push(&id);
    let out = berth.run(&args).fails();
    assert!(
        berth.state_entries().is_empty(),
        "state left: {:?}",
        berth.state_entries()
    );
    berth.state(&id).fails();
    assert_mounts_unchanged(&before);
    assert_no_processes(b);
    out.single_error_line()
}

#[test]
fn console_socket_path_missing() {
    let berth = Berth::new("tty-nosock");
    let b = terminal_bundle("tty-nosock", "true");
    let dir = TempDir::new("tty-nosock");
    let missing = dir.path().join("nope.sock");
    let line = create_fails(&berth, &b, &["--console-socket", missing.to_str().unwrap()]);
    assert!(
        line.contains("--console-socket") && line.contains("nope.sock"),
        "{line}"
    );
}

#[test]
fn console_socket_path_not_a_socket() {
    let berth = Berth::new("tty-notsock");
    let b = terminal_bundle("tty-notsock", "true");
    let dir = TempDir::new("tty-notsock");
    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    let line = create_fails(&berth, &b, &["--console-socket", file.to_str().unwrap()]);
    assert!(
        line.contains("--console-socket") && line.contains("not a socket"),
        "{line}"
    );
}

#[test]
fn terminal_without_console_socket_in_create() {
    let berth = Berth::new("tty-nosockarg");
    let b = terminal_bundle("tty-nosockarg", "true");
    let line = create_fails(&berth, &b, &[]);
    assert!(
        line.contains("cannot allocate tty") && line.contains("console socket"),
        "{line}"
    );
}

#[test]
fn console_socket_without_terminal() {
    let berth = Berth::new("tty-noterm");
    let mut b = Bundle::new("tty-noterm");
    b.sh("true");
    let sock = ConsoleSocket::new("tty-noterm");
    let line = create_fails(&berth, &b, &["--console-socket", sock.path_str()]);
    assert!(
        line.contains("--console-socket") && line.contains("cannot use console socket"),
        "{line}"
    );
    // `run` in the foreground drives the terminal itself: a socket is refused there too.
    let b = terminal_bundle("tty-noterm-run", "true");
    let id = berth.id("fg");
    let out = berth.run_bundle(&b, &id, &["--console-socket", sock.path_str()]);
    let line = out.clone().fails().single_error_line();
    assert!(line.contains("cannot use console socket"), "{line}");
    assert!(berth.state_entries().is_empty());
}
