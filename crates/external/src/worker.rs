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
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// The deadline passed; the worker has been killed.
    Timeout,
    /// The worker closed its stdout (exited, crashed, or closed it): how it ended.
    Closed(String),
}

pub struct Worker {
    child: Child,
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
    /// Start the manifest's command in its folder.
    pub fn spawn(manifest: &Manifest) -> io::Result<Worker> {
        let mut command = Command::new(&manifest.command[0]);
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

    /// Send one request line and wait for one reply line until `deadline`. Lines `stale` says
    /// belong to an earlier request are skipped.
    pub fn call(
        &mut self,
        request: &[u8],
        deadline: Instant,
        stale: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>, Failure> {
        self.err.clear();
        self.drain_stderr();
        let mut written = 0;
        loop {
            if let Some(end) = self.out.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.out.drain(..=end).collect();
                if !stale(&line) {
                    return Ok(line);
                }
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                self.kill();
                return Err(Failure::Timeout);
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
    /// that closed stdout but lives on is killed.
    fn ended(&mut self, what: &str) -> String {
        let until = Instant::now() + Duration::from_millis(500);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(2)),
                _ => break None,
            }
        };
        // The last words on stderr arrive with the exit.
        self.drain_stderr();
        match status {
            Some(s) => match (s.code(), s.signal()) {
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
            },
            None => {
                self.kill();
                format!("the worker {what}")
            }
        }
    }

    /// Kill the worker's process group and reap it.
    pub fn kill(&mut self) {
        let pid = self.child.id() as i32;
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2); the child is not reaped yet, so its pid cannot have been reused.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
        live(|pids| pids.remove(&pid));
    }

    /// Whether the worker can take a request: still running (an idle worker may have died) and
    /// silent since its last reply (a worker that wrote more than one line per request is out
    /// of step: its next line would be taken for the next trial's reply).
    pub fn ready(&mut self) -> bool {
        if !matches!(self.child.try_wait(), Ok(None)) || !self.out.is_empty() {
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

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
