//! `-h` in urfave/cli's layout, the one runc's users and scripts know: "NAME:" with
//! "   <name> <verb> - <what it does>" under it, then "USAGE:", "DESCRIPTION:",
//! "OPTIONS:". The texts come from the clap definitions in `args`; only the layout is
//! urfave's.

use super::version;
use clap::{Arg, ArgAction, Command};

const HELP_LINE: (&str, &str) = ("--help, -h", "show help");

/// The name the program was called by, as urfave/cli takes it: installed as `runc`
/// (a symlink, update-alternatives), berth introduces itself as runc.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "berth".to_string())
}

/// `cmd` with the help of the program and of every verb in urfave/cli's layout.
pub fn install(cmd: Command, name: &str) -> Command {
    let app = app_help(&cmd, name);
    let verbs: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut cmd = cmd.override_help(app);
    for v in verbs {
        cmd = cmd.mut_subcommand(&v, |c| {
            let text = verb_help(&c, name);
            c.override_help(text)
        });
    }
    cmd
}

/// The help of `topic` (a verb or one of its aliases), or of the program without one.
pub fn topic(cmd: &Command, name: &str, topic: Option<&str>) -> Option<String> {
    match topic {
        None => Some(app_help(cmd, name)),
        Some(t) => cmd
            .get_subcommands()
            .find(|c| c.get_name() == t || c.get_all_aliases().any(|a| a == t))
            .map(|c| verb_help(c, name)),
    }
}

/// urfave/cli's words for a verb it has no help for; runc exits 3 with them.
pub fn no_help_topic(name: &str, topic: &str) -> ! {
    eprintln!("{name}: No help topic for '{topic}'");
    std::process::exit(3);
}

fn app_help(cmd: &Command, name: &str) -> String {
    let about = text_of(cmd.get_long_about().or(cmd.get_about()));
    let mut out = format!("NAME:\n   {name} - {about}\n\n");
    out +=
        &format!("USAGE:\n   {name} [global options] command [command options] [arguments...]\n\n");
    out += &format!("VERSION:\n   {}\n", version::details());
    let verbs: Vec<(String, String)> = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| {
            let names: Vec<&str> = std::iter::once(c.get_name())
                .chain(c.get_visible_aliases())
                .collect();
            (names.join(", "), text_of(c.get_about()))
        })
        .collect();
    out += "COMMANDS:\n";
    out += &table(&verbs);
    let mut opts = options(cmd);
    opts.push((HELP_LINE.0.to_string(), HELP_LINE.1.to_string()));
    // urfave/cli lists the two flags it adds itself last.
    if let Some(i) = opts.iter().position(|(n, _)| n.starts_with("--version")) {
        let v = opts.remove(i);
        opts.push(v);
    }
    out += "\nGLOBAL OPTIONS:\n";
    out += &table(&opts);
    out
}

fn verb_help(cmd: &Command, name: &str) -> String {
    let verb = cmd.get_name();
    let about = text_of(cmd.get_about());
    let mut out = format!("NAME:\n   {name} {verb} - {about}\n\n");
    let opts = options(cmd);
    let mut usage = format!("{name} {verb}");
    if !opts.is_empty() {
        usage += " [command options]";
    }
    for p in cmd.get_positionals() {
        usage.push(' ');
        usage += &positional(p);
    }
    out += &format!("USAGE:\n   {usage}\n");
    // The long text repeats the one-line description as its first paragraph.
    let long = text_of(cmd.get_long_about());
    if let Some((_, rest)) = long.split_once("\n\n") {
        out += "\nDESCRIPTION:\n";
        for line in wrap(rest, 77) {
            out += &format!("   {line}\n");
        }
    }
    if !opts.is_empty() {
        out += "\nOPTIONS:\n";
        out += &table(&opts);
    }
    out
}

fn text_of(s: Option<&clap::builder::StyledStr>) -> String {
    s.map(|s| s.to_string()).unwrap_or_default()
}

/// `<container-id>`, `[signal]`, `[command...]`, as urfave/cli's usage lines write them.
fn positional(a: &Arg) -> String {
    let name = a
        .get_value_names()
        .and_then(|v| v.first())
        .map_or_else(|| a.get_id().to_string(), |n| n.to_string());
    if matches!(a.get_action(), ArgAction::Append) {
        format!("[{name}...]")
    } else if a.is_required_set() {
        format!("<{name}>")
    } else {
        format!("[{name}]")
    }
}

