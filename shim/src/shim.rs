//! The shim process's own lifecycle for containerd: `start` (spawn or reuse the shim of
//! the container's group), `delete` (clean up after a shim that died), serving.

use crate::service::{unmount_rootfs, Shared};
use crate::task::Service;
use berth::container::Container;
use containerd_shim::api::DeleteResponse;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{Config, ExitSignal, Flags, Shim, StartOpts};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Containers of one Kubernetes pod share their sandbox's shim, as with the Go shim.
const SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";

pub struct BerthShim {
    ns: String,
    id: String,
    bundle: PathBuf,
    exit: Arc<ExitSignal>,
}

/// The group a container's shim serves: its pod's sandbox id, else its own id.
fn grouping(bundle: &Path, id: &str) -> String {
    let spec: Option<serde_json::Value> = std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    spec.as_ref()
        .and_then(|s| s["annotations"][SANDBOX_ID].as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or(id)
        .to_string()
}

/// The `start` action: spawn (or find) the group's shim and print its address. Plain
/// text, as containerd 1.6 reads it (later versions accept it too); the crate's own
/// start answers in JSON, which 1.6 cannot parse.
pub fn start(flags: &Flags) -> i32 {
    let bundle = std::env::current_dir().unwrap_or_default();
    let opts = StartOpts {
        id: flags.id.clone(),
        publish_binary: flags.publish_binary.clone(),
        address: flags.address.clone(),
        ttrpc_address: std::env::var("TTRPC_ADDRESS").unwrap_or_default(),
        namespace: flags.namespace.clone(),
        debug: flags.debug,
        ..Default::default()
    };
    let group = grouping(&bundle, &flags.id);
    let r = containerd_shim::spawn(opts, &group, Vec::new()).and_then(|(_, address)| {
        containerd_shim::util::write_address(&address)?;
        Ok(address)
    });
    match r {
        Ok(address) => {
            print!("{address}");
            0
        }
        Err(e) => {
            eprintln!("{}: start: {e}", crate::RUNTIME_ID);
            1
        }
    }
}

impl Shim for BerthShim {
    type T = Service;

    fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        let bundle = if args.bundle.is_empty() {
            std::env::current_dir().unwrap_or_default()
        } else {
            PathBuf::from(&args.bundle)
        };
        BerthShim {
            ns: args.namespace.clone(),
            id: args.id.clone(),
            bundle,
            exit: Arc::new(ExitSignal::default()),
        }
    }

    fn start_shim(&mut self, opts: StartOpts) -> containerd_shim::Result<String> {
        let group = grouping(&self.bundle, &opts.id);
        let (_pid, address) = containerd_shim::spawn(opts, &group, Vec::new())?;
        containerd_shim::util::write_address(&address)?;
        Ok(address)
    }

    fn delete_shim(&mut self) -> containerd_shim::Result<DeleteResponse> {
        let root = std::env::var_os("BERTH_SHIM_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(crate::DEFAULT_ROOT))
            .join(&self.ns);
        if let Ok(c) = Container::open(&root, &self.id) {
            let _ = c.destroy(true);
        }
        unmount_rootfs(&self.bundle.join("rootfs"));
        Ok(DeleteResponse {
            exit_status: 137,
            exited_at: crate::state::timestamp(std::time::SystemTime::now()),
            ..Default::default()
        })
    }

    // Serving is `serve::serve`; the crate's bootstrap only runs `delete` here.
    fn wait(&mut self) {
        self.exit.wait();
    }

    fn create_task_service(&self, _publisher: RemotePublisher) -> Service {
        let ttrpc = std::env::var("TTRPC_ADDRESS").unwrap_or_default();
        Service {
            s: Shared::new(&self.ns, &ttrpc, self.exit.clone()),
        }
    }
}
