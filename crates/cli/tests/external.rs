//! External methods through the real binary, with a dependency-free Python worker
//! (`tests/external/probe/`): mixed specs run, cache, shard and report like built-in ones;
//! timeouts kill; crashes are isolated; a changed worker file or method code reruns exactly the
//! trials it computed; results are bit-identical for any `--jobs` and shard split; Ctrl-C stops
//! the workers and keeps what finished; every manifest mistake is one line, exit 2.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_user_error, stderr, stdout, subbench};
use harness::{Status, Store, TrialRecord};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A copy of the probe worker and the helper under `dir`, laid out as in the repository, so a
/// test may edit them. Returns the manifest's path relative to `dir`.
fn probe(dir: &Path) -> &'static str {
    let to = dir.join("tests/external/probe");
    fs::create_dir_all(&to).unwrap();
    fs::create_dir_all(dir.join("python/src/subbench")).unwrap();
    for f in ["manifest.yaml", "worker.py"] {
        fs::copy(repo().join("tests/external/probe").join(f), to.join(f)).unwrap();
    }
    // The helper the manifest names is a shim that loads the package's implementation.
    for f in ["subbench_worker.py", "src/subbench/worker.py"] {
        fs::copy(repo().join("python").join(f), dir.join("python").join(f)).unwrap();
    }
    "tests/external/probe/manifest.yaml"
}

fn spec(name: &str, body: &str) -> String {
    format!("name: {name}\ntitle: t\npaper: test\nclaim: c\nseed: 5\nexternal: [tests/external/probe/manifest.yaml]\n{body}")
}

const MIXED: &str = "seeds: 3
sweep:
  union:
    - grid: {method: [probe.random], x: [1, 2, 3], flag: [false, true]}
    - grid: {method: [test.quadratic], x: [1, 2]}
metrics:
  value: {}
";

