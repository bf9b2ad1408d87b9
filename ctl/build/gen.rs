//! Code generator: the parsed mallctl table (`tree.rs`) -> Rust source.
//!
//! * [`handles`]: one module per path prefix, one unit struct per leaf with the operations its
//!   access allows, its `_mib` twin, and one `#[test]` per leaf (`OUT_DIR/handles.rs`).
//! * [`snapshot`]: the typed structs of `Snapshot` — totals (`stats.*`), per arena
//!   (`stats.arenas.{i}.*`), and one struct per indexed family of an arena
//!   (`stats.arenas.{i}.bins.{j}.*` joined with `arenas.bin.{j}.*`, likewise `lextents`) — with
//!   the MIB sets that read them (`OUT_DIR/snapshot.rs`).
//!
//! Naming: path components become modules; Rust keywords become raw identifiers (`r#type`), or
//! get a trailing `_` where Rust forbids that (`self_`); a leading digit gets a leading `_`. Index
//! components `{i}`/`{j}` are dropped from the module path and become `u32` arguments named after
//! what they index (`arena`, `bin`, `lextent`, ...).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::tree::{Access, CType, Comp, Cond, Leaf, Tree};

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// A path component as a Rust identifier.
pub fn ident(s: &str) -> String {
    if s.as_bytes()[0].is_ascii_digit() {
        format!("_{s}")
    } else if matches!(s, "self" | "Self" | "super" | "crate") {
        format!("{s}_")
    } else if KEYWORDS.contains(&s) {
        format!("r#{s}")
    } else {
        s.to_string()
    }
}

/// `ident(s)` without a raw prefix, for building other names (`type` -> `type_mib`).
fn bare(s: &str) -> String {
    ident(s).trim_start_matches("r#").to_string()
}

/// A Rust string literal.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// A byte string literal of `s` (a path: `[A-Za-z0-9_.{}]` only, checked by the parser) with a
/// trailing NUL.
fn cstr_lit(s: &str) -> String {
    format!("b\"{s}\\0\"")
}

/// The argument names of a leaf's index components, in order.
pub fn index_args(leaf: &Leaf) -> Vec<String> {
    let mut names = Vec::new();
    let mut prev = "";
    for c in &leaf.comps {
        match c {
            Comp::Name(n) => prev = n,
            Comp::Index(x) => {
                let base = match (*x, prev) {
                    ('i', _) => "arena".to_string(),
                    (_, p) if p.len() > 1 && p.ends_with('s') => p[..p.len() - 1].to_string(),
                    (_, "") => x.to_string(),
                    (_, p) => p.to_string(),
                };
                let mut name = ident(&base);
                if name.starts_with("r#") || names.contains(&name) {
                    name = format!("{}_{x}", bare(&base));
                }
                names.push(name);
            }
        }
    }
    names
}

/// The Rust type a read yields.
fn out_ty(ty: CType) -> &'static str {
    match ty {
        CType::Bool => "bool",
        CType::Unsigned | CType::U32 | CType::Lookup | CType::Create => "u32",
        CType::U64 => "u64",
        CType::I64 => "i64",
        CType::Size => "usize",
        CType::SSize => "isize",
        CType::Str => "&'static str",
        CType::U64Ptr => "crate::ThreadLocal<u64>",
        CType::Hooks => "*mut crate::RawExtentHooks",
        CType::Void => "()",
    }
}

/// The Rust type a write takes.
fn in_ty(ty: CType) -> &'static str {
    match ty {
        CType::Str => "&core::ffi::CStr",
        CType::Lookup => "*const core::ffi::c_void",
        CType::Create => "*mut crate::RawExtentHooks",
        other => out_ty(other),
    }
}

/// The marker type of `crate::keys` that moves values of this C type.
fn marker(ty: CType) -> &'static str {
    match ty {
        CType::Bool => "crate::keys::Bool",
        CType::Unsigned => "crate::keys::Unsigned",
        CType::U32 => "crate::keys::U32",
        CType::U64 => "crate::keys::U64",
        CType::I64 => "crate::keys::I64",
        CType::Size => "crate::keys::Size",
        CType::SSize => "crate::keys::SSize",
        CType::Str => "crate::keys::Str",
        CType::U64Ptr => "crate::keys::U64Ptr",
        CType::Hooks => "crate::keys::Hooks",
        CType::Lookup | CType::Create | CType::Void => unreachable!("no marker: handled apart"),
    }
}

/// The C spelling of the type, for docs.
fn c_ty(ty: CType, access: Access) -> &'static str {
    match ty {
        CType::Create if !access.writes() => "unsigned out (created by the read)",
        CType::Bool => "bool",
        CType::Unsigned => "unsigned",
        CType::U32 => "uint32_t",
        CType::U64 => "uint64_t",
        CType::I64 => "int64_t",
        CType::Size => "size_t",
        CType::SSize => "ssize_t",
        CType::Str => "const char *",
        CType::Void => "void",
        CType::U64Ptr => "uint64_t *",
        CType::Hooks => "extent_hooks_t *",
        CType::Lookup => "void * in, unsigned out",
        CType::Create => "extent_hooks_t * in (optional), unsigned out",
    }
}

fn access_doc(a: Access) -> &'static str {
    match a {
        Access::Ro => "read-only",
        Access::Wo => "write-only",
        Access::Rw => "read-write",
        Access::None => "a command (no value)",
    }
}

fn cfg_attr(leaf: &Leaf) -> &'static str {
    match leaf.cond {
        Cond::Stats => "#[cfg(feature = \"stats\")]\n",
        Cond::Always => "",
    }
}

/// The module path (escaped) and the leaf's identifier.
fn module_path(leaf: &Leaf) -> Vec<String> {
    let names: Vec<&str> = leaf
        .comps
        .iter()
        .filter_map(|c| match c {
            Comp::Name(n) => Some(n.as_str()),
            Comp::Index(_) => None,
        })
        .collect();
    names[..names.len() - 1].iter().map(|n| ident(n)).collect()
}

/// The path with `<i>`/`<j>` for docs (the man page spelling).
fn doc_path(leaf: &Leaf) -> String {
    leaf.path.replace("{i}", "<i>").replace("{j}", "<j>")
}

