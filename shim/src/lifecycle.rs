//! Create, Start and Delete of inits and exec'd processes: the operations that make or
//! remove processes. berth makes them in a helper child (see `helper`); starting an init
//! and deleting a container are library calls.

use crate::service::{
    console_args, fail, finish_io, internal, mount_rootfs, new_io, now_exit, unmount_rootfs,
    Shared, R,
};
use crate::state::{timestamp, Proc, Task};
use crate::stdio::Paths;
use berth::container::Container;
use containerd_shim::api::{CreateTaskRequest, DeleteResponse};
use containerd_shim::protos::events::task as ev;
use containerd_shim::protos::ttrpc::Code;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Create the container's init (blocked until Start); returns its pid.
pub fn create(s: &Shared, req: &CreateTaskRequest) -> R<u32> {
    let id = req.id.as_str();
    berth::container::state::validate_id(id).map_err(|e| fail(Code::INVALID_ARGUMENT, e))?;
    if s.lock().contains_key(id) {
        return Err(fail(
            Code::ALREADY_EXISTS,
            format!("task {id} already exists"),
        ));
    }
    let bundle = PathBuf::from(&req.bundle);
    if !bundle.join("config.json").is_file() {
        return Err(fail(
            Code::INVALID_ARGUMENT,
            format!("bundle {:?} has no config.json", req.bundle),
        ));
    }
    let rootfs = mount_rootfs(&bundle, &req.rootfs).map_err(internal)?;
    let paths = Paths {
        stdin: req.stdin.clone(),
        stdout: req.stdout.clone(),
        stderr: req.stderr.clone(),
        terminal: req.terminal,
    };
    let made = make_init(s, id, &bundle, paths);
    let init = match made {
        Ok(p) => p,
        Err(e) => {
            if let Some(r) = &rootfs {
                unmount_rootfs(r);
            }
            return Err(internal(e));
        }
    };
    let pid = init.pid;
    let mut tasks = s.lock();
    tasks.insert(
        id.to_string(),
        Task {
            bundle: bundle.clone(),
            rootfs,
            init,
            execs: HashMap::new(),
        },
    );
    s.publish(
        "/tasks/create",
        ev::TaskCreate {
            container_id: id.to_string(),
            bundle: req.bundle.clone(),
            rootfs: req.rootfs.clone(),
            io: containerd_shim::protos::protobuf::MessageField::some(ev::TaskIO {
                stdin: req.stdin.clone(),
                stdout: req.stdout.clone(),
                stderr: req.stderr.clone(),
                terminal: req.terminal,
                ..Default::default()
            }),
            checkpoint: req.checkpoint.clone(),
            pid: pid as u32,
            ..Default::default()
        },
    );
    if let Some(exit) = reaper_watch(pid, id, "") {
        s.record_exit(&mut tasks, &(id.to_string(), String::new()), exit);
    }
    Ok(pid as u32)
}

fn reaper_watch(pid: i32, id: &str, exec_id: &str) -> Option<crate::reaper::Exit> {
    crate::reaper::get().watch(pid, (id.to_string(), exec_id.to_string()))
}

fn make_init(s: &Shared, id: &str, bundle: &Path, paths: Paths) -> anyhow::Result<Proc> {
    let io = new_io(&paths, id, &s.ns)?;
    let pid_file = bundle.join("init.pid");
    let bundle_s = bundle.display().to_string();
    let pid_s = pid_file.display().to_string();
    let mut args = vec!["create", "--bundle", &bundle_s, "--pid-file", &pid_s];
    let console = console_args(&io);
    args.extend(console.iter().map(String::as_str));
    args.push(id);
    let mut io = io;
    s.berth(bundle).run(&args, io.fds.take())?;
    let mut p = Proc {
        pid: crate::helper::read_pid(&pid_file)?,
        paths,
        ..Default::default()
    };
    if let Err(e) = finish_io(io, &mut p) {
        if let Ok(c) = Container::open(&s.root, id) {
            let _ = c.destroy(true);
        }
        return Err(e);
    }
    Ok(p)
}

/// Start the init (a library call) or an added exec; returns the pid.
pub fn start(s: &Shared, id: &str, exec_id: &str) -> R<u32> {
    if !exec_id.is_empty() {
        return start_exec(s, id, exec_id);
    }
    // Under the lock: the init's exit must not be published before its start.
    let mut tasks = s.lock();
    let task = tasks.get_mut(id).ok_or_else(|| not_found(id))?;
    let pid = task.init.pid as u32;
    let c = Container::open(&s.root, id).map_err(internal)?;
    if c.state().poststart().is_empty() {
        c.start().map_err(internal)?;
    } else {
        // Hooks are waited for by berth; in here the reaper would take their exits.
        let bundle = task.bundle.clone();
        drop(c);
        s.berth(&bundle)
            .run(&["start", id], None)
            .map_err(internal)?;
    }
    s.publish(
        "/tasks/start",
        ev::TaskStart {
            container_id: id.to_string(),
            pid,
            ..Default::default()
        },
    );
    Ok(pid)
}

