//! The statistics in the Prometheus text exposition format (version 0.0.4), for a service's
//! `/metrics` endpoint.
//!
//! ```
//! # #[cfg(feature = "prometheus")] {
//! let text = arenalloc_ctl::metrics::render().unwrap();
//! assert!(text.contains("# TYPE arenalloc_allocated_bytes gauge"));
//! # }
//! ```
//!
//! Names are derived from the keys, so every statistic of the table is exported:
//!
//! * `arenalloc_<key>` for `stats.<key>`; `arenalloc_arena_<key>{arena="<i>"}` for
//!   `stats.arenas.<i>.<key>`; `arenalloc_bin_<key>{arena="<i>",size_class="<bytes>"}` for
//!   `stats.arenas.<i>.bins.<j>.<key>`, likewise `arenalloc_lextent_...` (dots become `_`).
//! * `uint64_t` keys are cumulative counts (jemalloc's convention): counters, suffixed `_total`
//!   (so is `zero_reallocs`). Other numbers are gauges. Byte amounts get `_bytes`, page counts
//!   `_pages`; `uptime` is exported in `_seconds`.
//! * Only initialized arenas are exported, not the merged view (it is their sum:
//!   `sum without (arena) (...)`), and only the classes of an arena that were ever used.
//! * String and boolean keys are left out.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use crate::snapshot::{ArenaSnapshot, Field, Snapshot, Type, Value};
use crate::Result;

/// Takes a [`Snapshot`] and renders it.
pub fn render() -> Result<String> {
    Ok(render_snapshot(&Snapshot::take()?))
}

/// Renders `snapshot` in the Prometheus text format.
pub fn render_snapshot(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    // Totals.
    let values = snapshot.totals.values();
    for (field, value) in crate::snapshot::Totals::FIELDS.iter().zip(&values) {
        if let Some(m) = Metric::of("", field) {
            m.header(&mut out);
            m.sample(&mut out, &[], *value);
        }
    }
    // Per arena.
    let arenas: Vec<(String, Vec<Value>)> = snapshot
        .arenas
        .iter()
        .map(|a| (decimal(a.index.into()), a.stats.values()))
        .collect();
    for (k, field) in crate::snapshot::ArenaStats::FIELDS.iter().enumerate() {
        if let Some(m) = Metric::of("arena_", field) {
            m.header(&mut out);
            for (label, values) in &arenas {
                m.sample(&mut out, &[("arena", label)], values[k]);
            }
        }
    }
    families(&mut out, &snapshot.arenas);
    out
}

/// The per-class families of the arenas (generated list, see `snapshot.rs`).
fn families(out: &mut String, arenas: &[ArenaSnapshot]) {
    family(
        out,
        "bin_",
        arenas,
        crate::snapshot::BinStats::FIELDS,
        |a| a.bins.iter().map(|b| (b.index, b.values())).collect(),
    );
    family(
        out,
        "lextent_",
        arenas,
        crate::snapshot::LextentStats::FIELDS,
        |a| a.lextents.iter().map(|l| (l.index, l.values())).collect(),
    );
}

/// One family: the rows of every arena, labelled with the arena and the class size.
fn family(
    out: &mut String,
    prefix: &str,
    arenas: &[ArenaSnapshot],
    fields: &'static [Field],
    rows: impl Fn(&ArenaSnapshot) -> Vec<(u32, Vec<Value>)>,
) {
    let size = fields
        .iter()
        .position(|f| f.name == "size" && is_class_info(f));
    let stat = |k: usize| !is_class_info(&fields[k]);
    // (arena label, class label, values) of the classes ever used.
    let mut used = Vec::new();
    for a in arenas {
        for (j, values) in rows(a) {
            let any = values
                .iter()
                .enumerate()
                .any(|(k, v)| stat(k) && !matches!(v, Value::U64(0) | Value::I64(0)));
            if any {
                let class = match size.map(|k| values[k]) {
                    Some(Value::U64(bytes)) => decimal(bytes),
                    _ => decimal(j.into()),
                };
                used.push((decimal(a.index.into()), class, values));
            }
        }
    }
    let class_label = if size.is_some() {
        "size_class"
    } else {
        "class"
    };
    for (k, field) in fields.iter().enumerate() {
        if !stat(k) {
            continue;
        }
        if let Some(m) = Metric::of(prefix, field) {
            m.header(out);
            for (arena, class, values) in &used {
                m.sample(out, &[("arena", arena), (class_label, class)], values[k]);
            }
        }
    }
}

/// Class constants (`arenas.bin.<j>.size`, ...) are labels, not metrics.
fn is_class_info(f: &Field) -> bool {
    f.path.starts_with("arenas.")
}

fn decimal(v: u64) -> String {
    let mut s = String::new();
    let _ = write!(s, "{v}");
    s
}

struct Metric {
    name: String,
    counter: bool,
    /// The value is in nanoseconds and is exported in seconds (Prometheus's base unit).
    nanoseconds: bool,
    help: &'static str,
}

