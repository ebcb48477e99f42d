//! An external method: a `harness::Method` whose trials are sent to a pool of worker processes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::{
    Method, MethodError, MetricSpec, Outcome, ParamKind, ParamSpec, Params, TrialContext, TrialRng,
};
use serde_json::{Map, Value as Json};

use crate::manifest::Manifest;
use crate::worker::{Failure, Worker};

/// A trial of an external method in a spec without `timeout:` still ends: a worker that never
/// answers must not hang the run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// A replied line is shown in messages up to this many characters.
const SHOWN: usize = 200;

pub struct ExternalMethod {
    manifest: Manifest,
    /// Idle workers. A trial takes one (or starts one) and gives it back when it answered
    /// properly, so there are never more workers than trials running at once: one per worker
    /// thread. A worker that timed out, crashed or broke the protocol is dropped (killed).
    idle: Mutex<Vec<Worker>>,
}

impl ExternalMethod {
    pub fn new(manifest: Manifest) -> Self {
        ExternalMethod {
            manifest,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn take_worker(&self) -> Result<Worker, MethodError> {
        loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                Some(mut w) => {
                    if w.ready() {
                        return Ok(w);
                    }
                }
                None => break,
            }
        }
        // A trial that passed the runner's stop check just before Ctrl-C must not start a
        // worker after the workers were killed: it would run to its deadline.
        if harness::runner::stop_requested() {
            return Err(MethodError::Failed(
                "the run was interrupted before this trial started".into(),
            ));
        }
        Worker::spawn(&self.manifest).map_err(|e| {
            MethodError::Failed(format!(
                "cannot start the worker `{}` in {}: {e}",
                self.manifest.command.join(" "),
                self.manifest.dir.display()
            ))
        })
    }

    /// The request line: the trial's id and seed, and the declared parameters (file parameters
    /// as absolute paths, since the worker runs in the manifest's folder).
    fn request(&self, trial: &TrialContext<'_>, params: &Params) -> Vec<u8> {
        let mut values = Map::new();
        for spec in &self.manifest.params {
            let json = match (&spec.kind, params.get(&spec.name)) {
                // An optional file left unset: the protocol's "none".
                (ParamKind::File, None) => Json::String(String::new()),
                (_, None) => continue,
                (_, Some(value)) => match (&spec.kind, value) {
                    (ParamKind::File, harness::Value::Str(path)) if !path.is_empty() => {
                        Json::String(
                            std::fs::canonicalize(path)
                                .map(|p| p.display().to_string())
                                .unwrap_or_else(|_| path.clone()),
                        )
                    }
                    _ => serde_json::to_value(value).expect("values serialise"),
                },
            };
            values.insert(spec.name.clone(), json);
        }
        let mut line = serde_json::to_vec(&serde_json::json!({
            "trial_id": trial.trial_id,
            "seed": trial.seed,
            "params": values,
        }))
        .expect("requests serialise");
        line.push(b'\n');
        line
    }

    /// Turn a reply line into the trial's outcome. `Err(None)` would be a protocol failure of the
    /// worker itself (not JSON): the caller drops the worker.
    fn reply(&self, line: &[u8]) -> Result<Result<Outcome, MethodError>, String> {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        let shown = || {
            let mut s: String = text.chars().take(SHOWN).collect();
            if text.chars().count() > SHOWN {
                s.push('…');
            }
            s
        };
        let json: Json = serde_json::from_str(text).map_err(|e| {
            format!(
                "the worker wrote a line that is not a JSON reply ({e}): `{}`",
                shown()
            )
        })?;
        let Json::Object(reply) = json else {
            return Err(format!(
                "the worker replied `{}`, not a JSON object",
                shown()
            ));
        };
        if let Some(message) = reply.get("error") {
            return Ok(Err(MethodError::Failed(text_of(message))));
        }
        if let Some(message) = reply.get("diverged") {
            return Ok(Err(MethodError::Diverged(text_of(message))));
        }
        let Some(Json::Object(metrics)) = reply.get("metrics") else {
            return Ok(Err(MethodError::Failed(format!(
                "the worker's reply has no `metrics` object (nor `error` or `diverged`): `{}`",
                shown()
            ))));
        };
        let mut outcome = Outcome::new();
        for (name, value) in metrics {
            if !self.manifest.metrics.iter().any(|m| m.name == name) {
                return Ok(Err(undeclared("metric", name, self.manifest.metrics)));
            }
            match value.as_f64() {
                Some(x) => outcome.metrics.insert(name.clone(), x),
                None => {
                    return Ok(Err(MethodError::Failed(format!(
                        "the worker returned metric `{name}` = {value}; metrics are numbers"
                    ))))
                }
            };
        }
        if let Some(missing) = self
            .manifest
            .metrics
            .iter()
            .find(|m| !outcome.metrics.contains_key(m.name))
        {
            return Ok(Err(MethodError::Failed(format!(
                "the worker's reply lacks declared metric `{}`",
                missing.name
            ))));
        }
        match reply.get("curves") {
            None | Some(Json::Null) => {}
            Some(Json::Object(curves)) => {
                for (name, points) in curves {
                    if !self.manifest.curves.iter().any(|c| c.name == name) {
                        return Ok(Err(undeclared("curve", name, self.manifest.curves)));
                    }
                    match curve(points) {
                        Some(points) => {
                            outcome.curves.insert(name.clone(), points);
                        }
                        None => {
                            return Ok(Err(MethodError::Failed(format!(
                                "curve `{name}` must be a list of [step, value] pairs, steps non-negative integers and values numbers"
                            ))))
                        }
                    }
                }
            }
            Some(_) => {
                return Ok(Err(MethodError::Failed(
                    "`curves` must be an object of curve name → [[step, value], …]".into(),
                )))
            }
        }
        Ok(Ok(outcome))
    }
}

