//! The command lines an engine runs for every container (create, start, state, kill,
//! delete, list, and exec as engines call it), parsed without clap when they are plainly formed.
//!
//! clap's derive builds the whole tree of fifteen commands and their flags before it
//! looks at one argument: 1.3 million instructions, four fifths of `berth state`, and
//! paid twice by `create` (once more after its protective re-exec). This parser knows
//! only those seven verbs and their flags, in the forms runc's documentation uses; on
//! anything else (help, a flag it does not know, a missing or extra argument, a value
//! that looks like a flag) it returns None and clap parses the line, so every error and
//! every other command stays clap's. A unit test checks that both agree.

use super::args::{
    Cli, Command, CommonCreate, CreateArgs, DeleteArgs, ExecArgs, IdArg, KillArgs, ListArgs,
};
use std::ffi::OsString;
use std::path::PathBuf;

/// The flags one verb takes besides the global ones, as plain values.
#[derive(Default)]
struct Flags {
    positional: Vec<String>,
    all: bool,
    force: bool,
    bundle: Option<String>,
    console_socket: Option<String>,
    pid_file: Option<String>,
    no_pivot: bool,
    no_new_keyring: bool,
    preserve_fds: Option<String>,
    format: Option<String>,
    quiet: bool,
    process: Option<String>,
    detach: bool,
    tty: bool,
}

/// `berth [global flags] VERB [flags] [ID [SIGNAL | COMMAND...]]`, or None for clap.
pub fn parse(args: &[OsString]) -> Option<Cli> {
    let args: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let mut cli = Cli {
        version: false,
        debug: false,
        log: None,
        log_format: "text".to_string(),
        root: None,
        systemd_cgroup: false,
        rootless: None,
        criu: None,
        command: None,
    };
    let mut verb: Option<&str> = None;
    let mut f = Flags::default();
    let mut i = 0;
    while i < args.len() {
        // exec's command starts at the first plain word after the id; all of the rest
        // is the command's, flags too (clap's trailing_var_arg).
        if verb == Some("exec") && !f.positional.is_empty() && !args[i].starts_with('-') {
            f.positional.extend(args[i..].iter().map(|a| a.to_string()));
            break;
        }
        let (name, inline) = match args[i].split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (args[i], None),
        };
        let value = if takes_value(verb, name) {
            let v = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    *args.get(i)?
                }
            };
            if v.is_empty() || v.starts_with('-') {
                return None;
            }
            Some(v.to_string())
        } else if inline.is_some() {
            return None;
        } else {
            None
        };
        set(&mut cli, &mut f, &mut verb, name, value)?;
        i += 1;
    }
    cli.command = Some(command(verb?, f)?);
    Some(cli)
}

/// Whether `name` takes a value after `verb` (global flags: any verb, or none yet).
fn takes_value(verb: Option<&str>, name: &str) -> bool {
    matches!(
        (verb, name),
        (_, "--root" | "--log" | "--log-format")
            | (
                Some("create"),
                "-b" | "--bundle" | "--console-socket" | "--pid-file"
            )
            | (Some("create"), "--preserve-fds")
            | (Some("list"), "-f" | "--format")
            | (
                Some("exec"),
                "-p" | "--process" | "--pid-file" | "--console-socket"
            )
    )
}

/// Record one flag (with its value) or word; None for anything clap must see.
fn set<'a>(
    cli: &mut Cli,
    f: &mut Flags,
    verb: &mut Option<&'a str>,
    name: &'a str,
    value: Option<String>,
) -> Option<()> {
    match (*verb, name, value) {
        (_, "--root", v) => cli.root = Some(PathBuf::from(v?)),
        (_, "--log", v) => cli.log = Some(PathBuf::from(v?)),
        (_, "--log-format", v) => cli.log_format = v?,
        (_, "--debug", _) => cli.debug = true,
        (_, "--systemd-cgroup", _) => cli.systemd_cgroup = true,
        (Some("kill"), "-a" | "--all", _) => f.all = true,
        (Some("delete"), "-f" | "--force", _) => f.force = true,
        (Some("create"), "-b" | "--bundle", v) => f.bundle = v,
        (Some("create"), "--console-socket", v) => f.console_socket = v,
        (Some("create"), "--pid-file", v) => f.pid_file = v,
        (Some("create"), "--preserve-fds", v) => f.preserve_fds = v,
        (Some("create"), "--no-pivot", _) => f.no_pivot = true,
        (Some("create"), "--no-new-keyring", _) => f.no_new_keyring = true,
        (Some("list"), "-f" | "--format", v) => f.format = v,
        (Some("list"), "-q" | "--quiet", _) => f.quiet = true,
        (Some("exec"), "-p" | "--process", v) => f.process = v,
        (Some("exec"), "--pid-file", v) => f.pid_file = v,
        (Some("exec"), "--console-socket", v) => f.console_socket = v,
        (Some("exec"), "-d" | "--detach", _) => f.detach = true,
        (Some("exec"), "-t" | "--tty", _) => f.tty = true,
        (_, a, _) if a.starts_with('-') || a.is_empty() => return None,
        (None, a, _) => *verb = Some(a),
        (Some(_), a, _) => f.positional.push(a.to_string()),
    }
    Some(())
}