/// The path with every index set to 0: the name used to look the MIB up.
fn zero_path(leaf: &Leaf) -> String {
    leaf.comps
        .iter()
        .map(|c| match c {
            Comp::Name(n) => n.as_str(),
            Comp::Index(_) => "0",
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Statements that put the leaf's name, indices filled in from `args`, into `name` (a
/// `crate::keys::NameBuf`), then an expression for its key.
fn name_key(leaf: &Leaf, args: &[String]) -> (String, String) {
    if args.is_empty() {
        return (
            format!(
                "const NAME: &core::ffi::CStr = crate::keys::cstr({});\n",
                cstr_lit(&leaf.path)
            ),
            "crate::keys::Key::Name(NAME)".to_string(),
        );
    }
    // Room for the literal parts, ten digits per index, and the NUL.
    let cap = leaf.path.len() + 10 * args.len() + 1;
    let mut s = format!("let mut name = crate::keys::NameBuf::<{cap}>::new();\n");
    let mut lit_part = String::new();
    let mut arg = args.iter();
    for (k, c) in leaf.comps.iter().enumerate() {
        if k > 0 {
            lit_part.push('.');
        }
        match c {
            Comp::Name(n) => lit_part.push_str(n),
            Comp::Index(_) => {
                if !lit_part.is_empty() {
                    let _ = writeln!(s, "name.push(b\"{lit_part}\");");
                    lit_part.clear();
                }
                let _ = writeln!(
                    s,
                    "name.push_u32({});",
                    arg.next().expect("one arg per index")
                );
            }
        }
    }
    let _ = writeln!(s, "name.push(b\"{lit_part}\\0\");");
    (s, "crate::keys::Key::Name(name.as_cstr())".to_string())
}

/// Statements that copy `self.0` into `mib` with the indices patched in.
fn mib_key(leaf: &Leaf, args: &[String]) -> (String, String) {
    let mut s = String::new();
    if args.is_empty() {
        return (s, "crate::keys::Key::Mib(self.0.as_slice())".to_string());
    }
    s.push_str("let mut mib = self.0;\n");
    let mut arg = args.iter();
    for (k, c) in leaf.comps.iter().enumerate() {
        if let Comp::Index(_) = c {
            let _ = writeln!(
                s,
                "mib[{k}] = {} as usize;",
                arg.next().expect("one arg per index")
            );
        }
    }
    (s, "crate::keys::Key::Mib(mib.as_slice())".to_string())
}

/// The `# Safety` section of a hooks pointer handed to the allocator.
const HOOKS_SAFETY: &str =
    "`value` must point to an `extent_hooks_t` whose functions honour the extent-hook \
     contract, and it must stay valid for as long as the arena may use it (until it is destroyed).";

/// Why running a command is `unsafe` (`None`: it is safe): the commands that free every allocation
/// of an arena.
fn call_safety(leaf: &Leaf) -> Option<&'static str> {
    let frees = leaf.depth() == 3
        && leaf.starts_with(&["arena", "{i}"])
        && matches!(leaf.leaf_name(), "reset" | "destroy");
    frees.then_some(
        "Every allocation of the arena is freed (and, for `destroy`, its memory goes back through \
         its hooks and its index is reused by a later `arenas.create`): nothing may use any of \
         them afterwards, and no thread cache may hold objects of the arena. An \
         [`Arena`](crate::Arena) owns its index and does this safely (`Arena::reset`, and its drop).",
    )
}

/// Why writing a key is `unsafe` (`None`: it is safe).
fn write_safety(leaf: &Leaf) -> Option<&'static str> {
    if leaf.ty == CType::Hooks {
        Some(HOOKS_SAFETY)
    } else if leaf.path == "thread.arena" {
        Some(
            "If `value` is an explicit arena, the calling thread's allocations (the global \
             allocator's included) come from it from now on: every one of them must be freed \
             before that arena is reset or destroyed, which an [`Arena`](crate::Arena) does on \
             `reset` and on drop. Binding to an automatic arena is always sound.",
        )
    } else {
        None
    }
}

/// The `# Safety` doc lines for `why` (empty for `None`), and the `unsafe ` qualifier.
fn safety_doc(why: Option<&str>) -> (String, &'static str) {
    match why {
        Some(t) => (format!("\n///\n/// # Safety\n///\n/// {t}"), "unsafe "),
        None => (String::new(), ""),
    }
}

/// The operations of a leaf, once for the unit struct (`by_mib = false`: by name) and once for
/// the `_mib` struct (`by_mib = true`).
fn ops(leaf: &Leaf, by_mib: bool) -> String {
    let args = index_args(leaf);
    // `{params}` closes a parameter list; `{params_}` continues into a value parameter.
    let mut list: Vec<String> = Vec::new();
    if by_mib {
        list.push("&self".into());
    }
    list.extend(args.iter().map(|a| format!("{a}: u32")));
    let params = list.join(", ");
    let params_ = if list.is_empty() {
        String::new()
    } else {
        format!("{params}, ")
    };
    let (prep, key) = if by_mib {
        mib_key(leaf, &args)
    } else {
        name_key(leaf, &args)
    };
    let how = if by_mib {
        "through the MIB (no name lookup)"
    } else {
        "by name"
    };
    let idx_doc = if args.is_empty() {
        String::new()
    } else {
        format!(
            "\n///\n/// Index arguments, in path order: {}.",
            args.iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let out = out_ty(leaf.ty);
    let inp = in_ty(leaf.ty);
    let mut s = String::new();
    match (leaf.ty, leaf.access) {
        (CType::Void, _) => {
            let (safety, unsafe_c) = safety_doc(call_safety(leaf));
            let _ = write!(
                s,
                "/// Runs the command {how}.{idx_doc}{safety}\npub {unsafe_c}fn call({params}) -> crate::Result<()> {{\n{prep}crate::keys::call({key})\n}}\n"
            );
        }
        (CType::Create, access) => {
            let (safety, _) = safety_doc(Some(HOOKS_SAFETY));
            let safety = safety.replace("`value`", "`hooks` (unless NULL)");
            let what = if access.writes() {
                " with the default extent hooks"
            } else {
                ""
            };
            let _ = write!(
                s,
                "/// Creates{what}, {how}; returns the new index.{idx_doc}\npub fn call({params}) -> crate::Result<u32> {{\n{prep}// SAFETY: nothing is written.\nunsafe {{ crate::keys::create({key}, core::ptr::null_mut()) }}\n}}\n"
            );
            if !access.writes() {
                return s;
            }
            let _ = write!(
                s,
                "/// Creates with the extent hooks `hooks` (NULL: the default ones), {how}; returns the \
                 new index.{idx_doc}{safety}\npub unsafe fn with_hooks({params_}hooks: {inp}) -> crate::Result<u32> {{\n{prep}crate::keys::create({key}, hooks)\n}}\n"
            );
        }
        (CType::Lookup, _) => {
            let _ = write!(
                s,
                "/// Looks `ptr` up {how}: writes the pointer, reads the index back.{idx_doc}\npub fn read({params_}ptr: {inp}) -> crate::Result<u32> {{\n{prep}crate::keys::lookup({key}, ptr)\n}}\n"
            );
        }
        (ty, access) => {
            let m = marker(ty);
            // Writing an extent-hooks pointer hands the allocator code to call; binding the thread
            // to an arena ties its allocations to that arena's reset and destroy.
            let (safety, unsafe_w) = safety_doc(write_safety(leaf));
            if access.reads() {
                let _ = write!(
                    s,
                    "/// Reads the value {how}.{idx_doc}\npub fn read({params}) -> crate::Result<{out}> {{\n{prep}// SAFETY: the marker is the leaf's C type (generated from the table).\nunsafe {{ crate::keys::get::<{m}>({key}) }}\n}}\n"
                );
            }
            if access.writes() {
                let _ = write!(
                    s,
                    "/// Writes `value` {how}.{idx_doc}{safety}\npub {unsafe_w}fn write({params_}value: {inp}) -> crate::Result<()> {{\n{prep}// SAFETY: the marker is the leaf's C type (generated from the table).\nunsafe {{ crate::keys::set::<{m}>({key}, value) }}\n}}\n"
                );
            }
            if access == Access::Rw {
                let _ = write!(
                    s,
                    "/// Writes `value` and reads in the same call {how}; returns what was read \
                     (for most keys the previous value).{idx_doc}{safety}\npub {unsafe_w}fn update({params_}value: {inp}) -> crate::Result<{out}> {{\n{prep}// SAFETY: the marker is the leaf's C type (generated from the table).\nunsafe {{ crate::keys::swap::<{m}>({key}, value) }}\n}}\n"
                );
            }
        }
    }
    s
}

/// The items of one leaf: the unit struct, its `_mib` twin, and their impls.
fn leaf_items(leaf: &Leaf) -> String {
    let name = ident(leaf.leaf_name());
    let mib_name = format!("{}_mib", bare(leaf.leaf_name()));
    let depth = leaf.depth();
    let cfg = cfg_attr(leaf);
    let feature_doc = match leaf.cond {
        Cond::Stats => ", needs the `stats` feature",
        Cond::Always => "",
    };
    let summary = format!(
        "`{}`: `{}`, {}{feature_doc}.",
        doc_path(leaf),
        c_ty(leaf.ty, leaf.access),
        access_doc(leaf.access)
    );
    let mut s = String::new();
    let _ = write!(
        s,
        "{doc}\n///\n/// {summary}\n{cfg}#[allow(non_camel_case_types)]\n#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]\npub struct {name};\n\n",
        doc = rustdoc(&leaf.doc),
    );
    let _ = write!(
        s,
        "{cfg}impl {name} {{\n/// The path in the table (`{{i}}`/`{{j}}` stand for indices).\npub const PATH: &'static str = {path};\n/// The MIB depth (number of components).\npub const DEPTH: usize = {depth};\n\n{ops}\n/// Looks the name up once; the MIB then skips the name parsing on every access.\npub fn mib() -> crate::Result<{mib_name}> {{\nconst NAME: &core::ffi::CStr = crate::keys::cstr({zero});\ncrate::keys::mib(NAME).map({mib_name})\n}}\n}}\n\n",
        path = lit(&leaf.path),
        ops = ops(leaf, false),
        zero = cstr_lit(&zero_path(leaf)),
    );
    let _ = write!(
        s,
        "/// The MIB of [`{name}`]; index components are patched in by each call.\n{cfg}#[allow(non_camel_case_types)]\n#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub struct {mib_name}(pub crate::Mib<{depth}>);\n\n{cfg}impl {mib_name} {{\n{ops}}}\n\n",
        ops = ops(leaf, true),
    );
    s
}

fn rustdoc(doc: &str) -> String {
    let mut d = doc.trim().to_string();
    if !d.ends_with('.') {
        d.push('.');
    }
    // Capitalize the first letter for rustdoc's summary line.
    let mut chars = d.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("#[doc = {}]", lit(&format!(" {first}{}", chars.as_str())))
}

#[derive(Default)]
struct Module<'a> {
    children: BTreeMap<String, Module<'a>>,
    leaves: Vec<&'a Leaf>,
}

impl<'a> Module<'a> {
    fn insert(&mut self, path: &[String], leaf: &'a Leaf) {
        match path.split_first() {
            None => self.leaves.push(leaf),
            Some((head, rest)) => self
                .children
                .entry(head.clone())
                .or_default()
                .insert(rest, leaf),
        }
    }

    fn emit(&self, out: &mut String, prefix: &str, extras: &[(&str, &str)]) {
        for (module, items) in extras {
            if *module == prefix {
                let _ = writeln!(out, "{items}\n");
            }
        }
        for leaf in &self.leaves {
            out.push_str(&leaf_items(leaf));
        }
        for (name, child) in &self.children {
            let dotted = if prefix.is_empty() {
                name.trim_start_matches("r#").to_string()
            } else {
                format!("{prefix}.{}", name.trim_start_matches("r#"))
            };
            let _ = writeln!(out, "/// The `{dotted}.*` keys.\npub mod {name} {{");
            child.emit(out, &dotted, extras);
            out.push_str("}\n\n");
        }
    }
}

/// Checks that no leaf's identifier collides with a module or another leaf of the same module.
fn check_names(tree: &Tree) -> Result<(), String> {
    let mut items: BTreeMap<(Vec<String>, String), &Leaf> = BTreeMap::new();
    let mut modules: BTreeMap<(Vec<String>, String), usize> = BTreeMap::new();
    for leaf in &tree.leaves {
        let path = module_path(leaf);
        for k in 0..path.len() {
            modules.insert((path[..k].to_vec(), path[k].clone()), leaf.line);
        }
        for name in [
            ident(leaf.leaf_name()),
            format!("{}_mib", bare(leaf.leaf_name())),
        ] {
            if let Some(other) = items.insert((path.clone(), name.clone()), leaf) {
                return Err(format!(
                    "ctl_tree.def:{}: `{}` and `{}` (line {}) both become `{}::{}` in Rust",
                    leaf.line,
                    leaf.path,
                    other.path,
                    other.line,
                    path.join("::"),
                    name
                ));
            }
        }
    }
    for ((path, name), leaf) in &items {
        if let Some(line) = modules.get(&(path.clone(), name.clone())) {
            return Err(format!(
                "ctl_tree.def:{}: the leaf `{}` has the name of a module (line {line}) in Rust",
                leaf.line, leaf.path
            ));
        }
    }
    Ok(())
}

/// `OUT_DIR/handles.rs`: the module tree of typed handles, and one test per leaf.
///
/// `extras` are hand-written items to put into a generated module, by dotted module path (`""`
/// is the crate root), e.g. a re-export of `stats::print` into `stats`.
pub fn handles(tree: &Tree, extras: &[(&str, &str)]) -> Result<String, String> {
    check_names(tree)?;
    let mut root = Module::default();
    for leaf in &tree.leaves {
        root.insert(&module_path(leaf), leaf);
    }
    let mut out =
        String::from("// @generated by ctl/build.rs from csrc/src/ctl_tree.def. Do not edit.\n\n");
    root.emit(&mut out, "", extras);
    out.push_str(&tests(tree));
    Ok(out)
}

/// The Rust path of a leaf's unit struct, from the crate root.
fn rust_path(leaf: &Leaf) -> String {
    let mut p = vec!["crate".to_string()];
    p.extend(module_path(leaf));
    p.push(ident(leaf.leaf_name()));
    p.join("::")
}

fn test_name(leaf: &Leaf) -> String {
    let mut s = String::from("key_");
    for c in &leaf.comps {
        match c {
            Comp::Name(n) => s.push_str(n),
            Comp::Index(x) => s.push(*x),
        }
        s.push('_');
    }
    s.pop();
    s
}

/// One test per leaf: the name resolves to a MIB of the right depth, and the leaf does what its
/// access says — reads read, read-write keys take back the value they hold, write-only and
/// command keys refuse to be read (EPERM), read-only keys refuse writes (EPERM); commands run
/// where that is harmless. Index components use 0 (arena 0, bin 0).
fn tests(tree: &Tree) -> String {
    let mut out = String::from(
        "#[cfg(test)]\n#[allow(non_snake_case, unused_imports, clippy::all)]\nmod generated_tests {\nuse crate::Error;\n\n",
    );
    for leaf in &tree.leaves {
        let body = special_test(tree, leaf).unwrap_or_else(|| default_test(leaf));
        let _ = write!(
            out,
            "/// `{}`\n{}#[test]\nfn {}() {{\n{}\n}}\n\n",
            leaf.path,
            cfg_attr(leaf),
            test_name(leaf),
            body
        );
    }
    out.push_str("}\n");
    out
}

/// Index arguments for tests: `0, 0, `.
fn zeros(leaf: &Leaf) -> String {
    "0, ".repeat(leaf.indices().len())
}

/// `let mut buf = [0usize; N]; assert the name resolves to depth N` and the raw EPERM probes.
fn resolve_check(leaf: &Leaf) -> String {
    let depth = leaf.depth();
    let zero = cstr_lit(&zero_path(leaf));
    let mut s = format!(
        "let mut buf = [0usize; {room}];\nlet n = crate::raw::name_to_mib(&{zero}[..], &mut buf[..]).expect(\"name_to_mib\");\nassert_eq!(n.len(), {depth}, \"MIB depth\");\n",
        room = depth + 1
    );
    // The name with too many components is not a key.
    let _ = writeln!(
        s,
        "assert_eq!(crate::raw::name_to_mib(&{}[..], &mut buf[..]).map(|m| m.len()), Err(Error::ENOENT));",
        cstr_lit(&format!("{}.nonexistent", zero_path(leaf)))
    );
    s
}

fn default_test(leaf: &Leaf) -> String {
    let p = rust_path(leaf);
    let z = zeros(leaf);
    let zero = cstr_lit(&zero_path(leaf));
    let mut s = resolve_check(leaf);
    let raw_size = match leaf.ty {
        CType::Bool => "u8",
        CType::Unsigned | CType::U32 => "u32",
        CType::U64 => "u64",
        CType::I64 => "i64",
        CType::Size => "usize",
        CType::SSize => "isize",
        CType::Str | CType::U64Ptr | CType::Hooks | CType::Lookup | CType::Create => "usize",
        CType::Void => "u8",
    };
    match (leaf.ty, leaf.access) {
        (CType::Void, _) => {
            if !leaf.path.ends_with(".reset") && !leaf.path.ends_with(".destroy") {
                let _ = write!(
                    s,
                    "{p}::call({z}).expect(\"call by name\");\n{p}::mib().expect(\"mib\").call({z}).expect(\"call by MIB\");\n"
                );
            }
            let _ = write!(
                s,
                "// Reading a command is refused.\nassert_eq!(unsafe {{ crate::raw::read::<u64>(&{zero}[..]) }}, Err(Error::EPERM));\n"
            );
        }
        (CType::Lookup, _) => {
            let _ = write!(
                s,
                "let p = unsafe {{ arenalloc::ffi::arenalloc_malloc(64) }};\nassert!(!p.is_null());\nlet a = {p}::read({z}p.cast_const()).expect(\"lookup by name\");\nassert_eq!({p}::mib().expect(\"mib\").read({z}p.cast_const()), Ok(a));\nunsafe {{ arenalloc::ffi::arenalloc_free(p) }};\n"
            );
            let _ = write!(
                s,
                "// A pointer the allocator does not own.\nlet local = 0u64;\nassert_eq!({p}::read({z}core::ptr::addr_of!(local).cast()), Err(Error::EINVAL));\n"
            );
        }
        (CType::Create, _) => unreachable!("CREATE has its own test (special_test)"),
        (CType::U64Ptr, _) => {
            let _ = write!(
                s,
                "let v = {p}::read({z}).expect(\"read\");\nlet _ = v.get();\nlet _ = {p}::mib().expect(\"mib\").read({z}).expect(\"read by MIB\").get();\n"
            );
        }
        (ty, Access::Ro) => {
            let _ = write!(
                s,
                "let v = {p}::read({z}).expect(\"read by name\");\nlet _ = {p}::mib().expect(\"mib\").read({z}).expect(\"read by MIB\");\n// Writing a read-only key is refused.\nassert_eq!(unsafe {{ crate::raw::write::<{raw_size}>(&{zero}[..], Default::default()) }}, Err(Error::EPERM));\n"
            );
            if ty == CType::Str {
                s.push_str("let _ = v.len();\n");
            } else {
                s.push_str("let _ = v;\n");
            }
        }
        (CType::Str, Access::Rw) => {
            let _ = write!(
                s,
                "let v = {p}::read({z}).expect(\"read\");\nlet c = alloc::ffi::CString::new(v).expect(\"no NUL\");\n{p}::write({z}&c).expect(\"write back\");\nassert_eq!({p}::read({z}), Ok(v));\nassert_eq!({p}::update({z}&c), Ok(v));\nlet m = {p}::mib().expect(\"mib\");\nm.write({z}&c).expect(\"write by MIB\");\nassert_eq!(m.read({z}), Ok(v));\n"
            );
        }
        (CType::Hooks, Access::Rw) => {
            let _ = write!(
                s,
                "let h = {p}::read({z}).expect(\"read\");\nassert!(!h.is_null());\n// SAFETY: writing back the hooks in force.\nunsafe {{ {p}::write({z}h) }}.expect(\"write back\");\nassert_eq!({p}::read({z}), Ok(h));\nlet m = {p}::mib().expect(\"mib\");\nassert_eq!(unsafe {{ m.update({z}h) }}, Ok(h));\n"
            );
        }
        (_, Access::Rw) => {
            // Keys whose writes are `unsafe`: writing back the value in force is sound.
            let (u, u_end) = if write_safety(leaf).is_some() {
                (
                    "// SAFETY: the value in force is written back.\nunsafe { ",
                    " }",
                )
            } else {
                ("", "")
            };
            let _ = write!(
                s,
                "let v = {p}::read({z}).expect(\"read\");\n{u}{p}::write({z}v){u_end}.expect(\"write back\");\nassert_eq!({p}::read({z}), Ok(v));\nassert_eq!({u}{p}::update({z}v){u_end}, Ok(v));\nlet m = {p}::mib().expect(\"mib\");\n{u}m.write({z}v){u_end}.expect(\"write by MIB\");\nassert_eq!(m.read({z}), Ok(v));\n"
            );
        }
        (_, Access::Wo) => {
            let _ = write!(
                s,
                "let _ = {p}::mib().expect(\"mib\");\n// Reading a write-only key is refused.\nassert_eq!(unsafe {{ crate::raw::read::<{raw_size}>(&{zero}[..]) }}, Err(Error::EPERM));\n"
            );
        }
        (_, Access::None) => unreachable!("NONE is VOID (checked by the parser)"),
    }
    s
}

/// Whether `path` is in the table with this type and access.
fn has(tree: &Tree, path: &str, ty: CType, access: Access) -> bool {
    tree.get(path)
        .is_some_and(|l| l.ty == ty && l.access == access)
}

/// Tests for keys whose effects need a setup: epoch (reads change), explicit tcaches and arenas.
///
/// The templates name other keys' handles; each is used only when the table has that key with
/// the type and access the template assumes (else the default test, or less of the special one).
/// Arenas and caches a test creates are destroyed before it ends (when the table can destroy
/// them); arena 0 and `MALLCTL_ARENAS_ALL` only ever see commands that must refuse them. Tests
/// run concurrently, so nothing is asserted about an index after it was given back (a
/// concurrent test may have been handed it again).
fn special_test(tree: &Tree, leaf: &Leaf) -> Option<String> {
    let mut s = resolve_check(leaf);
    let p = rust_path(leaf);
    let zero = cstr_lit(&zero_path(leaf));
    let create = has(tree, "arenas.create", CType::Create, Access::Rw);
    let destroy = has(tree, "arena.{i}.destroy", CType::Void, Access::None);
    let lookup = has(tree, "arenas.lookup", CType::Lookup, Access::Rw);
    let hooks = has(tree, "arena.{i}.extent_hooks", CType::Hooks, Access::Rw);
    // Gives the test's arenas back (a list expression).
    let teardown = |s: &mut String, arenas: &str| {
        if destroy {
            let _ = writeln!(
                s,
                "for x in {arenas} {{\n// SAFETY: the test's own arena; its allocations are not used any more.\nunsafe {{ crate::arena::destroy::call(x) }}.expect(\"destroy\");\n}}"
            );
        }
    };
    let fill = |t: &str| t.replace("@P", &p).replace("@ZERO", &zero);
    match (leaf.path.as_str(), leaf.ty) {
        ("epoch", _) => {
            s.push_str(
                "let e0 = crate::epoch::read().expect(\"read\");\nlet e1 = crate::epoch::advance().expect(\"advance\");\nassert!(e1 > e0, \"epoch {e0} -> {e1}\");\nlet m = crate::epoch::mib().expect(\"mib\");\nlet e2 = m.advance().expect(\"advance by MIB\");\nassert!(e2 > e1, \"epoch {e1} -> {e2}\");\nassert!(m.read().expect(\"read by MIB\") >= e2);\ncrate::epoch::write(1).expect(\"any value advances\");\nassert!(crate::epoch::read().expect(\"read\") > e2);\n",
            );
        }
        ("tcache.flush" | "tcache.destroy", CType::Unsigned) => {
            if !has(tree, "tcache.create", CType::Create, Access::Ro) {
                return None;
            }
            s.push_str(
                r#"let id = crate::tcache::create::call().expect("create");
// An allocation and a free through the cache.
let flags = arenalloc::mallocx_tcache(id);
let p = unsafe { arenalloc::ffi::arenalloc_mallocx(64, flags) };
assert!(!p.is_null());
unsafe { arenalloc::ffi::arenalloc_dallocx(p, flags) };
"#,
            );
            if has(tree, "tcache.flush", CType::Unsigned, Access::Wo) {
                s.push_str(
                    r#"crate::tcache::flush::write(id).expect("flush");
crate::tcache::flush::mib().expect("mib").write(id).expect("flush by MIB");
assert_eq!(crate::tcache::flush::write(u32::MAX), Err(Error::EFAULT));
"#,
                );
            }
            if has(tree, "tcache.destroy", CType::Unsigned, Access::Wo) {
                s.push_str(
                    r#"crate::tcache::destroy::write(id).expect("destroy");
assert_eq!(crate::tcache::destroy::write(u32::MAX), Err(Error::EFAULT));
"#,
                );
            }
            s.push_str(&fill(if leaf.access.reads() {
                "// Writing a read-only key is refused.\nassert_eq!(unsafe { crate::raw::write::<u32>(&@ZERO[..], 0) }, Err(Error::EPERM));\n"
            } else {
                "// Reading a write-only key is refused.\nassert_eq!(unsafe { crate::raw::read::<u32>(&@ZERO[..]) }, Err(Error::EPERM));\n"
            }));
        }
        (_, CType::Create) => {
            s.push_str(&fill(
                r#"let a = @P::call().expect("create");
let m = @P::mib().expect("mib");
let b = m.call().expect("create by MIB");
assert_ne!(a, b);
// The index must be read into exactly an `unsigned`: nothing is created else.
assert_eq!(unsafe { crate::raw::read::<u64>(&@ZERO[..]) }, Err(Error::EINVAL));
"#,
            ));
            s.push_str(&fill(if leaf.access.writes() {
                "// ... and read at all.\nassert_eq!(unsafe { crate::raw::write::<usize>(&@ZERO[..], 0) }, Err(Error::EINVAL));\n"
            } else {
                "// Writing is refused.\nassert_eq!(unsafe { crate::raw::write::<usize>(&@ZERO[..], 0) }, Err(Error::EPERM));\n"
            }));
            if leaf.path == "tcache.create"
                && has(tree, "tcache.destroy", CType::Unsigned, Access::Wo)
            {
                s.push_str("crate::tcache::destroy::write(a).expect(\"destroy\");\ncrate::tcache::destroy::write(b).expect(\"destroy\");\n");
            }
            let mut arenas = vec!["a", "b"];
            if leaf.path == "arenas.create" {
                if has(tree, "arenas.narenas", CType::Unsigned, Access::Ro) {
                    s.push_str(
                        "assert!(a.max(b) < crate::arenas::narenas::read().expect(\"narenas\"));\n",
                    );
                }
                if hooks {
                    s.push_str(&fill(
                        r#"let h = crate::arena::extent_hooks::read(0).expect("the default hooks");
// SAFETY: the default hooks.
let c = unsafe { @P::with_hooks(h) }.expect("create with hooks");
assert_eq!(crate::arena::extent_hooks::read(c), Ok(h));
// SAFETY: NULL stands for the default hooks.
let d = unsafe { m.with_hooks(core::ptr::null_mut()) }.expect("create with NULL hooks");
assert_eq!(crate::arena::extent_hooks::read(d), Ok(h));
"#,
                    ));
                    arenas.extend(["c", "d"]);
                }
                if lookup {
                    s.push_str(
                        r#"// Allocations of the arena are its own.
let flags = arenalloc::mallocx_arena(a) | arenalloc::MALLOCX_TCACHE_NONE;
let p = unsafe { arenalloc::ffi::arenalloc_mallocx(100, flags) };
assert!(!p.is_null());
assert_eq!(crate::arenas::lookup::read(p.cast_const()), Ok(a));
unsafe { arenalloc::ffi::arenalloc_sdallocx(p, 100, arenalloc::MALLOCX_TCACHE_NONE) };
"#,
                    );
                }
                teardown(&mut s, &format!("[{}]", arenas.join(", ")));
            }
        }
        ("arena.{i}.reset" | "arena.{i}.destroy", CType::Void) => {
            if !create {
                return None;
            }
            s.push_str(&fill(
                r#"let a = crate::arenas::create::call().expect("create");
let flags = arenalloc::mallocx_arena(a) | arenalloc::MALLOCX_TCACHE_NONE;
let small = unsafe { arenalloc::ffi::arenalloc_mallocx(64, flags) };
let large = unsafe { arenalloc::ffi::arenalloc_mallocx(1 << 20, flags) };
assert!(!small.is_null() && !large.is_null());
// SAFETY: the test's own arena; its two allocations are not used any more.
unsafe { @P::call(a) }.expect("on a new explicit arena");
let b = crate::arenas::create::call().expect("create");
// SAFETY: the test's own (empty) arena.
unsafe { @P::mib().expect("mib").call(b) }.expect("by MIB");
// Automatic arenas and the every-arena index are refused (SAFETY: so nothing is freed).
assert_eq!(unsafe { @P::call(0) }, Err(Error::EFAULT));
assert_eq!(unsafe { @P::call(crate::ARENAS_ALL) }, Err(Error::EFAULT));
// Reading a command is refused.
assert_eq!(unsafe { crate::raw::read::<u64>(&@ZERO[..]) }, Err(Error::EPERM));
"#,
            ));
            if leaf.leaf_name() == "reset" {
                s.push_str(
                    r#"// A reset arena stays usable.
let again = unsafe { arenalloc::ffi::arenalloc_mallocx(64, flags) };
assert!(!again.is_null());
"#,
                );
                if lookup {
                    s.push_str(
                        "assert_eq!(crate::arenas::lookup::read(again.cast_const()), Ok(a));\n",
                    );
                }
                s.push_str("unsafe { arenalloc::ffi::arenalloc_sdallocx(again, 64, arenalloc::MALLOCX_TCACHE_NONE) };\n");
                teardown(&mut s, "[a, b]");
            } else {
                s.push_str(&fill(
                    "// The index of the destroyed arenas' merged statistics is no arena.\nassert_eq!(unsafe { @P::call(crate::ARENAS_DESTROYED) }, Err(Error::EFAULT));\n",
                ));
                if has(tree, "arena.{i}.initialized", CType::Bool, Access::Ro) {
                    s.push_str("crate::epoch::advance().expect(\"epoch\");\nassert_eq!(crate::arena::initialized::read(crate::ARENAS_DESTROYED), Ok(true));\n");
                }
            }
        }
        ("arena.{i}.extent_hooks", CType::Hooks) if leaf.access == Access::Rw && create => {
            s.push_str(&fill(
                r#"let h = @P::read(0).expect("read");
assert!(!h.is_null());
let a = crate::arenas::create::call().expect("create");
assert_eq!(@P::read(a), Ok(h));
// SAFETY: the hooks in force are written back.
assert_eq!(unsafe { @P::update(a, h) }, Ok(h));
let m = @P::mib().expect("mib");
assert_eq!(m.read(a), Ok(h));
assert_eq!(unsafe { m.update(a, h) }, Ok(h));
unsafe { @P::write(0, h) }.expect("arena 0: write back");
// NULL is no hook table.
assert_eq!(unsafe { @P::write(a, core::ptr::null_mut()) }, Err(Error::EINVAL));
assert_eq!(@P::read(a), Ok(h));
"#,
            ));
            teardown(&mut s, "[a]");
        }
        ("arena.{i}.retain_grow_limit", CType::Size) if leaf.access == Access::Rw && create => {
            if !has(tree, "arenas.page", CType::Size, Access::Ro) {
                return None;
            }
            s.push_str(&fill(
                r#"let page = crate::arenas::page::read().expect("page");
let v0 = @P::read(0).expect("read arena 0");
assert!(v0 >= page && v0 % page == 0, "{v0}");
let a = crate::arenas::create::call().expect("create");
let v = @P::read(a).expect("read");
assert!(v >= page && v % page == 0, "{v}");
// Writes round down to pages; less than a page is refused.
assert_eq!(@P::update(a, 3 * page + 1), Ok(v));
assert_eq!(@P::read(a), Ok(3 * page));
assert_eq!(@P::write(a, page - 1), Err(Error::EINVAL));
let m = @P::mib().expect("mib");
m.write(a, v).expect("write by MIB");
assert_eq!(m.read(a), Ok(v));
"#,
            ));
            teardown(&mut s, "[a]");
        }
        _ => return None,
    }
    Some(s)
}

// ---------------------------------------------------------------------------------------------
// Snapshot types.

/// One field of a generated snapshot struct.
struct Field<'a> {
    name: String,
    leaf: &'a Leaf,
    /// The index arguments of the leaf that the struct's reader passes (`arena`, `j`).
    args: &'static str,
}

struct Group<'a> {
    rust_name: String,
    doc: String,
    fields: Vec<Field<'a>>,
    /// Per-family structs carry their own index.
    indexed: bool,
}

