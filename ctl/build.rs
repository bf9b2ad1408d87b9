//! Generates the typed handles and the snapshot structs from the mallctl table.
//!
//! The core's `csrc/src/ctl_tree.def` is parsed by `build/tree.rs`; `build/gen.rs` writes
//! `OUT_DIR/handles.rs` (one module per path prefix, one unit struct per leaf, one test per leaf)
//! and `OUT_DIR/snapshot.rs` (the structs of `Snapshot`). A malformed table fails the build with
//! the line of the bad entry.

use std::path::PathBuf;
use std::{env, fs};

#[path = "build/gen.rs"]
mod gen;
// Shared with tests/tree.rs, which uses more of it.
#[allow(dead_code)]
#[path = "build/tree.rs"]
mod tree;

/// Hand-written items placed into generated modules (module path, items).
const EXTRAS: &[(&str, &str)] = &[
    ("stats", "pub use crate::print::{print, print_with};"),
    ("arena", "pub use crate::arena_handle::{Handle, ALL};"),
];

fn main() {
    // The core's build script says where its headers are (links = "arenalloc"); the table sits
    // beside them, in csrc/src.
    let include = env::var_os("DEP_ARENALLOC_INCLUDE").map_or_else(
        || {
            let manifest = env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo");
            PathBuf::from(manifest).join("../csrc/include")
        },
        PathBuf::from,
    );
    let csrc = include.join("..");
    let def = csrc.join("src").join("ctl_tree.def");
    println!("cargo:rerun-if-changed={}", def.display());
    println!("cargo:rerun-if-changed=build/gen.rs");
    println!("cargo:rerun-if-changed=build/tree.rs");

    let src =
        fs::read_to_string(&def).unwrap_or_else(|e| panic!("cannot read {}: {e}", def.display()));
    let tree = tree::parse(&src).unwrap_or_else(|e| panic!("{e}"));
    let handles = gen::handles(&tree, EXTRAS).unwrap_or_else(|e| panic!("{e}"));
    let snapshot = gen::snapshot(&tree).unwrap_or_else(|e| panic!("{e}"));

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    write_if_changed(&out.join("handles.rs"), &handles);
    write_if_changed(&out.join("snapshot.rs"), &snapshot);
}

fn write_if_changed(path: &std::path::Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
