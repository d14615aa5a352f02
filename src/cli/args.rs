//! Command-line definitions mirroring runc's commands and flags.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    about = "Open Container Initiative runtime",
    long_about = ABOUT,
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// enable debug logging: every step of create, with its duration
    #[arg(long, global = true)]
    pub debug: bool,
    /// write log lines to this file instead of stderr
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// log format: text or json
    #[arg(
        long = "log-format",
        global = true,
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: String,
    /// directory for container state (default: /run/berth, or $XDG_RUNTIME_DIR/berth
    /// for a user)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// path to the criu binary; accepted for runc's callers, berth has no checkpoint/restore
    #[arg(long, global = true, value_name = "PATH")]
    pub criu: Option<PathBuf>,
    /// use systemd to manage cgroups (linux.cgroupsPath is slice:prefix:name)
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// rootless mode: true, false or auto (auto: when not root, or root of a user
    /// namespace); rootless containers go without a cgroup unless the user may make one
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// print the version
    #[arg(short = 'v', long = "version", global = false)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The program's description in `-h` (urfave/cli prints it under NAME, after the name).
const ABOUT: &str = "\
Open Container Initiative runtime

berth runs containers from OCI bundles, as the runtime-spec describes them, and takes
runc's commands, flags and exit codes, so engines that drive runc can drive berth.

A bundle is a directory holding config.json and the root filesystem it names. To run
a container from the bundle in the current directory:

    # berth run [ -b bundle ] <container-id>

The container id must be unique on this host (under one --root).";

/// runc's verbs, in the order `runc -h` lists them.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// checkpoint a running container (not supported: berth has no criu)
    ///
    /// runc saves a container's state with criu. berth parses runc's flags so that a
    /// caller gets this one clear error rather than an unknown command, and changes
    /// nothing.
    Checkpoint(CheckpointArgs),
    /// create a container
    ///
    /// The init process is made and set up, then waits: `start` runs the process of
    /// config.json. The bundle is the directory holding config.json and the root
    /// filesystem.
    Create(CreateArgs),
    /// delete a container and everything it holds
    Delete(DeleteArgs),
    /// display a container's resource usage and OOM events
    Events(EventsArgs),
    /// run another process inside a running container
    ///
    /// The process is config.json's `process` changed by the flags, or with --process
    /// the whole process from a JSON file.
    Exec(ExecArgs),
    /// send a signal (default: SIGTERM) to the container's init process
    Kill(KillArgs),
    /// list the containers under --root
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// suspend every process of the container
    Pause(IdArg),
    /// list the processes of a container
    Ps(PsArgs),
    /// restore a container from a checkpoint (not supported: berth has no criu)
    ///
    /// runc restores a container criu saved. berth parses runc's flags so that a caller
    /// gets this one clear error rather than an unknown command, and makes nothing.
    Restore(RestoreArgs),
    /// resume the processes of a paused container
    Resume(IdArg),
    /// create and start a container, and wait for it
    Run(RunArgs),
    /// write a starter config.json into the bundle directory
    ///
    /// The file is runc's default: a busybox-style shell as the process, the usual
    /// namespaces, mounts and capabilities. Edit `process.args` to run something else.
    Spec(SpecArgs),
    /// start the process of a created container
    Start(IdArg),
    /// print the state of a container as JSON
    State(IdArg),
    /// change the resource limits of a running container
    ///
    /// Limits come from the flags, or from a JSON file (linux.resources' shape) with -r.
    Update(UpdateArgs),
    /// print what this build of berth supports, as JSON
    Features,
    /// show the commands, or the help of one command
    #[command(visible_alias = "h")]
    Help(HelpArgs),
}

#[derive(Args, Debug)]
pub struct HelpArgs {
    /// The command to describe
    #[arg(value_name = "command")]
    pub topic: Option<String>,
}

