//! The table parser and the code generator of the build script, on a fixture table
//! (`tests/fixtures/ctl_tree.def`) and on malformed entries.

#[allow(dead_code)]
#[path = "../build/gen.rs"]
mod gen;
#[allow(dead_code)]
#[path = "../build/tree.rs"]
mod tree;

use tree::{parse, Access, CType, Comp, Cond};

const FIXTURE: &str = include_str!("fixtures/ctl_tree.def");

#[test]
fn fixture_parses() {
    let t = parse(FIXTURE).expect("fixture parses");
    assert_eq!(t.leaves.len(), FIXTURE.matches("\nCTL(\"").count());
    assert_eq!(t.indices.len(), 6);
    assert_eq!(t.indices[0].prefix, "arena.{i}");
    assert_eq!(t.indices[0].validator, "ctl_arena_index_valid");

    let nmalloc = t.get("stats.arenas.{i}.bins.{j}.nmalloc").expect("leaf");
    assert_eq!(nmalloc.ty, CType::U64);
    assert_eq!(nmalloc.access, Access::Ro);
    assert_eq!(nmalloc.cond, Cond::Stats);
    assert_eq!(nmalloc.depth(), 6);
    assert_eq!(nmalloc.indices(), ['i', 'j']);
    assert_eq!(nmalloc.comps[2], Comp::Index('i'));
    // Adjacent literals concatenate.
    assert_eq!(nmalloc.doc, "allocations served");
    assert_eq!(nmalloc.imp, "VALUE(ctl_arena(i)->bstats[j].nmalloc)");

    // An entry over two lines.
    let curregs = t.get("stats.arenas.{i}.bins.{j}.curregs").expect("leaf");
    assert_eq!(curregs.imp, "VALUE(ctl_arena(i)->bstats[j].curregs)");
    assert_eq!(
        curregs.line,
        FIXTURE.lines().position(|l| l.contains("curregs")).unwrap() + 1
    );

    // Commas and parentheses inside VALUE(...); escaped quotes in the doc.
    let lext = t.get("arenas.lextent.{j}.size").expect("leaf");
    assert_eq!(lext.imp, "VALUE(sz_index2size(SC_NBINS + (szind_t)j))");
    let junk = t.get("opt.junk").expect("leaf");
    assert_eq!(
        junk.doc,
        "junk filling: \"true\", \"false\", \"alloc\" or \"free\""
    );

    // A trailing // comment after an entry.
    assert_eq!(t.get("stats.mapped").expect("leaf").doc, "bytes mapped");

    let create = t.get("arenas.create").expect("leaf");
    assert_eq!((create.ty, create.access), (CType::Create, Access::Rw));
    let lookup = t.get("arenas.lookup").expect("leaf");
    assert_eq!((lookup.ty, lookup.access), (CType::Lookup, Access::Rw));
    let flush = t.get("thread.tcache.flush").expect("leaf");
    assert_eq!((flush.ty, flush.access), (CType::Void, Access::None));
}

fn error_of(entry: &str) -> String {
    parse(entry).expect_err(entry).to_string()
}