fn field_name(comps: &[Comp]) -> String {
    let parts: Vec<&str> = comps
        .iter()
        .map(|c| match c {
            Comp::Name(n) => n.as_str(),
            Comp::Index(_) => unreachable!("fields have no index below the group prefix"),
        })
        .collect();
    ident(&parts.join("_"))
}

fn snapshot_value(leaf: &Leaf) -> bool {
    leaf.access.reads() && (leaf.ty.is_scalar() || leaf.ty == CType::Str)
}

fn capitalized_singular(fam: &str) -> String {
    let singular = fam.strip_suffix('s').unwrap_or(fam);
    let mut out = String::new();
    for part in singular.split('_') {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            out.extend(f.to_uppercase());
            out.push_str(c.as_str());
        }
    }
    out
}

/// `OUT_DIR/snapshot.rs`: the structs of `Snapshot` and the MIB sets that fill them.
pub fn snapshot(tree: &Tree) -> Result<String, String> {
    let mut totals = Group {
        rust_name: "Totals".into(),
        doc: "The process-wide statistics (`stats.*`).".into(),
        fields: Vec::new(),
        indexed: false,
    };
    let mut arena = Group {
        rust_name: "ArenaStats".into(),
        doc: "The statistics of one arena (`stats.arenas.<i>.*`).".into(),
        fields: Vec::new(),
        indexed: false,
    };
    // Families: `stats.arenas.{i}.<fam>.{j}.*`, with the class info `arenas.<fam minus s>.{j}.*`
    // and the count `arenas.n<fam>`.
    let mut families: BTreeMap<String, Group> = BTreeMap::new();
    for leaf in tree.leaves.iter().filter(|l| snapshot_value(l)) {
        let c = &leaf.comps;
        let nidx = leaf.indices().len();
        if nidx == 0 && leaf.starts_with(&["stats"]) {
            totals.fields.push(Field {
                name: field_name(&c[1..]),
                leaf,
                args: "",
            });
        } else if nidx == 1 && leaf.starts_with(&["stats", "arenas", "{i}"]) {
            arena.fields.push(Field {
                name: field_name(&c[3..]),
                leaf,
                args: "arena",
            });
        } else if nidx == 2
            && leaf.starts_with(&["stats", "arenas", "{i}"])
            && c.len() > 5
            && c[4] == Comp::Index('j')
        {
            let Comp::Name(fam) = &c[3] else { continue };
            let count = format!("arenas.n{fam}");
            if tree.get(&count).is_none() {
                continue; // no way to know how many: not in the snapshot
            }
            families
                .entry(fam.clone())
                .or_insert_with(|| Group {
                    rust_name: format!("{}Stats", capitalized_singular(fam)),
                    doc: format!(
                        "One class of an arena's `{fam}` (`stats.arenas.<i>.{fam}.<j>.*`, with the class's `arenas.{}.<j>.*`).",
                        fam.strip_suffix('s').unwrap_or(fam)
                    ),
                    fields: Vec::new(),
                    indexed: true,
                })
                .fields
                .push(Field {
                    name: field_name(&c[5..]),
                    leaf,
                    args: "arena, j",
                });
        }
    }
    // Class info of each family, first in the struct.
    for (fam, group) in families.iter_mut() {
        let singular = fam.strip_suffix('s').unwrap_or(fam);
        let mut info: Vec<Field> = tree
            .leaves
            .iter()
            .filter(|l| {
                snapshot_value(l)
                    && l.indices() == ['j']
                    && l.starts_with(&["arenas", singular, "{j}"])
                    && l.depth() > 3
            })
            .map(|leaf| Field {
                name: field_name(&leaf.comps[3..]),
                leaf,
                args: "j",
            })
            .collect();
        info.append(&mut group.fields);
        group.fields = info;
    }
    for g in std::iter::once(&totals)
        .chain(std::iter::once(&arena))
        .chain(families.values())
    {
        let mut seen = std::collections::BTreeSet::new();
        for f in &g.fields {
            if f.name == "index" || !seen.insert(f.name.clone()) {
                return Err(format!(
                    "ctl_tree.def:{}: `{}` gives the field `{}` twice (or the reserved `index`) in {}",
                    f.leaf.line, f.leaf.path, f.name, g.rust_name
                ));
            }
        }
    }

    let mut out =
        String::from("// @generated by ctl/build.rs from csrc/src/ctl_tree.def. Do not edit.\n\n");
    emit_group(&mut out, &totals);
    emit_group(&mut out, &arena);
    for g in families.values() {
        emit_group(&mut out, g);
    }

    // ArenaSnapshot: the arena's stats and its families.
    out.push_str("/// One arena at one epoch: its statistics, then one entry per class of each family.\n#[derive(Clone, Debug, Default, PartialEq, Eq)]\n#[cfg_attr(feature = \"serde\", derive(serde::Serialize))]\npub struct ArenaSnapshot {\n/// The arena index (`MALLCTL_ARENAS_ALL` = 4096 for the merged view).\npub index: u32,\n/// The arena's own statistics.\npub stats: ArenaStats,\n");
    for (fam, g) in &families {
        let _ = writeln!(
            out,
            "/// Per class, indexed by class (`arenas.n{fam}` entries).\npub {}: alloc::vec::Vec<{}>,",
            ident(fam),
            g.rust_name
        );
    }
    out.push_str("}\n\n/// The MIBs for an [`ArenaSnapshot`], looked up once.\n#[derive(Debug)]\npub(crate) struct ArenaSnapshotMibs {\nstats: ArenaStatsMibs,\n");
    for (fam, g) in &families {
        let _ = writeln!(
            out,
            "{f}: {}Mibs,\nn{fam}: u32,",
            g.rust_name,
            f = ident(fam)
        );
    }
    out.push_str("}\n\nimpl ArenaSnapshotMibs {\npub(crate) fn new() -> crate::Result<Self> {\nOk(Self {\nstats: ArenaStatsMibs::new()?,\n");
    for (fam, g) in &families {
        let count = tree.get(&format!("arenas.n{fam}")).expect("checked above");
        let conv = match count.ty {
            CType::Unsigned | CType::U32 => "",
            _ => " as u32",
        };
        let _ = writeln!(
            out,
            "{f}: {}Mibs::new()?,\nn{fam}: crate::arenas::n{fam}::read()?{conv},",
            g.rust_name,
            f = ident(fam)
        );
    }
    out.push_str("})\n}\n\npub(crate) fn read(&self, arena: u32) -> crate::Result<ArenaSnapshot> {\nOk(ArenaSnapshot {\nindex: arena,\nstats: self.stats.read(arena)?,\n");
    for fam in families.keys() {
        let f = ident(fam);
        let _ = writeln!(
            out,
            "{f}: (0..self.n{fam}).map(|j| self.{f}.read(arena, j)).collect::<crate::Result<_>>()?,"
        );
    }
    out.push_str("})\n}\n}\n");
    Ok(out)
}

