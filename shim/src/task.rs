//! containerd's task service (ttrpc) on top of the shim's state: each method checks its
//! request, then calls `lifecycle` or berth's library.

use crate::lifecycle::{self, not_found};
use crate::service::{fail, internal, Shared, R};
use crate::state::Proc;
use crate::stdio::Paths;
use berth::container::state::Status as BStatus;
use berth::container::Container;
use containerd_shim::api::*;
use containerd_shim::protos::events::task as ev;
use containerd_shim::protos::protobuf::well_known_types::empty::Empty;
use containerd_shim::protos::protobuf::EnumOrUnknown;
use containerd_shim::protos::ttrpc::Code;
use containerd_shim::protos::types::task::ProcessInfo;
use containerd_shim::{Task, TtrpcContext};
use std::sync::Arc;

pub struct Service {
    pub s: Arc<Shared>,
}

impl Service {
    /// Run `f` on process `exec_id` of task `id`, under the lock.
    fn with_proc<T>(&self, id: &str, exec_id: &str, f: impl FnOnce(&mut Proc) -> R<T>) -> R<T> {
        let mut tasks = self.s.lock();
        let task = tasks.get_mut(id).ok_or_else(|| not_found(id))?;
        let p = task
            .proc_mut(exec_id)
            .ok_or_else(|| fail(Code::NOT_FOUND, format!("process {exec_id} not found")))?;
        f(p)
    }

    fn container(&self, id: &str) -> R<Container> {
        if !self.s.lock().contains_key(id) {
            return Err(not_found(id));
        }
        Container::open(&self.s.root, id).map_err(internal)
    }

    fn init_status(&self, id: &str) -> Status {
        match berth::container::peek(&self.s.root, id) {
            Ok((_, BStatus::Created)) => Status::CREATED,
            Ok((_, BStatus::Running)) => Status::RUNNING,
            Ok((_, BStatus::Paused)) => Status::PAUSED,
            Ok((_, BStatus::Stopped)) => Status::STOPPED,
            _ => Status::UNKNOWN,
        }
    }
}

fn empty() -> R<Empty> {
    Ok(Empty::new())
}

impl Task for Service {
    fn create(&self, _: &TtrpcContext, req: CreateTaskRequest) -> R<CreateTaskResponse> {
        let pid = lifecycle::create(&self.s, &req)?;
        Ok(CreateTaskResponse {
            pid,
            ..Default::default()
        })
    }

    fn start(&self, _: &TtrpcContext, req: StartRequest) -> R<StartResponse> {
        let pid = lifecycle::start(&self.s, &req.id, &req.exec_id)?;
        Ok(StartResponse {
            pid,
            ..Default::default()
        })
    }

    fn delete(&self, _: &TtrpcContext, req: DeleteRequest) -> R<DeleteResponse> {
        lifecycle::delete(&self.s, &req.id, &req.exec_id)
    }

    fn state(&self, _: &TtrpcContext, req: StateRequest) -> R<StateResponse> {
        let (bundle, mut resp) = {
            let mut tasks = self.s.lock();
            let task = tasks.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
            let bundle = task.bundle.display().to_string();
            let p = task.proc_mut(&req.exec_id).ok_or_else(|| {
                fail(
                    Code::NOT_FOUND,
                    format!("process {} not found", req.exec_id),
                )
            })?;
            let status = match (p.exit, p.pid) {
                (Some(_), _) => Status::STOPPED,
                (None, 0) => Status::CREATED,
                _ => Status::RUNNING,
            };
            let resp = StateResponse {
                id: req.id.clone(),
                pid: p.pid as u32,
                status: EnumOrUnknown::new(status),
                stdin: p.paths.stdin.clone(),
                stdout: p.paths.stdout.clone(),
                stderr: p.paths.stderr.clone(),
                terminal: p.paths.terminal,
                exit_status: p.exit_status(),
                exited_at: p.exited_at(),
                exec_id: req.exec_id.clone(),
                ..Default::default()
            };
            (bundle, resp)
        };
        resp.bundle = bundle;
        // The init's created/running/paused comes from berth (paused is the cgroup's).
        if req.exec_id.is_empty() && resp.status.enum_value() == Ok(Status::RUNNING) {
            match self.init_status(&req.id) {
                Status::UNKNOWN => {}
                st => resp.status = EnumOrUnknown::new(st),
            }
        }
        Ok(resp)
    }

    fn kill(&self, _: &TtrpcContext, req: KillRequest) -> R<Empty> {
        let sig = req.signal as i32;
        let pid = self.with_proc(&req.id, &req.exec_id, |p| {
            if p.exit.is_some() && !(req.all && req.exec_id.is_empty()) {
                return Err(fail(Code::NOT_FOUND, "process already finished"));
            }
            Ok(p.pid)
        })?;
        if req.exec_id.is_empty() {
            let c = self.container(&req.id)?;
            return c
                .signal(sig, req.all)
                .map_err(internal)
                .and_then(|()| empty());
        }
        if pid == 0 {
            return Err(fail(Code::FAILED_PRECONDITION, "process not started"));
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::try_from(sig).map_err(|e| fail(Code::INVALID_ARGUMENT, e))?,
        )
        .map_err(|e| fail(Code::NOT_FOUND, format!("kill exec {}: {e}", req.exec_id)))?;
        empty()
    }

