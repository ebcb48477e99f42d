//! Proof that `compare`'s statistics control what they claim, on simulated stores of the test
//! method `test.normal` (harness::testkit::normal_records: the same draws the method makes).
//!
//! Every generator is seeded (store i draws with salt i, seeds are fixed), so each measured rate
//! is one fixed number: these tests cannot flake. The bounds asserted are the theory's value plus
//! three binomial standard deviations of the number of replicates, so that the fixed draws are
//! not tuned to pass; the measured numbers are printed (`--nocapture`) and quoted in
//! docs/compare.md.

use std::collections::BTreeMap;

use harness::spec::Better;
use harness::testkit::{normal_records, NormalDraw};
use harness::Value;
use report::compare::{compare, Margin, MetricInfo, Options, Side, Verdict};
use report::stats::{normal_cdf, student_t_quantile};

fn draw(shift: f64, sd: f64, shared_sd: f64, salt: u64) -> NormalDraw {
    NormalDraw {
        mean: 0.0,
        sd,
        shared_sd,
        shift,
        salt,
    }
}

fn params(k: i64) -> BTreeMap<String, Value> {
    [("k".to_string(), Value::Int(k))].into_iter().collect()
}

/// A simulated store: `points` values of `k`, `draw(k)` at each, one trial per seed. As in a
/// real store, every point has seeds of its own (a trial's seed hashes its parameters): point k
/// uses `seeds` + 7919·k, so two sides given the same `seeds` share them point by point.
fn side(label: &str, points: i64, seeds: &[u64], draw: impl Fn(i64) -> NormalDraw) -> Side {
    let mut records = Vec::new();
    for k in 0..points {
        let own: Vec<u64> = seeds.iter().map(|s| s + 7919 * k as u64).collect();
        let mut point = normal_records(&[(params(k), draw(k))], &own);
        for r in &mut point {
            r.order += records.len() as u64;
        }
        records.extend(point);
    }
    Side::from_records(label, &records)
}

fn metrics(names: &[&str]) -> Vec<MetricInfo> {
    names
        .iter()
        .map(|n| MetricInfo {
            name: n.to_string(),
            better: match *n {
                "x" => Better::Higher,
                "y" => Better::Lower,
                _ => Better::None,
            },
            reproducible: *n != "seconds",
            margin: Margin::default(),
        })
        .collect()
}

fn seeds(from: u64, n: u64) -> Vec<u64> {
    (from..from + n).collect()
}

/// Three binomial standard deviations of a rate `p` measured over `n` replicates.
fn three_sigma(p: f64, n: usize) -> f64 {
    3.0 * (p * (1.0 - p) / n as f64).sqrt()
}

