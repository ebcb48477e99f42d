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

use common::{assert_user_error, probe, repo, stderr, stdout, subbench};
use harness::{Status, Store, TrialRecord};

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
        // Its own line, without the echo, is refused: the worker is out of step (issue 26).
        ("twice", Status::Error, "without the request's `trial_id`"),
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
        stderr(&again).contains("22 trials to run, 4 already stored"),
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
        (good.replace("curves:", "curvez:"), ":17:", "unknown field `curvez`; accepted: id, summary, command, files, python, params, metrics, curves"),
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

/// A worker written in `dir/w/` (beside a copy of the helper) with its own manifest; a spec
/// `s.yaml` sweeping `x` over `xs` with `timeout`. Returns the spec's name.
fn custom_worker(dir: &Path, worker: &str, xs: &str, timeout: u32) -> &'static str {
    fs::create_dir_all(dir.join("w")).unwrap();
    // The helper and the implementation it loads from beside it.
    fs::create_dir_all(dir.join("w/src/subbench")).unwrap();
    for f in ["subbench_worker.py", "src/subbench/worker.py"] {
        fs::copy(repo().join("python").join(f), dir.join("w").join(f)).unwrap();
    }
    fs::write(dir.join("w/worker.py"), worker).unwrap();
    fs::write(
        dir.join("w/manifest.yaml"),
        "id: custom.w\nsummary: s\ncommand: [python3, worker.py]\nfiles: [worker.py, subbench_worker.py]\nparams:\n  x: {type: float, default: 0.0}\nmetrics:\n  value: \"x\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("s.yaml"),
        format!("name: custom\ntitle: t\npaper: test\nclaim: c\nseed: 5\nexternal: [w/manifest.yaml]\nmethod: custom.w\ntimeout: {timeout}\nsweep:\n  grid: {{x: {xs}}}\nmetrics:\n  value: {{}}\n"),
    )
    .unwrap();
    "custom"
}

