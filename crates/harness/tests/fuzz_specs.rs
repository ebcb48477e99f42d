//! A mutation fuzzer for spec parsing and validation, on the stable toolchain.
//!
//! `cargo fuzz` needs a nightly compiler, which this project's machines cannot fetch; this test
//! stands in for it. It mutates a corpus of valid and malformed specs (byte flips, insertions of
//! YAML syntax, deleted/duplicated/swapped lines, truncation, odd Unicode) and requires that
//! `parse_spec` never panics and that every rejection names the file. Inputs are generated from a
//! fixed seed, so a failure is reproducible; the failing text is printed and written to
//! `target/fuzz-failures/`, ready to become a case of `tests/specs/bad/`.
//!
//! Budget: `SUBBENCH_FUZZ_SECONDS` (default 3, what `just test` spends); `just fuzz` runs longer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::spec::{parse_spec, LoadOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A valid spec that touches every part of the grammar.
const RICH: &str = r#"name: rich
title: "Every feature"
paper: test
claim: "value is x squared"
evidence: derived
method: test.quadratic
seeds: 3
seed: 7
timeout: 10
params: {noise: 0.0, weights: [1, 2]}
sweep:
  union:
    - grid:
        x: {linspace: [1, 3, 3]}
        mode: [plain, shifted]
    - zip:
        x: [4, 5]
        mode: [plain, plain]
metrics:
  value: {label: "x²", better: lower}
  theory: {}
report:
  interval: bootstrap
  figures:
    - {kind: line, x: x, y: value, series: mode, log_x: true, where: {mode: plain}}
    - {kind: line, x: x, y: value, also: [theory], shade: [value, theory], x_label: "the x"}
    - {kind: heatmap, x: x, y: mode, z: value}
    - {kind: curve, x: step, y: path, series: mode}
  tables:
    - {rows: mode, columns: x, value: value, format: ".3f"}
expect:
  - threshold: {metric: value, where: {mode: plain, x: 2}, stat: ci_low, above: 3, below: 5}
  - ordering: {metric: value, better: {mode: plain}, worse: {mode: shifted}, margin: 0.5}
  - agreement: {metric: theory, expr: "x^2", abs_tol: 1.0e-9}
  - trend: {metric: value, along: x, slope: [1.5, 2.5]}
  - baseline: {abs_tol: 1.0e-9, metrics: [value]}
refuted:
  - trend: {metric: value, along: x, monotone: decreasing}
quick:
  seeds: 1
  params: {noise: 0.1}
"#;

const TOKENS: &[&str] = &[
    ": ",
    "- ",
    "\n",
    "  ",
    "\t",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!binary ",
    "~",
    "null",
    "-1",
    "1e308",
    "1e-400",
    "nan",
    ".inf",
    "0x1F",
    "'",
    "\"",
    "#",
    "|\n  ",
    ">\n  ",
    "---\n",
    "...\n",
    "?",
    "%YAML 1.2\n",
    "é",
    "\u{202e}",
    "\u{0}",
    "\u{feff}",
    "linspace",
    "logspace",
    "range",
    "grid",
    "zip",
    "union",
    "where",
    "expect",
    "refuted",
    "quick",
    "method",
    "x",
    "mode",
    "value",
    "999999999999999999999",
    "[[1, 2], [3]]",
    "{linspace: [0, 1, 100000000]}",
    // Integers at and beyond i64's limits in generators (an overflow in start + i·step once).
    "{range: [9.2e18, 9.4e18, 1.0e17]}",
    "{range: [-9223372036854775808, 9223372036854775807, 4611686018427387904]}",
    "9223372036854775807",
    "-9223372036854775809",
    "18446744073709551616",
    "{range: [0, 9007199254740993]}",
];

/// Generated tokens too large to write out: expressions nested or chained far beyond the
/// parser's limits (10,000 parentheses and 60,000-term `^` chains overflowed the stack once).
fn generated_tokens() -> Vec<String> {
    let deep = |n: usize| format!("\"{}x{}\"", "(".repeat(n), ")".repeat(n));
    vec![
        deep(150),
        deep(10_000),
        format!("\"{}\"", vec!["x"; 60_000].join("^")),
        format!("\"{}x\"", "-".repeat(5_000)),
        format!("\"{}\"", vec!["sqrt(x)"; 2_000].join(" + ")),
        format!(
            "{{agreement: {{metric: value, expr: {}, abs_tol: 0.1}}}}",
            deep(400)
        ),
    ]
}