#[test]
fn malformed_entries_name_their_line() {
    let ok = "CTL(\"a.b\", U64, RO, ALWAYS, VALUE(x), \"doc\")\n";
    assert!(parse(ok).is_ok());
    let cases: &[(&str, &str)] = &[
        (
            "CTL(\"a.b\", U65, RO, ALWAYS, VALUE(x), \"d\")",
            "unknown TYPE `U65`",
        ),
        (
            "CTL(\"a.b\", U64, R, ALWAYS, VALUE(x), \"d\")",
            "unknown ACCESS `R`",
        ),
        (
            "CTL(\"a.b\", U64, RO, SOMETIMES, VALUE(x), \"d\")",
            "unknown COND `SOMETIMES`",
        ),
        (
            "CTL(\"a.b\", U64, RO, ALWAYS, \"d\")",
            "CTL takes 6 arguments",
        ),
        ("CTL(\"a.b\", U64, RO, ALWAYS, x, \"d\")", "IMPL must be"),
        (
            "CTL(a.b, U64, RO, ALWAYS, VALUE(x), \"d\")",
            "expected a string literal",
        ),
        (
            "CTL(\"a..b\", U64, RO, ALWAYS, VALUE(x), \"d\")",
            "bad component ``",
        ),
        (
            "CTL(\"a.{k}\", U64, RO, ALWAYS, VALUE(x), \"d\")",
            "bad component `{k}`",
        ),
        (
            "CTL(\"a.{i}\", U64, RO, ALWAYS, VALUE(x), \"d\")",
            "must end in a name",
        ),
        (
            "CTL(\"a.b\", VOID, RO, ALWAYS, VALUE(x), \"d\")",
            "VOID goes with NONE",
        ),
        (
            "CTL(\"a.b\", U64, NONE, ALWAYS, VALUE(x), \"d\")",
            "VOID goes with NONE",
        ),
        (
            "CTL(\"a.b\", LOOKUP, RO, ALWAYS, VALUE(x), \"d\")",
            "LOOKUP needs RW",
        ),
        (
            "CTL(\"a.b\", U64_PTR, RW, ALWAYS, VALUE(x), \"d\")",
            "U64_PTR is read only",
        ),
        (
            "CTL(\"a.b\", CREATE, WO, ALWAYS, VALUE(x), \"d\")",
            "CREATE is read",
        ),
        (
            "CTL(\"a.b\", U64, RO, ALWAYS, VALUE(x), \"d)",
            "unterminated",
        ),
        (
            "CTL(\"a.b\", U64, RO, ALWAYS, VALUE(x, \"d\")",
            "unterminated argument list",
        ),
        ("CTL_LEAF(\"a.b\")", "unknown entry `CTL_LEAF`"),
        ("CTL_INDEX(\"a.b\", v)", "must end in {i} or {j}"),
        (
            "CTL_INDEX(\"a.{i}\", v w)",
            "validator must be a C identifier",
        ),
        ("int x;", "expected `(` after `int`"),
        ("/* open", "unterminated comment"),
        (
            "CTL(\"a.b\", U64, RO, ALWAYS, VALUE(x), \"d\\q\")",
            "bad escape",
        ),
    ];
    for (entry, want) in cases {
        let got = error_of(&format!("/* line 1 */\n{entry}\n"));
        assert!(
            got.starts_with("ctl_tree.def:2: ") && got.contains(want),
            "{entry}: got {got:?}, want {want:?}"
        );
    }
    let dup = format!("{ok}{ok}");
    assert_eq!(error_of(&dup), "ctl_tree.def:2: duplicate path `a.b`");
    let under = format!("{ok}CTL(\"a.b.c\", U64, RO, ALWAYS, VALUE(x), \"d\")\n");
    assert!(error_of(&under).contains("`a.b.c` is under the leaf `a.b` (line 1)"));
}

