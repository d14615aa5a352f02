//! systemd's Manager over D-Bus: start a transient unit and wait for its job, stop one,
//! change its properties. The system bus is tried first, then systemd's private
//! socket (no bus daemon needed), as runc does; as non-root, the user's.

use super::dbus::{Call, Conn, Msg, Remote};
use super::props::Prop;
use super::wire::Val;
use anyhow::{anyhow, bail, Result};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a job may take (runc waits as long).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

fn manager(member: &str) -> Call<'_> {
    Call {
        dest: Some("org.freedesktop.systemd1"),
        path: "/org/freedesktop/systemd1",
        interface: "org.freedesktop.systemd1.Manager",
        member,
    }
}

fn prop_array(props: Vec<Prop>) -> Val {
    let items = props.into_iter();
    let items = items.map(|(n, v)| Val::Struct(vec![Val::Str(n), Val::Variant(Box::new(v))]));
    Val::Array("(sv)".into(), items.collect())
}

pub struct Systemd {
    conn: Conn,
}

fn sockets() -> Vec<(PathBuf, bool)> {
    if nix::unistd::geteuid().is_root() {
        return vec![
            ("/run/dbus/system_bus_socket".into(), true),
            ("/run/systemd/private".into(), false),
        ];
    }
    let run = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let run = run.unwrap_or_else(|| format!("/run/user/{}", nix::unistd::geteuid()).into());
    vec![
        (run.join("bus"), true),
        (run.join("systemd/private"), false),
    ]
}

impl Systemd {
    /// Connect, with one error naming every place tried when none answers.
    pub fn connect() -> Result<Systemd> {
        let mut tried = Vec::new();
        for (path, bus) in sockets() {
            match Conn::open(&path, bus, JOB_TIMEOUT) {
                Ok(conn) => {
                    crate::logging::debug(&format!("systemd: through {}", path.display()));
                    return Ok(Systemd { conn });
                }
                Err(e) => tried.push(format!("{e:#}")),
            }
        }
        bail!(
            "--systemd-cgroup: systemd is not running, or its bus is missing ({})",
            tried.join("; ")
        )
    }

    fn call(&mut self, member: &str, args: &[Val]) -> Result<Vec<Val>> {
        self.conn.call(&manager(member), args).map_err(|e| {
            // No systemd behind a bus that runs without it.
            match e.downcast_ref::<Remote>() {
                Some(r) if r.name == "org.freedesktop.DBus.Error.ServiceUnknown" => {
                    anyhow!("--systemd-cgroup: systemd is not running on this bus ({r})")
                }
                _ => e,
            }
        })
    }

    /// Ask to hear about finished jobs (a bus routes signals only to who asked).
    fn watch_jobs(&mut self) -> Result<()> {
        if !self.conn.bus {
            return Ok(());
        }
        let rule = "type='signal',sender='org.freedesktop.systemd1',\
                    interface='org.freedesktop.systemd1.Manager',member='JobRemoved'";
        let add = Call {
            dest: Some("org.freedesktop.DBus"),
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "AddMatch",
        };
        self.conn.call(&add, &[Val::str(rule)]).map(drop)
    }

    /// Wait for JobRemoved of `job`; its result ("done" is success).
    fn wait_job(&mut self, job: &str) -> Result<String> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        let pick = |m: &Msg| match (m.member.as_deref(), &m.body[..]) {
            (Some("JobRemoved"), [_, path, _, result]) if path.as_str() == Some(job) => {
                result.as_str().map(str::to_string)
            }
            _ => None,
        };
        self.conn
            .wait_signal(deadline, pick)
            .map_err(|e| anyhow!("systemd job {job}: {e:#}"))
    }

    /// StartTransientUnit and wait until its job is done.
    pub fn start(&mut self, unit: &str, props: Vec<Prop>) -> Result<()> {
        self.watch_jobs()?;
        let props = prop_array(props);
        let aux = Val::Array("(sa(sv))".into(), Vec::new());
        let args = [Val::str(unit), Val::str("fail"), props, aux];
        let reply = self.call("StartTransientUnit", &args).map_err(|e| {
            match e.downcast_ref::<Remote>() {
                Some(r) if r.name == "org.freedesktop.systemd1.UnitExists" => {
                    crate::errors::Error::config(
                        "linux.cgroupsPath",
                        format!("systemd unit {unit:?} already exists"),
                    )
                    .into()
                }
                _ => anyhow!("systemd: start unit {unit}: {e:#}"),
            }
        })?;
        let job = reply
            .first()
            .and_then(Val::as_str)
            .unwrap_or("")
            .to_string();
        match self.wait_job(&job)?.as_str() {
            "done" => Ok(()),
            r => {
                self.reset_failed(unit);
                bail!("systemd: start unit {unit}: the job ended with {r:?}")
            }
        }
    }

    /// StopUnit and wait; a unit already gone (an emptied scope stops by itself) is fine.
    pub fn stop(&mut self, unit: &str) -> Result<()> {
        self.watch_jobs()?;
        let reply = match self.call("StopUnit", &[Val::str(unit), Val::str("replace")]) {
            Ok(r) => r,
            Err(e) => match e.downcast_ref::<Remote>() {
                Some(r) if r.name == "org.freedesktop.systemd1.NoSuchUnit" => return Ok(()),
                _ => return Err(e.context(format!("systemd: stop unit {unit}"))),
            },
        };
        let job = reply
            .first()
            .and_then(Val::as_str)
            .unwrap_or("")
            .to_string();
        let result = self.wait_job(&job)?;
        self.reset_failed(unit);
        match result.as_str() {
            "done" | "canceled" => Ok(()),
            r => bail!("systemd: stop unit {unit}: the job ended with {r:?}"),
        }
    }

    /// A failed unit stays listed until reset; nothing of the container may remain.
    fn reset_failed(&mut self, unit: &str) {
        if let Err(e) = self.call("ResetFailedUnit", &[Val::str(unit)]) {
            crate::logging::debug(&format!("systemd: reset {unit}: {e:#}"));
        }
    }

    pub fn set_properties(&mut self, unit: &str, props: Vec<Prop>) -> Result<()> {
        let props = prop_array(props);
        self.call(
            "SetUnitProperties",
            &[Val::str(unit), Val::Bool(true), props],
        )
        .map(drop)
        .map_err(|e| anyhow!("systemd: set properties of {unit}: {e:#}"))
    }
}
