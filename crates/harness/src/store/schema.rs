//! The store's schema: the names of its files and of their columns, written once here and used
//! by every crate that reads or writes a store (the harness, the report, the binary), so that a
//! renamed column is a compile error in its readers, never a silently empty table.

/// The trial's id (hex of the hash of method, resolved parameters, repetition and root seed).
pub const TRIAL_ID: &str = "trial_id";
/// Position of the trial in the spec's expansion; rows are stored in this order.
pub const ORDER: &str = "order";
pub const SPEC: &str = "spec";
/// The method's name; also the aggregation key of the method (it has no `p_` prefix).
pub const METHOD: &str = "method";
/// The code identity of the method that computed the trial.
pub const METHOD_CODE: &str = "method_code";
pub const REP: &str = "rep";
pub const SEED: &str = "seed";
/// `ok`, `error`, `diverged` or `timeout` (see [`super::Status`]).
pub const STATUS: &str = "status";
pub const ERROR: &str = "error";
pub const ELAPSED_S: &str = "elapsed_s";

/// The fixed columns of `trials.parquet`, in stored order; `p_<param>` and `m_<metric>` follow.
pub const TRIAL_COLUMNS: [&str; 10] = [
    TRIAL_ID,
    ORDER,
    SPEC,
    METHOD,
    METHOD_CODE,
    REP,
    SEED,
    STATUS,
    ERROR,
    ELAPSED_S,
];

/// Prefix of a parameter's column.
pub const PARAM_PREFIX: &str = "p_";
/// Prefix of a metric's column.
pub const METRIC_PREFIX: &str = "m_";

/// Columns of `curves.parquet` (with [`TRIAL_ID`]).
pub const CURVE: &str = "curve";
pub const STEP: &str = "step";
pub const VALUE: &str = "value";

/// The column of parameter `name`.
pub fn param_column(name: &str) -> String {
    format!("{PARAM_PREFIX}{name}")
}

/// The column of metric `name`.
pub fn metric_column(name: &str) -> String {
    format!("{METRIC_PREFIX}{name}")
}

/// The parameter a column holds, if it is a parameter column.
pub fn param_of(column: &str) -> Option<&str> {
    column.strip_prefix(PARAM_PREFIX)
}

/// The metric a column holds, if it is a metric column.
pub fn metric_of(column: &str) -> Option<&str> {
    column.strip_prefix(METRIC_PREFIX)
}

/// Whether a column is an aggregation key candidate: the method or a parameter.
pub fn is_key_column(column: &str) -> bool {
    column == METHOD || param_of(column).is_some()
}

/// The name an aggregation key is known by in a spec (`where:`, `series:`): the parameter's
/// name without its prefix, or `method`.
pub fn key_name(column: &str) -> &str {
    param_of(column).unwrap_or(column)
}

/// Files and folders of a store.
pub const TRIALS_FILE: &str = "trials.parquet";
/// The same rows as [`TRIALS_FILE`], for other tools; never read by subbench.
pub const TRIALS_CSV: &str = "trials.csv";
pub const CURVES_FILE: &str = "curves.parquet";
/// The blake3 of every file above, as written (see [`super::Store::load`]).
pub const CHECKSUMS_FILE: &str = "checksums.json";
/// Part files of finished trials not yet consolidated.
pub const PARTS_DIR: &str = "parts";
/// Damaged files set aside by `run` (never read again).
pub const DAMAGED_DIR: &str = "damaged";
pub const SHARDS_DIR: &str = "shards";
pub const SPEC_FILE: &str = "spec.yaml";
/// The folder the stored spec ran in: its file parameters are relative to it, so that `report`
/// reads the same files from any folder.
pub const WORKDIR_FILE: &str = "spec.workdir";
pub const PROVENANCE_FILE: &str = "provenance.json";
/// Suffixes of a part's files: `<stem>.trials.parquet` (the commit point), its curves and its
/// checksums.
pub const PART_TRIALS: &str = ".trials.parquet";
pub const PART_CURVES: &str = ".curves.parquet";
pub const PART_CHECKSUMS: &str = ".checksums.json";
/// The folder the stored spec's `external:` manifests are relative to (see `spec::external`).
pub const ORIGIN_FILE: &str = "spec.origin";
/// A shard's `shard.json` (see [`super::ShardInfo`]).
pub const SHARD_INFO: &str = "shard.json";
/// Held by the one process writing a store (a run).
pub const WRITER_LOCK: &str = ".writer.lock";
/// Held by a merge (and by `status`, shared) in a spec's folder.
pub const MERGE_LOCK: &str = ".merge.lock";
/// Held by consolidation (exclusive) and by readers (shared).
pub const CONSOLIDATE_LOCK: &str = ".lock";
/// The logs and job scripts of `subbench slurm --submit`, in the spec's folder.
pub const SLURM_DIR: &str = "slurm";
