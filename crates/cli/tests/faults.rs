//! Faults and hostile input: repeated SIGKILLs, two writers, an unwritable or full results folder, and
//! titles, claims and labels full of HTML and LaTeX specials.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_user_error, stderr, subbench};
use harness::{Status, Store};

fn slow_spec(name: &str, trials: usize, sleep_ms: u32) -> String {
    format!(
        "name: {name}\ntitle: Slow\npaper: test\nclaim: resumable\nmethod: test.flaky\nseeds: 1\n\
         params: {{sleep_ms: {sleep_ms}}}\nsweep:\n  grid:\n    x: {{range: [0, {trials}]}}\nmetrics:\n  value: {{}}\n"
    )
}

fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(dir)
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Ten SIGKILLs at different moments, each followed by a check that every stored file parses;
/// then the run is finished and must equal an uninterrupted one bit for bit.
#[test]
fn ten_kills_lose_nothing_finished_and_leave_no_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("s.yaml"), slow_spec("slow", 300, 4)).unwrap();
    let store = d.join("killed/slow");
    let mut previous = 0;
    for kill in 0..10u64 {
        let mut child = spawn(
            d,
            &[
                "run",
                "s.yaml",
                "--out",
                "killed",
                "--jobs",
                "2",
                "--no-report",
            ],
        );
        std::thread::sleep(Duration::from_millis(60 + 37 * kill));
        child.kill().unwrap();
        child.wait().unwrap();
        // Whatever the moment of the kill, the store loads (no torn part is ever read).
        let stored = Store::at(&store)
            .load()
            .expect("the store parses after a kill")
            .len();
        assert!(
            stored >= previous,
            "kill {kill}: {stored} < {previous} trials: finished work was lost"
        );
        previous = stored;
    }
    let finish = subbench(d, &["run", "s.yaml", "--out", "killed", "--no-report"]);
    assert!(finish.status.success(), "{}", stderr(&finish));
    let whole = subbench(d, &["run", "s.yaml", "--out", "whole", "--no-report"]);
    assert!(whole.status.success());
    let fingerprint = |dir: &Path| {
        Store::at(dir)
            .load()
            .unwrap()
            .into_iter()
            .map(|r| (r.trial_id, r.status, r.metrics["value"].to_bits()))
            .collect::<Vec<_>>()
    };
    let killed = fingerprint(&store);
    assert_eq!(killed.len(), 300);
    assert!(killed.iter().all(|r| r.1 == Status::Ok));
    assert_eq!(killed, fingerprint(&d.join("whole/slow")));
}

#[test]
fn a_second_writer_of_the_same_store_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("s.yaml"), slow_spec("busy", 60, 50)).unwrap();
    let mut first = spawn(d, &["run", "s.yaml", "--jobs", "1", "--no-report"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.join("results/busy/parts").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = subbench(d, &["run", "s.yaml", "--no-report"]);
    assert_user_error(&second, &["results/busy", "another subbench process"]);
    assert!(first.wait().unwrap().success());
    assert_eq!(
        Store::at(&d.join("results/busy")).load().unwrap().len(),
        60,
        "the first run completed everything"
    );
}

#[test]
fn an_unwritable_results_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("s.yaml"), slow_spec("nowhere", 3, 0)).unwrap();
    fs::write(d.join("file"), "not a folder").unwrap();
    assert_user_error(
        &subbench(d, &["run", "s.yaml", "--out", "file/results"]),
        &["file/results/nowhere", "cannot create the results folder"],
    );
}

#[test]
fn hostile_strings_are_escaped_in_pages_figures_and_latex() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = r#"name: hostile
title: "</svg><script>alert('t')</script> & \"quotes\""
paper: test
claim: "50% of $x_i$ {braces} ~ ^ \\ </title><script>alert('c')</script> <img src=x onerror=alert(1)>"
method: test.quadratic
seeds: 2
sweep:
  grid:
    x: [1, 2]
    mode: [plain, shifted]
metrics:
  value: {label: "</text><script>alert('l')</script> & 100%_#", better: lower}
report:
  figures: [{kind: line, x: x, y: value, series: mode, title: "</svg><script>alert('f')</script>"}]
  tables: [{rows: mode, columns: x, value: value, title: "T_1 & 50% <b>"}]
"#;
    fs::write(d.join("h.yaml"), spec).unwrap();
    let out = subbench(d, &["run", "h.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports = d.join("reports");
    for entry in fs::read_dir(&reports).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        let name = path.display();
        match path.extension().and_then(|e| e.to_str()) {
            Some("html") | Some("svg") => {
                assert!(!text.contains("<script"), "{name} contains a live <script>");
                assert!(!text.contains("<img src=x"), "{name} contains a live <img>");
                assert_eq!(
                    text.matches("<svg").count(),
                    text.matches("</svg>").count(),
                    "{name}: user text opened or closed an SVG"
                );
            }
            Some("tex") => {
                // `<` and `>` are math: OT1 text fonts print ¡ and ¿ for them.
                assert!(text.contains("T\\_1 \\& 50\\% $<$b$>$"), "{name}: {text}");
                assert!(!text.contains(" & 50%"), "{name} has an unescaped & or %");
            }
            _ => {}
        }
    }
    let page = fs::read_to_string(reports.join("hostile.html")).unwrap();
    assert!(
        page.contains("&lt;script&gt;alert("),
        "the title is shown, escaped"
    );
}

/// A results folder that fills up: simulated with RLIMIT_FSIZE (the kernel then refuses writes
/// past the limit, as a full disk refuses them, without needing root for a tmpfs); SIGXFSZ is
/// ignored so the write fails instead of killing the process.
#[test]
fn a_full_disk_is_a_clear_error_and_the_rerun_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("s.yaml"), slow_spec("full", 600, 1)).unwrap();
    let exe = env!("CARGO_BIN_EXE_subbench");
    // 16 KB: every part file (a batch of a few finished trials) fits, the consolidated store
    // (600 rows, and their CSV) does not.
    let out = std::process::Command::new("bash")
        .current_dir(d)
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 16; exec '{exe}' run s.yaml --no-report"
        ))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "trials ran, then the write failed: {err}"
    );
    let last = err.trim_end().lines().last().unwrap_or("");
    assert!(
        last.contains("results/full")
            && last.contains("File too large")
            && last.contains("the next run resumes"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let leftovers: Vec<String> = fs::read_dir(d.join("results/full"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "no partial files: {leftovers:?}");

    // With room again, nothing runs twice and the store is complete.
    let again = subbench(d, &["run", "s.yaml", "--no-report"]);
    let text = String::from_utf8_lossy(&again.stderr).to_string();
    assert_eq!(again.status.code(), Some(0), "{text}");
    assert!(
        text.contains("0 trials to run, 600 already stored"),
        "{text}"
    );
}