pub fn not_found(id: &str) -> containerd_shim::protos::ttrpc::Error {
    fail(Code::NOT_FOUND, format!("task {id} not found"))
}

fn start_exec(s: &Shared, id: &str, exec_id: &str) -> R<u32> {
    let (bundle, paths, spec) = {
        let mut tasks = s.lock();
        let task = tasks.get_mut(id).ok_or_else(|| not_found(id))?;
        let bundle = task.bundle.clone();
        let p = task.execs.get_mut(exec_id).ok_or_else(|| {
            fail(
                Code::NOT_FOUND,
                format!("exec {exec_id} of task {id} not found"),
            )
        })?;
        if p.pid != 0 {
            return Err(fail(
                Code::FAILED_PRECONDITION,
                format!("exec {exec_id} already started"),
            ));
        }
        (bundle, p.paths.clone(), std::mem::take(&mut p.spec))
    };
    let made = make_exec(s, id, exec_id, &bundle, paths, &spec).map_err(internal);
    let mut tasks = s.lock();
    let p = tasks
        .get_mut(id)
        .and_then(|t| t.execs.get_mut(exec_id))
        .ok_or_else(|| not_found(id))?;
    let made = made?;
    p.pid = made.pid;
    p.stdin = made.stdin;
    p.console = made.console;
    p.out_done = made.out_done;
    let pid = p.pid;
    s.publish(
        "/tasks/exec-started",
        ev::TaskExecStarted {
            container_id: id.to_string(),
            exec_id: exec_id.to_string(),
            pid: pid as u32,
            ..Default::default()
        },
    );
    if let Some(exit) = reaper_watch(pid, id, exec_id) {
        s.record_exit(&mut tasks, &(id.to_string(), exec_id.to_string()), exit);
    }
    Ok(pid as u32)
}

fn make_exec(
    s: &Shared,
    id: &str,
    exec_id: &str,
    bundle: &Path,
    paths: Paths,
    spec: &[u8],
) -> anyhow::Result<Proc> {
    let io = new_io(&paths, id, &s.ns)?;
    let process = bundle.join(format!("exec-{exec_id}.json"));
    let pid_file = bundle.join(format!("exec-{exec_id}.pid"));
    std::fs::write(&process, spec)?;
    let (process_s, pid_s) = (
        process.display().to_string(),
        pid_file.display().to_string(),
    );
    let mut args = vec![
        "exec",
        "--process",
        &process_s,
        "--detach",
        "--pid-file",
        &pid_s,
    ];
    let console = console_args(&io);
    args.extend(console.iter().map(String::as_str));
    args.push(id);
    let mut io = io;
    let r = s.berth(bundle).run(&args, io.fds.take());
    let _ = std::fs::remove_file(&process);
    r?;
    let pid = crate::helper::read_pid(&pid_file);
    let _ = std::fs::remove_file(&pid_file);
    let mut p = Proc {
        pid: pid?,
        paths,
        ..Default::default()
    };
    finish_io(io, &mut p)?;
    Ok(p)
}

/// Delete an exited exec, or the container (its init must have exited or never started).
pub fn delete(s: &Shared, id: &str, exec_id: &str) -> R<DeleteResponse> {
    let mut tasks = s.lock();
    let task = tasks.get_mut(id).ok_or_else(|| not_found(id))?;
    if !exec_id.is_empty() {
        let p = task.execs.get(exec_id).ok_or_else(|| not_found(exec_id))?;
        if p.exit.is_none() && p.pid != 0 {
            return Err(fail(
                Code::FAILED_PRECONDITION,
                format!("exec {exec_id} is still running"),
            ));
        }
        let p = task.execs.remove(exec_id).unwrap_or_default();
        return Ok(response(&p));
    }
    let c = Container::open(&s.root, id).map_err(internal)?;
    if c.state().poststop().is_empty() {
        c.destroy(false).map_err(internal)?;
    } else {
        // As for start: berth itself waits for the poststop hooks.
        drop(c);
        s.berth(&task.bundle)
            .run(&["delete", id], None)
            .map_err(internal)?;
    }
    let mut task = tasks.remove(id).unwrap_or_else(|| unreachable!());
    if let Some(r) = &task.rootfs {
        unmount_rootfs(r);
    }
    // A created init that never ran was killed by the delete.
    if task.init.exit.is_none() {
        task.init.exit = Some(now_exit(137));
    }
    task.init.close_stdin();
    let resp = response(&task.init);
    s.publish(
        "/tasks/delete",
        ev::TaskDelete {
            container_id: id.to_string(),
            pid: resp.pid,
            exit_status: resp.exit_status,
            exited_at: resp.exited_at.clone(),
            id: id.to_string(),
            ..Default::default()
        },
    );
    s.exited.notify_all();
    Ok(resp)
}

fn response(p: &Proc) -> DeleteResponse {
    DeleteResponse {
        pid: p.pid as u32,
        exit_status: p.exit_status(),
        exited_at: p.exit.map_or(Default::default(), |e| timestamp(e.at)),
        ..Default::default()
    }
}
