//! Helpers shared by the binary-level tests: run the real `subbench` and capture what it says.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The dependency-free probe worker (`probe.random`: x + U(0,1), an external method whose code
/// identity is its files) laid out under `dir` as in the repository; returns its manifest's path
/// relative to `dir`.
pub fn probe(dir: &Path) -> &'static str {
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

/// `subbench` with extra environment variables (e.g. the test method's shift and salt).
pub fn subbench_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_subbench"));
    command
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the subbench binary runs")
}

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

/// A `subbench` started in the background whose stderr is collected as it comes, so that a
/// test can wait for a line and then signal it.
pub struct Running {
    pub child: std::process::Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

pub fn spawn_subbench(dir: &Path, args: &[&str]) -> Running {
    use std::io::BufRead as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the subbench binary starts");
    let pipe = child.stderr.take().expect("stderr is piped");
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stderr.clone();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    Running {
        child,
        stderr,
        reader: Some(reader),
    }
}

impl Running {
    /// What it has said on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until `ready` holds (checked every 20 ms); panics after `limit`, killing the process.
    pub fn wait_until(
        &mut self,
        limit: std::time::Duration,
        what: &str,
        ready: impl Fn(&Self) -> bool,
    ) {
        let deadline = std::time::Instant::now() + limit;
        while !ready(self) {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{what} did not happen within {limit:?}; stderr: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Send SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Wait for the exit (at most `limit`, else kill and panic); its code and all of stderr.
    pub fn finish(mut self, limit: std::time::Duration) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running after {limit:?}; stderr: {}", self.stderr());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status.code(), self.stderr())
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
