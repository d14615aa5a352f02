//! Publishing task events to containerd over its ttrpc socket, on one thread so they leave
//! in order and a slow containerd never holds up a request. Each event is packed by hand
//! (its containerd type name and its bytes): the crate's publisher packs through protobuf
//! reflection, which builds descriptors and pulls in code a shim otherwise never runs,
//! and memory per container is what a shim costs.

use crate::state::timestamp;
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::{Message, MessageField};
use containerd_shim::protos::shim::event::Envelope;
use containerd_shim::protos::shim::events::ForwardRequest;
use containerd_shim::protos::shim_sync::{Client, EventsClient};
use containerd_shim::protos::ttrpc;
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::SystemTime;

/// How long without events before the shim counts as idle.
const QUIET: std::time::Duration = std::time::Duration::from_secs(1);

struct Event {
    topic: &'static str,
    any: Any,
    at: SystemTime,
}

pub struct Publisher {
    tx: Mutex<mpsc::Sender<Event>>,
}

/// containerd's name of the event type published on `topic`.
fn type_name(topic: &str) -> &'static str {
    match topic {
        "/tasks/create" => "containerd.events.TaskCreate",
        "/tasks/start" => "containerd.events.TaskStart",
        "/tasks/exit" => "containerd.events.TaskExit",
        "/tasks/delete" => "containerd.events.TaskDelete",
        "/tasks/oom" => "containerd.events.TaskOOM",
        "/tasks/exec-added" => "containerd.events.TaskExecAdded",
        "/tasks/exec-started" => "containerd.events.TaskExecStarted",
        "/tasks/paused" => "containerd.events.TaskPaused",
        "/tasks/resumed" => "containerd.events.TaskResumed",
        _ => "",
    }
}

impl Publisher {
    /// Start the publishing thread for containerd at `address` (its ttrpc socket).
    pub fn start(address: &str, ns: &str) -> Publisher {
        let (tx, rx) = mpsc::channel::<Event>();
        let (address, ns) = (address.to_string(), ns.to_string());
        std::thread::Builder::new()
            .name("events".into())
            .stack_size(512 * 1024)
            .spawn(move || {
                let mut client = connect(&address);
                // Every event follows work (create, start, exit, delete...): once things
                // are quiet for a second, drop the code that work mapped (see `trim`).
                let mut worked = false;
                loop {
                    let next = if worked {
                        rx.recv_timeout(QUIET)
                    } else {
                        rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
                    };
                    let e = match next {
                        Ok(e) => e,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            crate::trim::text();
                            worked = false;
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    };
                    worked = true;
                    let req = request(&e, &ns);
                    if forward(client.as_ref(), &req) {
                        continue;
                    }
                    // A restarted containerd is a new connection: connect, retry once.
                    client = connect(&address);
                    if !forward(client.as_ref(), &req) {
                        log::warn!("publish {}: containerd unreachable", e.topic);
                    }
                }
            })
            .expect("spawn events thread");
        Publisher { tx: Mutex::new(tx) }
    }

    pub fn publish<M: Message>(&self, topic: &'static str, e: M) {
        let any = Any {
            type_url: type_name(topic).to_string(),
            value: e.write_to_bytes().unwrap_or_default(),
            ..Default::default()
        };
        let ev = Event {
            topic,
            any,
            at: SystemTime::now(),
        };
        let _ = self.tx.lock().unwrap().send(ev);
    }
}

fn request(e: &Event, ns: &str) -> ForwardRequest {
    let env = Envelope {
        timestamp: timestamp(e.at),
        namespace: ns.to_string(),
        topic: e.topic.to_string(),
        event: MessageField::some(e.any.clone()),
        ..Default::default()
    };
    ForwardRequest {
        envelope: MessageField::some(env),
        ..Default::default()
    }
}

fn connect(address: &str) -> Option<EventsClient> {
    let path = address.strip_prefix("unix://").unwrap_or(address);
    let s = UnixStream::connect(path).ok()?;
    let client = Client::new(s.into_raw_fd()).ok()?;
    Some(EventsClient::new(client))
}

fn forward(client: Option<&EventsClient>, req: &ForwardRequest) -> bool {
    let Some(c) = client else {
        return false;
    };
    c.forward(ttrpc::context::with_timeout(5_000_000_000), req)
        .is_ok()
}