    fn exec(&self, _: &TtrpcContext, req: ExecProcessRequest) -> R<Empty> {
        let spec = req
            .spec
            .as_ref()
            .map(|a| a.value.clone())
            .ok_or_else(|| fail(Code::INVALID_ARGUMENT, "exec without a process spec"))?;
        serde_json::from_slice::<oci_spec::runtime::Process>(&spec)
            .map_err(|e| fail(Code::INVALID_ARGUMENT, format!("exec process spec: {e}")))?;
        let mut tasks = self.s.lock();
        let task = tasks.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
        if task.execs.contains_key(&req.exec_id) || req.exec_id.is_empty() {
            return Err(fail(
                Code::ALREADY_EXISTS,
                format!("exec id {:?} already in use", req.exec_id),
            ));
        }
        let p = Proc {
            paths: Paths {
                stdin: req.stdin.clone(),
                stdout: req.stdout.clone(),
                stderr: req.stderr.clone(),
                terminal: req.terminal,
            },
            spec,
            ..Default::default()
        };
        task.execs.insert(req.exec_id.clone(), p);
        self.s.publish(
            "/tasks/exec-added",
            ev::TaskExecAdded {
                container_id: req.id.clone(),
                exec_id: req.exec_id.clone(),
                ..Default::default()
            },
        );
        empty()
    }

    fn resize_pty(&self, _: &TtrpcContext, req: ResizePtyRequest) -> R<Empty> {
        self.with_proc(&req.id, &req.exec_id, |p| match &p.console {
            Some(m) => crate::console::resize(m, req.width, req.height).map_err(internal),
            None => Err(fail(Code::FAILED_PRECONDITION, "process has no terminal")),
        })?;
        empty()
    }

    fn close_io(&self, _: &TtrpcContext, req: CloseIORequest) -> R<Empty> {
        self.with_proc(&req.id, &req.exec_id, |p| {
            if req.stdin {
                p.close_stdin();
            }
            Ok(())
        })?;
        empty()
    }

    fn pause(&self, _: &TtrpcContext, req: PauseRequest) -> R<Empty> {
        self.container(&req.id)?.pause().map_err(internal)?;
        self.s.publish(
            "/tasks/paused",
            ev::TaskPaused {
                container_id: req.id.clone(),
                ..Default::default()
            },
        );
        empty()
    }

    fn resume(&self, _: &TtrpcContext, req: ResumeRequest) -> R<Empty> {
        self.container(&req.id)?.resume().map_err(internal)?;
        self.s.publish(
            "/tasks/resumed",
            ev::TaskResumed {
                container_id: req.id.clone(),
                ..Default::default()
            },
        );
        empty()
    }

    fn pids(&self, _: &TtrpcContext, req: PidsRequest) -> R<PidsResponse> {
        let pids = self.container(&req.id)?.pids();
        Ok(PidsResponse {
            processes: pids
                .into_iter()
                .map(|pid| ProcessInfo {
                    pid: pid as u32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    fn stats(&self, _: &TtrpcContext, req: StatsRequest) -> R<StatsResponse> {
        let c = self.container(&req.id)?;
        let cg = c.cgroup().map_err(internal)?;
        let any = crate::metrics::collect(cg).map_err(internal);
        crate::trim::text();
        let any = any?;
        Ok(StatsResponse {
            stats: containerd_shim::protos::protobuf::MessageField::some(any),
            ..Default::default()
        })
    }

    fn update(&self, _: &TtrpcContext, req: UpdateTaskRequest) -> R<Empty> {
        let bundle = {
            let tasks = self.s.lock();
            tasks
                .get(&req.id)
                .ok_or_else(|| not_found(&req.id))?
                .bundle
                .clone()
        };
        let res = req
            .resources
            .as_ref()
            .map(|a| a.value.clone())
            .ok_or_else(|| fail(Code::INVALID_ARGUMENT, "update without resources"))?;
        serde_json::from_slice::<oci_spec::runtime::LinuxResources>(&res)
            .map_err(|e| fail(Code::INVALID_ARGUMENT, format!("update resources: {e}")))?;
        let file = bundle.join("update-resources.json");
        std::fs::write(&file, &res).map_err(|e| internal(e.into()))?;
        let f = file.display().to_string();
        let r = self
            .s
            .berth(&bundle)
            .run(&["update", "-r", &f, &req.id], None);
        let _ = std::fs::remove_file(&file);
        r.map_err(internal)?;
        empty()
    }

    fn wait(&self, _: &TtrpcContext, req: WaitRequest) -> R<WaitResponse> {
        let mut tasks = self.s.lock();
        loop {
            let task = tasks.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
            let p = task.proc_mut(&req.exec_id).ok_or_else(|| {
                fail(
                    Code::NOT_FOUND,
                    format!("process {} not found", req.exec_id),
                )
            })?;
            if p.exit.is_some() {
                return Ok(WaitResponse {
                    exit_status: p.exit_status(),
                    exited_at: p.exited_at(),
                    ..Default::default()
                });
            }
            tasks = self.s.exited.wait(tasks).unwrap();
        }
    }

    fn connect(&self, _: &TtrpcContext, req: ConnectRequest) -> R<ConnectResponse> {
        let task_pid = self.s.lock().get(&req.id).map_or(0, |t| t.init.pid as u32);
        Ok(ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            ..Default::default()
        })
    }

    fn shutdown(&self, _: &TtrpcContext, _req: ShutdownRequest) -> R<Empty> {
        if self.s.lock().is_empty() {
            self.s.exit.signal();
        }
        empty()
    }
}