/// Issue 26, item 6: a start-up line, a reply without the echo, or a stray line a moment after
/// a reply must never shift other trials' results onto a trial stored as ok.
#[test]
fn regression_a_worker_out_of_step_never_stores_another_trials_result_as_ok() {
    // A start-up line before any request: every worker says it, every trial fails, none is ok.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ready = "import sys\nfrom subbench_worker import serve\nsys.stdout.write('{\"ready\": true}\\n'); sys.stdout.flush()\nserve(lambda p, s: {'value': p['x']})\n";
    custom_worker(d, ready, "[1, 2, 3]", 20);
    let o = subbench(
        d,
        &["run", "s.yaml", "--out", "r", "--jobs", "1", "--no-report"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for r in load(&d.join("r/custom")) {
        assert_eq!(r.status, Status::Error, "{r:?}");
        assert!(
            r.error
                .as_deref()
                .unwrap()
                .contains("without the request's `trial_id`"),
            "{r:?}"
        );
    }
    // A worker that never echoes: its replies are refused, whatever their numbers.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mute = "import json, sys\nfor line in sys.stdin:\n    r = json.loads(line)\n    print(json.dumps({'metrics': {'value': r['params']['x']}}), flush=True)\n";
    custom_worker(d, mute, "[1, 2]", 20);
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(load(&d.join("r/custom"))
        .iter()
        .all(|r| r.status == Status::Error));
    // The helper's worker, with a stray line 0.5 s after one reply, read by the next trial:
    // that trial fails, and no trial is stored ok with another one's number.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let body = "method: probe.random\ntimeout: 20\nsweep:\n  union:\n    - grid: {mode: [late], x: [1]}\n    - grid: {mode: [ok], sleep: [1.0], x: [2, 3, 4]}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("late", body)).unwrap();
    let o = subbench(
        d,
        &["run", "s.yaml", "--out", "r", "--jobs", "1", "--no-report"],
    );
    let records = load(&d.join("r/late"));
    assert_eq!(records.len(), 4, "{}", stderr(&o));
    let refused = records.iter().filter(|r| r.status == Status::Error).count();
    // The stray line fails the trial it reaches (none when it came before the next request,
    // which then found the worker out of step and started another).
    assert!(refused <= 1, "{records:?}");
    for r in records.iter().filter(|r| r.status == Status::Error) {
        assert!(
            r.error
                .as_deref()
                .unwrap()
                .contains("without the request's `trial_id`"),
            "{r:?}"
        );
    }
    for r in records.iter().filter(|r| r.status == Status::Ok) {
        let u = r.metrics["value"] - r.params["x"].as_f64().unwrap();
        assert!(
            (0.0..1.0).contains(&u),
            "another trial's reply stored as ok: {r:?}"
        );
    }
}

/// Issue 26, item 19: a reply naming another trial is not skipped silently.
#[test]
fn regression_a_reply_naming_another_trial_is_said_not_skipped_silently() {
    // The second request is answered with the first one's id, and never properly.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stuck = "import json, sys\nfirst = None\nfor line in sys.stdin:\n    r = json.loads(line)\n    first = first or r['trial_id']\n    print(json.dumps({'trial_id': first, 'metrics': {'value': r['params']['x']}}), flush=True)\n";
    custom_worker(d, stuck, "[1, 2]", 2);
    let o = subbench(
        d,
        &["run", "s.yaml", "--out", "r", "--jobs", "1", "--no-report"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let records = load(&d.join("r/custom"));
    let ok: Vec<&TrialRecord> = records.iter().filter(|r| r.status == Status::Ok).collect();
    assert_eq!(ok.len(), 1, "{records:?}");
    let late = records
        .iter()
        .find(|r| r.status == Status::Timeout)
        .unwrap();
    let error = late.error.as_deref().unwrap();
    assert!(
        error.contains(&format!("skipped 1 reply naming trial {}", ok[0].trial_id)),
        "{error}"
    );
    // An id the worker was never sent fails the trial at once, not at its deadline.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let foreign = "import json, sys\nfor line in sys.stdin:\n    print(json.dumps({'trial_id': 'f00', 'metrics': {'value': 1.0}}), flush=True)\n";
    custom_worker(d, foreign, "[1]", 60);
    let started = Instant::now();
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(30));
    let r = &load(&d.join("r/custom"))[0];
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("replied for trial `f00`, which it was never sent"),
        "{r:?}"
    );
}

/// Issue 26, item 16: a worker that exited while a process it started holds its output open;
/// at the deadline the whole group is killed, and the error says so.
#[test]
fn regression_a_workers_child_does_not_survive_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let body = "method: probe.random\ntimeout: 1\nparams: {mode: orphan}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("orphan", body)).unwrap();
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = &load(&d.join("r/orphan"))[0];
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    let error = r.error.as_deref().unwrap();
    assert!(
        error.contains("the worker had ended (exited with status 0) but a process it started kept its output open; that process group was killed at the deadline"),
        "{error}"
    );
    let pid = fs::read_to_string(d.join("tests/external/probe/orphan.pid")).unwrap();
    // Gone, or a zombie waiting for whoever adopted it: not running `sleep` any more.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let state = fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
        let alive = state
            .rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.is_empty());
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker's child {pid} lives on: {state}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Issue 26, item 8: the command's program is code when it is a path; a script that `files:`
/// omits is warned about.
#[test]
fn regression_the_command_program_is_part_of_the_code_identity() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = probe(d);
    let probe_dir = d.join("tests/external/probe");
    fs::write(
        probe_dir.join("run.sh"),
        "#!/bin/sh\nexec python3 worker.py\n",
    )
    .unwrap();
    let mut perms = fs::metadata(probe_dir.join("run.sh"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(probe_dir.join("run.sh"), perms).unwrap();
    let manifest = fs::read_to_string(d.join(m)).unwrap();
    fs::write(
        d.join(m),
        manifest.replace("[python3, worker.py]", "[./run.sh]"),
    )
    .unwrap();
    let body = "method: probe.random\nsweep:\n  grid: {x: [1, 2]}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("prog", body)).unwrap();
    run(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    fs::write(
        probe_dir.join("run.sh"),
        "#!/bin/sh\n# edited\nexec python3 worker.py\n",
    )
    .unwrap();
    let again = run(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(
        stderr(&again).contains("2 trials to run, 0 already stored"),
        "{}",
        stderr(&again)
    );
    // `worker.py` run by the command but not listed: warned, once.
    fs::write(
        d.join(m),
        manifest.replace("files: [worker.py, ", "files: ["),
    )
    .unwrap();
    let o = run(d, &["validate", "s.yaml"]);
    let err = stderr(&o);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("command runs `worker.py`, which `files:` does not list"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&o));
    assert!(warnings[0].starts_with("warning: "), "{}", warnings[0]);
}

/// Issue 26, item 9: a spec reached through a symbolic link; `run` and `report`/`summary`
/// resolve its `external:` by one rule (the spec file's own folder, links followed).
#[test]
fn regression_a_spec_through_a_symlink_reports_the_trials_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let body = "method: probe.random\nsweep:\n  grid: {x: [1, 2, 3]}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("linked", body)).unwrap();
    fs::create_dir_all(d.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(d.join("s.yaml"), d.join("elsewhere/link.yaml")).unwrap();
    run(
        d,
        &[
            "run",
            "elsewhere/link.yaml",
            "--out",
            "r",
            "--reports",
            "rep",
        ],
    );
    assert_eq!(load(&d.join("r/linked")).len(), 3);
    let o = run(d, &["summary", "r/linked", "--format", "csv"]);
    assert_eq!(common::summary_trials(&o), 3, "{}", stdout(&o));
    // From another folder too: the stored origin is the same folder run used.
    let o = run(
        d.join("elsewhere").as_path(),
        &["summary", "../r/linked", "--format", "csv"],
    );
    assert_eq!(common::summary_trials(&o), 3, "{}", stdout(&o));
}

/// Issue 26, item 13: `subbench run s.yaml` in the folder of the spec and its manifest.
#[test]
fn regression_running_from_the_specs_own_folder_runs_its_external_trials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let here = d.join("tests/external/probe");
    let body = "method: probe.random\nsweep:\n  grid: {x: [1, 2]}\nmetrics:\n  value: {}\n";
    fs::write(
        here.join("s.yaml"),
        spec("here", body).replace("tests/external/probe/manifest.yaml", "manifest.yaml"),
    )
    .unwrap();
    run(&here, &["run", "s.yaml", "--out", "r", "--no-report"]);
    let records = load(&here.join("r/here"));
    assert_eq!(records.len(), 2);
    assert!(
        records.iter().all(|r| r.status == Status::Ok),
        "{records:?}"
    );
    let o = run(&here, &["list", "--external", "manifest.yaml"]);
    assert!(stdout(&o).contains("probe.random"));
}

/// Issue 26, item 22 and the smaller ones: reserved parameter names, a command script that does
/// not exist, one manifest named twice.
#[test]
fn regression_manifest_mistakes_found_on_the_way_are_refused_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = probe(d);
    let good = fs::read_to_string(d.join(m)).unwrap();
    let body = "method: probe.random\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("mistakes", body)).unwrap();
    for reserved in ["method", "step"] {
        fs::write(
            d.join(m),
            good.replace(
                "  sleep:",
                &format!("  {reserved}: {{type: int, default: 1}}\n  sleep:"),
            ),
        )
        .unwrap();
        let o = subbench(d, &["validate", "s.yaml"]);
        assert_user_error(
            &o,
            &[
                &format!("params: `{reserved}` is a reserved name"),
                "rename",
            ],
        );
    }
    fs::write(
        d.join(m),
        good.replace("[python3, worker.py]", "[python3, missing.py]"),
    )
    .unwrap();
    let o = subbench(d, &["validate", "s.yaml"]);
    assert_user_error(
        &o,
        &[
            "manifest.yaml:5",
            "no file `missing.py` in the manifest's folder",
        ],
    );
    fs::write(d.join(m), &good).unwrap();
    fs::write(
        d.join("s.yaml"),
        spec("mistakes", body).replace(
            "external: [tests/external/probe/manifest.yaml]",
            "external: [tests/external/probe/manifest.yaml, ./tests/external/probe/manifest.yaml]",
        ),
    )
    .unwrap();
    let o = subbench(d, &["validate", "s.yaml"]);
    assert_user_error(
        &o,
        &["is the manifest `tests/external/probe/manifest.yaml` again; list each manifest once"],
    );
    assert!(!stderr(&o).contains("two manifests declare"));
}

/// Issue 34, item 1: a virtual environment's interpreter named by path runs in that
/// environment (its links are not followed to the base interpreter).
#[test]
fn regression_a_venv_interpreter_named_by_path_runs_in_its_venv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = probe(d);
    let venv = d.join("tests/external/probe/.venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    // A module only the venv has: the base interpreter cannot import it.
    let site = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let site = PathBuf::from(String::from_utf8_lossy(&site.stdout).trim());
    fs::write(site.join("venv_only.py"), "OFFSET = 0.0\n").unwrap();
    let probe_dir = d.join("tests/external/probe");
    let worker = fs::read_to_string(probe_dir.join("worker.py")).unwrap();
    fs::write(
        probe_dir.join("worker.py"),
        worker.replace("import random\n", "import random\nimport venv_only\n"),
    )
    .unwrap();
    let manifest = fs::read_to_string(d.join(m)).unwrap();
    let body = "method: probe.random\nsweep:\n  grid: {x: [1, 2]}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("venv", body)).unwrap();
    for program in [
        ".venv/bin/python".to_string(),
        venv.join("bin/python").display().to_string(),
    ] {
        fs::write(
            d.join(m),
            manifest.replace("[python3, worker.py]", &format!("[{program}, worker.py]")),
        )
        .unwrap();
        let o = subbench(
            d,
            &["run", "s.yaml", "--out", "r", "--no-report", "--force"],
        );
        assert!(o.status.success(), "{program}: {}", stderr(&o));
        let records = load(&d.join("r/venv"));
        assert!(
            records.iter().all(|r| r.status == Status::Ok),
            "{program}: {records:?}"
        );
    }
}

/// Issue 31, §2: the causes of failed trials are summarised at the end, grouped.
#[test]
fn regression_failed_trials_are_summarised_by_cause_at_the_end_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    probe(d);
    let body = "method: probe.random\nsweep:\n  union:\n    - grid: {mode: [error], x: [1, 2, 3, 4]}\n    - grid: {mode: [exit], x: [1]}\n    - grid: {mode: [ok], x: [1]}\nmetrics:\n  value: {}\n";
    fs::write(d.join("s.yaml"), spec("causes", body)).unwrap();
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let causes: Vec<&str> = err.lines().filter(|l| l.starts_with("failed: ")).collect();
    assert_eq!(causes.len(), 2, "{err}");
    assert!(
        causes[0].starts_with("failed: causes: 4 trials of probe.random failed: ValueError: asked to fail (first of 4 identical errors: trial "),
        "{err}"
    );
    assert!(
        causes[1].contains("1 trial of probe.random failed: the worker exited with status 3 before replying … exiting with 3 on purpose"),
        "{err}"
    );
    // `check` says the same.
    let o = subbench(d, &["check", "s.yaml", "--out", "r", "--reports", "rep"]);
    assert!(
        stderr(&o)
            .contains("failed: causes: 4 trials of probe.random failed: ValueError: asked to fail"),
        "{}",
        stderr(&o)
    );
}