fn command(verb: &str, mut f: Flags) -> Option<Command> {
    if verb == "list" {
        return f.positional.is_empty().then(|| {
            Command::List(ListArgs {
                format: f.format.unwrap_or_else(|| "table".to_string()),
                quiet: f.quiet,
            })
        });
    }
    if verb == "exec" {
        return (!f.positional.is_empty()).then(|| exec(f));
    }
    let signal = match (verb, f.positional.len()) {
        ("kill", 2) => f.positional.pop(),
        ("kill", 1) => Some("SIGTERM".to_string()),
        (_, 1) => None,
        _ => return None,
    };
    let id = f.positional.pop()?;
    Some(match verb {
        "start" => Command::Start(IdArg { id }),
        "state" => Command::State(IdArg { id }),
        "delete" => Command::Delete(DeleteArgs { force: f.force, id }),
        "kill" => Command::Kill(KillArgs {
            all: f.all,
            id,
            signal: signal?,
        }),
        "create" => Command::Create(CreateArgs {
            common: CommonCreate {
                bundle: PathBuf::from(f.bundle.as_deref().unwrap_or(".")),
                console_socket: f.console_socket.map(PathBuf::from),
                pid_file: f.pid_file.map(PathBuf::from),
                no_pivot: f.no_pivot,
                no_new_keyring: f.no_new_keyring,
                preserve_fds: match f.preserve_fds {
                    Some(n) => n.parse().ok()?,
                    None => 0,
                },
                id,
            },
        }),
        _ => return None,
    })
}

fn exec(mut f: Flags) -> Command {
    let command = f.positional.split_off(1);
    Command::Exec(ExecArgs {
        console_socket: f.console_socket.map(PathBuf::from),
        cwd: None,
        env: Vec::new(),
        tty: f.tty,
        user: None,
        additional_gids: Vec::new(),
        process: f.process.map(PathBuf::from),
        detach: f.detach,
        pid_file: f.pid_file.map(PathBuf::from),
        process_label: None,
        apparmor: None,
        no_new_privs: false,
        cap: Vec::new(),
        preserve_fds: 0,
        cgroup: Vec::new(),
        ignore_paused: false,
        id: f.positional.pop().unwrap_or_default(),
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn argv(line: &str) -> Vec<OsString> {
        std::iter::once("berth")
            .chain(line.split(' ').filter(|s| !s.is_empty()))
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn agrees_with_clap_on_what_it_parses() {
        for line in [
            "state c1",
            "--root /run/x state c1",
            "--root=/run/x --log /tmp/l --log-format json start c1",
            "start --root /run/x c1",
            "--debug delete -f c1",
            "delete --force c1 --root /r",
            "kill c1",
            "kill c1 KILL",
            "kill -a c1 9",
            "--systemd-cgroup kill --all c1 SIGUSR1",
            "create c1",
            "create --bundle /b --pid-file /p --console-socket /s c1",
            "create -b /b --no-pivot --no-new-keyring --preserve-fds 2 c1",
            "--root /r create --bundle=/b --preserve-fds=1 c1 --log /l",
            "list",
            "--root /r list -q",
            "list --format json --quiet",
            "exec c1 true",
            "exec c1",
            "--root /r exec --process /p.json --detach --pid-file /pid c1",
            "exec -d -p /p.json --console-socket /s -t c1",
            "exec c1 -t sh -c true",
            "exec -t c1 ls -l --color --root /x",
            "exec c1 true -- -e",
        ] {
            let fast = parse(&argv(line)).unwrap_or_else(|| panic!("{line}: not parsed"));
            let clap = Cli::try_parse_from(argv(line)).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{line}");
        }
    }

    #[test]
    fn leaves_everything_else_to_clap() {
        for line in [
            "",
            "--help",
            "state",
            "state -h",
            "state c1 c2",
            "kill c1 KILL extra",
            "delete -f",
            "start -f c1",
            "-a kill c1",
            "--root state c1",
            "--root= state c1",
            "--rootless state c1",
            "--debug=true state c1",
            "create --preserve-fds x c1",
            "create --bundle -x c1",
            "exec c1 -- true",
            "exec -e A=1 c1 true",
            "exec --cwd /tmp c1 true",
            "exec --preserve-fds 1 c1 true",
            "exec",
            "list c1",
            "list -f",
            "list -f=json",
            "state -- c1",
        ] {
            assert!(parse(&argv(line)).is_none(), "{line}");
        }
    }
}