/// `checkpoint`: runc's flags, parsed so that they are not the error.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// path for saving criu image files
    #[arg(long = "image-path", value_name = "PATH")]
    pub image_path: Option<PathBuf>,
    /// path for saving work files and logs
    #[arg(long = "work-path", value_name = "PATH")]
    pub work_path: Option<PathBuf>,
    /// path for previous criu image files in pre-dump
    #[arg(long = "parent-path", value_name = "PATH")]
    pub parent_path: Option<PathBuf>,
    /// leave the process running after checkpointing
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// allow open tcp connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// use userfaultfd to lazily restore memory pages
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
    /// criu writes \0 to this fd once lazy-pages is ready
    #[arg(long = "status-fd", default_value_t = -1, allow_negative_numbers = true, value_name = "FD")]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server
    #[arg(long = "page-server", value_name = "ADDRESS:PORT")]
    pub page_server: Option<String>,
    /// handle file locks
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// dump the container's memory only, leave it running
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// cgroups mode: soft (default), full or strict
    #[arg(long = "manage-cgroups-mode", value_name = "MODE")]
    pub manage_cgroups_mode: Option<String>,
    /// create a namespace, but do not restore its properties; may be repeated
    #[arg(long = "empty-ns", value_name = "NS")]
    pub empty_ns: Vec<String>,
    /// enable auto deduplication of memory images
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `restore`: runc's flags, parsed so that they are not the error.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// AF_UNIX socket that receives the pty master
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// path to criu image files for restoring
    #[arg(long = "image-path", value_name = "PATH")]
    pub image_path: Option<PathBuf>,
    /// path for saving work files and logs
    #[arg(long = "work-path", value_name = "PATH")]
    pub work_path: Option<PathBuf>,
    /// allow open tcp connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// handle file locks
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// cgroups mode: soft (default), full or strict
    #[arg(long = "manage-cgroups-mode", value_name = "MODE")]
    pub manage_cgroups_mode: Option<String>,
    /// path to the root of the bundle directory
    #[arg(short = 'b', long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// file to write the process id to
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// do not become a subreaper for the container's processes
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// use MS_MOVE and chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// create a namespace, but do not restore its properties; may be repeated
    #[arg(long = "empty-ns", value_name = "NS")]
    pub empty_ns: Vec<String>,
    /// enable auto deduplication of memory images
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// use userfaultfd to lazily restore memory pages
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
    /// LSM profile for the restored process, TYPE:NAME
    #[arg(long = "lsm-profile", value_name = "TYPE:NAME")]
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restore
    #[arg(long = "lsm-mount-context", value_name = "CONTEXT")]
    pub lsm_mount_context: Option<String>,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

