//! The result store: `results/<spec>/trials.parquet` (+ `trials.csv`, `curves.parquet`,
//! `provenance.json`), one row per trial, the contract that reports and other tools read.
//!
//! Nothing finished is lost: finished trials are written while the sweep runs as small part files
//! under `parts/`, each written to a temporary name and renamed into place (a rename is atomic, so
//! a reader sees a whole part or none). `consolidate` folds the parts into the main files, again by
//! atomic rename, under an exclusive lock so that two processes never overwrite each other's work.
//! A killed run therefore loses only the trials in flight.
//!
//! Nothing is silently changed either: every file's blake3 is recorded as it is written
//! (`checksums.json`, and `<stem>.checksums.json` for each part; see `store/checksums.rs`) and
//! verified by [`Store::load`], the one way every command reads a store, so that bit rot or a
//! lost file is an error naming the file and the way out. Column and file names are in
//! [`schema`].
//!
//! A shard of a cluster run is a store of its own under `shards/III-of-NNN/`, with a `shard.json`
//! that its writer rewrites with `complete: true` after the last trial of its slice is
//! consolidated, under the shard's writer lock. [`merge`] folds only shards that say so and whose
//! writer lock is free, holding that lock until the folder is gone; every other shard is left as
//! it is and named. Merges are serialized by `.merge.lock` in the spec's folder.
//!
//! The modules, one concept each, in the order they build on each other:
//! - [`schema`]: every file and column name;
//! - `files`: atomic writes, shared by every writer here (data, spec copy, shard info,
//!   provenance);
//! - `record`: the record model and which row of a trial id wins;
//! - `codec`: records ↔ DataFrame (parquet, csv);
//! - `checksums`: the blake3 of every file as written;
//! - `folder`: a store folder and where its files are;
//! - `damage`: what is wrong with a file, and the way out;
//! - `read`: reading with verification;
//! - `repair`: setting damaged files aside before a run;
//! - `write`: the writer lock, appending parts, consolidating;
//! - [`spec_copy`]: the spec that travels with the results;
//! - [`provenance`]: the store's history;
//! - `shard`, `cluster`, `merge`: a cluster run's shards, its status, its merge.

mod checksums;
mod cluster;
mod codec;
mod damage;
mod files;
mod folder;
mod merge;
pub mod provenance;
mod read;
mod record;
mod repair;
pub mod schema;
mod shard;
pub mod spec_copy;
mod write;

pub use cluster::{cluster_status, ClusterReport, ShardReport, ShardState};
pub use codec::{curves_frame, trials_frame};
pub use folder::Store;
pub use merge::merge;
pub use record::{Status, TrialRecord};
pub use shard::{shard_name, ShardInfo};

#[cfg(test)]
mod tests;
