//! One worker process: started once, fed one request line at a time, read with a deadline.
//!
//! The worker runs in a process group of its own, so that a timeout or an interrupt kills it and
//! anything it started (`kill(-pgid)`), and a Ctrl-C on the terminal reaches subbench only, which
//! then stops the workers itself. All three pipes are non-blocking and served by one `poll(2)`
//! loop on the trial's thread: no helper thread per worker, no read that can block past the
//! deadline, and stderr is drained while the trial runs (kept, truncated, for its error).

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::env::{is_python, Environment};
use crate::manifest::Manifest;

/// How much of a trial's stderr is kept with its error (the end, where the traceback is).
pub const STDERR_KEPT: usize = 4000;

/// Process groups of every live worker, for [`kill_all_workers`].
static LIVE: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

fn live<T>(f: impl FnOnce(&mut HashSet<i32>) -> T) -> T {
    let mut guard = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashSet::new))
}

/// Kill every worker process (and what it started): called on Ctrl-C / SIGTERM. Trials in
/// flight then see their worker's output close and end at once.
pub fn kill_all_workers() {
    live(|pids| {
        for &pid in pids.iter() {
            // SAFETY: kill(2) has no memory effects; a negative pid names the process group.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    });
}

/// Why a call got no reply line.
#[derive(Debug)]
pub enum Failure {
    /// The deadline passed; the worker's process group has been killed. What happened, said.
    Timeout(String),
    /// The worker closed its stdout (exited, crashed, or closed it): how it ended.
    Closed(String),
}

pub struct Worker {
    child: Child,
    /// The leader's status once reaped. Until then its pid (the group's id) cannot be reused,
    /// which is what makes killing the group by that id safe: nothing else reaps the leader.
    reaped: Option<Option<ExitStatus>>,
    /// The trial ids this worker was sent: a line naming one of them is late, not foreign.
    pub sent: HashSet<String>,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: Option<ChildStderr>,
    out: Vec<u8>,
    err: Vec<u8>,
}

fn set_nonblocking(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl Worker {
    /// Start the manifest's command in its folder; in `env` when the manifest declares one
    /// (its interpreter for `python3`, its `bin/` first on PATH for anything else).
    pub fn spawn(manifest: &Manifest, env: Option<&Environment>) -> io::Result<Worker> {
        let program = match env {
            Some(env) if is_python(&manifest.command[0]) => env.python().into_os_string(),
            _ => manifest.command[0].clone().into(),
        };
        let mut command = Command::new(program);
        if let Some(env) = env {
            let mut path = vec![env.bin()];
            path.extend(
                std::env::var_os("PATH")
                    .iter()
                    .flat_map(std::env::split_paths),
            );
            command
                .env(
                    "PATH",
                    std::env::join_paths(path).map_err(io::Error::other)?,
                )
                .env("VIRTUAL_ENV", &env.dir);
        }
        command
            .args(&manifest.command[1..])
            .current_dir(&manifest.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // One BLAS thread per worker, as built-in trials get one per thread: the workers are
            // as many as the cores already.
            .env("OMP_NUM_THREADS", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            // Python would write __pycache__ folders beside the method's files.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .process_group(0);
        let mut child = command.spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        for fd in [stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()] {
            set_nonblocking(fd)?;
        }
        live(|pids| pids.insert(child.id() as i32));
        Ok(Worker {
            child,
            reaped: None,
            sent: HashSet::new(),
            stdin,
            stdout,
            stderr: Some(stderr),
            out: Vec::new(),
            err: Vec::new(),
        })
    }

    /// What the worker wrote to stderr during the last call (its end, at most [`STDERR_KEPT`]).
    pub fn stderr_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.err);
        let text = text.trim();
        if text.len() <= STDERR_KEPT {
            return text.to_string();
        }
        let mut start = text.len() - STDERR_KEPT;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        format!("…{}", &text[start..])
    }

    /// Send one request line (for trial `trial_id`) and wait for the first line the worker
    /// writes, until `deadline`.
    pub fn call(
        &mut self,
        trial_id: &str,
        request: &[u8],
        deadline: Instant,
    ) -> Result<Vec<u8>, Failure> {
        self.err.clear();
        self.drain_stderr();
        self.sent.insert(trial_id.to_string());
        self.exchange(request, deadline)
    }

    /// The next line the worker writes, until `deadline`.
    pub fn next_line(&mut self, deadline: Instant) -> Result<Vec<u8>, Failure> {
        self.exchange(&[], deadline)
    }

    fn exchange(&mut self, request: &[u8], deadline: Instant) -> Result<Vec<u8>, Failure> {
        let mut written = 0;
        loop {
            if let Some(end) = self.out.iter().position(|&b| b == b'\n') {
                return Ok(self.out.drain(..=end).collect());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Failure::Timeout(self.kill_at_deadline()));
            }
            let wait = (deadline - now).as_millis().clamp(1, i32::MAX as u128) as i32;
            let mut fds = vec![libc::pollfd {
                fd: self.stdout.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            if written < request.len() {
                fds.push(libc::pollfd {
                    fd: self.stdin.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                });
            }
            if let Some(e) = &self.stderr {
                fds.push(libc::pollfd {
                    fd: e.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            // SAFETY: `fds` is a valid array of pollfd for the duration of the call.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                self.kill();
                return Err(Failure::Closed(format!("poll failed: {e}")));
            }
            for fd in &fds {
                if fd.revents == 0 {
                    continue;
                }
                if fd.fd == self.stdin.as_raw_fd() {
                    match self.stdin.write(&request[written..]) {
                        Ok(n) => written += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return Err(Failure::Closed(self.ended("closed its stdin"))),
                    }
                } else if fd.fd == self.stdout.as_raw_fd() {
                    let mut chunk = [0u8; 65536];
                    match self.stdout.read(&mut chunk) {
                        Ok(0) => return Err(Failure::Closed(self.ended("closed its stdout"))),
                        Ok(n) => self.out.extend_from_slice(&chunk[..n]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(Failure::Closed(self.ended(&format!("{e}")))),
                    }
                } else {
                    self.drain_stderr();
                }
            }
        }
    }

    /// Read whatever stderr holds now, keeping the end.
    fn drain_stderr(&mut self) {
        let Some(stderr) = self.stderr.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 65536];
        loop {
            match stderr.read(&mut chunk) {
                Ok(0) => {
                    self.stderr = None;
                    break;
                }
                Ok(n) => {
                    self.err.extend_from_slice(&chunk[..n]);
                    if self.err.len() > 4 * STDERR_KEPT {
                        let cut = self.err.len() - 2 * STDERR_KEPT;
                        self.err.drain(..cut);
                    }
                }
                Err(_) => break,
            }
        }
    }

    /// How the worker ended, after it closed its output: its exit status or signal. A worker
    /// that closed stdout but lives on is killed, and so is whatever it left in its group.
    fn ended(&mut self, what: &str) -> String {
        let until = Instant::now() + Duration::from_millis(500);
        while !self.has_exited() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
        let exited = self.has_exited();
        let status = self.kill();
        // The last words on stderr arrive with the exit.
        self.drain_stderr();
        match status.filter(|_| exited) {
            Some(s) => describe(s),
            None => format!("the worker {what}"),
        }
    }

    /// At the deadline: kill the group, whether or not the worker itself still runs (a process
    /// it started may hold its output open after it exited), and say which it was.
    fn kill_at_deadline(&mut self) -> String {
        let exited = self.has_exited();
        let status = self.kill();
        match status.filter(|_| exited) {
            Some(s) => format!(
                "the worker had ended ({}) but a process it started kept its output open; that process group was killed at the deadline",
                describe(s).trim_start_matches("the worker ")
            ),
            None => "the worker and its process group were killed at the deadline".to_string(),
        }
    }

    /// Whether the worker (the group's leader) has exited, without reaping it.
    fn has_exited(&self) -> bool {
        if self.reaped.is_some() {
            return true;
        }
        // SAFETY: waitid(2) with WNOWAIT writes into `info` and leaves the child waitable.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            r == 0 && info.si_pid() != 0
        }
    }

    /// Kill the worker's process group, always (the leader may be gone while its children
    /// live), then reap the leader; its status.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.reaped {
            return status;
        }
        let pid = self.child.id() as i32;
        // SAFETY: kill(2). The leader is not reaped yet (see `reaped`), so its pid, the group's
        // id, names this group and no other.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let status = self.child.wait().ok();
        self.reaped = Some(status);
        live(|pids| pids.remove(&pid));
        status
    }

    /// Whether the worker can take a request: still running (an idle worker may have died) and
    /// silent since its last reply (a worker that wrote more than one line per request is out
    /// of step).
    pub fn ready(&mut self) -> bool {
        if self.has_exited() || !self.out.is_empty() {
            return false;
        }
        let mut chunk = [0u8; 1];
        match self.stdout.read(&mut chunk) {
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
            // A byte (out of step) or end of file (closed): either way, not usable.
            Ok(0) | Ok(1..) => false,
        }
    }
}

/// An ended process's status in words.
fn describe(s: ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(code), _) => format!("the worker exited with status {code}"),
        (None, Some(signal)) => format!(
            "the worker was killed by signal {signal}{}",
            match signal {
                libc::SIGSEGV => " (SIGSEGV, a segmentation fault)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGABRT => " (SIGABRT)",
                _ => "",
            }
        ),
        _ => format!("the worker ended ({s})"),
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
