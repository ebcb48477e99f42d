//! Cluster runs. Without Slurm: shard processes started together while merges run, the job
//! scripts `subbench slurm` writes (quoting of every value, the binary, the folder) driven by a
//! stand-in sbatch, and the refusal of bad input. With a Slurm controller (CI starts one with
//! tests/slurm/start.sh; skipped with a note when none answers, unless SUBBENCH_REQUIRE_SLURM is
//! set): a real array job plus its merge job, and a shard cancelled while it runs.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{assert_user_error, stderr, stdout, subbench};
use harness::{Status, Store, TrialRecord};

const QUADRATIC: &str = "\
name: quad
title: Quadratic
paper: test
claim: x squared
method: test.quadratic
seeds: 4
seed: 11
params: {noise: 0.5, steps: 4}
sweep:
  grid:
    x: {linspace: [-1, 1, 9]}
    mode: [plain, shifted]
metrics:
  value: {label: f, better: lower}
  draw: {}
";

/// `trials` trials of `sleep_ms` each.
fn slow_spec(trials: u32, sleep_ms: u32) -> String {
    format!(
        "name: slow\ntitle: Slow\npaper: test\nclaim: c\nmethod: test.flaky\nseeds: 1\n\
         params: {{sleep_ms: {sleep_ms}}}\nsweep:\n  grid:\n    x: {{range: [0, {trials}]}}\n\
         metrics:\n  value: {{}}\n"
    )
}

/// What must be identical between a cluster run and a one-process run: ids, seeds, statuses,
/// metric bits, curves.
type Fingerprint = (
    String,
    u64,
    Status,
    Vec<(String, u64)>,
    Vec<(String, Vec<(u32, u64)>)>,
);

