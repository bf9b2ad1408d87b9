//! Parser of `csrc/src/ctl_tree.def`, the one table of the mallctl namespace.
//!
//! Used by `build.rs` (which generates the typed handles from it) and by `tests/tree.rs` (which
//! runs it on a fixture). The grammar is fixed by the header comment of the `.def` file:
//!
//! ```text
//! CTL("path", TYPE, ACCESS, COND, IMPL, "one-line doc")
//! CTL_INDEX("prefix ending in {i} or {j}", validator)
//! ```
//!
//! Outside those two forms the file may hold only comments (`/* */`, `//`) and preprocessor lines
//! (`#...`, with `\` continuations); anything else is an error, so the table cannot grow a
//! construct that the Rust side silently skips. Errors name the line.

use std::collections::BTreeSet;
use std::fmt;

/// The C type of a leaf (TYPE column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CType {
    /// `bool`
    Bool,
    /// `unsigned`
    Unsigned,
    /// `uint32_t`
    U32,
    /// `uint64_t`
    U64,
    /// `int64_t`
    I64,
    /// `size_t`
    Size,
    /// `ssize_t`
    SSize,
    /// `const char *`
    Str,
    /// no value (a command)
    Void,
    /// `uint64_t *` (a pointer into the calling thread's state)
    U64Ptr,
    /// `extent_hooks_t *`
    Hooks,
    /// in: `void *`, out: `unsigned`
    Lookup,
    /// in (optional): `extent_hooks_t *`, out: `unsigned` (a creation: `arenas.create`)
    Create,
}

impl CType {
    fn parse(s: &str) -> Option<CType> {
        Some(match s {
            "BOOL" => CType::Bool,
            "UNSIGNED" => CType::Unsigned,
            "U32" => CType::U32,
            "U64" => CType::U64,
            "I64" => CType::I64,
            "SIZE" => CType::Size,
            "SSIZE" => CType::SSize,
            "STR" => CType::Str,
            "VOID" => CType::Void,
            "U64_PTR" => CType::U64Ptr,
            "HOOKS" => CType::Hooks,
            "LOOKUP" => CType::Lookup,
            "CREATE" => CType::Create,
            _ => return None,
        })
    }

    /// The spelling in the table.
    pub fn name(self) -> &'static str {
        match self {
            CType::Bool => "BOOL",
            CType::Unsigned => "UNSIGNED",
            CType::U32 => "U32",
            CType::U64 => "U64",
            CType::I64 => "I64",
            CType::Size => "SIZE",
            CType::SSize => "SSIZE",
            CType::Str => "STR",
            CType::Void => "VOID",
            CType::U64Ptr => "U64_PTR",
            CType::Hooks => "HOOKS",
            CType::Lookup => "LOOKUP",
            CType::Create => "CREATE",
        }
    }

    /// Whether the value is a plain number (or bool): what a stats snapshot can hold.
    pub fn is_scalar(self) -> bool {
        matches!(
            self,
            CType::Bool
                | CType::Unsigned
                | CType::U32
                | CType::U64
                | CType::I64
                | CType::Size
                | CType::SSize
        )
    }
}

/// Which directions a leaf supports (ACCESS column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `RO`: read only.
    Ro,
    /// `WO`: write only.
    Wo,
    /// `RW`: read and write.
    Rw,
    /// `NONE`: neither; calling the key is the action.
    None,
}

impl Access {
    fn parse(s: &str) -> Option<Access> {
        Some(match s {
            "RO" => Access::Ro,
            "WO" => Access::Wo,
            "RW" => Access::Rw,
            "NONE" => Access::None,
            _ => return None,
        })
    }

    /// Readable (`RO` or `RW`).
    pub fn reads(self) -> bool {
        matches!(self, Access::Ro | Access::Rw)
    }

    /// Writable (`WO` or `RW`).
    pub fn writes(self) -> bool {
        matches!(self, Access::Wo | Access::Rw)
    }
}

/// When a leaf exists (COND column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// Always.
    Always,
    /// Only in builds with statistics.
    Stats,
}

/// One component of a dotted path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comp {
    /// A literal name.
    Name(String),
    /// `{i}` (an arena) or `{j}` (a bin or large class): the letter.
    Index(char),
}

