//! sd_notify passthrough: with NOTIFY_SOCKET set, the container gets its own socket at
//! /run/notify/notify.sock, and `start` relays its READY=1 (with MAINPID) to ours.

use crate::common::*;
use serde_json::json;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[test]
fn ready_is_relayed_with_mainpid() {
    let berth = Berth::new("notify");
    let tmp = TempDir::new("notify");
    let host = tmp.path().join("host.sock");
    let listener = UnixDatagram::bind(&host).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();

    let mut b = Bundle::new("notify");
    b.add_mount(json!({"destination": "/out", "type": "bind", "source": out.to_str().unwrap(), "options": ["rbind"]}));
    b.sh("echo \"$NOTIFY_SOCKET $(test -S /run/notify/notify.sock && echo socket)\" > /out/info; sleep 3600");
    b.write_config();
    let id = berth.id("n");
    let mut create = berth.command();
    create
        .env("NOTIFY_SOCKET", &host)
        .args(["create", "--bundle", b.path_str(), &id]);
    run_command(create, Duration::from_secs(30)).ok();
    let pid = berth.pid(&id);

    // `start` blocks until the container says READY=1; play the container's part.
    let mut start = berth.command();
    start.env("NOTIFY_SOCKET", &host).args(["start", &id]);
    let starter = std::thread::spawn(move || run_command(start, Duration::from_secs(30)));
    let inner = berth.root().join(&id).join("notify/notify.sock");
    let sender = UnixDatagram::unbound().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sender.send_to(b"STATUS=almost\nREADY=1\n", &inner).is_err() {
        assert!(
            Instant::now() < deadline,
            "container notify socket never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    starter.join().unwrap().ok();

    let mut buf = [0u8; 256];
    let n = listener.recv(&mut buf).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("READY=1\nMAINPID={pid}\n")
    );
    // Inside, the process saw its own socket.
    let deadline = Instant::now() + Duration::from_secs(10);
    let info = loop {
        if let Ok(s) = std::fs::read_to_string(out.join("info")) {
            if !s.is_empty() {
                break s;
            }
        }
        assert!(Instant::now() < deadline, "container never wrote /out/info");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(info.trim(), "/run/notify/notify.sock socket");
    berth.delete_force(&id).ok();
}
