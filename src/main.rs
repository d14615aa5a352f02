//! berth: an OCI container runtime, a drop-in replacement for runc. The command itself
//! lives in the library (`cli::main`), which the containerd shim runs too.

fn main() {
    std::process::exit(berth::cli::main::main_with(std::env::args_os()));
}