/// One `CTL(...)` line.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// The dotted path as written, e.g. `stats.arenas.{i}.bins.{j}.nmalloc`.
    pub path: String,
    /// The path split at the dots.
    pub comps: Vec<Comp>,
    /// TYPE.
    pub ty: CType,
    /// ACCESS.
    pub access: Access,
    /// COND.
    pub cond: Cond,
    /// IMPL, verbatim (`VALUE(...)` or `HANDLER(name)`).
    pub imp: String,
    /// The doc string, unescaped.
    pub doc: String,
    /// 1-based line of the entry.
    pub line: usize,
}

impl Leaf {
    /// The number of components: the MIB depth.
    pub fn depth(&self) -> usize {
        self.comps.len()
    }

    /// The last component (a name: checked by the parser).
    pub fn leaf_name(&self) -> &str {
        match self.comps.last() {
            Some(Comp::Name(n)) => n,
            _ => unreachable!("checked by the parser"),
        }
    }

    /// The index letters in path order, e.g. `['i', 'j']`.
    pub fn indices(&self) -> Vec<char> {
        self.comps
            .iter()
            .filter_map(|c| match c {
                Comp::Index(x) => Some(*x),
                Comp::Name(_) => None,
            })
            .collect()
    }

    /// Whether the path starts with the given components (names, or `{i}`/`{j}`).
    pub fn starts_with(&self, prefix: &[&str]) -> bool {
        prefix.len() <= self.comps.len()
            && prefix.iter().zip(&self.comps).all(|(p, c)| match c {
                Comp::Name(n) => n == p,
                Comp::Index(x) => p.len() == 3 && p.as_bytes()[1] as char == *x,
            })
    }
}

/// One `CTL_INDEX(...)` line.
#[derive(Clone, Debug)]
pub struct IndexDecl {
    /// The prefix, ending in `{i}` or `{j}`.
    pub prefix: String,
    /// The C validator function.
    pub validator: String,
    /// 1-based line.
    pub line: usize,
}

/// The whole table.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// The leaves, in file order.
    pub leaves: Vec<Leaf>,
    /// The index declarations, in file order.
    pub indices: Vec<IndexDecl>,
}

impl Tree {
    /// The leaf with this exact path.
    pub fn get(&self, path: &str) -> Option<&Leaf> {
        self.leaves.iter().find(|l| l.path == path)
    }
}

/// A parse error: line and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ctl_tree.def:{}: {}", self.line, self.msg)
    }
}

type PResult<T> = Result<T, ParseError>;

fn err<T>(line: usize, msg: impl Into<String>) -> PResult<T> {
    Err(ParseError {
        line,
        msg: msg.into(),
    })
}

