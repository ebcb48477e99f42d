//! `subbench merge`, `status` and `slurm`: a spec run as a cluster array job, one shard per task,
//! and the merge of the shards' stores into the spec's store.
//!
//! The merge is a job of its own that Slurm starts once every array task has ended
//! (`--dependency=afterany`), whatever their outcome; it folds the shards that finished their
//! slice and fails, naming the others, unless they are all there. Every value that reaches the
//! generated shell is validated and single-quoted.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, Result};
use clap::Args;
use harness::spec::LoadOptions;
use harness::store::{cluster_status, merge as merge_shards, ClusterReport, ShardState};
use harness::{load_specs, Registry, Spec, Store};

use crate::build_info::build_info;
use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// A spec's results folder, e.g. results/attack-rank-one.
    pub dir: PathBuf,
    /// Exit 0 even when shards are missing, running or incomplete (they are still named).
    #[arg(long)]
    pub partial: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A spec's results folder, e.g. results/attack-rank-one.
    pub dir: PathBuf,
    /// Say which trials a run of the stored spec would compute, and why; run nothing.
    #[arg(long)]
    pub why: bool,
}

#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// The spec to run on the cluster.
    pub spec: PathBuf,
    /// Number of array tasks (shards).
    #[arg(long)]
    pub shards: u32,
    /// Where result stores go (on a file system every node sees).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Cores per array task; each task runs that many trials at once.
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: u32,
    /// Slurm partition [default: the cluster's].
    #[arg(long)]
    pub partition: Option<String>,
    /// Wall-time limit per job, in Slurm's syntax (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS).
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per node, in Slurm's syntax (a number of MB, or with a K, M, G or T suffix).
    #[arg(long)]
    pub mem: Option<String>,
    /// Slurm account to charge.
    #[arg(long)]
    pub account: Option<String>,
    /// Run at most N array tasks at once (the array throttle `%N`).
    #[arg(long, value_name = "N")]
    pub max_running: Option<u32>,
    /// Any other sbatch option, for both jobs (repeatable), e.g. --sbatch=--qos=short.
    #[arg(long = "sbatch", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch: Vec<String>,
    /// Submit only these shards (e.g. `3` or `1,3-4`), to rerun them; the merge job follows.
    #[arg(long, value_name = "LIST")]
    pub only_shards: Option<String>,
    /// Submit the array and the merge job with sbatch and print both job ids, instead of
    /// printing a script that does so.
    #[arg(long)]
    pub submit: bool,
    #[command(flatten)]
    pub variation: super::variation::VariationArgs,
}

pub fn merge(args: &MergeArgs) -> Result<()> {
    let report = merge_shards(&args.dir, &build_info())?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let dir = args.dir.display();
    let merged = report.names(ShardState::Merged).len();
    say!(
        "{dir}: folded {} now; {merged} of {} shards merged, {} trials in the store",
        if report.folded.is_empty() {
            "no shard".to_string()
        } else {
            report
                .folded
                .iter()
                .map(|i| harness::store::shard_name(*i, report.count))
                .collect::<Vec<_>>()
                .join(", ")
        },
        report.count,
        report.merged_trials
    );
    let left = not_merged(&report);
    if !left.is_empty() {
        say!("{dir}: not merged: {}", left.join(", "));
    }
    if report.is_whole() || args.partial {
        return Ok(());
    }
    Err(anyhow!(
        "{dir}: the store is not the whole sweep yet ({}); rerun those shards (`subbench run SPEC --shard I/{}`, or `subbench slurm … --only-shards LIST --submit`) and merge again, or pass --partial",
        left.join(", "),
        report.count
    ))
}

/// "003-of-004 incomplete (12 of 18 trials stored)" for every shard that is not merged.
fn not_merged(report: &ClusterReport) -> Vec<String> {
    report
        .shards
        .iter()
        .filter(|s| s.state != ShardState::Merged)
        .map(|s| {
            let name = s.name(report.count);
            match (s.state, s.expected, &s.problem) {
                (ShardState::Missing, _, _) => format!("{name} missing"),
                (ShardState::Damaged, _, Some(problem)) => format!("{name} damaged ({problem})"),
                (state, Some(expected), _) => format!(
                    "{name} {} ({} of {expected} trials stored)",
                    state.as_str(),
                    s.stored
                ),
                (state, None, _) => {
                    format!("{name} {} ({} trials stored)", state.as_str(), s.stored)
                }
            }
        })
        .collect()
}