fn value_variant(ty: CType) -> &'static str {
    match ty {
        CType::Bool => "Bool",
        CType::Unsigned => "Unsigned",
        CType::U32 => "U32",
        CType::U64 => "U64",
        CType::I64 => "I64",
        CType::Size => "Size",
        CType::SSize => "SSize",
        CType::Str => "Str",
        _ => unreachable!("not a snapshot value"),
    }
}

fn emit_group(out: &mut String, g: &Group) {
    let _ = write!(
        out,
        "/// {}\n#[derive(Clone, Debug, Default, PartialEq, Eq)]\n#[cfg_attr(feature = \"serde\", derive(serde::Serialize))]\npub struct {} {{\n",
        g.doc, g.rust_name
    );
    if g.indexed {
        out.push_str("/// The class index (`<j>`).\npub index: u32,\n");
    }
    for f in &g.fields {
        let _ = write!(
            out,
            "{}\n///\n/// From `{}`.\npub {}: {},\n",
            rustdoc(&f.leaf.doc),
            doc_path(f.leaf),
            f.name,
            out_ty(f.leaf.ty)
        );
    }
    out.push_str("}\n\n");

    // Field metadata and values, for generic consumers (metrics).
    let _ = write!(
        out,
        "impl {} {{\n/// The fields, in declaration order (metadata for generic consumers such as `metrics`).\npub const FIELDS: &'static [crate::snapshot::Field] = &[\n",
        g.rust_name
    );
    for f in &g.fields {
        let _ = writeln!(
            out,
            "crate::snapshot::Field {{ name: {}, path: {}, ty: crate::snapshot::Type::{}, doc: {} }},",
            lit(f.name.trim_start_matches("r#")),
            lit(&f.leaf.path),
            value_variant(f.leaf.ty),
            lit(f.leaf.doc.trim())
        );
    }
    let _ = write!(
        out,
        "];\n\n/// The values of [`Self::FIELDS`], in the same order.\npub fn values(&self) -> alloc::vec::Vec<crate::snapshot::Value> {{\nalloc::vec![\n"
    );
    for f in &g.fields {
        let _ = writeln!(out, "crate::snapshot::Value::from(self.{}),", f.name);
    }
    out.push_str("]\n}\n}\n\n");

    // The MIB set.
    let _ = write!(
        out,
        "/// The MIBs of [`{n}`], looked up once.\n#[derive(Debug)]\n#[allow(non_snake_case)]\npub(crate) struct {n}Mibs {{\n",
        n = g.rust_name
    );
    for f in &g.fields {
        let _ = writeln!(
            out,
            "{}: {}_mib,",
            f.name,
            rust_path(f.leaf)
                .rsplit_once("::")
                .map(|(m, _)| format!("{m}::{}", bare(f.leaf.leaf_name())))
                .expect("a path")
        );
    }
    let _ = write!(
        out,
        "}}\n\nimpl {n}Mibs {{\npub(crate) fn new() -> crate::Result<Self> {{\nOk(Self {{\n",
        n = g.rust_name
    );
    for f in &g.fields {
        let _ = writeln!(out, "{}: {}::mib()?,", f.name, rust_path(f.leaf));
    }
    let params = if g.indexed {
        ", arena: u32, j: u32"
    } else if g.fields.iter().any(|f| f.args == "arena") {
        ", arena: u32"
    } else {
        ""
    };
    let _ = write!(
        out,
        "}})\n}}\n\n#[allow(unused_variables)]\npub(crate) fn read(&self{params}) -> crate::Result<{n}> {{\nOk({n} {{\n",
        n = g.rust_name
    );
    if g.indexed {
        out.push_str("index: j,\n");
    }
    for f in &g.fields {
        let _ = writeln!(out, "{}: self.{}.read({})?,", f.name, f.name, f.args);
    }
    out.push_str("})\n}\n}\n\n");
}