/// Parses the text of a `ctl_tree.def`.
pub fn parse(src: &str) -> PResult<Tree> {
    let mut lx = Lexer {
        s: src.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut tree = Tree::default();
    loop {
        lx.skip_trivia()?;
        if lx.at_end() {
            break;
        }
        let line = lx.line;
        let ident = match lx.ident() {
            Some(id) => id,
            None => {
                return err(
                    line,
                    format!("unexpected character {:?}", lx.peek().map(char::from)),
                )
            }
        };
        lx.skip_trivia()?;
        if lx.peek() != Some(b'(') {
            return err(line, format!("expected `(` after `{ident}`"));
        }
        let args = lx.args()?;
        // Tolerate a trailing `;` (harmless for the X-macro expansions).
        lx.skip_trivia()?;
        if lx.peek() == Some(b';') {
            lx.pos += 1;
        }
        match ident.as_str() {
            "CTL" => tree.leaves.push(leaf(line, &args)?),
            "CTL_INDEX" => tree.indices.push(index_decl(line, &args)?),
            other => {
                return err(
                    line,
                    format!("unknown entry `{other}` (expected CTL or CTL_INDEX)"),
                )
            }
        }
    }
    check(&tree)?;
    Ok(tree)
}

fn leaf(line: usize, args: &[String]) -> PResult<Leaf> {
    if args.len() != 6 {
        return err(
            line,
            format!(
                "CTL takes 6 arguments (path, TYPE, ACCESS, COND, IMPL, doc), got {}",
                args.len()
            ),
        );
    }
    let path = c_string(line, &args[0])?;
    let comps = components(line, &path)?;
    if !matches!(comps.last(), Some(Comp::Name(_))) {
        return err(
            line,
            format!("path `{path}` must end in a name, not an index"),
        );
    }
    let ty = CType::parse(&args[1]).ok_or_else(|| ParseError {
        line,
        msg: format!("unknown TYPE `{}`", args[1]),
    })?;
    let access = Access::parse(&args[2]).ok_or_else(|| ParseError {
        line,
        msg: format!("unknown ACCESS `{}` (RO, WO, RW or NONE)", args[2]),
    })?;
    let cond = match args[3].as_str() {
        "ALWAYS" => Cond::Always,
        "STATS" => Cond::Stats,
        other => return err(line, format!("unknown COND `{other}` (ALWAYS or STATS)")),
    };
    let imp = args[4].clone();
    if !(imp.starts_with("VALUE(") || imp.starts_with("HANDLER(")) || !imp.ends_with(')') {
        return err(
            line,
            format!("IMPL must be VALUE(expr) or HANDLER(name), got `{imp}`"),
        );
    }
    let doc = c_string(line, &args[5])?;
    if doc.contains('\n') {
        return err(line, "the doc must be one line");
    }
    // Type and access must agree.
    match (ty, access) {
        (CType::Void, Access::None) => {}
        (CType::Void, _) | (_, Access::None) => {
            return err(
                line,
                format!("`{path}`: VOID goes with NONE and only with it"),
            )
        }
        (CType::Lookup, Access::Rw) => {}
        (CType::Lookup, _) => {
            return err(
                line,
                format!("`{path}`: LOOKUP needs RW (pointer in, index out)"),
            )
        }
        (CType::Create, Access::Rw | Access::Ro) => {}
        (CType::Create, _) => {
            return err(
                line,
                format!("`{path}`: CREATE is read (index out) or RW (optional hooks in)"),
            )
        }
        (CType::U64Ptr, Access::Ro) => {}
        (CType::U64Ptr, _) => return err(line, format!("`{path}`: U64_PTR is read only")),
        _ => {}
    }
    Ok(Leaf {
        path,
        comps,
        ty,
        access,
        cond,
        imp,
        doc,
        line,
    })
}

fn index_decl(line: usize, args: &[String]) -> PResult<IndexDecl> {
    if args.len() != 2 {
        return err(
            line,
            format!(
                "CTL_INDEX takes 2 arguments (prefix, validator), got {}",
                args.len()
            ),
        );
    }
    let prefix = c_string(line, &args[0])?;
    let comps = components(line, &prefix)?;
    if !matches!(comps.last(), Some(Comp::Index(_))) {
        return err(
            line,
            format!("CTL_INDEX prefix `{prefix}` must end in {{i}} or {{j}}"),
        );
    }
    let validator = args[1].clone();
    if validator.is_empty()
        || !validator
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return err(
            line,
            format!("CTL_INDEX validator must be a C identifier, got `{validator}`"),
        );
    }
    Ok(IndexDecl {
        prefix,
        validator,
        line,
    })
}

fn components(line: usize, path: &str) -> PResult<Vec<Comp>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match part {
            "{i}" => out.push(Comp::Index('i')),
            "{j}" => out.push(Comp::Index('j')),
            _ if !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                out.push(Comp::Name(part.to_string()))
            }
            _ => {
                return err(
                    line,
                    format!("bad component `{part}` in `{path}` ([A-Za-z0-9_]+, {{i}} or {{j}})"),
                )
            }
        }
    }
    Ok(out)
}

/// Whole-table checks: unique paths; no path is a prefix of another (a leaf cannot also be an
/// interior node).
fn check(tree: &Tree) -> PResult<()> {
    let mut seen = BTreeSet::new();
    for l in &tree.leaves {
        if !seen.insert(l.path.as_str()) {
            return err(l.line, format!("duplicate path `{}`", l.path));
        }
    }
    for l in &tree.leaves {
        let as_prefix = format!("{}.", l.path);
        if let Some(other) = tree.leaves.iter().find(|o| o.path.starts_with(&as_prefix)) {
            return err(
                other.line,
                format!(
                    "`{}` is under the leaf `{}` (line {})",
                    other.path, l.path, l.line
                ),
            );
        }
    }
    Ok(())
}

/// One or more adjacent C string literals, concatenated and unescaped.
fn c_string(line: usize, arg: &str) -> PResult<String> {
    let b = arg.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut any = false;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'"' => {
                any = true;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return err(line, format!("unterminated string in `{arg}`")),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let (byte, used) = c_escape(&b[i + 1..]).ok_or_else(|| ParseError {
                                line,
                                msg: format!("bad escape in `{arg}`"),
                            })?;
                            out.push(byte);
                            i += 1 + used;
                        }
                        Some(&c) => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
            }
            _ => return err(line, format!("expected a string literal, got `{arg}`")),
        }
    }
    if !any {
        return err(line, "expected a string literal, got nothing");
    }
    String::from_utf8(out).map_err(|_| ParseError {
        line,
        msg: format!("string `{arg}` is not UTF-8"),
    })
}

