//! Scenarios only berth's own shim (containerd-shim-berth-v2) has: cgroup metrics and
//! through the task API, an OOM kill's exit code and event, many tasks at once.

use super::containerd_env::Containerd;
use super::images::IMAGE;
use crate::common::{unique, wait_until};
use containerd_shim_protos::protobuf::well_known_types::any::Any;
use serde_json::Value;

fn metrics(c: &Containerd, id: &str) -> Value {
    let out = c.ctr(&["tasks", "metrics", "--format", "json", id]).ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("metrics JSON: {e}: {out}"))
}

pub fn metrics_oom(c: &Containerd) {
    let id = unique("metrics");
    c.ctr_run(&["-d", "--memory-limit=67108864", IMAGE, &id, "sleep", "600"])
        .ok();
    let m = metrics(c, &id);
    assert_eq!(m["memory"]["usage"]["limit"], 67108864, "{m}");
    assert!(m["pids"]["current"].as_u64() >= Some(1), "{m}");
    assert!(m["cpu"]["usage"]["total"].as_u64() > Some(0), "{m}");
    // (ctr 1.6 has no `tasks update`: Update is not reached from here.)
    c.stop_task(&id, "SIGKILL");
    let rm = c.remove(&id);
    assert!(rm.stderr.contains("137"), "{rm}");

    // The kernel kills the process for its memory: 137, and containerd hears of the OOM.
    let events = c.events();
    let id = unique("oom");
    let grow = "x=a; while true; do x=$x$x; done";
    let out = c.ctr_run(&[
        "--rm",
        "--memory-limit=16777216",
        IMAGE,
        &id,
        "sh",
        "-c",
        grow,
    ]);
    assert_eq!(out.code, 137, "{out}");
    wait_until("oom event", || events.text().contains("/tasks/oom"));
}

pub fn many_tasks(c: &Containerd) {
    const N: usize = 20;
    let ids: Vec<String> = (0..N).map(|i| unique(&format!("many{i}"))).collect();
    std::thread::scope(|sc| {
        for chunk in ids.chunks(5) {
            sc.spawn(move || {
                for id in chunk {
                    c.ctr_run(&[
                        "-d",
                        IMAGE,
                        id,
                        "sh",
                        "-c",
                        "trap 'exit 7' TERM; sleep 600 & wait",
                    ])
                    .ok();
                }
            });
        }
    });
    let ls = c.ctr(&["tasks", "ls"]).ok();
    let running = ls.stdout.lines().filter(|l| l.contains("RUNNING")).count();
    assert_eq!(running, N, "{ls}");
    // Each runs in a shim of its own, and each exit code comes back exactly.
    let running = shims(c);
    assert_eq!(running.len(), N, "shims: {running:?}");
    for id in &ids {
        c.ctr(&["tasks", "kill", "-s", "SIGTERM", id]).ok();
    }
    wait_until("all stopped", || {
        let ls = c.ctr(&["tasks", "ls"]).stdout;
        ls.lines().filter(|l| l.contains("STOPPED")).count() == N
    });
    for id in &ids {
        let rm = c.remove(id);
        assert!(
            rm.stderr.contains("exit code: 7") || rm.stderr.contains("7"),
            "{rm}"
        );
    }
    wait_until("shims to exit", || shims(c).is_empty());
}

/// The shim processes serving this test's namespace.
fn shims(c: &Containerd) -> Vec<i32> {
    super::host::pids_with(&["containerd-shim-berth-v2", &format!("-namespace {} ", c.ns)])
}

/// containerd goes away and comes back while a task runs: the shim carries on, containerd
/// finds it again, and exec, kill, the exit code and delete all still work.
pub fn survives_restart(c: &mut Containerd) {
    let id = unique("restart");
    c.ctr_run(&["-d", IMAGE, &id, "sleep", "600"]).ok();
    let before = shims(c);
    assert_eq!(before.len(), 1, "{before:?}");
    c.restart();
    assert_eq!(shims(c), before, "the shim did not outlive containerd");
    let ls = c.ctr(&["tasks", "ls"]).ok();
    assert!(ls.stdout.contains("RUNNING"), "{ls}");
    let out = c.ctr(&[
        "tasks",
        "exec",
        "--exec-id",
        "after",
        &id,
        "sh",
        "-c",
        "echo back",
    ]);
    assert_eq!(out.stdout, "back\n", "{out}");
    c.stop_task(&id, "SIGKILL");
    let rm = c.remove(&id);
    assert!(rm.stderr.contains("137"), "{rm}");
}