#[derive(Args, Debug)]
pub struct CommonCreate {
    /// Path to the bundle directory
    #[arg(short = 'b', long, default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master of a terminal container
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// File to write the init's pid to
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not give the container its own session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass this many fds (from 3 on) to the container process
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Path to the root of the bundle directory (default: the current directory)
    #[arg(short = 'b', long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Generate a configuration for a rootless container
    // The id is the global --rootless's on purpose: clap then does not propagate the global
    // (which takes a separate value) into `spec`, so `spec --rootless` is a plain flag
    // (`--rootless=BOOL` too, as Go's flag package allows), as runc documents it. The price:
    // clap shares one value per id across levels, so `berth --rootless=true spec` also gives
    // a rootless file, where runc would ignore the global there.
    #[arg(id = "rootless", long = "rootless", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub rootless: Option<String>,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub common: CommonCreate,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonCreate,
    /// Return once the container has started
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep the container's state after it exits
    #[arg(long)]
    pub keep: bool,
    /// Do not become a subreaper for the container's processes
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

#[derive(Args, Debug)]
pub struct IdArg {
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send the signal to every process of the container
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
    /// Signal name or number
    #[arg(default_value = "SIGTERM", value_name = "signal")]
    pub signal: String,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill the container first if it is running
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Output format: table or json
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    /// Print only the container ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `exec`: runc's flags. Without `--process`, the process starts from config.json's
/// `process` and the flags change it; with `--process`, process.json is the whole process.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Unix socket that receives the pty master (with --tty and --detach)
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Working directory in the container
    #[arg(long, value_name = "PATH")]
    pub cwd: Option<PathBuf>,
    /// Add an environment variable (NAME=value); may be repeated
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Allocate a pseudo-terminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Run as this user: uid[:gid]
    #[arg(short = 'u', long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Add a supplementary group; may be repeated
    #[arg(
        short = 'g',
        long = "additional-gids",
        value_name = "GID",
        allow_negative_numbers = true
    )]
    pub additional_gids: Vec<i64>,
    /// Take the whole process from this JSON file (the config's `process` shape)
    #[arg(short = 'p', long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Return once the process has started
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the process's pid to
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// SELinux label for the process
    #[arg(long = "process-label", value_name = "LABEL")]
    pub process_label: Option<String>,
    /// AppArmor profile for the process
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability to the bounding, effective and permitted sets; may be repeated
    #[arg(short = 'c', long = "cap", value_name = "CAP")]
    pub cap: Vec<String>,
    /// Pass this many fds (from 3 on) to the process
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// Join a sub-cgroup of the container: PATH, or CONTROLLER[,CONTROLLER]:PATH (v1)
    #[arg(long, value_name = "PATH")]
    pub cgroup: Vec<String>,
    /// Exec even into a paused container (the process starts once it is resumed)
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
    /// The command and its arguments (not with --process)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "command"
    )]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// JSON file with the resources (as linux.resources in config.json), or - for stdin
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// Block I/O weight, 10 to 1000
    #[arg(long = "blkio-weight", value_name = "N")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds
    #[arg(long = "cpu-period", value_name = "US")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period (-1: none)
    #[arg(long = "cpu-quota", value_name = "US", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst in microseconds
    #[arg(long = "cpu-burst", value_name = "US")]
    pub cpu_burst: Option<u64>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share", visible_alias = "cpu-shares", value_name = "N")]
    pub cpu_shares: Option<u64>,
    /// CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "US")]
    pub cpu_rt_period: Option<u64>,
    /// CPU real-time runtime in microseconds per period
    #[arg(
        long = "cpu-rt-runtime",
        value_name = "US",
        allow_negative_numbers = true
    )]
    pub cpu_rt_runtime: Option<i64>,
    /// SCHED_IDLE for the container's cgroup (0 or 1)
    #[arg(long = "cpu-idle", value_name = "N")]
    pub cpu_idle: Option<i64>,
    /// CPUs to run on (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to allocate from
    #[arg(long = "cpuset-mems", value_name = "LIST")]
    pub cpuset_mems: Option<String>,
    /// Memory limit in bytes (k, m, g suffixes; -1: none)
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit) in bytes
    #[arg(
        long = "memory-reservation",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit in bytes (-1: unlimited swap)
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Obsolete, ignored (as by runc)
    #[arg(
        long = "kernel-memory",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer memory limit in bytes (cgroup v1)
    #[arg(
        long = "kernel-memory-tcp",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub kernel_memory_tcp: Option<String>,
    /// Maximum number of processes (-1: none)
    #[arg(long = "pids-limit", value_name = "N", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT L3 cache schema (not supported)
    #[arg(long = "l3-cache-schema", value_name = "SCHEMA")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (not supported)
    #[arg(long = "mem-bw-schema", value_name = "SCHEMA")]
    pub mem_bw_schema: Option<String>,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Output format: table (ps's own) or json (the pids)
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
    /// Arguments for ps (default -ef)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ps options"
    )]
    pub ps_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// How often to print resource usage (5s, 500ms, 1m)
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub interval: String,
    /// Print resource usage once and exit
    #[arg(long)]
    pub stats: bool,
    /// Container id
    #[arg(value_name = "container-id")]
    pub id: String,
}
