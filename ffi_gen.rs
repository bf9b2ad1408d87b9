// The one bindgen configuration of `src/ffi.rs`.
//
// `include!`d by build.rs, which writes `src/ffi.rs` under the cargo feature `bindgen`, and by
// tests/bindings.rs, which regenerates the bindings in memory and fails when the committed file is
// stale. Both need libclang at run time (bindgen loads it dynamically).
//
// The output is formatted with prettyplease (a pinned crate), not rustfmt, so it does not depend
// on which rustfmt is installed; lib.rs marks `mod ffi` `#[rustfmt::skip]` accordingly.

/// Generates the Rust bindings of `csrc/include/arenalloc.h`; `root` is the crate directory.
fn generate_ffi(root: &std::path::Path) -> Result<String, bindgen::BindgenError> {
    let header = root.join("csrc").join("include").join("arenalloc.h");
    let bindings = bindgen::Builder::default()
        .header(header.to_str().expect("the header path is UTF-8"))
        // Only the public API: functions, the extent hook types, and the object-like macros.
        // Function-like macros (MALLOCX_ALIGN, ...) are not generated: lib.rs has them as const fns.
        .allowlist_item("arenalloc_.*")
        .allowlist_item("extent_.*")
        .allowlist_item("MALLOCX_.*")
        .allowlist_item("MALLCTL_.*")
        .allowlist_item("ARENALLOC_.*")
        .use_core()
        .ctypes_prefix("core::ffi")
        .derive_default(true)
        .merge_extern_blocks(true)
        // Compile-time size/offset assertions: they check the extent_hooks_t ABI for free.
        .layout_tests(true)
        .rust_target(bindgen::RustTarget::stable(75, 0).unwrap_or_else(|_| unreachable!()))
        .formatter(bindgen::Formatter::Prettyplease)
        .generate()?;
    Ok(bindings.to_string())
}