/// `binary://` stdio: containerd's logging-binary protocol (pipes on fds 3 and 4, fd 5
/// closed once ready, the task named in the environment).
pub fn binary_logger(c: &Containerd) {
    let dir = c.dir.path();
    let out = dir.join("logger.out");
    let logger = dir.join("logger.sh");
    let script = format!(
        "#!/bin/sh\necho \"$CONTAINER_NAMESPACE/$CONTAINER_ID\" > {0}\nexec 5>&-\n\
         cat <&3 >> {0} &\ncat <&4 | sed s/^/err:/ >> {0}\nwait\n",
        out.display()
    );
    std::fs::write(&logger, script).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&logger, mode).unwrap();
    let id = unique("logger");
    let uri = format!("binary://{}", logger.display());
    c.ctr_run(&[
        "-d",
        "--log-uri",
        &uri,
        IMAGE,
        &id,
        "sh",
        "-c",
        "echo to-out; echo to-err >&2",
    ])
    .ok();
    wait_until("logger output", || {
        let t = std::fs::read_to_string(&out).unwrap_or_default();
        t.contains("to-out") && t.contains("err:to-err")
    });
    let t = std::fs::read_to_string(&out).unwrap();
    assert!(t.starts_with(&format!("{}/{id}\n", c.ns)), "{t}");
    wait_until("task to stop", || {
        c.ctr(&["tasks", "ls"]).stdout.contains("STOPPED")
    });
    c.remove(&id);
}

/// Containers that name a sandbox in `io.kubernetes.cri.sandbox-id` share its shim (one
/// shim per pod), which lives until the last of them is deleted.
pub fn one_shim_per_pod(c: &Containerd) {
    let bundle = crate::common::Bundle::new("ctr-pod");
    let pod = unique("pod");
    let spec_for = |id: &str, args: &[&str]| {
        let mut spec: Value = serde_json::from_str(&c.ctr(&["oci", "spec"]).ok().stdout).unwrap();
        spec["root"] = serde_json::json!({"path": bundle.rootfs(), "readonly": false});
        spec["process"]["args"] = serde_json::json!(args);
        spec["linux"]["cgroupsPath"] = serde_json::json!(format!("/{}/{id}", c.ns));
        spec["annotations"] = serde_json::json!({"io.kubernetes.cri.sandbox-id": pod});
        let path = c.dir.path().join(format!("{id}.json"));
        std::fs::write(&path, spec.to_string()).unwrap();
        path
    };
    let members: Vec<String> = (0..3).map(|i| format!("{pod}-c{i}")).collect();
    for id in std::iter::once(&pod).chain(&members) {
        let spec = spec_for(id, &["sleep", "600"]);
        c.ctr_run(&["-d", "--config", spec.to_str().unwrap(), id])
            .ok();
    }
    assert_eq!(shims(c).len(), 1, "one shim for the pod");
    let ls = c.ctr(&["tasks", "ls"]).ok();
    assert_eq!(ls.stdout.matches("RUNNING").count(), 4, "{ls}");
    // A short-lived container in the pod: its own output and exit code.
    let id = format!("{pod}-run");
    let spec = spec_for(&id, &["sh", "-c", "echo from-pod; exit 5"]);
    let out = c.ctr_run(&["--rm", "--config", spec.to_str().unwrap(), &id]);
    assert_eq!((out.code, out.stdout.as_str()), (5, "from-pod\n"), "{out}");
    for id in members.iter().chain(std::iter::once(&pod)) {
        c.ctr(&["tasks", "kill", "-s", "SIGKILL", id]).ok();
        wait_until("task to stop", || {
            c.ctr(&["tasks", "ls"])
                .stdout
                .lines()
                .any(|l| l.starts_with(id.as_str()) && l.contains("STOPPED"))
        });
        c.remove(id);
        if id != &pod {
            assert_eq!(shims(c).len(), 1, "the pod's shim left early");
        }
    }
    wait_until("the pod's shim to exit", || shims(c).is_empty());
}

