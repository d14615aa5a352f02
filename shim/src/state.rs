//! What the shim knows about its tasks: per container the bundle and the init, per exec
//! id the exec'd processes, each with its stdio and (once reaped) its exit.

use crate::reaper::Exit;
use crate::stdio::{Done, Paths, StdinHandle};
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::protobuf::MessageField;
use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

#[derive(Default)]
pub struct Proc {
    /// 0 until started (an exec) or created (the init).
    pub pid: i32,
    pub paths: Paths,
    pub exit: Option<Exit>,
    /// The pty master of a terminal process.
    pub console: Option<File>,
    pub stdin: Option<StdinHandle>,
    /// Set once a terminal's output has all been copied.
    pub out_done: Option<Done>,
    /// An exec's process (runtime-spec Process JSON), until it is started.
    pub spec: Vec<u8>,
}

impl Proc {
    pub fn exit_status(&self) -> u32 {
        self.exit.map_or(0, |e| e.code)
    }

    pub fn exited_at(&self) -> MessageField<Timestamp> {
        self.exit.map_or(MessageField::none(), |e| timestamp(e.at))
    }

    /// Close the process's stdin (CloseIO, or the process is gone).
    pub fn close_stdin(&mut self) {
        if let Some(h) = self.stdin.take() {
            h.lock().unwrap().take();
        }
    }
}

pub struct Task {
    pub bundle: PathBuf,
    /// The rootfs the shim mounted from containerd's mounts (unmounted on delete).
    pub rootfs: Option<PathBuf>,
    pub init: Proc,
    pub execs: HashMap<String, Proc>,
}

impl Task {
    pub fn proc_mut(&mut self, exec_id: &str) -> Option<&mut Proc> {
        if exec_id.is_empty() {
            Some(&mut self.init)
        } else {
            self.execs.get_mut(exec_id)
        }
    }
}

pub fn timestamp(t: std::time::SystemTime) -> MessageField<Timestamp> {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut ts = Timestamp::new();
    ts.seconds = d.as_secs() as i64;
    ts.nanos = d.subsec_nanos() as i32;
    MessageField::some(ts)
}