fn mutate(text: &str, rng: &mut ChaCha8Rng, generated: &[String]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.gen_range(1..6) {
        let at = rng.gen_range(0..=bytes.len());
        match rng.gen_range(0..8) {
            7 => {
                let token = &generated[rng.gen_range(0..generated.len())];
                bytes.splice(at..at, token.bytes());
            }
            0 if !bytes.is_empty() => {
                let i = rng.gen_range(0..bytes.len());
                bytes[i] ^= 1 << rng.gen_range(0..8);
            }
            1 => {
                let token = TOKENS[rng.gen_range(0..TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
            2 if !bytes.is_empty() => {
                let end = (at + rng.gen_range(1..40)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            3 => bytes.truncate(at),
            4 | 5 => {
                // Line surgery: duplicate, delete or swap whole lines (keeps YAML plausible).
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                if lines.len() > 1 {
                    let (i, j) = (rng.gen_range(0..lines.len()), rng.gen_range(0..lines.len()));
                    match rng.gen_range(0..3) {
                        0 => {
                            let copy = lines[i].clone();
                            lines.insert(j, copy);
                        }
                        1 => {
                            lines.remove(i);
                        }
                        _ => lines.swap(i, j),
                    }
                }
                bytes = lines.join(&b'\n');
            }
            _ => {
                let byte = rng.gen::<u8>();
                bytes.insert(at, byte);
            }
        }
    }
    bytes
}

fn corpus() -> Vec<String> {
    let mut seeds = vec![RICH.to_string()];
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/specs/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&bad)
        .expect("the bad-spec corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        // The 50 MB case is generated by its own test; only small files seed mutations.
        if let Ok(text) = std::fs::read_to_string(&file) {
            if text.len() < 20_000 {
                seeds.push(text);
            }
        }
    }
    seeds
}

#[test]
fn mutated_specs_never_panic_and_every_error_names_the_file() {
    let budget = std::env::var("SUBBENCH_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    let registry = harness::testkit::registry();
    let seeds = corpus();
    let generated = generated_tokens();
    let file = Path::new("fuzz/input.yaml");
    // The rich seed must itself be valid, or the fuzzer would only explore error paths.
    if let Err(e) = parse_spec(file, RICH, &registry, LoadOptions::default()) {
        panic!("the rich seed spec is invalid: {e}");
    }
    let deadline = Instant::now() + Duration::from_secs_f64(budget);
    let (mut runs, mut accepted) = (0u64, 0u64);
    let mut rng = ChaCha8Rng::seed_from_u64(0x5AB_BE4C);
    // Quiet the default hook: a panic is reported below with its input.
    std::panic::set_hook(Box::new(|_| {}));
    while Instant::now() < deadline {
        let seed = &seeds[rng.gen_range(0..seeds.len())];
        let input = mutate(seed, &mut rng, &generated);
        // parse_spec takes text: invalid UTF-8 is the loader's concern (tested in the corpus).
        let Ok(text) = String::from_utf8(input) else {
            continue;
        };
        runs += 1;
        for quick in [false, true] {
            let options = LoadOptions {
                allow_large: false,
                quick,
            };
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                parse_spec(file, &text, &registry, options)
            }));
            // Not a speed test but a hang detector: validation is linear in the sweep, and the
            // largest sweep accepted (1,000,000 trials) validates in about 4 s; ten is a hang (a
            // generator expanded before the size limit was checked, say).
            let took = started.elapsed();
            if took > Duration::from_secs(10) {
                let _ = std::panic::take_hook();
                panic!("validating one spec took {took:?}:\n{text}");
            }
            match outcome {
                Err(_) => {
                    let _ = std::panic::take_hook();
                    let dir =
                        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
                    let _ = std::fs::create_dir_all(&dir);
                    let _ = std::fs::write(dir.join(format!("panic-{runs}.yaml")), &text);
                    panic!("parse_spec panicked (quick = {quick}) on:\n{text}");
                }
                Ok(Ok(_)) => accepted += 1,
                Ok(Err(e)) => {
                    let message = e.to_string();
                    if !message.contains("fuzz/input.yaml")
                        || message.trim_end().lines().count() != 1
                    {
                        let _ = std::panic::take_hook();
                    }
                    assert!(
                        message.contains("fuzz/input.yaml"),
                        "the error does not name the file: {message}\ninput:\n{text}"
                    );
                    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    eprintln!("fuzzed {runs} specs in {budget} s ({accepted} accepted)");
    assert!(
        runs > 100,
        "the fuzzer ran only {runs} inputs in {budget} s"
    );
}
