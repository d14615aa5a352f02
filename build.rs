//! Records the commit berth is built from, for `berth --version`'s "commit:" line, and
//! links the static release build without unwind tables.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=BERTH_COMMIT");
    // A packager without the git history names the commit itself.
    let commit = std::env::var("BERTH_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["describe", "--always", "--dirty", "--abbrev=12"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BERTH_COMMIT={commit}");
    // A new commit or checkout changes HEAD or the branch it points to. In a worktree
    // HEAD lives in its own git dir and the branches in the common one.
    // Only paths that exist: Cargo reruns the script every time for a missing one.
    let mut watch = Vec::new();
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch.push(format!("{dir}/HEAD"));
    }
    if let Some(dir) = git(&["rev-parse", "--git-common-dir"]) {
        watch.push(format!("{dir}/refs/heads"));
        watch.push(format!("{dir}/packed-refs"));
    }
    for p in watch.iter().filter(|p| std::path::Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={p}");
    }
    no_unwind_tables();
}

/// The static release build (`make build`) aborts on panic and never unwinds, yet std
/// and glibc come prebuilt with unwind tables: .eh_frame and its index, 340 KB of a 2.9 MB
/// binary that is read in at each exec. The linker discards them. With no tables, the
/// unwinder aborts as it starts a walk, and std walks the stack for a panic's backtrace
/// and for `Backtrace::capture` (anyhow takes one for each error when RUST_BACKTRACE or
/// RUST_LIB_BACKTRACE is set): `--wrap` sends those walks to berth's
/// `__wrap__Unwind_Backtrace` (src/main.rs), which finds no frames. Only for the static
/// release build: a debug build unwinds on panic.
fn no_unwind_tables() {
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if !release || !features.split(',').any(|f| f == "crt-static") {
        return;
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let script = out.join("no-unwind-tables.ld");
    // lld discards .eh_frame as a whole or not at all; .eh_frame_hdr is built from it.
    std::fs::write(
        &script,
        "SECTIONS { /DISCARD/ : { *(.eh_frame) } } INSERT AFTER .text;\n",
    )
    .expect("write the linker script");
    println!("cargo:rustc-link-arg-bin=berth=-Wl,-T,{}", script.display());
    println!("cargo:rustc-link-arg-bin=berth=-Wl,--wrap=_Unwind_Backtrace");
}