/// Power of the two-sided t-test at level `alpha` with `df` degrees of freedom and
/// noncentrality `delta`: `E_V[Φ(δ − c·√(V/df)) + Φ(−δ − c·√(V/df))]`, `V ~ χ²_df`, by Simpson's
/// rule on the χ² density (normalised numerically).
fn t_test_power(delta: f64, df: f64, alpha: f64) -> f64 {
    let c = student_t_quantile(1.0 - alpha / 2.0, df);
    let upper = df + 40.0 * (2.0 * df).sqrt() + 40.0;
    let panels = 40_000;
    let h = upper / panels as f64;
    let (mut mass, mut power) = (0.0, 0.0);
    for i in 0..=panels {
        let v = i as f64 * h;
        let density = if v == 0.0 {
            0.0
        } else {
            ((df / 2.0 - 1.0) * v.ln() - v / 2.0).exp()
        };
        let w = if i == 0 || i == panels {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let s = (v / df).sqrt();
        mass += w * density;
        power += w * density * (normal_cdf(delta - c * s) + normal_cdf(-delta - c * s));
    }
    power / mass
}

#[test]
fn the_power_formula_matches_known_values() {
    // Two-sample t, n = 10 per group, d = 1: power 0.5620 (Cohen 1988, table 2.3.5; R
    // power.t.test(n = 10, delta = 1) = 0.5619846).
    let p = t_test_power(5f64.sqrt(), 18.0, 0.05);
    assert!((p - 0.5619846).abs() < 2e-4, "{p}");
    // No shift: the level itself.
    assert!((t_test_power(0.0, 9.0, 0.05) - 0.05).abs() < 1e-6);
}

/// Same-distribution stores: no row should be called better, worse or changed. BH makes the
/// probability that a command says so at all (its family-wise rate under the global null) equal
/// to the FDR level for independent tests; we assert it is at most 0.05 + 3σ over 1,000
/// commands, and that the share of false rows is at most the level.
fn false_alarms(paired: bool) -> (f64, f64) {
    const COMMANDS: usize = 1000;
    let names = metrics(&["x", "y", "seconds"]);
    let (mut with_alarm, mut alarms, mut rows) = (0, 0, 0);
    for i in 0..COMMANDS as u64 {
        let a = side("a", 10, &seeds(1000 * i, 5), |_| {
            draw(0.0, 1.0, 1.0, 2 * i + 1)
        });
        let b_seeds = if paired {
            seeds(1000 * i, 5)
        } else {
            seeds(1000 * i + 500, 5)
        };
        let b = side("b", 10, &b_seeds, |_| draw(0.0, 1.0, 1.0, 2 * i + 2));
        let c = compare(&a, &b, &names, &Options::default());
        assert_eq!(c.rows.len(), 30);
        let n = c.rows.iter().filter(|r| r.verdict.is_change()).count();
        with_alarm += usize::from(n > 0);
        alarms += n;
        rows += c.rows.len();
    }
    (
        with_alarm as f64 / COMMANDS as f64,
        alarms as f64 / rows as f64,
    )
}

#[test]
fn same_distribution_stores_raise_alarms_at_most_at_the_fdr_level() {
    for paired in [false, true] {
        let (commands, rows) = false_alarms(paired);
        eprintln!(
            "same distribution, {}: {commands:.3} of 1000 commands with a false row, {rows:.5} of 30000 rows",
            if paired { "paired" } else { "unpaired" }
        );
        assert!(commands <= 0.05 + three_sigma(0.05, 1000), "{commands}");
        assert!(rows <= 0.05, "{rows}");
    }
}

/// Three of 30 rows truly shifted (x at k = 0, 1, 2 by 2σ): the mean share of false rows among
/// those called changed (the false discovery proportion) is at most q·m₀/m = 0.045 + 3σ.
#[test]
fn with_true_changes_the_false_discovery_proportion_stays_below_the_level() {
    const COMMANDS: usize = 1000;
    let names = metrics(&["x", "y", "seconds"]);
    let (mut fdp, mut found) = (0.0, 0usize);
    for i in 0..COMMANDS as u64 {
        let a = side("a", 10, &seeds(1000 * i, 5), |_| {
            draw(0.0, 1.0, 0.0, 2 * i + 1)
        });
        let b = side("b", 10, &seeds(1000 * i + 500, 5), |k| {
            draw(if k < 3 { 2.0 } else { 0.0 }, 1.0, 0.0, 2 * i + 2)
        });
        let c = compare(&a, &b, &names, &Options::default());
        let called: Vec<_> = c.rows.iter().filter(|r| r.verdict.is_change()).collect();
        let truly = |r: &&&report::compare::Row| {
            r.metric == "x" && ["k=0", "k=1", "k=2"].contains(&r.point.as_str())
        };
        let false_calls = called.iter().filter(|r| !truly(r)).count();
        found += called.iter().filter(truly).count();
        if !called.is_empty() {
            fdp += false_calls as f64 / called.len() as f64;
        }
    }
    let fdr = fdp / COMMANDS as f64;
    eprintln!(
        "3 of 30 rows shifted by 2σ (n = 5): false discovery rate {fdr:.4}, {:.3} of the shifted rows found",
        found as f64 / (3 * COMMANDS) as f64
    );
    // The FDP of one command is in [0, 1]; 3σ of a mean of 1,000 is at most 3·0.5/√1000.
    assert!(fdr <= 0.045 + 3.0 * 0.5 / (COMMANDS as f64).sqrt(), "{fdr}");
}

/// A shift of one standard error of a side's mean times √n (that is, one σ) in `x`, alone in
/// its command (so BH is the plain test at 5%), n = 10 seeds per side: the t-test's power is
/// that of noncentrality √(n/2) = √5: at df 18 unpaired (Welch's df are a little lower, hence a
/// tolerance of 0.01 beside 3σ), at df 9 paired on independent noise (exact).
fn power(paired: bool) -> f64 {
    const REPLICATES: usize = 4000;
    let names = metrics(&["x"]);
    let mut found = 0;
    for i in 0..REPLICATES as u64 {
        let a = side("a", 1, &seeds(1000 * i, 10), |_| {
            draw(0.0, 1.0, 0.0, 2 * i + 1)
        });
        let b_seeds = if paired {
            seeds(1000 * i, 10)
        } else {
            seeds(1000 * i + 500, 10)
        };
        let b = side("b", 1, &b_seeds, |_| draw(1.0, 1.0, 0.0, 2 * i + 2));
        let c = compare(&a, &b, &names, &Options::default());
        found += usize::from(c.rows[0].verdict == Verdict::Better);
    }
    found as f64 / REPLICATES as f64
}

#[test]
fn a_one_sigma_shift_is_found_at_the_power_the_t_test_predicts() {
    let n = 10.0_f64;
    let delta = (n / 2.0).sqrt();
    for (paired, df, slack) in [(false, 2.0 * n - 2.0, 0.01), (true, n - 1.0, 0.0)] {
        let predicted = t_test_power(delta, df, 0.05);
        let measured = power(paired);
        eprintln!(
            "1σ shift, n = 10, {}: power {measured:.4} measured, {predicted:.4} predicted",
            if paired { "paired" } else { "Welch" }
        );
        assert!(
            (measured - predicted).abs() <= three_sigma(predicted, 4000) + slack,
            "measured {measured}, predicted {predicted}"
        );
    }
}

/// Noise shared by seed (σ_s = 1) beside a small own noise (σ_e = 0.25), a shift of 0.5, n = 8:
/// paired on the same seeds the differences keep only the own noise (noncentrality
/// 0.5/(0.25·√2/√8) = 4: power 0.927 at df 7, asserted within 3σ). The same values compared
/// unpaired (B's seeds relabelled) see the shared noise in each side's spread: independent
/// samples of that spread would give noncentrality 0.5/√(2·1.0625/8) = 0.97 and power 0.148;
/// sides that share their noise make Welch's estimate of the spread of the difference too large,
/// so the unpaired power is at most that (asserted: at most 0.148 + 3σ).
#[test]
fn paired_comparisons_find_what_unpaired_ones_miss_when_seeds_share_noise() {
    const REPLICATES: usize = 2000;
    let names = metrics(&["x"]);
    let (mut paired, mut unpaired) = (0, 0);
    for i in 0..REPLICATES as u64 {
        let s = seeds(1000 * i, 8);
        let a = side("a", 1, &s, |_| draw(0.0, 0.25, 1.0, 2 * i + 1));
        let b = side("b", 1, &s, |_| draw(0.5, 0.25, 1.0, 2 * i + 2));
        let c = compare(&a, &b, &names, &Options::default());
        assert_eq!(c.rows[0].estimate.design, report::compare::Design::Paired);
        paired += usize::from(c.rows[0].verdict == Verdict::Better);
        let mut relabelled = b.clone();
        for p in &mut relabelled.points {
            for values in p.values.values_mut() {
                for (seed, _) in values.iter_mut() {
                    *seed += 1 << 40;
                }
            }
        }
        let c = compare(&a, &relabelled, &names, &Options::default());
        assert_eq!(c.rows[0].estimate.design, report::compare::Design::Welch);
        unpaired += usize::from(c.rows[0].verdict == Verdict::Better);
    }
    let (paired, unpaired) = (
        paired as f64 / REPLICATES as f64,
        unpaired as f64 / REPLICATES as f64,
    );
    let predicted_paired = t_test_power(4.0, 7.0, 0.05);
    let predicted_unpaired = t_test_power(0.5 / (2.0 * 1.0625 / 8.0_f64).sqrt(), 14.0, 0.05);
    eprintln!(
        "shared noise: paired power {paired:.4} (predicted {predicted_paired:.4}), unpaired {unpaired:.4} (predicted {predicted_unpaired:.4})"
    );
    assert!((paired - predicted_paired).abs() <= three_sigma(predicted_paired, REPLICATES));
    assert!(unpaired <= predicted_unpaired + three_sigma(predicted_unpaired, REPLICATES));
    assert!(paired - unpaired > 0.6, "{paired} vs {unpaired}");
}

/// The bootstrap keeps the same promise on same-distribution stores (fewer commands: it
/// resamples 10,000 times per row). Bound: the level plus 3σ of 200 commands, as for t.
#[test]
fn the_bootstrap_raises_alarms_at_most_at_the_fdr_level() {
    const COMMANDS: usize = 200;
    let names = metrics(&["x"]);
    let mut with_alarm = 0;
    for i in 0..COMMANDS as u64 {
        let a = side("a", 5, &seeds(1000 * i, 10), |_| {
            draw(0.0, 1.0, 0.0, 2 * i + 1)
        });
        let b = side("b", 5, &seeds(1000 * i + 500, 10), |_| {
            draw(0.0, 1.0, 0.0, 2 * i + 2)
        });
        let options = Options {
            bootstrap: Some(i),
            ..Options::default()
        };
        let c = compare(&a, &b, &names, &options);
        with_alarm += usize::from(c.rows.iter().any(|r| r.verdict.is_change()));
    }
    let rate = with_alarm as f64 / COMMANDS as f64;
    eprintln!("bootstrap, same distribution: {rate:.3} of {COMMANDS} commands with a false row");
    assert!(rate <= 0.05 + three_sigma(0.05, COMMANDS), "{rate}");
}