pub fn status(args: &StatusArgs) -> Result<()> {
    let report = cluster_status(&args.dir)?;
    let dir = args.dir.display();
    if report.submitted {
        say!("{dir}: no shard has started yet (the array job's logs go under {dir}/slurm/); no trials stored");
        return Ok(());
    }
    if report.count == 0 {
        say!(
            "{dir}: not a cluster run (no shards); {} trials stored",
            report.merged_trials
        );
        return Ok(());
    }
    let mut out = format!(
        "{dir}: {} shards, {} trials in the sweep, {} in the merged store\n",
        report.count,
        report
            .sweep_trials
            .map_or("?".to_string(), |n| n.to_string()),
        report.merged_trials
    );
    for s in &report.shards {
        let trials = match (s.state, s.expected, &s.problem) {
            (ShardState::Missing, _, _) => String::new(),
            (ShardState::Damaged, _, Some(problem)) => problem.clone(),
            (_, Some(expected), _) => format!("{} of {expected} trials", s.stored),
            (_, None, _) => format!("{} trials", s.stored),
        };
        let line = format!(
            "  {}  {:<10} {trials}",
            s.name(report.count),
            s.state.as_str()
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    say_raw!("{out}");
    Ok(())
}

/// Everything the two jobs need, validated.
struct Plan {
    name: String,
    shards: u32,
    /// The array's task list (`1-4`, or --only-shards), with the throttle.
    array: String,
    binary: String,
    submit_dir: String,
    spec: String,
    out: String,
    store: String,
    logs: String,
    /// sbatch options for both jobs (partition, account, time, mem, --sbatch ...).
    common: Vec<String>,
    cpus_per_task: u32,
    /// `-p`, `--name` and `--where` as the array tasks repeat them (quoted).
    variation: String,
}

/// The variation flags of `subbench slurm`, quoted for the tasks' `subbench run`.
fn variation_flags(v: &super::variation::VariationArgs) -> String {
    let mut flags = String::new();
    for p in &v.params {
        let _ = write!(flags, "-p {} ", quote(p));
    }
    if let Some(name) = &v.name {
        let _ = write!(flags, "--name {} ", quote(name));
    }
    for w in &v.filter {
        let _ = write!(flags, "--where {} ", quote(w));
    }
    flags
}

pub fn slurm(args: &SlurmArgs, registry: &Registry) -> Result<()> {
    let plan = plan(args, registry)?;
    if !args.submit {
        say_raw!("{}", submit_script(&plan));
        return Ok(());
    }
    std::fs::create_dir_all(&plan.logs)
        .map_err(|e| UserError::new(format!("{}: cannot create the log folder: {e}", plan.logs)))?;
    let write_script = |file: &str, text: String| -> Result<String> {
        let path = Path::new(&plan.logs).join(file);
        std::fs::write(&path, text)
            .map_err(|e| UserError::new(format!("{}: cannot write: {e}", path.display())))?;
        Ok(path.to_string_lossy().into_owned())
    };
    let shard_script = write_script("shards.sh", shard_script(&plan))?;
    let merge_script = write_script("merge.sh", merge_script(&plan))?;
    let mut array_args = array_options(&plan);
    array_args.push(shard_script);
    let array = sbatch(&array_args)?;
    let mut merge_args = merge_options(&plan, &array);
    merge_args.push(merge_script);
    let merge = sbatch(&merge_args)?;
    say!(
        "array job {array}: shards {} of {} of spec {}, logs under {}",
        plan.array,
        plan.shards,
        plan.name,
        plan.logs
    );
    say!(
        "merge job {merge}: starts when job {array} has ended (afterany), folds the finished shards into {}",
        plan.store
    );
    Ok(())
}

fn plan(args: &SlurmArgs, registry: &Registry) -> Result<Plan> {
    if args.shards == 0 {
        return Err(UserError::new(
            "--shards must be at least 1 (the number of array tasks); got 0",
        )
        .into());
    }
    if args.cpus_per_task == 0 {
        return Err(UserError::new("--cpus-per-task must be at least 1; got 0").into());
    }
    if args.max_running == Some(0) {
        return Err(UserError::new("--max-running must be at least 1; got 0").into());
    }
    if let Some(time) = &args.time {
        if !is_slurm_time(time) {
            return Err(UserError::new(format!(
                "--time {time:?} is not a Slurm time limit; accepted: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (minutes and seconds below 60) or UNLIMITED"
            ))
            .into());
        }
    }
    if let Some(mem) = &args.mem {
        let digits = mem.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || mem.len() > digits.len() + 1
        {
            return Err(UserError::new(format!(
                "--mem {mem:?} is not a Slurm memory size; accepted: a number of megabytes, or a number with one of the suffixes K, M, G, T (e.g. 4G)"
            ))
            .into());
        }
    }
    for (flag, value) in [
        ("--partition", &args.partition),
        ("--account", &args.account),
    ] {
        if let Some(value) = value {
            let ok = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.,+-".contains(c));
            if !ok {
                return Err(UserError::new(format!(
                    "{flag} {value:?} is not a Slurm name; accepted: letters, digits and _ . , + -"
                ))
                .into());
            }
        }
    }
    let tasks = match &args.only_shards {
        Some(list) => {
            check_task_list(list, args.shards)?;
            list.clone()
        }
        None => format!("1-{}", args.shards),
    };
    let array = match args.max_running {
        Some(n) => format!("{tasks}%{n}"),
        None => tasks,
    };
    let specs = load_specs(
        std::slice::from_ref(&args.spec),
        registry,
        LoadOptions::default(),
    )?;
    let specs = args
        .variation
        .resolve(&specs, registry, LoadOptions::default(), None)?;
    let spec: &Spec = &specs[0];
    args.variation.filter(spec, registry)?;
    let trials = spec.trials(None).len();
    if args.shards as usize > trials {
        return Err(UserError::new(format!(
            "--shards {}: spec `{}` has {trials} trials, so it splits into at most {trials} shards; choose --shards ≤ {trials}",
            args.shards, spec.name
        ))
        .into());
    }
    let text = |what: &str, p: &Path| -> Result<String> {
        p.to_str().map(str::to_string).ok_or_else(|| {
            UserError::new(format!(
                "{}: {what} must be UTF-8 to go into a job script",
                p.display()
            ))
            .into()
        })
    };
    let submit_dir = std::env::current_dir()
        .map_err(|e| UserError::new(format!("cannot read the current folder: {e}")))?;
    let binary = std::env::current_exe()
        .map_err(|e| anyhow!("cannot find the path of this subbench binary: {e}"))?;
    let store = Store::new(&args.out, &spec.name, None).dir().to_path_buf();
    let mut common = Vec::new();
    for (flag, value) in [
        ("--partition", &args.partition),
        ("--account", &args.account),
        ("--time", &args.time),
        ("--mem", &args.mem),
    ] {
        if let Some(value) = value {
            common.push(format!("{flag}={value}"));
        }
    }
    common.extend(args.sbatch.iter().cloned());
    Ok(Plan {
        name: spec.name.clone(),
        shards: args.shards,
        array,
        binary: text("the subbench binary's path", &binary)?,
        submit_dir: text("the current folder", &submit_dir)?,
        spec: text("the spec's path", &args.spec)?,
        out: text("--out", &args.out)?,
        store: text("--out", &store)?,
        logs: text("--out", &submit_dir.join(&store).join("slurm"))?,
        common,
        cpus_per_task: args.cpus_per_task,
        variation: variation_flags(&args.variation),
    })
}

/// Slurm's time formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
/// days-hours:minutes, days-hours:minutes:seconds; or UNLIMITED / INFINITE.
fn is_slurm_time(t: &str) -> bool {
    if ["unlimited", "infinite"].contains(&t.to_ascii_lowercase().as_str()) {
        return true;
    }
    let number = |s: &str| (1..=9).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let below = |s: &str, limit: u32| number(s) && s.parse::<u32>().is_ok_and(|v| v < limit);
    let parts_of = |s: &str| s.split(':').map(str::to_string).collect::<Vec<_>>();
    match t.split_once('-') {
        Some((days, rest)) => {
            let p = parts_of(rest);
            number(days)
                && match p.as_slice() {
                    [h] => below(h, 24),
                    [h, m] => below(h, 24) && below(m, 60),
                    [h, m, s] => below(h, 24) && below(m, 60) && below(s, 60),
                    _ => false,
                }
        }
        None => match parts_of(t).as_slice() {
            [m] => number(m),
            [m, s] => number(m) && below(s, 60),
            [h, m, s] => number(h) && below(m, 60) && below(s, 60),
            _ => false,
        },
    }
}

/// `3`, `1,3-4`: shard numbers and ranges within 1..=shards.
fn check_task_list(list: &str, shards: u32) -> Result<()> {
    let bad = || {
        UserError::new(format!(
            "--only-shards {list:?}: give shard numbers from 1 to {shards} and ranges, separated by commas (e.g. 3 or 1,3-4)"
        ))
    };
    for item in list.split(',') {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        match (number(a), number(b)) {
            (Some(a), Some(b)) if 1 <= a && a <= b && b <= shards => {}
            _ => return Err(bad().into()),
        }
    }
    Ok(())
}

/// A POSIX shell word that is exactly `s`: single quotes, with each `'` written as `'\''`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A path in a Slurm file name pattern, where `%` starts a replacement symbol.
fn pattern_path(s: &str) -> String {
    s.replace('%', "%%")
}

/// The lines every job script starts with: which subbench to run, from which folder.
fn script_head(plan: &Plan, what: &str) -> String {
    format!(
        "#!/bin/bash\n\
         # {what}\n\
         # Written by `subbench slurm` ({version}). Set SUBBENCH to run another subbench binary.\n\
         set -euo pipefail\n\
         subbench={binary}\n\
         if [ -n \"${{SUBBENCH:-}}\" ]; then subbench=$SUBBENCH; fi\n\
         cd -- {dir}\n",
        version = env!("CARGO_PKG_VERSION"),
        binary = quote(&plan.binary),
        dir = quote(&plan.submit_dir),
    )
}

fn shard_script(plan: &Plan) -> String {
    let mut s = script_head(
        plan,
        &format!(
            "One array task of spec `{}`: runs shard $SLURM_ARRAY_TASK_ID of {}.",
            plan.name, plan.shards
        ),
    );
    let _ = write!(
        s,
        "task=${{SLURM_ARRAY_TASK_ID:?is not set: this script is an array task, submit it with sbatch --array=1-{n}}}\n\
         exec \"$subbench\" run --out {out} --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" --shard \"$task/{n}\" --no-report {variation}-- {spec}\n",
        n = plan.shards,
        out = quote(&plan.out),
        spec = quote(&plan.spec),
        variation = plan.variation,
    );
    s
}

fn merge_script(plan: &Plan) -> String {
    let mut s = script_head(
        plan,
        &format!(
            "The merge job of spec `{}`: folds the finished shards into the spec's store once every array task has ended, and fails, naming them, when one is missing or incomplete.",
            plan.name
        ),
    );
    let _ = writeln!(s, "exec \"$subbench\" merge -- {}", quote(&plan.store));
    s
}

fn array_options(plan: &Plan) -> Vec<String> {
    let mut o = vec![
        "--parsable".to_string(),
        format!("--job-name=subbench-{}", plan.name),
        format!("--array={}", plan.array),
        format!("--cpus-per-task={}", plan.cpus_per_task),
        format!("--chdir={}", plan.submit_dir),
        format!("--output={}/shard-%a-job-%A.log", pattern_path(&plan.logs)),
    ];
    o.extend(plan.common.iter().cloned());
    o
}

fn merge_options(plan: &Plan, array_job: &str) -> Vec<String> {
    let mut o = vec![
        "--parsable".to_string(),
        format!("--job-name=subbench-{}-merge", plan.name),
        format!("--dependency=afterany:{array_job}"),
        "--cpus-per-task=1".to_string(),
        format!("--chdir={}", plan.submit_dir),
        format!("--output={}/merge-job-%j.log", pattern_path(&plan.logs)),
    ];
    o.extend(plan.common.iter().cloned());
    o
}

/// Run sbatch; returns the job id it printed (`--parsable`: `id` or `id;cluster`).
fn sbatch(args: &[String]) -> Result<String> {
    let output = Command::new("sbatch").args(args).output().map_err(|e| {
        UserError::new(format!(
            "cannot run sbatch ({e}): --submit needs a machine where Slurm's sbatch works; without --submit, the script is printed"
        ))
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if !output.status.success() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(UserError::new(format!(
            "sbatch refused the job ({}): {}",
            output.status,
            stderr.split_whitespace().collect::<Vec<_>>().join(" ")
        ))
        .into());
    }
    Ok(id)
}

/// A here-document delimiter that is no line of `text`.
fn delimiter(text: &str) -> String {
    let mut d = "SUBBENCH_JOB_SCRIPT".to_string();
    while text.lines().any(|l| l == d) {
        d.push('_');
    }
    d
}

/// The printed script: `bash job.sh` submits the array and the merge job (the job scripts go to
/// sbatch on stdin) and prints both job ids.
fn submit_script(plan: &Plan) -> String {
    let words = |options: &[String]| {
        options
            .iter()
            .map(|o| quote(o))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (shards, merge) = (shard_script(plan), merge_script(plan));
    let (d1, d2) = (delimiter(&shards), delimiter(&merge));
    let mut merge_opts = merge_options(plan, "");
    merge_opts.retain(|o| !o.starts_with("--dependency="));
    format!(
        "#!/bin/bash\n\
         # Spec `{name}` as {n} Slurm array tasks (one shard each), then a merge job that starts once\n\
         # all of them have ended (--dependency=afterany) and fails, naming them, when a shard is\n\
         # missing or incomplete. Written by `subbench slurm` ({version}).\n\
         # Submit with:  bash THIS-FILE     (it calls sbatch twice and prints both job ids)\n\
         set -euo pipefail\n\
         mkdir -p -- {logs}\n\
         array=$(sbatch {array_opts} <<'{d1}'\n\
         {shards}{d1}\n\
         )\n\
         array=${{array%%;*}}\n\
         merge=$(sbatch {merge_opts} --dependency=afterany:\"$array\" <<'{d2}'\n\
         {merge}{d2}\n\
         )\n\
         merge=${{merge%%;*}}\n\
         printf 'array job %s: shards %s of %s, logs under %s\\n' \"$array\" {tasks} {n} {logs}\n\
         printf 'merge job %s: starts when job %s has ended (afterany)\\n' \"$merge\" \"$array\"\n",
        name = plan.name,
        n = plan.shards,
        version = env!("CARGO_PKG_VERSION"),
        logs = quote(&plan.logs),
        array_opts = words(&array_options(plan)),
        merge_opts = words(&merge_opts),
        tasks = quote(&plan.array),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_time_formats() {
        for ok in [
            "30",
            "30:00",
            "4:00:00",
            "1-0",
            "2-12",
            "1-12:30",
            "1-12:30:15",
            "UNLIMITED",
            "0",
        ] {
            assert!(is_slurm_time(ok), "{ok}");
        }
        for bad in [
            "",
            "1:2:3:4",
            "1:60",
            "1:00:60",
            "1-24",
            "-1",
            "1-",
            "1h",
            "1 0",
            "10\n#x",
            "1::2",
            "1-1:1:1:1",
            "a",
        ] {
            assert!(!is_slurm_time(bad), "{bad:?}");
        }
    }

    #[test]
    fn quoting_survives_every_special_character() {
        for s in [
            "plain",
            "it's",
            "a b",
            "$(touch x)",
            "`x`",
            "new\nline",
            "\"q\"",
            "'",
        ] {
            let out = Command::new("bash")
                .args(["-c", &format!("printf %s {}", quote(s))])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), s);
        }
    }

    #[test]
    fn task_lists() {
        assert!(check_task_list("3", 4).is_ok());
        assert!(check_task_list("1,3-4", 4).is_ok());
        for bad in ["0", "5", "3-2", "", "1,", "a", "1-5"] {
            assert!(check_task_list(bad, 4).is_err(), "{bad}");
        }
    }
}