impl Metric {
    /// The metric of a field (`None` for strings and booleans).
    fn of(scope: &str, field: &Field) -> Option<Metric> {
        let counter = match field.ty {
            Type::Str | Type::Bool => return None,
            Type::U64 => !GAUGES_U64.iter().any(|g| field.name.ends_with(g)),
            _ => COUNTERS.contains(&field.name),
        };
        let word = field.name.rsplit('_').next().unwrap_or(field.name);
        let nanoseconds = NANOSECONDS.contains(&field.name);
        let unit = if field.name.ends_with("_bytes") {
            ""
        } else if nanoseconds {
            "_seconds"
        } else if BYTES.contains(&word) {
            "_bytes"
        } else if PAGES.contains(&field.name) || word == "purged" {
            "_pages"
        } else {
            ""
        };
        let mut name = String::from("arenalloc_");
        name.push_str(scope);
        name.push_str(field.name);
        name.push_str(unit);
        if counter {
            name.push_str("_total");
        }
        Some(Metric {
            name,
            counter,
            nanoseconds,
            help: field.doc,
        })
    }

    fn header(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, escape_help(self.help));
        let kind = if self.counter { "counter" } else { "gauge" };
        let _ = writeln!(out, "# TYPE {} {kind}", self.name);
    }

    fn sample(&self, out: &mut String, labels: &[(&str, &str)], value: Value) {
        out.push_str(&self.name);
        if !labels.is_empty() {
            out.push('{');
            for (k, (name, v)) in labels.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{name}=\"{}\"", escape_label(v));
            }
            out.push('}');
        }
        let _ = match value {
            Value::U64(v) if self.nanoseconds => writeln!(out, " {}", v as f64 / 1e9),
            Value::U64(v) => writeln!(out, " {v}"),
            Value::I64(v) => writeln!(out, " {v}"),
            Value::Bool(b) => writeln!(out, " {}", u8::from(b)),
            Value::Str(_) => writeln!(out, " NaN"),
        };
    }
}

/// `uint64_t` statistics that are not cumulative (by name suffix).
const GAUGES_U64: &[&str] = &["uptime", "run_interval", "max_wait_time"];
/// Other statistics that are cumulative.
const COUNTERS: &[&str] = &["zero_reallocs"];
/// Durations in nanoseconds.
const NANOSECONDS: &[&str] = &["uptime"];
/// Last words of names that are amounts of bytes.
const BYTES: &[&str] = &[
    "allocated",
    "active",
    "metadata",
    "resident",
    "mapped",
    "retained",
    "base",
    "internal",
    "thp", // metadata_thp: bytes of metadata advised MADV_HUGEPAGE
];
/// Names that are counts of pages.
const PAGES: &[&str] = &["pactive", "pdirty", "pmuzzy"];

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
#[path = "../tests/support/prometheus.rs"]
mod prometheus_parser;

#[cfg(test)]
mod tests {
    use super::prometheus_parser::{parse, parse_labels};
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn parser_rejects_what_it_should() {
        let good = "# HELP a_total x\n# TYPE a_total counter\na_total{arena=\"0\"} 1\n";
        assert_eq!(parse(good).0.len(), 1);
        for bad in [
            "a 1\n",                                    // no HELP/TYPE
            "# HELP a x\n# TYPE a gauge\na{b=\"1} 2\n", // unterminated
            "# HELP a x\n# TYPE a gauge\na 1\na 2\n",   // duplicate
            "# HELP a x\n# TYPE a gauge\na one\n",      // bad value
        ] {
            let bad = bad.to_string();
            assert!(std::panic::catch_unwind(move || parse(&bad)).is_err());
        }
        let labels = parse_labels(1, "a=\"x\\\"y\\\\z\\n\",b=\"\"");
        assert_eq!(
            labels,
            vec![
                ("a".to_string(), "x\"y\\z\n".to_string()),
                ("b".to_string(), String::new())
            ]
        );
    }

    #[test]
    fn render_is_valid_exposition_format() {
        let keep: Vec<u64> = (0..10_000).collect();
        let big = vec![0u8; 1 << 20];
        let snapshot = Snapshot::take().expect("snapshot");
        let text = render_snapshot(&snapshot);
        let (samples, kinds) = parse(&text);
        assert!(!samples.is_empty());

        // Counters end in _total, and every name is ours.
        for (name, kind) in &kinds {
            assert!(name.starts_with("arenalloc_"), "{name}");
            assert_eq!(
                kind == "counter",
                name.ends_with("_total"),
                "{name}: {kind}"
            );
        }
        let get = |name: &str| {
            samples
                .iter()
                .find(|s| s.name == name && s.labels.is_empty())
                .unwrap_or_else(|| panic!("no {name}"))
                .value
        };
        assert_eq!(kinds["arenalloc_allocated_bytes"], "gauge");
        assert_eq!(
            get("arenalloc_allocated_bytes"),
            snapshot.totals.allocated as f64
        );
        assert!(get("arenalloc_allocated_bytes") >= (keep.len() * 8 + big.len()) as f64);
        assert!(get("arenalloc_active_bytes") <= get("arenalloc_resident_bytes"));

        // Per-arena and per-class series carry their labels.
        let arena0 = samples
            .iter()
            .find(|s| s.name.starts_with("arenalloc_arena_"))
            .expect("per-arena series");
        assert_eq!(arena0.labels[0].0, "arena");
        let bin = samples
            .iter()
            .find(|s| s.name == "arenalloc_bin_nmalloc_total")
            .expect("a used bin");
        assert_eq!(bin.labels[0].0, "arena");
        assert_eq!(bin.labels[1].0, "size_class");
        let size: u64 = bin.labels[1].1.parse().expect("size_class is a number");
        assert!(size > 0);
        assert!(samples
            .iter()
            .any(|s| s.name == "arenalloc_lextent_nmalloc_total"));
        drop((keep, big));
    }
}
