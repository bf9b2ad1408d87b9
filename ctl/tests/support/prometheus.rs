//! A small parser of the Prometheus text exposition format (0.0.4), for the tests of
//! `metrics`: shared by the crate's unit test (`src/metrics.rs`) and `tests/metrics.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::string::{String, ToString};
use std::vec::Vec;

/// A sample line: name, labels, value.
#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// A small parser of the text format (0.0.4): comments `# HELP name text` and
/// `# TYPE name kind`, samples `name{label="value",...} number`. Checks as it goes that every
/// sample's family has HELP and TYPE before it, that each family's samples are contiguous, and
/// that no (name, labels) repeats. Returns the samples and the family kinds.
pub fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let mut help = BTreeSet::new();
    let mut kinds = BTreeMap::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut closed = BTreeSet::new();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let word = parts.next().unwrap();
            let name = parts.next().unwrap_or_else(|| panic!("line {n}: no name"));
            let arg = parts
                .next()
                .unwrap_or_else(|| panic!("line {n}: no argument"));
            assert!(valid_name(name), "line {n}: bad metric name {name:?}");
            match word {
                "HELP" => assert!(help.insert(name.to_string()), "line {n}: HELP twice"),
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg),
                        "line {n}: bad type {arg}"
                    );
                    assert!(
                        kinds.insert(name.to_string(), arg.to_string()).is_none(),
                        "line {n}: TYPE twice"
                    );
                    if let Some(prev) = current.replace(name.to_string()) {
                        closed.insert(prev);
                    }
                }
                _ => panic!("line {n}: unknown comment {word}"),
            }
            continue;
        }
        assert!(!line.is_empty(), "line {n}: empty line");
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("line {n}: no value"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("line {n}: bad value {value:?}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), Vec::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("line {n}: unclosed labels"));
                (name.to_string(), parse_labels(n, body))
            }
        };
        assert!(valid_name(&name), "line {n}: bad metric name {name:?}");
        assert!(help.contains(&name), "line {n}: {name} has no HELP");
        assert!(kinds.contains_key(&name), "line {n}: {name} has no TYPE");
        assert_eq!(
            current.as_deref(),
            Some(name.as_str()),
            "line {n}: not contiguous"
        );
        assert!(!closed.contains(&name), "line {n}: family {name} reopened");
        assert!(
            seen.insert((name.clone(), labels.clone())),
            "line {n}: duplicate series"
        );
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    (samples, kinds)
}

pub fn parse_labels(n: usize, body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("line {n}: bad label in {body:?}"));
        assert!(valid_label(key), "line {n}: bad label name {key:?}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                None => panic!("line {n}: unterminated label value"),
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("line {n}: bad escape {other:?}"),
                },
                Some((k, '"')) => break k,
                Some((_, c)) => value.push(c),
            }
        };
        out.push((key.to_string(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    out
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label(s: &str) -> bool {
    valid_name(s) && !s.contains(':')
}