#[test]
fn handles_are_generated_per_leaf() {
    let t = parse(FIXTURE).unwrap();
    let h = gen::handles(&t, &[("stats", "pub use crate::x::y;")]).expect("generates");
    // Modules per prefix, indices dropped; keywords escaped.
    assert!(h.contains("pub mod stats {"));
    assert!(h.contains("pub mod bins {"));
    assert!(h.contains("pub mod r#type {"));
    assert!(h.contains("pub struct r#type;"));
    assert!(h.contains("pub struct type_mib(pub crate::Mib<2>);"));
    assert!(h.contains("pub use crate::x::y;"));
    // Index arguments named after what they index, and patched into the MIB.
    assert!(h.contains("pub fn read(arena: u32, bin: u32) -> crate::Result<u64>"));
    assert!(h.contains("pub fn read(&self, arena: u32, bin: u32) -> crate::Result<u64>"));
    assert!(h.contains("pub fn read(arena: u32, lextent: u32) -> crate::Result<u64>"));
    assert!(h.contains("mib[2] = arena as usize;\nmib[4] = bin as usize;"));
    assert!(h.contains("pub struct nmalloc_mib(pub crate::Mib<6>);"));
    // Operations per access and type.
    assert!(h.contains("pub fn call(arena: u32) -> crate::Result<()>"));
    assert!(h.contains("pub fn read(ptr: *const core::ffi::c_void) -> crate::Result<u32>"));
    assert!(h.contains("pub fn read() -> crate::Result<crate::ThreadLocal<u64>>"));
    assert!(h.contains("pub unsafe fn write(arena: u32, value: *mut crate::RawExtentHooks)"));
    // CREATE: the default hooks, or hooks of one's own (unsafe).
    assert!(h.contains("pub fn call() -> crate::Result<u32>"));
    assert!(h.contains(
        "pub unsafe fn with_hooks(hooks: *mut crate::RawExtentHooks) -> crate::Result<u32>"
    ));
    assert!(h.contains("pub unsafe fn with_hooks(&self, hooks: *mut crate::RawExtentHooks)"));
    // The commands that free every allocation of an arena are unsafe.
    assert!(h.contains("pub unsafe fn call(arena: u32) -> crate::Result<()>"));
    assert!(h.contains("pub fn call(arena: u32) -> crate::Result<()>")); // purge stays safe
    assert!(h.contains("pub fn write(arena: u32, value: &core::ffi::CStr)"));
    assert!(h.contains("pub fn update(value: bool) -> crate::Result<bool>"));
    assert!(h.contains("pub fn write(value: u32) -> crate::Result<()>")); // tcache.flush (WO)
                                                                          // Docs and conditions.
    assert!(h.contains("#[doc = \" Bytes allocated by the application.\"]"));
    assert!(h.contains(
        "/// `stats.arenas.<i>.bins.<j>.nmalloc`: `uint64_t`, read-only, needs the `stats` feature."
    ));
    assert!(h.contains("#[cfg(feature = \"stats\")]\n#[allow(non_camel_case_types)]"));
    // One test per leaf.
    assert_eq!(h.matches("#[test]").count(), t.leaves.len());
    assert!(h.contains("fn key_stats_arenas_i_bins_j_nmalloc()"));
}

#[test]
fn name_collisions_are_errors() {
    let t = parse(
        "CTL(\"a.b\", U64, RO, ALWAYS, VALUE(x), \"d\")\nCTL(\"a.{i}.b\", U64, RO, ALWAYS, VALUE(x), \"d\")\n",
    )
    .unwrap();
    let e = gen::handles(&t, &[]).expect_err("collision");
    assert!(e.contains("both become `a::b`"), "{e}");
    let t = parse(
        "CTL(\"a.b\", U64, RO, ALWAYS, VALUE(x), \"d\")\nCTL(\"a.{i}.b.c\", U64, RO, ALWAYS, VALUE(x), \"d\")\n",
    )
    .unwrap();
    let e = gen::handles(&t, &[]).expect_err("leaf named like a module");
    assert!(e.contains("has the name of a module"), "{e}");
}

#[test]
fn snapshot_structs_follow_the_table() {
    let t = parse(FIXTURE).unwrap();
    let s = gen::snapshot(&t).expect("generates");
    assert!(s.contains("pub struct Totals {"));
    assert!(s.contains("pub allocated: usize,"));
    assert!(s.contains("pub struct ArenaStats {"));
    assert!(s.contains("pub small_allocated: usize,"));
    assert!(s.contains("pub dss: &'static str,"));
    // Families, with the class constants first.
    let bins = &s[s.find("pub struct BinStats {").expect("BinStats")..];
    let bins = &bins[..bins.find("\n}\n").unwrap()];
    let order: Vec<usize> = [
        "pub index: u32",
        "pub nregs: u32",
        "pub size: usize",
        "pub curregs",
        "pub nmalloc",
    ]
    .iter()
    .map(|f| bins.find(f).unwrap_or_else(|| panic!("{f} in BinStats")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(s.contains("pub struct LextentStats {"));
    assert!(s.contains("pub bins: alloc::vec::Vec<BinStats>,"));
    assert!(s.contains("pub lextents: alloc::vec::Vec<LextentStats>,"));
    assert!(s.contains("nbins: crate::arenas::nbins::read()?,"));
}

#[test]
fn identifiers() {
    assert_eq!(gen::ident("type"), "r#type");
    assert_eq!(gen::ident("self"), "self_");
    assert_eq!(gen::ident("4096"), "_4096");
    assert_eq!(gen::ident("nmalloc"), "nmalloc");
}