fn text_of(message: &Json) -> String {
    match message {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn undeclared(what: &str, name: &str, declared: &[MetricSpec]) -> MethodError {
    let names: Vec<&str> = declared.iter().map(|m| m.name).collect();
    MethodError::Failed(format!(
        "the worker returned {what} `{name}`, which the manifest does not declare; declared: {}",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    ))
}

fn curve(points: &Json) -> Option<Vec<(u32, f64)>> {
    points
        .as_array()?
        .iter()
        .map(|p| {
            let pair = p.as_array().filter(|a| a.len() == 2)?;
            let step = u32::try_from(pair[0].as_u64()?).ok()?;
            Some((step, pair[1].as_f64()?))
        })
        .collect()
}

/// A failure message with what the worker wrote to stderr during the trial.
fn with_stderr(message: String, stderr: &str) -> String {
    if stderr.is_empty() {
        message
    } else {
        format!("{message}; stderr: {stderr}")
    }
}

impl Method for ExternalMethod {
    fn id(&self) -> &str {
        &self.manifest.id
    }
    fn summary(&self) -> &str {
        &self.manifest.summary
    }
    fn params(&self) -> &[ParamSpec] {
        &self.manifest.params
    }
    fn metrics(&self) -> &[MetricSpec] {
        self.manifest.metrics
    }
    fn curves(&self) -> &[MetricSpec] {
        self.manifest.curves
    }
    fn code(&self) -> Option<String> {
        Some(self.manifest.code.clone())
    }
    /// The worker checks what it needs itself; the harness has checked kinds and ranges.
    fn check(&self, _params: &Params) -> Result<(), String> {
        Ok(())
    }
    fn run_trial(
        &self,
        trial: &TrialContext<'_>,
        params: &Params,
        _rng: &mut TrialRng,
    ) -> Result<Outcome, MethodError> {
        let request = self.request(trial, params);
        let deadline = trial
            .deadline
            .unwrap_or_else(|| Instant::now() + DEFAULT_TIMEOUT);
        let mut worker = self.take_worker()?;
        let started = Instant::now();
        // A reply may echo the request's `trial_id` (the helper does): one that names another
        // trial is a late line of an earlier request, not this trial's reply.
        let stale = |line: &[u8]| {
            line.windows(10).any(|w| w == b"\"trial_id\"")
                && serde_json::from_slice::<Json>(line)
                    .ok()
                    .and_then(|j| j.get("trial_id").and_then(Json::as_str).map(str::to_string))
                    .is_some_and(|id| id != trial.trial_id)
        };
        match worker.call(&request, deadline, stale) {
            Ok(line) => match self.reply(&line) {
                Ok(result) => {
                    let stderr = worker.stderr_text();
                    self.idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(worker);
                    result.map_err(|e| match e {
                        MethodError::Failed(m) => MethodError::Failed(with_stderr(m, &stderr)),
                        MethodError::Diverged(m) => MethodError::Diverged(with_stderr(m, &stderr)),
                        other => other,
                    })
                }
                // Not the protocol: whatever state the worker is in, it is not trusted again.
                Err(message) => Err(MethodError::Failed(with_stderr(
                    message,
                    &worker.stderr_text(),
                ))),
            },
            Err(Failure::Timeout) => Err(MethodError::Timeout(with_stderr(
                format!(
                    "no reply after {:.1} s; the worker was killed at the deadline",
                    started.elapsed().as_secs_f64()
                ),
                &worker.stderr_text(),
            ))),
            Err(Failure::Closed(how)) => Err(MethodError::Failed(with_stderr(
                format!("{how} before replying"),
                &worker.stderr_text(),
            ))),
        }
    }
}