/// The flags of `cmd` (not its positionals, not the hidden ones, not globals a verb
/// inherits) as urfave/cli names them: "--bundle value, -b value".
fn options(cmd: &Command) -> Vec<(String, String)> {
    cmd.get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .filter(|a| cmd.get_subcommands().next().is_some() || !a.is_global_set())
        .filter(|a| !matches!(a.get_action(), ArgAction::Help | ArgAction::HelpShort))
        .map(|a| (flag_names(a), flag_usage(a)))
        .collect()
}

fn flag_names(a: &Arg) -> String {
    let value = if a.get_action().takes_values() {
        " value"
    } else {
        ""
    };
    let mut names: Vec<String> = Vec::new();
    names.extend(a.get_long().map(|l| format!("--{l}{value}")));
    for l in a.get_visible_aliases().into_iter().flatten() {
        names.push(format!("--{l}{value}"));
    }
    names.extend(a.get_short().map(|s| format!("-{s}{value}")));
    names.join(", ")
}

fn flag_usage(a: &Arg) -> String {
    let mut usage = text_of(a.get_help());
    // A flag's default, not a switch's "false".
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if a.get_action().takes_values() {
        if let Some(d) = defaults.first() {
            if d.parse::<i64>().is_ok() {
                usage += &format!(" (default: {d})");
            } else {
                usage += &format!(" (default: {d:?})");
            }
        }
    }
    usage
}

/// Two columns, the second aligned two spaces past the widest first one (urfave/cli's
/// tabwriter), each line indented by three.
fn table(rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(a, _)| a.len()).max().unwrap_or(0) + 2;
    rows.iter()
        .map(|(a, b)| format!("   {a:width$}{b}").trim_end().to_string() + "\n")
        .collect()
}

/// Re-flow paragraphs to `width` columns; blank lines and indented lines (examples)
/// stay as they are.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        if !out.is_empty() {
            out.push(String::new());
        }
        if para.starts_with(' ') {
            out.extend(para.lines().map(str::to_string));
            continue;
        }
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line += word;
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn help_of(verb: Option<&str>) -> String {
        topic(&crate::cli::Cli::command(), "runc", verb).unwrap()
    }

    #[test]
    fn program_help_in_urfaves_layout() {
        let h = help_of(None);
        let lines: Vec<&str> = h.lines().collect();
        assert_eq!(lines[0], "NAME:");
        assert_eq!(lines[1], "   runc - Open Container Initiative runtime");
        for block in ["USAGE:", "VERSION:", "COMMANDS:", "GLOBAL OPTIONS:"] {
            assert!(lines.contains(&block), "{block} in {h}");
        }
        assert!(h.contains("\n   checkpoint  "), "{h}");
        assert!(h.contains("\n   list, ls    "), "{h}");
        assert!(h.contains("\n   --root value "), "{h}");
        assert!(
            h.ends_with("--version, -v       print the version\n"),
            "{h}"
        );
    }

    #[test]
    fn verb_help_in_urfaves_layout() {
        let h = help_of(Some("create"));
        let lines: Vec<&str> = h.lines().collect();
        assert_eq!(lines[..2], ["NAME:", "   runc create - create a container"]);
        assert!(h.contains("USAGE:\n   runc create [command options] <container-id>\n"));
        assert!(h.contains("\nDESCRIPTION:\n   The init process"), "{h}");
        assert!(h.contains("\n   --bundle value, -b value  "), "{h}");
        assert!(h.contains("(default: \".\")"), "{h}");
        assert!(h.contains("(default: 0)"), "{h}");
        // Globals are the program's, not the verb's.
        assert!(!h.contains("--root"), "{h}");
        let k = help_of(Some("kill"));
        assert!(k.contains("runc kill [command options] <container-id> [signal]"));
        assert!(help_of(Some("ls")).starts_with("NAME:\n   runc list - "));
        assert!(topic(&crate::cli::Cli::command(), "runc", Some("foo")).is_none());
    }

    #[test]
    fn wrap_keeps_examples() {
        let w = wrap("aaa bbb ccc\n\n    # run it", 7);
        assert_eq!(w, ["aaa bbb", "ccc", "", "    # run it"]);
    }
}
