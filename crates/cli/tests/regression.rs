//! Binary-level regression tests, one module per session that added them.

mod common;

mod external {
    use std::fs;

    use super::common::{stderr, stdout, subbench};
    use harness::Store;

    /// Stores written before code identities (no `method_code` column read back as empty codes)
    /// must not be served: every trial is stale, said once, and recomputed with its id and seed.
    #[test]
    fn trials_stored_before_code_identities_are_stale_and_rerun() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let spec = "name: old\ntitle: t\npaper: test\nclaim: c\nmethod: test.quadratic\nseeds: 2\nsweep:\n  grid: {x: [1, 2, 3]}\nmetrics:\n  value: {}\n";
        fs::write(d.join("s.yaml"), spec).unwrap();
        let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let store_dir = d.join("r/old");
        let mut records = Store::at(&store_dir).load().unwrap();
        for r in &mut records {
            r.method_code.clear();
        }
        for f in ["trials.parquet", "trials.csv", "curves.parquet"] {
            fs::remove_file(store_dir.join(f)).unwrap();
        }
        let store = Store::at(&store_dir);
        store.append(&records).unwrap();
        store.consolidate().unwrap();
        // Reports aggregate current trials only: none here, so not the three groups of x.
        let o = subbench(d, &["baseline", "save", "old", "--out", "r"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!stdout(&o).contains(": 3 groups"), "{}", stdout(&o));
        let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert_eq!(err.matches("predate code identities").count(), 1, "{err}");
        assert!(err.contains("6 trials to run, 0 already stored"), "{err}");
        let after = Store::at(&store_dir).load().unwrap();
        assert!(after.iter().all(|r| !r.method_code.is_empty()));
        for (b, a) in records.iter().zip(&after) {
            assert_eq!(
                (&b.trial_id, b.seed, &b.metrics),
                (&a.trial_id, a.seed, &a.metrics)
            );
        }
        let o = subbench(d, &["baseline", "save", "old", "--out", "r"]);
        assert!(
            stdout(&o).contains(": 3 groups"),
            "{} {}",
            stdout(&o),
            stderr(&o)
        );
    }
}
