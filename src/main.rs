//! berth: an OCI container runtime, a drop-in replacement for runc. The command itself
//! lives in the library (`cli::main`), which the containerd shim runs too.
//!
//! berth enters through a C `main` of its own instead of Rust's `fn main`: Rust's
//! start-up reads /proc/self/maps and maps an alternate signal stack, a tenth of a
//! millisecond at each of the many short runs an engine makes. `cli::main::start_up`
//! does the part of it berth relies on; the arguments still come from std (glibc hands
//! them over before `main`), and `process::exit` flushes stdout as a return from Rust's
//! `main` would.
#![no_main]

use std::ffi::{c_char, c_int, c_void};

// SAFETY: the one `main` symbol of this binary, with C's signature; nothing else
// defines it (`no_main` leaves it to us).
#[no_mangle]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    berth::cli::main::start_up();
    std::process::exit(berth::cli::main::main_with(std::env::args_os()))
}

/// `_Unwind_Backtrace` in the static release build (see build.rs: it has no unwind
/// tables, and the real one aborts without them): a walk that ends at once, as at the
/// outermost frame. A panic's message is still printed, then the process aborts.
#[no_mangle]
extern "C" fn __wrap__Unwind_Backtrace(_trace: *mut c_void, _arg: *mut c_void) -> c_int {
    const URC_END_OF_STACK: c_int = 5;
    URC_END_OF_STACK
}
