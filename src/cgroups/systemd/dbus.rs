//! A minimal blocking D-Bus client: one unix socket, EXTERNAL authentication, method
//! calls and the signals that arrive meanwhile. Enough to drive systemd's Manager; no
//! threads, no executor (a create must stay single-threaded until its clone).

use super::wire::{Reader, Val, Writer};
use crate::errors::describe_io;
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const SIGNAL: u8 = 4;

/// The address, interface and member of a call, as D-Bus names them.
pub struct Call<'a> {
    pub dest: Option<&'a str>,
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
}

/// A received message.
#[derive(Debug)]
pub struct Msg {
    pub kind: u8,
    pub reply_serial: Option<u32>,
    pub member: Option<String>,
    pub error: Option<String>,
    pub body: Vec<Val>,
}

/// An error reply, by its D-Bus name (`org.freedesktop.systemd1.UnitExists`...).
#[derive(Debug)]
pub struct Remote {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.name)
    }
}

impl std::error::Error for Remote {}

pub struct Conn {
    sock: BufReader<UnixStream>,
    serial: u32,
    /// Signals read while waiting for a reply, for `wait_signal`.
    pending: Vec<Msg>,
    /// Talking to a bus daemon (Hello and AddMatch), not to systemd directly.
    pub bus: bool,
}

impl Conn {
    /// Connect and authenticate as our uid; on a bus, say Hello.
    pub fn open(path: &Path, bus: bool, timeout: Duration) -> Result<Conn> {
        let s = UnixStream::connect(path)
            .map_err(|e| anyhow!("connect to {}: {}", path.display(), describe_io(&e)))?;
        s.set_read_timeout(Some(timeout))?;
        let mut c = Conn {
            sock: BufReader::new(s),
            serial: 0,
            pending: Vec::new(),
            bus,
        };
        c.auth()
            .with_context(|| format!("D-Bus at {}", path.display()))?;
        if bus {
            let hello = Call {
                dest: Some("org.freedesktop.DBus"),
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "Hello",
            };
            c.call(&hello, &[])?;
        }
        Ok(c)
    }

    /// EXTERNAL authentication, pipelined as sd-bus does it. Asking for fd passing makes
    /// the server answer only after it has read BEGIN: a call sent right behind BEGIN
    /// can otherwise sit unread in systemd's buffer (seen on its private socket).
    fn auth(&mut self) -> Result<()> {
        let uid = nix::unistd::geteuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        let hello = format!("\0AUTH EXTERNAL {hex}\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n");
        self.sock.get_mut().write_all(hello.as_bytes())?;
        let mut line = String::new();
        self.sock.read_line(&mut line)?;
        if !line.starts_with("OK ") {
            bail!("authentication refused: {:?}", line.trim_end());
        }
        // AGREE_UNIX_FD, or ERROR from a server without fd passing: either way, BEGIN
        // has been read when this arrives.
        line.clear();
        self.sock.read_line(&mut line)?;
        Ok(())
    }

    /// Send a call; the serial to match its reply by.
    fn send(&mut self, c: &Call, args: &[Val]) -> Result<u32> {
        self.serial += 1;
        let serial = self.serial;
        let mut body = Writer::default();
        for a in args {
            body.put(a);
        }
        let sig: String = args.iter().map(Val::signature).collect();
        let field =
            |code: u8, v: Val| Val::Struct(vec![Val::Byte(code), Val::Variant(Box::new(v))]);
        let mut fields = vec![
            field(1, Val::Path(c.path.into())),
            field(2, Val::str(c.interface)),
            field(3, Val::str(c.member)),
        ];
        if let Some(d) = c.dest {
            fields.push(field(6, Val::str(d)));
        }
        if !sig.is_empty() {
            fields.push(field(8, Val::Sig(sig)));
        }
        let mut m = Writer::default();
        m.buf.extend_from_slice(&[b'l', METHOD_CALL, 0, 1]);
        m.put(&Val::U32(body.buf.len() as u32));
        m.put(&Val::U32(serial));
        m.put(&Val::Array("(yv)".into(), fields));
        m.pad(8);
        m.buf.extend_from_slice(&body.buf);
        self.sock
            .get_mut()
            .write_all(&m.buf)
            .map_err(|e| anyhow!("D-Bus: send {}: {}", c.member, describe_io(&e)))?;
        Ok(serial)
    }

    /// Call a method and wait for its reply; an error reply becomes a `Remote` error.
    pub fn call(&mut self, c: &Call, args: &[Val]) -> Result<Vec<Val>> {
        let serial = self.send(c, args)?;
        loop {
            let m = self.recv()?;
            if m.reply_serial == Some(serial) && m.kind == METHOD_RETURN {
                return Ok(m.body);
            }
            if m.reply_serial == Some(serial) && m.kind == ERROR {
                let message = m.body.first().and_then(Val::as_str).unwrap_or("");
                return Err(Remote {
                    name: m.error.unwrap_or_default(),
                    message: message.to_string(),
                }
                .into());
            }
            if m.kind == SIGNAL {
                self.pending.push(m);
            }
        }
    }

    /// Wait (until `deadline`) for a signal `pick` accepts.
    pub fn wait_signal<T>(
        &mut self,
        deadline: Instant,
        mut pick: impl FnMut(&Msg) -> Option<T>,
    ) -> Result<T> {
        if let Some(t) = self.pending.drain(..).find_map(|m| pick(&m)) {
            return Ok(t);
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("timed out");
            }
            self.sock.get_mut().set_read_timeout(Some(left))?;
            let m = self.recv()?;
            if m.kind == SIGNAL {
                if let Some(t) = pick(&m) {
                    return Ok(t);
                }
            }
        }
    }

    fn recv(&mut self) -> Result<Msg> {
        let mut head = [0u8; 16];
        self.sock.read_exact(&mut head).map_err(read_error)?;
        if head[0] != b'l' {
            bail!("D-Bus: big-endian messages are not supported");
        }
        let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (body_len, fields_len) = (word(4) as usize, word(12) as usize);
        if body_len > 1 << 26 || fields_len > 1 << 26 {
            bail!("D-Bus: message too large");
        }
        let total = (16 + fields_len).div_ceil(8) * 8 + body_len;
        let mut buf = head.to_vec();
        buf.resize(total, 0);
        self.sock.read_exact(&mut buf[16..]).map_err(read_error)?;
        let mut r = Reader::new(&buf, 12);
        let Val::Array(_, fields) = r.get(b"a(yv)")? else {
            bail!("D-Bus: bad header");
        };
        let mut m = Msg {
            kind: head[1],
            reply_serial: None,
            member: None,
            error: None,
            body: Vec::new(),
        };
        let mut sig = String::new();
        for f in &fields {
            let Val::Struct(kv) = f else { continue };
            let (Some(Val::Byte(code)), Some(v)) = (kv.first(), kv.get(1)) else {
                continue;
            };
            match code {
                3 => m.member = v.as_str().map(str::to_string),
                4 => m.error = v.as_str().map(str::to_string),
                5 => m.reply_serial = v.as_u32(),
                8 => sig = v.as_str().unwrap_or("").to_string(),
                _ => {}
            }
        }
        let start = (16 + fields_len).div_ceil(8) * 8;
        m.body = Reader::new(&buf[start..], 0).all(&sig)?;
        Ok(m)
    }
}

fn read_error(e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            anyhow!("D-Bus: no answer (timed out)")
        }
        std::io::ErrorKind::UnexpectedEof => anyhow!("D-Bus: the other side hung up"),
        _ => anyhow!("D-Bus: read: {}", describe_io(&e)),
    }
}