/// The task API of the shim serving `id`, straight over its socket (as containerd does).
fn task_client(c: &Containerd, id: &str) -> containerd_shim_protos::TaskClient {
    let bundle = c
        .dir
        .path()
        .join("state/io.containerd.runtime.v2.task")
        .join(&c.ns)
        .join(id);
    let address = std::fs::read_to_string(bundle.join("address")).unwrap();
    let client = containerd_shim_protos::ttrpc::Client::connect(address.trim()).unwrap();
    containerd_shim_protos::TaskClient::new(client)
}

fn ctx() -> containerd_shim_protos::ttrpc::context::Context {
    containerd_shim_protos::ttrpc::context::with_timeout(10_000_000_000)
}

fn any(type_url: &str, value: &[u8]) -> containerd_shim_protos::protobuf::MessageField<Any> {
    containerd_shim_protos::protobuf::MessageField::some(Any {
        type_url: type_url.into(),
        value: value.to_vec(),
        ..Default::default()
    })
}

/// Update (which ctr 1.6 cannot send) changes the limits; malformed requests get an error
/// that says what is wrong, and change nothing.
pub fn update_and_bad_requests(c: &Containerd) {
    use containerd_shim_protos::api::*;
    let id = unique("update");
    c.ctr_run(&["-d", "--memory-limit=67108864", IMAGE, &id, "sleep", "600"])
        .ok();
    let t = task_client(c, &id);
    let res = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
    let req = UpdateTaskRequest {
        id: id.clone(),
        resources: any(res, br#"{"memory":{"limit":33554432},"pids":{"limit":20}}"#),
        ..Default::default()
    };
    t.update(ctx(), &req).unwrap();
    let m = metrics(c, &id);
    assert_eq!(m["memory"]["usage"]["limit"], 33554432, "{m}");
    assert_eq!(m["pids"]["limit"], 20, "{m}");

    let err = |r: Result<_, containerd_shim_protos::ttrpc::Error>| {
        format!("{:?}", r.expect_err("an error"))
    };
    let bad = UpdateTaskRequest {
        id: id.clone(),
        resources: any(res, b"{not json"),
        ..Default::default()
    };
    assert!(err(t.update(ctx(), &bad).map(drop)).contains("update resources"));
    let exec = ExecProcessRequest {
        id: id.clone(),
        exec_id: "bad".into(),
        spec: any(
            "types.containerd.io/opencontainers/runtime-spec/1/Process",
            b"[]",
        ),
        ..Default::default()
    };
    assert!(err(t.exec(ctx(), &exec).map(drop)).contains("exec process spec"));
    let kill = KillRequest {
        id: "no-such-task".into(),
        signal: 9,
        ..Default::default()
    };
    let e = err(t.kill(ctx(), &kill).map(drop));
    assert!(e.contains("NOT_FOUND") && e.contains("no-such-task"), "{e}");
    let create = CreateTaskRequest {
        id: "../escape".into(),
        bundle: "/nonexistent".into(),
        ..Default::default()
    };
    assert!(!err(t.create(ctx(), &create).map(drop)).is_empty());
    // The bad exec left no process behind: the task still has only its init.
    let st = t.state(
        ctx(),
        &StateRequest {
            id: id.clone(),
            exec_id: "bad".into(),
            ..Default::default()
        },
    );
    assert!(st.is_err(), "{st:?}");
    drop(t);
    c.stop_task(&id, "SIGKILL");
    c.remove(&id);
}

/// Stdin reaches the process, and so does its end (ctr closes the fifo, or sends CloseIO,
/// once its own input ends): `cat` finishes.
pub fn stdin_and_close_io(c: &Containerd) {
    let id = unique("stdin");
    let mut cmd = std::process::Command::new(super::support::tool("ctr"));
    cmd.args(&c.ctr_argv()[1..]);
    cmd.args(c.runtime_args());
    cmd.args(["--rm", IMAGE, &id, "sh", "-c", "cat; echo done"]);
    let out = super::support::run_with_input(cmd, "line1\nline2\n", super::support::ENGINE_TIMEOUT);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "line1\nline2\ndone\n"),
        "{out}"
    );
}
