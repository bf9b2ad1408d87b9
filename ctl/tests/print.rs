//! `stats::print`: the C report through a Rust callback (text, and JSON that parses).

use arenalloc_ctl::stats;

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

#[test]
fn text_report() {
    let keep = vec![0u8; 1 << 16];
    let text = stats::print("");
    assert!(!text.is_empty());
    assert!(text.lines().count() > 3, "{text}");
    // Every option character is accepted, and anything from a NUL on is ignored.
    for opts in ["g", "m", "a", "b", "l", "x", "e", "gmablxe", "\0J", "?"] {
        assert!(!stats::print(opts).is_empty(), "{opts:?}");
    }
    drop(keep);
}

#[test]
fn json_report_parses() {
    let json = stats::print("J");
    let v: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(v.is_object());
}

#[test]
fn print_with_sees_every_piece() {
    let mut pieces = Vec::new();
    stats::print_with("", |s| pieces.push(s.to_owned()));
    assert!(!pieces.is_empty());
    let whole = pieces.concat();
    assert!(whole.lines().count() > 3, "{whole}");
}

#[cfg(feature = "std")]
#[test]
fn a_panicking_callback_resumes_after_the_c_call() {
    let mut calls = 0;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stats::print_with("", |_| {
            calls += 1;
            panic!("boom");
        })
    }));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "boom");
    // The rest of the report was dropped.
    assert_eq!(calls, 1);
}