fn fingerprint(records: &[TrialRecord]) -> Vec<Fingerprint> {
    records
        .iter()
        .map(|r| {
            (
                r.trial_id.clone(),
                r.seed,
                r.status,
                r.metrics
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_bits()))
                    .collect(),
                r.curves
                    .iter()
                    .map(|(k, c)| {
                        (
                            k.clone(),
                            c.iter().map(|(s, v)| (*s, v.to_bits())).collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn load(dir: &Path) -> Vec<Fingerprint> {
    fingerprint(&Store::at(dir).load().unwrap())
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The reference: the spec in one process, with `jobs` threads (results do not depend on it,
/// see run.rs; the slow specs use 2 to halve the wait).
fn one_process_run_with(d: &Path, spec: &str, out: &str, jobs: &str) -> PathBuf {
    let o = subbench(
        d,
        &["run", spec, "--out", out, "--jobs", jobs, "--no-report"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    d.join(out)
}

fn one_process_run(d: &Path, spec: &str, out: &str) -> PathBuf {
    one_process_run_with(d, spec, out, "1")
}

#[test]
fn shards_started_together_while_merges_run_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("s.yaml"), slow_spec(240, 15)).unwrap();
    let one = load(&one_process_run(d, "s.yaml", "one").join("slow"));
    assert_eq!(one.len(), 240);
    for round in 0..3 {
        let out = format!("cluster{round}");
        let store = d.join(&out).join("slow");
        let mut running: Vec<Option<Child>> = (1..=4)
            .map(|i| {
                let shard = format!("{i}/4");
                Some(spawn(
                    d,
                    &[
                        "run", "s.yaml", "--out", &out, "--jobs", "1", "--shard", &shard,
                    ],
                ))
            })
            .collect();
        let mut outputs: Vec<Option<Output>> = vec![None, None, None, None];
        let (mut merges, mut saw_running) = (0, false);
        while running.iter().any(Option::is_some) {
            for (slot, output) in running.iter_mut().zip(outputs.iter_mut()) {
                if slot
                    .as_mut()
                    .is_some_and(|c| c.try_wait().unwrap().is_some())
                {
                    *output = Some(slot.take().unwrap().wait_with_output().unwrap());
                }
            }
            let partial = merges % 2 == 0;
            let args: &[&str] = if partial {
                &["merge", "--partial", store.to_str().unwrap()]
            } else {
                &["merge", store.to_str().unwrap()]
            };
            let m = subbench(d, args);
            merges += 1;
            saw_running |= stdout(&m).contains(" running (");
            let code = m.status.code();
            // Before any shard has started there is no store or nothing to merge (exit 2); a
            // merge that finds shards still running fails (exit 1) unless --partial.
            let not_yet = |o: &Output| {
                o.status.code() == Some(2)
                    && (stderr(o).contains("nothing to merge")
                        || stderr(o).contains("no such results folder"))
            };
            let expected = code == Some(0)
                || (code == Some(1) && !partial && stderr(&m).contains("not the whole sweep"))
                || not_yet(&m);
            assert!(
                expected,
                "round {round}: merge exited {code:?}: {}",
                stderr(&m)
            );
            let s = subbench(d, &["status", store.to_str().unwrap()]);
            assert!(s.status.success() || not_yet(&s), "{}", stderr(&s));
        }
        for (i, o) in outputs.iter().enumerate() {
            let o = o.as_ref().unwrap();
            assert!(
                o.status.success(),
                "shard {} of round {round}: {}",
                i + 1,
                stderr(o)
            );
        }
        let last = subbench(d, &["merge", store.to_str().unwrap()]);
        assert!(last.status.success(), "{}", stderr(&last));
        assert!(
            stdout(&last).contains("4 of 4 shards merged, 240 trials"),
            "{}",
            stdout(&last)
        );
        assert!(
            saw_running,
            "a merge ran while a shard was writing ({merges} merges)"
        );
        assert_eq!(load(&store), one, "round {round}: trial for trial");
        assert!(!store.join("shards").exists());
    }
    // The merged store is a store like any other: spec, provenance, summary and report.
    let store = d.join("cluster0/slow");
    assert_eq!(
        fs::read_to_string(store.join("spec.yaml")).unwrap(),
        slow_spec(240, 15)
    );
    let provenance = fs::read_to_string(store.join("provenance.json")).unwrap();
    for shard in ["001-of-004", "002-of-004", "003-of-004", "004-of-004"] {
        assert!(
            provenance.contains(&format!("\"shard\": \"{shard}\"")),
            "{provenance}"
        );
    }
    assert!(provenance.contains("\"merge\""), "{provenance}");
    let summary = |dir: &str| stdout(&subbench(d, &["summary", dir, "--format", "csv"]));
    assert_eq!(summary("cluster0/slow"), summary("one/slow"));
    let report = subbench(d, &["report", "cluster0", "--out", "pages"]);
    assert!(
        stdout(&report).contains("pages: pages/index.html (1 spec page;"),
        "{}",
        stdout(&report)
    );
    let check = subbench(
        d,
        &["check", "s.yaml", "--out", "cluster0", "--reports", "pages"],
    );
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stderr(&check).contains("0 trials to run, 240 already stored"),
        "check finds the merged store whole: {}",
        stderr(&check)
    );
    let status = subbench(d, &["status", "cluster0/slow"]);
    assert!(
        stdout(&status).contains("4 shards, 240 trials in the sweep, 240 in the merged store"),
        "{}",
        stdout(&status)
    );
    for shard in ["001-of-004", "002-of-004", "003-of-004", "004-of-004"] {
        assert!(
            stdout(&status).contains(&format!("{shard}  merged ")),
            "{}",
            stdout(&status)
        );
    }
}

#[test]
fn a_shard_rerun_after_its_merge_resumes_from_the_merged_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("q.yaml"), QUADRATIC).unwrap();
    let run = || subbench(d, &["run", "q.yaml", "--shard", "1/2", "--no-report"]);
    assert!(run().status.success());
    let m = subbench(d, &["merge", "results/quad"]);
    assert_eq!(
        m.status.code(),
        Some(1),
        "shard 2 is missing: {}",
        stderr(&m)
    );
    assert!(
        stdout(&m).contains("not merged: 002-of-002 missing"),
        "{}",
        stdout(&m)
    );
    assert!(stderr(&m).contains("not the whole sweep"), "{}", stderr(&m));
    let rerun = run();
    assert!(
        stderr(&rerun).contains("0 trials to run,"),
        "{}",
        stderr(&rerun)
    );
    assert!(subbench(d, &["merge", "--partial", "results/quad"])
        .status
        .success());
    assert!(
        subbench(d, &["run", "q.yaml", "--shard", "2/2", "--no-report"])
            .status
            .success()
    );
    let whole = subbench(d, &["merge", "results/quad"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let one = load(&one_process_run(d, "q.yaml", "one").join("quad"));
    assert_eq!(load(&d.join("results/quad")), one);
}

#[test]
fn bad_cluster_input_is_one_line_exit_2_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("q.yaml"), QUADRATIC).unwrap();
    let slurm = |extra: &[&str]| {
        let mut args = vec!["slurm", "q.yaml", "--shards", "4"];
        args.extend_from_slice(extra);
        subbench(d, &args)
    };
    assert_user_error(
        &subbench(d, &["slurm", "q.yaml", "--shards", "0"]),
        &["--shards", "at least 1"],
    );
    assert_user_error(
        &slurm(&["--cpus-per-task", "0"]),
        &["--cpus-per-task", "at least 1"],
    );
    assert_user_error(&slurm(&["--max-running", "0"]), &["--max-running"]);
    for time in ["1:2:3:4", "", "10\n#SBATCH --wrap=x", "90:61", "2h"] {
        assert_user_error(&slurm(&["--time", time]), &["--time", "HH:MM:SS"]);
    }
    assert_user_error(&slurm(&["--mem", "4GB"]), &["--mem", "suffixes"]);
    assert_user_error(&slurm(&["--partition", "a b"]), &["--partition"]);
    assert_user_error(
        &slurm(&["--only-shards", "5"]),
        &["--only-shards", "1 to 4"],
    );
    assert_user_error(&slurm(&["--cpus", "2"]), &["--cpus"]);
    assert_user_error(
        &subbench(d, &["run", "q.yaml", "--shard", "5/4"]),
        &["--shard", "5/4", "1 ≤ I ≤ N"],
    );
    assert_user_error(
        &subbench(d, &["run", "q.yaml", "--shard", "0/4"]),
        &["--shard", "0/4"],
    );

    fs::create_dir(d.join("plain")).unwrap();
    fs::write(d.join("plain/notes.txt"), "mine").unwrap();
    for command in ["merge", "status"] {
        assert_user_error(
            &subbench(d, &[command, "plain"]),
            &["plain", "not a result store"],
        );
        assert_user_error(
            &subbench(d, &[command, "nowhere"]),
            &["nowhere", "no such results folder"],
        );
    }
    assert!(d.join("plain/notes.txt").exists());

    // Shards of different counts, then of different specs, in one store.
    for shard in ["1/2", "1/3"] {
        assert!(
            subbench(d, &["run", "q.yaml", "--shard", shard, "--no-report"])
                .status
                .success()
        );
    }
    assert_user_error(
        &subbench(d, &["merge", "results/quad"]),
        &[
            "results/quad/shards",
            "different shard counts",
            "001-of-002",
            "001-of-003",
        ],
    );
    fs::remove_dir_all(d.join("results/quad/shards/001-of-003")).unwrap();
    fs::write(
        d.join("q.yaml"),
        QUADRATIC.replace("claim: x squared", "claim: x²"),
    )
    .unwrap();
    assert!(
        subbench(d, &["run", "q.yaml", "--shard", "2/2", "--no-report"])
            .status
            .success()
    );
    assert_user_error(
        &subbench(d, &["merge", "results/quad"]),
        &[
            "results/quad/shards",
            "different specs",
            "001-of-002",
            "002-of-002",
        ],
    );
    let kept: usize = ["001-of-002", "002-of-002"]
        .iter()
        .map(|shard| {
            Store::at(&d.join("results/quad/shards").join(shard))
                .load()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(kept, 72, "both shards are untouched");
    assert!(!d.join("results/quad/trials.parquet").exists());
}

/// A stand-in `sbatch` that records its arguments (one file each, NUL-separated) and the
/// script it is given on stdin, and answers with job ids 10001, 10002, ...
fn fake_sbatch(d: &Path) -> PathBuf {
    let bin = d.join("fakebin");
    fs::create_dir_all(&bin).unwrap();
    let calls = d.join("calls");
    fs::create_dir_all(&calls).unwrap();
    let script = format!(
        "#!/bin/bash\nset -eu\ncalls={calls:?}\nn=$(( $(ls \"$calls\" | wc -l) / 2 + 1 ))\n\
         printf '%s\\0' \"$@\" > \"$calls/$n.args\"\n\
         if [ -t 0 ]; then : > \"$calls/$n.stdin\"; else cat > \"$calls/$n.stdin\"; fi\n\
         echo \"$((10000 + n))\"\n"
    );
    fs::write(bin.join("sbatch"), script).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(bin.join("sbatch"))
        .status()
        .unwrap();
    bin
}

fn recorded_args(d: &Path, n: u32) -> Vec<String> {
    let bytes = fs::read(d.join("calls").join(format!("{n}.args"))).unwrap();
    bytes
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect()
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn the_script_quotes_every_value_and_runs_the_shards_from_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("my specs")).unwrap();
    fs::write(d.join("my specs/q.yaml"), QUADRATIC).unwrap();
    let out = "it's \"q\" $(touch pwned) `touch pwned2` 100%\nnext";
    let o = subbench(
        d,
        &[
            "slurm",
            "my specs/q.yaml",
            "--shards",
            "4",
            "--out",
            out,
            "--cpus-per-task",
            "2",
            "--partition",
            "debug",
            "--time",
            "1-00:30",
            "--mem",
            "4G",
            "--account",
            "proj",
            "--max-running",
            "2",
            "--sbatch",
            "--comment=a 'b' $(c)",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let script = stdout(&o);
    fs::write(d.join("job.sh"), &script).unwrap();
    let bin = fake_sbatch(d);
    let submitted = Command::new("bash")
        .arg(d.join("job.sh"))
        .current_dir("/")
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    assert!(
        submitted.status.success(),
        "{}\n{script}",
        stderr(&submitted)
    );
    assert!(
        stdout(&submitted).contains("array job 10001"),
        "{}",
        stdout(&submitted)
    );
    assert!(
        stdout(&submitted).contains("merge job 10002"),
        "{}",
        stdout(&submitted)
    );
    assert!(!d.join("pwned").exists() && !Path::new("/pwned").exists());

    let store = d.join(out).join("quad");
    let logs = store.join("slurm");
    assert!(logs.is_dir(), "the log folder is made before sbatch runs");
    let pattern = logs.to_str().unwrap().replace('%', "%%");
    let array = recorded_args(d, 1);
    for wanted in [
        "--array=1-4%2".to_string(),
        "--cpus-per-task=2".into(),
        "--partition=debug".into(),
        "--time=1-00:30".into(),
        "--mem=4G".into(),
        "--account=proj".into(),
        "--comment=a 'b' $(c)".into(),
        format!("--chdir={}", d.display()),
        format!("--output={pattern}/shard-%a-job-%A.log"),
    ] {
        assert!(array.contains(&wanted), "{wanted:?} not in {array:?}");
    }
    let merge = recorded_args(d, 2);
    assert!(
        merge.contains(&"--dependency=afterany:10001".to_string()),
        "{merge:?}"
    );
    assert!(
        merge.contains(&format!("--output={pattern}/merge-job-%j.log")),
        "{merge:?}"
    );

    // The array task's script, run as Slurm would (from another folder), writes the store at
    // exactly --out; the merge script then gives the one-process store.
    let shard_script = d.join("calls/1.stdin");
    for task in 1..=4 {
        let o = Command::new("bash")
            .arg(&shard_script)
            .current_dir("/")
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_CPUS_PER_TASK", "2")
            .output()
            .unwrap();
        assert!(o.status.success(), "task {task}: {}", stderr(&o));
    }
    assert!(store.join("shards/004-of-004/shard.json").exists());
    let merged = Command::new("bash")
        .arg(d.join("calls/2.stdin"))
        .current_dir("/")
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", stderr(&merged));
    let one = load(&one_process_run(d, "my specs/q.yaml", "one").join("quad"));
    assert_eq!(load(&store), one);
    assert!(!d.join("pwned").exists() && !d.join("pwned2").exists());

    // SUBBENCH picks another binary; without a task id the array script refuses to run.
    let echoed = Command::new("bash")
        .arg(d.join("calls/2.stdin"))
        .env("SUBBENCH", "echo")
        .output()
        .unwrap();
    assert_eq!(stdout(&echoed), format!("merge -- {out}/quad\n"));
    let no_task = Command::new("bash").arg(&shard_script).output().unwrap();
    assert!(!no_task.status.success());
    assert!(
        stderr(&no_task).contains("array task"),
        "{}",
        stderr(&no_task)
    );
}

#[test]
fn submit_calls_sbatch_for_the_array_and_the_dependent_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("q.yaml"), QUADRATIC).unwrap();
    let bin = fake_sbatch(d);
    let o = Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args([
            "slurm",
            "q.yaml",
            "--shards",
            "3",
            "--submit",
            "--only-shards",
            "2-3",
        ])
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("array job 10001: shards 2-3 of 3"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("merge job 10002: starts when job 10001 has ended"),
        "{}",
        stdout(&o)
    );
    let array = recorded_args(d, 1);
    assert!(array.contains(&"--array=2-3".to_string()), "{array:?}");
    assert_eq!(
        array.last().unwrap(),
        d.join("results/quad/slurm/shards.sh").to_str().unwrap()
    );
    let merge = recorded_args(d, 2);
    assert!(merge.contains(&"--dependency=afterany:10001".to_string()));
    assert!(d.join("results/quad/slurm/merge.sh").exists());
    let missing = Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args(["slurm", "q.yaml", "--shards", "3", "--submit"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_user_error(&missing, &["sbatch"]);
}

// ---- against a real Slurm ------------------------------------------------------------------

/// Whether the one-node test cluster of tests/slurm/start.sh answers (asked once, each question
/// bounded: Slurm's clients retry a down controller for a minute); a note (or, in CI, a failure)
/// when not. Another Slurm (a real cluster's login node) is left alone: its nodes would not see
/// this machine's temporary folders.
fn slurm_answers() -> bool {
    static UP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let up = *UP.get_or_init(|| {
        let answers = |program: &str, args: &[&str], wanted: &str| {
            let Ok(mut child) = Command::new(program)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
            else {
                return false;
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let o = child.wait_with_output().unwrap();
            o.status.success() && stdout(&o).contains(wanted)
        };
        answers("sinfo", &["-h", "-o", "%a"], "up")
            && answers("scontrol", &["show", "config"], "= subbench\n")
    });
    if !up {
        assert!(
            std::env::var_os("SUBBENCH_REQUIRE_SLURM").is_none(),
            "SUBBENCH_REQUIRE_SLURM is set but the test cluster does not answer (run tests/slurm/start.sh)"
        );
        eprintln!("note: the test cluster of tests/slurm/start.sh does not answer (sinfo, ClusterName=subbench); skipping a real-Slurm test");
    }
    up
}

/// The real-Slurm tests share one small node: one at a time.
static ONE_NODE: Mutex<()> = Mutex::new(());

fn run_ok(program: &str, args: &[&str]) -> String {
    let o = Command::new(program).args(args).output().unwrap();
    assert!(o.status.success(), "{program} {args:?}: {}", stderr(&o));
    stdout(&o)
}

/// Wait (at most `bound`) until job `id` (every task of an array) has left the queue; its
/// `scontrol show job` afterwards.
fn wait_for_job(id: &str, bound: Duration) -> String {
    let deadline = Instant::now() + bound;
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-j", id, "-o", "%T"])
            .output()
            .unwrap();
        if q.status.success() && stdout(&q).trim().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} still queued after {bound:?}: {}",
            stdout(&q)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    run_ok("scontrol", &["show", "job", id])
}

/// (array job id, merge job id) from `subbench slurm --submit`.
fn submit(d: &Path, args: &[&str]) -> (String, String) {
    let o = subbench(d, args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let id = |prefix: &str| {
        let rest = &text[text.find(prefix).unwrap_or_else(|| panic!("{text}")) + prefix.len()..];
        rest.split(':').next().unwrap().to_string()
    };
    (id("array job "), id("merge job "))
}

fn log_of(store: &Path, prefix: &str) -> String {
    let dir = store.join("slurm");
    let mut text = String::new();
    for entry in fs::read_dir(&dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            text += &fs::read_to_string(entry.path()).unwrap();
        }
    }
    text
}

#[test]
fn a_slurm_array_and_its_merge_job_give_the_one_process_store() {
    if !slurm_answers() {
        return;
    }
    let _node = ONE_NODE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("q.yaml"), QUADRATIC).unwrap();
    let started = Instant::now();
    let (array, merge) = submit(
        d,
        &[
            "slurm", "q.yaml", "--shards", "4", "--out", "cluster", "--time", "10:00", "--submit",
        ],
    );
    let merge_job = wait_for_job(&merge, Duration::from_secs(300));
    let wall = started.elapsed();
    eprintln!(
        "4-shard Slurm array plus merge job: {:.1} s from submission to the merged store",
        wall.as_secs_f64()
    );
    let store = d.join("cluster/quad");
    let array_job = wait_for_job(&array, Duration::from_secs(10));
    assert_eq!(
        array_job.matches("JobState=COMPLETED").count(),
        4,
        "{array_job}"
    );
    assert!(
        merge_job.contains("JobState=COMPLETED"),
        "{merge_job}\n{}",
        log_of(&store, "merge")
    );
    assert!(
        log_of(&store, "merge").contains("4 of 4 shards merged, 72 trials"),
        "{}",
        log_of(&store, "merge")
    );
    let one = load(&one_process_run(d, "q.yaml", "one").join("quad"));
    assert_eq!(load(&store), one, "trial for trial, bit for bit");
    assert!(!store.join("shards").exists());
    let report = subbench(d, &["report", "cluster", "--out", "pages"]);
    assert!(
        stdout(&report).contains("pages: pages/index.html (1 spec page;"),
        "{}",
        stdout(&report)
    );
}

#[test]
fn a_cancelled_shard_is_named_by_the_merge_and_a_resubmission_completes_the_store() {
    if !slurm_answers() {
        return;
    }
    let _node = ONE_NODE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("s.yaml"), slow_spec(80, 200)).unwrap();
    let (array, merge) = submit(
        d,
        &[
            "slurm", "s.yaml", "--shards", "4", "--out", "cluster", "--submit",
        ],
    );
    // Cancel shard 3 once it has stored a few trials.
    let store = d.join("cluster/slow");
    let shard3 = store.join("shards/003-of-004");
    let deadline = Instant::now() + Duration::from_secs(120);
    while fs::read_dir(shard3.join("parts")).map_or(0, |r| r.count()) < 6 {
        assert!(Instant::now() < deadline, "shard 3 never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    run_ok("scancel", &[&format!("{array}_3")]);
    let merge_job = wait_for_job(&merge, Duration::from_secs(300));
    let array_job = wait_for_job(&array, Duration::from_secs(10));
    assert!(array_job.contains("JobState=CANCELLED"), "{array_job}");
    assert!(
        merge_job.contains("JobState=FAILED"),
        "the merge fails: {merge_job}"
    );
    let log = log_of(&store, "merge");
    assert!(
        log.contains("3 of 4 shards merged") && log.contains("003-of-004 incomplete"),
        "{log}"
    );

    let one = load(&one_process_run_with(d, "s.yaml", "one", "2").join("slow"));
    let slice3 = one
        .iter()
        .filter(|f| u64::from_str_radix(&f.0, 16).unwrap() % 4 == 2)
        .count();
    let kept = load(&shard3);
    assert!(
        !kept.is_empty() && kept.len() < slice3,
        "{} of {slice3} trials of shard 3 were stored",
        kept.len()
    );
    let in_one = |f: &Fingerprint| one.contains(f);
    assert!(
        kept.iter().all(in_one),
        "what shard 3 stored is what a one-process run computes"
    );
    let merged = load(&store);
    assert_eq!(merged.len(), one.len() - slice3, "shards 1, 2 and 4, whole");
    assert!(merged.iter().all(in_one));

    let (_, merge) = submit(
        d,
        &[
            "slurm",
            "s.yaml",
            "--shards",
            "4",
            "--out",
            "cluster",
            "--only-shards",
            "3",
            "--submit",
        ],
    );
    let merge_job = wait_for_job(&merge, Duration::from_secs(300));
    assert!(
        merge_job.contains("JobState=COMPLETED"),
        "{merge_job}\n{}",
        log_of(&store, "merge")
    );
    assert!(
        log_of(&store, "shard-3").contains(&format!(
            "{} trials to run, {} already stored",
            slice3 - kept.len(),
            kept.len()
        )),
        "the resubmitted shard resumes: {}",
        log_of(&store, "shard-3")
    );
    assert_eq!(load(&store), one);
}

#[test]
fn a_requeued_shard_resumes_and_the_merge_waits_for_it() {
    if !slurm_answers() {
        return;
    }
    let _node = ONE_NODE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("s.yaml"), slow_spec(40, 200)).unwrap();
    let (array, merge) = submit(
        d,
        &[
            "slurm", "s.yaml", "--shards", "4", "--out", "cluster", "--submit",
        ],
    );
    // Requeue shard 2 (as preemption does) once it has stored a few trials; Slurm delays the
    // rerun of a requeued job by two minutes, which the test skips.
    let store = d.join("cluster/slow");
    let parts = store.join("shards/002-of-004/parts");
    let deadline = Instant::now() + Duration::from_secs(120);
    while fs::read_dir(&parts).map_or(0, |r| r.count()) < 4 {
        assert!(Instant::now() < deadline, "shard 2 never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let task = format!("{array}_2");
    run_ok("scontrol", &["requeue", &task]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !run_ok("squeue", &["-h", "-j", &task, "-o", "%T"]).contains("PENDING") {
        assert!(Instant::now() < deadline, "shard 2 was not requeued");
        std::thread::sleep(Duration::from_millis(50));
    }
    run_ok(
        "scontrol",
        &["update", &format!("JobId={task}"), "StartTime=now"],
    );
    let merge_job = wait_for_job(&merge, Duration::from_secs(300));
    assert!(
        merge_job.contains("JobState=COMPLETED"),
        "{merge_job}\n{}",
        log_of(&store, "merge")
    );
    let one = load(&one_process_run_with(d, "s.yaml", "one", "2").join("slow"));
    assert_eq!(load(&store), one);
    // The rerun started from what the first attempt had stored.
    let log = log_of(&store, "shard-2");
    let counts: Vec<usize> = log
        .lines()
        .find(|l| l.contains("trials to run,"))
        .unwrap_or_else(|| panic!("{log}"))
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    let slice2 = one
        .iter()
        .filter(|f| u64::from_str_radix(&f.0, 16).unwrap() % 4 == 1)
        .count();
    assert!(
        counts.len() == 2 && counts[1] > 0 && counts[0] + counts[1] == slice2,
        "{log}"
    );
}
