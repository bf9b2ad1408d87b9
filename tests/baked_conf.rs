//! Configuration strings in a Rust program (one test binary with its own `#[global_allocator]`).
//!
//! The program exports `arenalloc_malloc_conf`, source #3 of the C core's `conf.h` (as
//! jemallocator's tests export `malloc_conf`); the environment variables `MALLOC_CONF` (#4) and
//! `ARENALLOC_MALLOC_CONF` (#5) override it key by key; the string baked in at build time (#1,
//! the cargo environment variable `ARENALLOC_MALLOC_CONF`) sits under all of them.
//!
//! The program's string is `zero:true`. This is the non-debug core, whose allocation fast path
//! has no fill code: zeroed reuse of just-freed blocks shows that the option still reaches it
//! (every allocation becomes an event). Each case runs in a child process (this binary again,
//! one test selected) so that it owns the environment its allocator starts from.

use std::alloc::{alloc, dealloc, Layout};
use std::ffi::c_char;
use std::process::{Command, Output};

use arenalloc::Arenalloc;

#[global_allocator]
static GLOBAL: Arenalloc = Arenalloc;

#[allow(non_upper_case_globals)]
#[export_name = "arenalloc_malloc_conf"]
pub static arenalloc_malloc_conf: Option<&'static c_char> = Some(unsafe {
    let bytes: &'static [u8] = b"zero:true\0";
    &*(bytes.as_ptr() as *const c_char)
});

/// Set in the children: the `child_*` tests do nothing unless it is.
const CHILD: &str = "ARENALLOC_BAKED_CONF_CHILD";

/// Allocates 64 blocks of `size`, dirties and frees them, allocates 64 again (the same blocks,
/// from this thread's cache, for cached sizes): is every byte of those `byte`?
fn reused_blocks_are(size: usize, byte: u8) -> bool {
    let layout = Layout::from_size_align(size, 8).unwrap();
    let mut ptrs = Vec::with_capacity(64);
    for _ in 0..64 {
        // SAFETY: layout has a nonzero size; the block is written within it, then freed below.
        let p = unsafe { alloc(layout) };
        assert!(!p.is_null());
        unsafe { p.write_bytes(0xff, size) };
        ptrs.push(p);
    }
    for &p in &ptrs {
        unsafe { dealloc(p, layout) };
    }
    ptrs.clear();
    let mut all = true;
    for _ in 0..64 {
        let p = unsafe { alloc(layout) };
        assert!(!p.is_null());
        all &= unsafe { std::slice::from_raw_parts(p, size) }
            .iter()
            .all(|&b| b == byte);
        ptrs.push(p);
    }
    for &p in &ptrs {
        unsafe { dealloc(p, layout) };
    }
    all
}

fn reused_blocks_are_zero(size: usize) -> bool {
    reused_blocks_are(size, 0)
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs the test `name` of this binary in a child with exactly these configuration variables.
fn run_child(name: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("MALLOC_CONF")
        .env_remove("ARENALLOC_MALLOC_CONF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cannot run the test binary");
    assert!(
        out.status.success(),
        "child {name} with {env:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn child_zeroed() {
    if !is_child() {
        return;
    }
    for size in [8, 48, 1000, 4096, 20000, 100_000] {
        assert!(
            reused_blocks_are_zero(size),
            "size {size}: reused blocks are not zeroed"
        );
    }
}

#[test]
fn child_not_zeroed() {
    if !is_child() {
        return;
    }
    // Cached sizes: the same blocks come back, still dirty.
    for size in [48, 1000] {
        assert!(
            !reused_blocks_are_zero(size),
            "size {size}: zeroed after all"
        );
    }
}

#[test]
fn child_junked() {
    if !is_child() {
        return;
    }
    for size in [8, 48, 1000, 4096, 20000, 100_000] {
        assert!(
            reused_blocks_are(size, 0xa5),
            "size {size}: not junk-filled"
        );
    }
}

#[test]
fn program_string_applies() {
    run_child("child_zeroed", &[]);
}

#[test]
fn environment_overrides_program_string() {
    run_child("child_not_zeroed", &[("MALLOC_CONF", "zero:false")]);
    run_child(
        "child_not_zeroed",
        &[("ARENALLOC_MALLOC_CONF", "zero:false")],
    );
    // ARENALLOC_MALLOC_CONF comes last.
    run_child(
        "child_zeroed",
        &[
            ("MALLOC_CONF", "zero:false"),
            ("ARENALLOC_MALLOC_CONF", "zero:true"),
        ],
    );
    run_child(
        "child_not_zeroed",
        &[
            ("MALLOC_CONF", "zero:true"),
            ("ARENALLOC_MALLOC_CONF", "zero:false"),
        ],
    );
    // Key by key: a string without `zero` leaves the program's value.
    run_child("child_zeroed", &[("MALLOC_CONF", "narenas:2")]);
}

#[test]
fn junk_alloc_reaches_the_fast_path() {
    // Not the debug core either: filled through the per-allocation event, like zero.
    run_child("child_junked", &[("MALLOC_CONF", "zero:false,junk:alloc")]);
    run_child("child_junked", &[("MALLOC_CONF", "zero:false,junk:true")]);
}

#[test]
fn sources_are_echoed_and_bad_pairs_named() {
    let out = run_child(
        "child_zeroed",
        &[
            ("MALLOC_CONF", "bogus_key:1,narenas:0"),
            ("ARENALLOC_MALLOC_CONF", "confirm_conf:true"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let baked = option_env!("ARENALLOC_MALLOC_CONF").unwrap_or("");
    for line in [
        format!(
            "<arenalloc>: malloc_conf #1 (string baked in at build time, ARENALLOC_MALLOC_CONF): \
             \"{baked}\""
        ),
        "<arenalloc>: malloc_conf #3 (string pointed to by the global variable \
         arenalloc_malloc_conf): \"zero:true\""
            .to_owned(),
        "<arenalloc>: -- Set conf value: zero:true".to_owned(),
        "<arenalloc>: malloc_conf #4 (value of the environment variable MALLOC_CONF): \
         \"bogus_key:1,narenas:0\""
            .to_owned(),
        "<arenalloc>: Invalid conf pair: bogus_key:1".to_owned(),
        "<arenalloc>: Out-of-range conf value: narenas:0".to_owned(),
    ] {
        assert!(
            err.lines().any(|l| l == line),
            "no line {line:?} in:\n{err}"
        );
    }
}