/// The byte of the escape sequence after a backslash, and how many bytes it used.
fn c_escape(s: &[u8]) -> Option<(u8, usize)> {
    let c = *s.first()?;
    Some(match c {
        b'n' => (b'\n', 1),
        b't' => (b'\t', 1),
        b'r' => (b'\r', 1),
        b'0'..=b'7' => {
            let n = s
                .iter()
                .take(3)
                .take_while(|d| (b'0'..=b'7').contains(*d))
                .count();
            let v = s[..n]
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            (u8::try_from(v).ok()?, n)
        }
        b'x' => {
            let n = s[1..].iter().take_while(|d| d.is_ascii_hexdigit()).count();
            if n == 0 {
                return None;
            }
            let v = u32::from_str_radix(std::str::from_utf8(&s[1..1 + n]).ok()?, 16).ok()?;
            (u8::try_from(v).ok()?, 1 + n)
        }
        b'\\' | b'"' | b'\'' | b'?' => (c, 1),
        b'a' => (7, 1),
        b'b' => (8, 1),
        b'f' => (12, 1),
        b'v' => (11, 1),
        _ => return None,
    })
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn at_line_start(&self) -> bool {
        self.s[..self.pos]
            .iter()
            .rev()
            .take_while(|&&c| c != b'\n')
            .all(|&c| c == b' ' || c == b'\t')
    }

    /// Skips whitespace, comments and preprocessor lines.
    fn skip_trivia(&mut self) -> PResult<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => {
                    self.bump();
                }
                Some(b'/') if self.s.get(self.pos + 1) == Some(&b'*') => self.block_comment()?,
                Some(b'/') if self.s.get(self.pos + 1) == Some(&b'/') => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.bump();
                    }
                }
                Some(b'#') if self.at_line_start() => {
                    // A directive, with backslash-newline continuations.
                    loop {
                        match self.bump() {
                            None | Some(b'\n') => break,
                            Some(b'\\') if self.peek() == Some(b'\n') => {
                                self.bump();
                            }
                            _ => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn block_comment(&mut self) -> PResult<()> {
        let line = self.line;
        self.bump();
        self.bump();
        loop {
            match self.bump() {
                None => return err(line, "unterminated comment"),
                Some(b'*') if self.peek() == Some(b'/') => {
                    self.bump();
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        if start == self.pos || self.s[start].is_ascii_digit() {
            self.pos = start;
            return None;
        }
        Some(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    /// The comma-separated arguments of a parenthesised list (the cursor is on the `(`), each
    /// trimmed; commas inside nested parentheses, strings and character literals do not split.
    fn args(&mut self) -> PResult<Vec<String>> {
        let open_line = self.line;
        self.bump(); // (
        let mut args = Vec::new();
        let mut cur = Vec::new();
        let mut depth = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return err(open_line, "unterminated argument list");
            };
            match c {
                b'/' if self.s.get(self.pos + 1) == Some(&b'*') => {
                    self.block_comment()?;
                    cur.push(b' ');
                }
                b'"' | b'\'' => {
                    let line = self.line;
                    cur.push(c);
                    self.bump();
                    loop {
                        match self.bump() {
                            None | Some(b'\n') => return err(line, "unterminated literal"),
                            Some(b'\\') => {
                                cur.push(b'\\');
                                if let Some(e) = self.bump() {
                                    cur.push(e);
                                }
                            }
                            Some(q) if q == c => {
                                cur.push(q);
                                break;
                            }
                            Some(o) => cur.push(o),
                        }
                    }
                }
                b'(' => {
                    depth += 1;
                    cur.push(c);
                    self.bump();
                }
                b')' if depth == 0 => {
                    self.bump();
                    args.push(finish_arg(&cur));
                    return Ok(args);
                }
                b')' => {
                    depth -= 1;
                    cur.push(c);
                    self.bump();
                }
                b',' if depth == 0 => {
                    self.bump();
                    args.push(finish_arg(&cur));
                    cur.clear();
                }
                _ => {
                    cur.push(c);
                    self.bump();
                }
            }
        }
    }
}

fn finish_arg(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}
