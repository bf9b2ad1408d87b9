//! `src/ffi.rs` must be what bindgen makes of `csrc/include/arenalloc.h` today.
//!
//! Regenerates the bindings in memory with the configuration build.rs uses (`ffi_gen.rs`) and
//! fails on any difference. Skipped, and passing, when libclang cannot be loaded.

use std::path::Path;

include!("../ffi_gen.rs");

#[test]
fn ffi_rs_is_up_to_date() {
    // bindgen panics when it cannot load libclang: probe for it quietly first.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let libclang = std::panic::catch_unwind(bindgen::clang_version);
    std::panic::set_hook(hook);
    if libclang.is_err() {
        println!("skipped: libclang not found (install libclang-dev or set LIBCLANG_PATH)");
        return;
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fresh = generate_ffi(root).expect("bindgen failed on csrc/include/arenalloc.h");
    let committed = std::fs::read_to_string(root.join("src/ffi.rs")).expect("read src/ffi.rs");
    if fresh != committed {
        let line = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| fresh.lines().count().min(committed.lines().count()));
        panic!(
            "src/ffi.rs is stale (first difference at line {}): regenerate it with \
             `cargo build --features bindgen` and commit it",
            line + 1
        );
    }
}
