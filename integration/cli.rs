//! What berth answers before any verb runs, in runc's (urfave/cli's) shapes, which
//! engines and scripts parse: `-v`, `-h` for the program and each verb, an unknown
//! verb; and `checkpoint`/`restore`, which exist only to fail clearly.

use crate::common::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// berth installed under the name `name` (a symlink, as update-alternatives makes).
fn installed_as(dir: &TempDir, name: &str) -> PathBuf {
    let link = dir.path().join(name);
    symlink(berth_bin(), &link).unwrap();
    link
}

/// The name berth was installed under for the tests ("berth" unless $BERTH_BIN says
/// otherwise).
fn own_name() -> String {
    let bin = berth_bin();
    bin.file_name().unwrap().to_string_lossy().into_owned()
}

fn call(bin: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    run_command(cmd, CMD_TIMEOUT)
}

#[test]
fn version_lines_name_the_program_as_called() {
    let dir = TempDir::new("cli-version");
    let runc = installed_as(&dir, "runc");
    for (bin, name) in [(runc, "runc".to_string()), (berth_bin(), own_name())] {
        for flag in ["-v", "--version"] {
            let out = call(&bin, &[flag]).ok();
            let lines: Vec<&str> = out.stdout.lines().collect();
            let first = format!("{name} version {}", env!("CARGO_PKG_VERSION"));
            assert_eq!(lines[0], first, "{out}");
            let commit = lines[1].strip_prefix("commit: ").unwrap_or("");
            assert!(!commit.trim().is_empty(), "{out}");
            let spec = lines[2].strip_prefix("spec: ").unwrap_or("");
            assert_eq!(spec.split('.').count(), 3, "{out}");
            // Docker takes any line with "version" in it for the first one.
            assert_eq!(out.stdout.matches("version").count(), 1, "{out}");
        }
    }
}

#[test]
fn help_in_urfave_layout_for_the_program_and_verbs() {
    let dir = TempDir::new("cli-help");
    let runc = installed_as(&dir, "runc");
    for flag in ["-h", "--help"] {
        let out = call(&runc, &[flag]).ok();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines[0], "NAME:", "{out}");
        assert_eq!(
            lines[1], "   runc - Open Container Initiative runtime",
            "{out}"
        );
        for block in ["USAGE:", "VERSION:", "COMMANDS:", "GLOBAL OPTIONS:"] {
            assert!(lines.contains(&block), "{block}: {out}");
        }
    }
    for verb in [
        "create",
        "exec",
        "kill",
        "list",
        "checkpoint",
        "restore",
        "update",
    ] {
        let out = call(&runc, &[verb, "-h"]).ok();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines[0], "NAME:", "{out}");
        assert!(lines[1].starts_with(&format!("   runc {verb} - ")), "{out}");
        let usage = format!("USAGE:\n   runc {verb} [command options]");
        assert!(out.stdout.contains(&usage), "{out}");
        assert!(out.stdout.contains("\nOPTIONS:\n   --"), "{out}");
    }
    // Called by its own name, berth says so; `help VERB` is `VERB -h`.
    let out = Berth::new("cli-help").run(&["help", "delete"]).ok();
    let name_line = format!("NAME:\n   {} delete - ", own_name());
    assert!(out.stdout.starts_with(&name_line), "{out}");
}

#[test]
fn unknown_verb_has_no_help_topic() {
    let berth = Berth::new("cli-unknown");
    for args in [&["foo", "-h"][..], &["foo"], &["help", "foo"]] {
        let out = berth.run(args);
        assert_eq!(out.code, 3, "{out}");
        assert!(out.stderr.contains("No help topic for 'foo'"), "{out}");
    }
}

/// berth has no criu: both verbs take runc's flags and fail with one line saying so,
/// leaving the container as it was and making nothing.
#[test]
fn checkpoint_and_restore_are_a_clear_error() {
    let berth = Berth::new("cli-criu");
    let mut b = Bundle::new("cli-criu");
    b.args(&["sleep", "100"]);
    let id = berth.id("c");
    berth.start_container(&b, &id);
    let images = b.path().join("images");
    let img = images.to_str().unwrap();
    let out = berth
        .run(&["checkpoint", "--image-path", img, "--leave-running", &id])
        .fails();
    assert!(out.single_error_line().contains("not supported"), "{out}");
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
    let other = berth.id("r");
    let restore = [
        "restore",
        "-d",
        "--image-path",
        img,
        "-b",
        b.path_str(),
        &other,
    ];
    let out = berth.run(&restore).fails();
    assert!(out.single_error_line().contains("not supported"), "{out}");
    assert!(!images.exists());
    assert_eq!(berth.state_entries(), vec![id.clone()]);
    berth.delete_force(&id).ok();
}
