//! The C test suite (csrc/Makefile), so that `cargo test` runs every test, Rust and C.
//!
//! Each target's output is printed, so a failure shows the C runner's report. Skipped (and
//! passing) when `make` or the C compiler is missing.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// `check` and `stress` build into the same directory (csrc/build/test), and `check` (its
/// examples) and `preload` both build the library (csrc/build/lib, libarenalloc.a): never at the
/// same time. The sanitizer builds use directories of their own.
static BUILD_TEST: Mutex<()> = Mutex::new(());

fn tool_works(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

fn make(args: &[&str]) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    if !tool_works("make") || !tool_works(&cc) {
        println!("skipped: `make` or `{cc}` not found");
        return;
    }
    let csrc = Path::new(env!("CARGO_MANIFEST_DIR")).join("csrc");
    let out = Command::new("make")
        .arg("-C")
        .arg(&csrc)
        .args(args)
        .output()
        .expect("cannot run make");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "`make -C csrc {}` failed: {}",
        args.join(" "),
        out.status
    );
}

#[test]
fn check() {
    let _serial = BUILD_TEST.lock().unwrap_or_else(|e| e.into_inner());
    make(&["check"]);
}

#[test]
fn check_ubsan() {
    make(&["check", "SAN=ubsan"]);
}

#[test]
fn check_tsan() {
    make(&["check", "SAN=tsan"]);
}

#[test]
fn stress() {
    let _serial = BUILD_TEST.lock().unwrap_or_else(|e| e.into_inner());
    make(&["stress"]);
}

#[test]
fn preload() {
    let _serial = BUILD_TEST.lock().unwrap_or_else(|e| e.into_inner());
    make(&["preload"]);
}
