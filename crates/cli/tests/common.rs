//! Helpers shared by the binary-level tests: run the real `subbench` and capture what it says.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn subbench(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the subbench binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A user error: exit code 2, exactly one line on stderr, no panic or backtrace.
pub fn assert_user_error(o: &Output, must_contain: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "expected one line, got: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    for needle in must_contain {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
}

/// The trials `summary --format csv` shows: the sum of its `n_trials` column.
pub fn summary_trials(o: &Output) -> usize {
    let text = stdout(o);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "n_trials")
        .unwrap_or_else(|| panic!("no n_trials column in: {text}"));
    lines
        .map(|l| l.split(',').nth(column).unwrap().parse::<usize>().unwrap())
        .sum()
}

/// Flip one bit in the middle of `path` (bit rot).
pub fn flip_bit(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}
