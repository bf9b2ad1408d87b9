//! Compiles the C core (every `csrc/src/*.c`) into the static library `libarenalloc.a`.
//!
//! Cargo features become `-D` defines; the optional `bindgen` feature regenerates `src/ffi.rs`.

use std::env;
use std::path::{Path, PathBuf};

#[cfg(feature = "bindgen")]
include!("ffi_gen.rs");

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let include = root.join("csrc").join("include");
    let src = root.join("csrc").join("src");
    println!("cargo:rerun-if-changed=csrc/src");
    println!("cargo:rerun-if-changed=csrc/include");
    println!("cargo:rerun-if-env-changed=ARENALLOC_MALLOC_CONF");

    // First, so the bindings can be regenerated from the header alone.
    #[cfg(feature = "bindgen")]
    {
        println!("cargo:rerun-if-changed=ffi_gen.rs");
        let ffi = generate_ffi(&root).expect("bindgen failed on csrc/include/arenalloc.h");
        let out = root.join("src").join("ffi.rs");
        // Write only on change, so the file's mtime does not trigger needless rebuilds.
        if std::fs::read_to_string(&out).ok().as_deref() != Some(ffi.as_str()) {
            std::fs::write(&out, ffi).expect("cannot write src/ffi.rs");
        }
    }

    let sources = c_sources(&src);
    assert!(!sources.is_empty(), "no C sources in {}", src.display());
    let mut build = cc::Build::new();
    build
        .files(sources)
        .include(&include)
        .include(&src)
        // Always optimized: users' debug builds must still get a fast allocator.
        .opt_level(2)
        .flag("-std=gnu11")
        .flag("-fvisibility=hidden")
        .flag("-ftls-model=initial-exec")
        .flag("-pthread")
        .flag("-fno-strict-aliasing")
        .warnings(true)
        .extra_warnings(true)
        .flag("-Wno-unused-parameter");

    if feature("debug") {
        build.define("ARENALLOC_DEBUG", "1");
    }
    if !feature("stats") {
        build.define("ARENALLOC_STATS", "0");
    }
    if !feature("background_threads") {
        // conf.c's default for `background_thread` (MALLOC_CONF still turns it on).
        build.define("ARENALLOC_BACKGROUND_THREAD_DEFAULT", "0");
    }
    if feature("unprefixed_malloc") {
        build.define("ARENALLOC_EXPORT_UNPREFIXED", "1");
    }
    if let Ok(conf) = env::var("ARENALLOC_MALLOC_CONF") {
        build.define("ARENALLOC_MALLOC_CONF", c_string_literal(&conf).as_str());
    }
    build.compile("arenalloc");

    // Dependents (links = "arenalloc") see this as DEP_ARENALLOC_INCLUDE.
    println!("cargo:include={}", include.display());
}

/// Every `*.c` directly in `dir`, sorted (no source lists: a new module is picked up as it is).
fn c_sources(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    files.sort();
    files
}

fn feature(name: &str) -> bool {
    env::var_os(format!("CARGO_FEATURE_{}", name.to_uppercase())).is_some()
}

/// `s` as a C string literal: quotes, backslashes and every byte outside printable ASCII escaped
/// (three-digit octal, so a following digit cannot extend the escape).
fn c_string_literal(s: &str) -> String {
    let mut lit = String::from("\"");
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' => {
                lit.push('\\');
                lit.push(b as char);
            }
            b' '..=b'~' => lit.push(b as char),
            _ => lit.push_str(&format!("\\{b:03o}")),
        }
    }
    lit.push('"');
    lit
}
