//! Command-line definitions mirroring runc's commands and flags.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    about = "berth: an OCI container runtime",
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version of berth and of the runtime-spec it implements
    #[arg(short = 'v', long = "version", global = false)]
    pub version: bool,
    /// Log every step of create, with its duration
    #[arg(long, global = true)]
    pub debug: bool,
    /// Write log lines to this file instead of stderr
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(
        long = "log-format",
        global = true,
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: String,
    /// Directory for container state
    #[arg(long, global = true, default_value = crate::state::DEFAULT_ROOT, value_name = "DIR")]
    pub root: PathBuf,
    /// Use systemd to manage cgroups
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for compatibility with runc; berth decides rootless mode itself
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container (the init waits for `start`)
    Create(CreateArgs),
    /// Start the process of a created container
    Start(IdArg),
    /// Print the state of a container as JSON
    State(IdArg),
    /// Send a signal to the container's init process
    Kill(KillArgs),
    /// Delete a container and what it holds
    Delete(DeleteArgs),
    /// Create and start a container, and wait for it
    Run(RunArgs),
    /// List containers
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Run another process inside a running container
    Exec(ExecArgs),
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
    pub id: String,
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
    pub id: String,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send the signal to every process of the container
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Container id
    pub id: String,
    /// Signal name or number
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill the container first if it is running
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Container id
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
    pub id: String,
    /// The command and its arguments (not with --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}
