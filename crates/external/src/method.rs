//! An external method: a `harness::Method` whose trials are sent to a pool of worker processes.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use harness::{
    Method, MethodError, MetricSpec, Outcome, ParamKind, ParamSpec, Params, TrialContext, TrialRng,
};
use serde_json::{Map, Value as Json};

use crate::env::Environment;
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
    /// The manifest's Python environment, made (or found) once per process, by the first trial
    /// or by `subbench env`; a failure is kept and fails every trial with the same message.
    env: OnceLock<Result<Environment, String>>,
}

/// What a line the worker wrote is, for the trial that waits for it.
enum Reply {
    /// This trial's reply (echoing its `trial_id`), valid: its result, the worker kept.
    Answer(Result<Outcome, MethodError>),
    /// A line naming a trial this worker was sent before: late, skipped.
    Late(String),
    /// Not a valid reply to this request: the trial fails and the worker is dropped.
    Invalid(String),
}

impl ExternalMethod {
    pub fn new(manifest: Manifest) -> Self {
        ExternalMethod {
            manifest,
            idle: Mutex::new(Vec::new()),
            env: OnceLock::new(),
        }
    }

    /// The manifest's environment (none without `python:`), made now if needed.
    pub fn python_env(&self) -> Result<Option<&Environment>, String> {
        let Some(requirements) = &self.manifest.python else {
            return Ok(None);
        };
        let made = self.env.get_or_init(|| {
            crate::env::ensure(requirements, &self.manifest.file, &|line| {
                eprintln!("{}: {line}", self.manifest.id)
            })
        });
        made.as_ref().map(Some).map_err(Clone::clone)
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
        let env = self.python_env().map_err(MethodError::Failed)?;
        Worker::spawn(&self.manifest, env).map_err(|e| {
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

    /// What a line the worker wrote is for trial `trial_id`, given the trials it was `sent`.
    fn reply(&self, line: &[u8], trial_id: &str, sent: &HashSet<String>) -> Reply {
        match self.validate(line, trial_id, sent) {
            Ok(Ok(outcome)) => Reply::Answer(Ok(outcome)),
            Ok(Err(Some(error))) => Reply::Answer(Err(error)),
            Ok(Err(None)) => Reply::Late(echo(line).unwrap_or_default()),
            Err(message) => Reply::Invalid(message),
        }
    }

    /// The reply's outcome: `Ok(Err(Some(_)))` the worker's own `error`/`diverged`,
    /// `Ok(Err(None))` a late line, `Err` a line that breaks the protocol.
    #[allow(clippy::type_complexity)]
    fn validate(
        &self,
        line: &[u8],
        trial_id: &str,
        sent: &HashSet<String>,
    ) -> Result<Result<Outcome, Option<MethodError>>, String> {
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
        // The echo is what ties a reply to its request: without it, one stray line would shift
        // every later reply onto the next trial, stored as ok.
        match reply.get("trial_id") {
            Some(Json::String(id)) if id == trial_id => {}
            Some(Json::String(id)) if sent.contains(id) => return Ok(Err(None)),
            Some(Json::String(id)) => {
                return Err(format!(
                    "the worker replied for trial `{id}`, which it was never sent (this trial is `{trial_id}`): `{}`",
                    shown()
                ))
            }
            _ => {
                return Err(format!(
                    "the worker wrote a line without the request's `trial_id` (every reply must echo it; see docs/external.md): `{}`",
                    shown()
                ))
            }
        }
        if let Some(message) = reply.get("error") {
            return Ok(Err(Some(MethodError::Failed(text_of(message)))));
        }
        if let Some(message) = reply.get("diverged") {
            return Ok(Err(Some(MethodError::Diverged(text_of(message)))));
        }
        let Some(Json::Object(metrics)) = reply.get("metrics") else {
            return Err(format!(
                "the worker's reply has no `metrics` object (nor `error` or `diverged`): `{}`",
                shown()
            ));
        };
        let mut outcome = Outcome::new();
        for (name, value) in metrics {
            if !self.manifest.metrics.iter().any(|m| m.name == name) {
                return Err(undeclared("metric", name, self.manifest.metrics));
            }
            match value.as_f64() {
                Some(x) => outcome.metrics.insert(name.clone(), x),
                None => {
                    return Err(format!(
                        "the worker returned metric `{name}` = {value}; metrics are numbers"
                    ))
                }
            };
        }
        if let Some(missing) = self
            .manifest
            .metrics
            .iter()
            .find(|m| !outcome.metrics.contains_key(m.name))
        {
            return Err(format!(
                "the worker's reply lacks declared metric `{}`",
                missing.name
            ));
        }
        match reply.get("curves") {
            None | Some(Json::Null) => {}
            Some(Json::Object(curves)) => {
                for (name, points) in curves {
                    if !self.manifest.curves.iter().any(|c| c.name == name) {
                        return Err(undeclared("curve", name, self.manifest.curves));
                    }
                    match curve(points) {
                        Some(points) => {
                            outcome.curves.insert(name.clone(), points);
                        }
                        None => {
                            return Err(format!(
                                "curve `{name}` must be a list of [step, value] pairs, steps non-negative integers and values numbers"
                            ))
                        }
                    }
                }
            }
            Some(_) => {
                return Err("`curves` must be an object of curve name → [[step, value], …]".into())
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

/// The `trial_id` a line echoes, if it is a JSON object with one.
fn echo(line: &[u8]) -> Option<String> {
    serde_json::from_slice::<Json>(line)
        .ok()?
        .get("trial_id")?
        .as_str()
        .map(str::to_string)
}

/// "; skipped 2 replies naming trial a, b" when late lines were skipped.
fn skipped_note(late: &[String]) -> String {
    if late.is_empty() {
        return String::new();
    }
    let mut names: Vec<&str> = late.iter().map(String::as_str).collect();
    names.dedup();
    format!(
        "; skipped {} {} naming trial {} (late lines of earlier requests: the worker wrote more than one line per request and was stopped after this trial)",
        late.len(),
        if late.len() == 1 { "reply" } else { "replies" },
        names.join(", ")
    )
}

fn undeclared(what: &str, name: &str, declared: &[MetricSpec]) -> String {
    let names: Vec<&str> = declared.iter().map(|m| m.name).collect();
    format!(
        "the worker returned {what} `{name}`, which the manifest does not declare; declared: {}",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    )
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
    fn environment(&self, make: bool) -> Result<Option<Json>, String> {
        let env = if make {
            self.python_env()?
        } else {
            self.env.get().and_then(|made| made.as_ref().ok())
        };
        Ok(env.map(|e| {
            let mut identity = e.identity.clone();
            identity["path"] = Json::String(e.dir.display().to_string());
            identity
        }))
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
        let mut late: Vec<String> = Vec::new();
        let mut line = worker.call(trial.trial_id, &request, deadline);
        loop {
            let failure = match line {
                Ok(text) => match self.reply(&text, trial.trial_id, &worker.sent) {
                    Reply::Late(id) => {
                        late.push(id);
                        line = worker.next_line(deadline);
                        continue;
                    }
                    Reply::Answer(result) => {
                        let stderr = worker.stderr_text();
                        // A worker that wrote lines nobody asked for is out of step: not reused.
                        if late.is_empty() {
                            self.idle
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(worker);
                        }
                        return result.map_err(|e| match e {
                            MethodError::Failed(m) => MethodError::Failed(with_stderr(m, &stderr)),
                            MethodError::Diverged(m) => {
                                MethodError::Diverged(with_stderr(m, &stderr))
                            }
                            other => other,
                        });
                    }
                    // Not the protocol: whatever state the worker is in, it is not trusted again.
                    Reply::Invalid(message) => MethodError::Failed(message),
                },
                Err(Failure::Timeout(what)) => MethodError::Timeout(format!(
                    "no reply after {:.1} s; {what}",
                    started.elapsed().as_secs_f64()
                )),
                Err(Failure::Closed(how)) => MethodError::Failed(format!("{how} before replying")),
            };
            let stderr = worker.stderr_text();
            return Err(match failure {
                MethodError::Timeout(m) => {
                    MethodError::Timeout(with_stderr(m + &skipped_note(&late), &stderr))
                }
                MethodError::Failed(m) => {
                    MethodError::Failed(with_stderr(m + &skipped_note(&late), &stderr))
                }
                other => other,
            });
        }
    }
}