fn load(dir: &Path) -> Vec<TrialRecord> {
    Store::at(dir).load().unwrap()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let o = subbench(dir, args);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// (trial id, seed, status, value bits) in store order: what two runs must agree on.
fn fingerprint(records: &[TrialRecord]) -> Vec<(String, u64, Status, u64)> {
    records
        .iter()
        .map(|r| {
            (
                r.trial_id.clone(),
                r.seed,
                r.status,
                r.metrics["value"].to_bits(),
            )
        })
        .collect()
}

#[test]
fn a_mixed_spec_runs_caches_and_reports_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    fs::write(d.join("s.yaml"), spec("mixed", MIXED)).unwrap();
    let first = run(d, &["run", "s.yaml", "--out", "r", "--reports", "rep"]);
    assert!(
        stderr(&first).contains("24 trials to run"),
        "{}",
        stderr(&first)
    );
    let records = load(&d.join("r/mixed"));
    assert_eq!(records.len(), 24);
    assert!(
        records.iter().all(|r| r.status == Status::Ok),
        "{records:?}"
    );
    // The worker drew from random.Random(seed): value − x·Σw lies in [0, 1), and flag adds 1000.
    for r in records.iter().filter(|r| r.method == "probe.random") {
        let x = r.params["x"].as_f64().unwrap();
        let offset = if r.params["flag"] == harness::Value::Bool(true) {
            1000.0
        } else {
            0.0
        };
        let u = r.metrics["value"] - x - offset;
        assert!((0.0..1.0).contains(&u), "{r:?}");
        assert_eq!(r.curves["path"].len(), 3);
        assert_eq!(r.method_code.len(), 16);
    }
    // One worker per worker thread, kept for the whole run: at most two processes served it.
    let mut pids: Vec<u64> = records
        .iter()
        .filter(|r| r.method == "probe.random")
        .map(|r| r.metrics["pid"] as u64)
        .collect();
    pids.sort();
    pids.dedup();
    assert!(pids.len() <= 2, "{pids:?}");
    assert!(d.join("rep/mixed.html").exists() || d.join("rep").read_dir().unwrap().count() > 1);
    let again = run(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(
        stderr(&again).contains("0 trials to run, 24 already stored"),
        "{}",
        stderr(&again)
    );
    // `report` reads the spec back from its store and finds the manifest from there.
    let report = subbench(d, &["report", "r", "--out", "rep2"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let listed = run(
        d,
        &["list", "--external", "tests/external/probe/manifest.yaml"],
    );
    assert!(
        stdout(&listed).contains("probe.random"),
        "{}",
        stdout(&listed)
    );
    assert!(stdout(&listed).contains("(external)"));
    let listed = run(d, &["list", "probe.random", "--external", "s.yaml"]);
    assert!(
        stdout(&listed).contains("one of ok, error"),
        "{}",
        stdout(&listed)
    );
}

#[test]
fn results_are_bit_identical_for_any_jobs_and_shard_split() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    fs::write(d.join("s.yaml"), spec("det", MIXED)).unwrap();
    run(
        d,
        &[
            "run",
            "s.yaml",
            "--out",
            "one",
            "--jobs",
            "1",
            "--no-report",
        ],
    );
    run(
        d,
        &[
            "run",
            "s.yaml",
            "--out",
            "two",
            "--jobs",
            "2",
            "--no-report",
        ],
    );
    for shard in ["1/2", "2/2"] {
        run(
            d,
            &[
                "run",
                "s.yaml",
                "--out",
                "sh",
                "--shard",
                shard,
                "--no-report",
            ],
        );
    }
    run(d, &["merge", "sh/det"]);
    let one = fingerprint(&load(&d.join("one/det")));
    assert_eq!(one.len(), 24);
    assert_eq!(one, fingerprint(&load(&d.join("two/det"))));
    assert_eq!(one, fingerprint(&load(&d.join("sh/det"))));
}

#[test]
fn a_timeout_kills_the_worker_and_a_fresh_one_takes_the_next_trial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let body = "timeout: 1\nsweep:\n  grid: {x: [1, 2], mode: [ok, hang, ok]}\nmethod: probe.random\nmetrics:\n  value: {}\n";
    // Two `ok` rows per x would be one trial; distinct x keep them distinct.
    let body = body.replace("mode: [ok, hang, ok]", "mode: [ok, hang]");
    fs::write(d.join("s.yaml"), spec("timeout", &body)).unwrap();
    let started = Instant::now();
    let o = subbench(
        d,
        &["run", "s.yaml", "--out", "r", "--jobs", "1", "--no-report"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Two hanging trials of 1000 s each: both killed at 1 s.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let records = load(&d.join("r/timeout"));
    assert_eq!(records.len(), 4);
    for r in &records {
        let hang = r.params["mode"] == harness::Value::Str("hang".into());
        if hang {
            assert_eq!(r.status, Status::Timeout, "{r:?}");
            assert!(
                r.error
                    .as_deref()
                    .unwrap()
                    .contains("killed at the deadline"),
                "{r:?}"
            );
        } else {
            assert_eq!(r.status, Status::Ok, "{r:?}");
        }
    }
    // The run went on with fresh workers: the ok trials after a timeout were served by another
    // process than the ok trial before it.
    let pids: Vec<u64> = records
        .iter()
        .filter(|r| r.status == Status::Ok)
        .map(|r| r.metrics["pid"] as u64)
        .collect();
    assert_ne!(pids[0], pids[1], "{pids:?}");
    // Timeouts are never cached: the next run retries them (and only them).
    let again = subbench(
        d,
        &["run", "s.yaml", "--out", "r", "--jobs", "1", "--no-report"],
    );
    assert!(
        stderr(&again).contains("2 trials to run, 2 already stored"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn every_way_a_worker_can_fail_fails_only_its_trial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let modes = [
        ("error", Status::Error, "ValueError: asked to fail"),
        ("diverged", Status::Diverged, "asked to diverge"),
        (
            "exit",
            Status::Error,
            "exited with status 3 before replying; stderr: exiting with 3 on purpose",
        ),
        ("segfault", Status::Error, "SIGSEGV"),
        ("garbage", Status::Error, "not a JSON reply"),
        ("close", Status::Error, "closed its stdout"),
        ("stderr", Status::Error, "THE LAST LINE"),
        ("missing", Status::Error, "lacks declared metric `pid`"),
        (
            "extra",
            Status::Error,
            "metric `bonus`, which the manifest does not declare",
        ),
        ("nullmetric", Status::Error, "metric `value` is None"),
        ("print", Status::Ok, ""),
        // Its first line is taken as its reply; the second must not reach another trial.
        ("twice", Status::Ok, ""),
        ("ok", Status::Ok, ""),
    ];
    let list: Vec<&str> = modes.iter().map(|m| m.0).collect();
    let body = format!(
        "method: probe.random\ntimeout: 20\nsweep:\n  grid: {{mode: [{}], x: [1, 2]}}\nmetrics:\n  value: {{}}\n",
        list.join(", ")
    );
    fs::write(d.join("s.yaml"), spec("faults", &body)).unwrap();
    let started = Instant::now();
    let o = subbench(
        d,
        &["run", "s.yaml", "--out", "r", "--jobs", "2", "--no-report"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let records = load(&d.join("r/faults"));
    assert_eq!(records.len(), 2 * modes.len());
    for (mode, status, message) in modes {
        for r in records
            .iter()
            .filter(|r| r.params["mode"] == harness::Value::Str(mode.into()))
        {
            assert_eq!(r.status, status, "{mode}: {r:?}");
            let error = r.error.clone().unwrap_or_default();
            assert!(
                error.contains(message),
                "{mode}: `{message}` not in `{error}`"
            );
            assert!(
                error.len() < 5000,
                "{mode}: stderr is truncated: {} bytes",
                error.len()
            );
            if matches!(mode, "ok" | "print") {
                let u = r.metrics["value"] - r.params["x"].as_f64().unwrap();
                assert!(
                    (0.0..1.0).contains(&u),
                    "{mode}: another trial's reply: {r:?}"
                );
            }
        }
    }
    // Failures are retried on the next run, never cached; the successes are.
    let again = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(
        stderr(&again).contains("20 trials to run, 6 already stored"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn editing_the_worker_file_reruns_its_trials_and_no_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    fs::write(d.join("s.yaml"), spec("edit", MIXED)).unwrap();
    run(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    let before = load(&d.join("r/edit"));
    let worker = d.join("tests/external/probe/worker.py");
    let mut text = fs::read_to_string(&worker).unwrap();
    text.push_str("# an edit\n");
    fs::write(&worker, text).unwrap();
    let o = run(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    let err = stderr(&o);
    assert!(err.contains("18 stored trials are stale"), "{err}");
    assert!(err.contains("18 trials to run, 6 already stored"), "{err}");
    let after = load(&d.join("r/edit"));
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.trial_id, b.seed),
            (&a.trial_id, a.seed),
            "same ids and seeds"
        );
        if b.method == "probe.random" {
            assert_ne!(b.method_code, a.method_code);
            // Same seed, and the edit did not change the computation: same value.
            assert_eq!(b.metrics["value"].to_bits(), a.metrics["value"].to_bits());
        } else {
            assert_eq!(b, a, "built-in trials untouched");
        }
    }
    // A helper the manifest lists is code too.
    let helper = d.join("python/subbench_worker.py");
    let mut text = fs::read_to_string(&helper).unwrap();
    text.push_str("# an edit\n");
    fs::write(&helper, text).unwrap();
    let o = run(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(stderr(&o).contains("18 trials to run"), "{}", stderr(&o));
}

#[test]
fn a_changed_built_in_code_identity_reruns_that_method_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = "name: codes\ntitle: t\npaper: test\nclaim: c\nseeds: 2\nsweep:\n  union:\n    - grid: {method: [test.quadratic], x: [1, 2]}\n    - grid: {method: [test.flaky], x: [1, 2, 3]}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), text).unwrap();
    let with_code = |code: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_subbench"));
        c.current_dir(d)
            .args(["run", "s.yaml", "--out", "r", "--reports", "rep"])
            .env("SUBBENCH_TESTKIT_CODE", code);
        c.output().unwrap()
    };
    assert!(with_code("v1").status.success());
    let o = with_code("v1");
    assert!(
        stderr(&o).contains("0 trials to run, 10 already stored"),
        "{}",
        stderr(&o)
    );
    let o = with_code("v2");
    let err = stderr(&o);
    assert!(err.contains("4 stored trials are stale"), "{err}");
    assert!(err.contains("4 trials to run, 6 already stored"), "{err}");
    let records = load(&d.join("r/codes"));
    assert!(records
        .iter()
        .filter(|r| r.method == "test.quadratic")
        .all(|r| r.method_code == "v2"));
    assert!(records
        .iter()
        .filter(|r| r.method == "test.flaky")
        .all(|r| r.method_code.len() == 16));
}

#[test]
fn interrupting_a_run_stops_the_workers_and_keeps_finished_trials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let body = "method: probe.random\nparams: {sleep: 0.2}\nsweep:\n  grid: {x: {range: [0, 200, 1]}}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("sigint", body)).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args(["run", "s.yaml", "--out", "r", "--jobs", "2", "--no-report"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let started = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    let records = load(&d.join("r/sigint"));
    assert!(
        !records.is_empty() && records.len() < 200,
        "{}",
        records.len()
    );
    assert!(
        records.iter().all(|r| r.status == Status::Ok),
        "no trial cut short is stored"
    );
    // The workers are gone.
    std::thread::sleep(Duration::from_millis(200));
    for r in &records {
        let pid = r.metrics["pid"] as u64;
        let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "worker {pid} still runs: {state}"
        );
    }
    // The next run resumes with the rest.
    let o = run(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(
        stderr(&o).contains(&format!(
            "{} trials to run, {} already stored",
            200 - records.len(),
            records.len()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(load(&d.join("r/sigint")).len(), 200);
}

#[test]
fn external_parameters_are_validated_like_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let cases = [
        (
            "params: {x: 1.0e7}",
            "s.yaml:8",
            "`x` must be a number in [-1000000, 1000000]",
        ),
        ("params: {mode: okk}", "s.yaml:8", "(did you mean `ok`?)"),
        (
            "params: {xx: 1}",
            "s.yaml:8",
            "unknown parameter `xx` for method probe.random (did you mean `x`?)",
        ),
        ("params: {weights: []}", "s.yaml:8", "non-empty list"),
    ];
    for (params, place, message) in cases {
        let body = format!("method: probe.random\n{params}\nmetrics:\n  value: {{}}\n");
        fs::write(d.join("s.yaml"), spec("v", &body)).unwrap();
        let o = subbench(d, &["run", "s.yaml", "--out", "r"]);
        assert_user_error(&o, &[place, message]);
        assert!(!d.join("r").exists(), "nothing is written");
    }
}

#[test]
fn every_manifest_mistake_is_one_line_naming_the_manifest_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = probe(d);
    let good = fs::read_to_string(d.join(m)).unwrap();
    let cases = [
        (good.replace("type: bool", "type: boolean"), ":12:", "unknown type `boolean`; accepted: int, float, bool, choice, float_list, file"),
        (good.replace("default: 3,", "default: 3000,"), ":11:", "default is refused: `n` must be an integer in [0, 1000]"),
        (good.replace("id: probe.random", "id: test.quadratic"), ":3:", "id `test.quadratic` is a built-in method's"),
        (good.replace("[python3, worker.py]", "[python3-nonexistent, worker.py]"), ":5:", "`python3-nonexistent` is not on PATH"),
        (good.replace("files: [worker.py,", "files: [workr.py,"), ":6:", "cannot read `workr.py`"),
        (good.replace("curves:", "curvez:"), ":17:", "unknown field `curvez`; accepted: id, summary, command, files, params, metrics, curves"),
    ];
    for (text, line, message) in cases {
        fs::write(d.join(m), text).unwrap();
        fs::write(d.join("s.yaml"), spec("bad", MIXED)).unwrap();
        let o = subbench(d, &["run", "s.yaml", "--out", "r"]);
        let place = format!("tests/external/probe/manifest.yaml{line}");
        assert_user_error(&o, &[&place, message]);
        assert!(!d.join("r").exists(), "nothing is run");
        let o = subbench(d, &["list", "--external", m]);
        assert_user_error(&o, &[&place, message]);
    }
    fs::write(
        d.join("s.yaml"),
        spec("bad", MIXED).replace("probe/manifest", "probe/nothere"),
    )
    .unwrap();
    let o = subbench(d, &["run", "s.yaml", "--out", "r"]);
    assert_user_error(
        &o,
        &[
            "s.yaml:6",
            "no manifest file `tests/external/probe/nothere.yaml`",
        ],
    );
}

/// The Python side of `subspace.angles`'s pairs builds the very matrices the Rust side does
/// (pure-Python path, no numpy needed).
#[test]
fn python_builds_bit_identical_prescribed_angle_pairs() {
    let script = repo().join("methods/external/scipy_angles/pairs.py");
    let o = Command::new("python3")
        .arg(&script)
        .args(["--dump", "13", "3", "2", "77"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let pair = angles::prescribed_pair(13, 3, 2, &[1.5, 1e-10, 0.785], 77);
    let ours: Vec<String> = pair
        .a
        .iter()
        .chain(pair.b.iter())
        .map(|x| format!("{}", x.to_bits()))
        .collect();
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ours);
}
