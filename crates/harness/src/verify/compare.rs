//! Comparing a stored trial with its rerun, bit for bit: every metric and every curve value the
//! method declares reproducible, as the bits of the `f64` (so `-0.0` differs from `0.0` and a
//! NaN payload counts), with the distance in units in the last place for a reader.

use std::collections::BTreeSet;

use crate::method::MetricSpec;
use crate::store::{Status, TrialRecord};

/// One value that differs between the stored trial and its rerun.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// `metric value`, `curve path[step 3]`, `status`.
    pub field: String,
    pub stored: String,
    pub rerun: String,
    /// Representable doubles between the two values, when both are numbers.
    pub ulps: Option<u64>,
}

/// What comparing one trial found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    pub mismatches: Vec<Mismatch>,
    /// Values compared bit for bit.
    pub compared: usize,
    /// Values of metrics or curves declared not reproducible (wall times), not compared.
    pub skipped: usize,
}

impl Comparison {
    /// Compare one value (`None`: absent on that side), or count it as skipped.
    fn value(&mut self, field: String, a: Option<f64>, b: Option<f64>, exact: bool) {
        if !exact {
            self.skipped += 1;
            return;
        }
        self.compared += 1;
        let same = match (a, b) {
            (Some(a), Some(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        };
        if !same {
            self.mismatches.push(Mismatch {
                field,
                stored: number(a),
                rerun: number(b),
                ulps: a.zip(b).map(|(a, b)| ulp_distance(a, b)),
            });
        }
    }
}

/// Representable doubles from `a` to `b` (0 when their bits are equal).
pub fn ulp_distance(a: f64, b: f64) -> u64 {
    // Map the sign-magnitude bits onto a line that is monotonic in the value, −0 one step below
    // +0 (their bits differ, so a comparison bit for bit tells them apart).
    let line = |x: f64| {
        let bits = x.to_bits();
        let magnitude = (bits & !(1u64 << 63)) as i128;
        if bits >> 63 == 1 {
            -magnitude - 1
        } else {
            magnitude
        }
    };
    (line(a) - line(b)).unsigned_abs().min(u64::MAX as u128) as u64
}

fn number(x: Option<f64>) -> String {
    x.map_or_else(|| "absent".to_string(), |v| format!("{v:e}"))
}

fn reproducible(specs: &[MetricSpec], name: &str) -> bool {
    // An undeclared name cannot be in an ok trial (the harness refuses them); compared if met.
    specs
        .iter()
        .find(|m| m.name == name)
        .is_none_or(|m| m.reproducible)
}

/// Compare `stored` with `rerun` (same trial id); `metrics` and `curves` are the method's
/// declarations, which say what is reproducible.
pub fn compare(
    stored: &TrialRecord,
    rerun: &TrialRecord,
    metrics: &[MetricSpec],
    curves: &[MetricSpec],
) -> Comparison {
    let mut out = Comparison::default();
    if rerun.status != Status::Ok {
        out.mismatches.push(Mismatch {
            field: "status".into(),
            stored: Status::Ok.as_str().into(),
            rerun: format!(
                "{} ({})",
                rerun.status.as_str(),
                rerun.error.as_deref().unwrap_or("no message")
            ),
            ulps: None,
        });
        return out;
    }
    let names: BTreeSet<&String> = stored.metrics.keys().chain(rerun.metrics.keys()).collect();
    for name in names {
        out.value(
            format!("metric {name}"),
            stored.metrics.get(name).copied(),
            rerun.metrics.get(name).copied(),
            reproducible(metrics, name),
        );
    }
    let names: BTreeSet<&String> = stored.curves.keys().chain(rerun.curves.keys()).collect();
    for name in names {
        let exact = reproducible(curves, name);
        let (a, b) = (
            stored.curves.get(name).map_or(&[][..], Vec::as_slice),
            rerun.curves.get(name).map_or(&[][..], Vec::as_slice),
        );
        for i in 0..a.len().max(b.len()) {
            let (pa, pb) = (a.get(i), b.get(i));
            let step = pa.or(pb).map_or(0, |p| p.0);
            if pa.is_some() && pb.is_some() && pa.map(|p| p.0) != pb.map(|p| p.0) {
                out.mismatches.push(Mismatch {
                    field: format!("curve {name}[point {i}] step"),
                    stored: pa.map_or(0, |p| p.0).to_string(),
                    rerun: pb.map_or(0, |p| p.0).to_string(),
                    ulps: None,
                });
                continue;
            }
            out.value(
                format!("curve {name}[step {step}]"),
                pa.map(|p| p.1),
                pb.map(|p| p.1),
                exact,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulps_count_representable_doubles() {
        assert_eq!(ulp_distance(1.0, 1.0), 0);
        assert_eq!(ulp_distance(1.0, 1.0 + f64::EPSILON), 1);
        assert_eq!(ulp_distance(1.0 + f64::EPSILON, 1.0), 1);
        // Across zero: -0.0 and 0.0 are one step apart, the smallest subnormals two.
        assert_eq!(ulp_distance(-0.0, 0.0), 1);
        assert_eq!(
            ulp_distance(-f64::from_bits(1), f64::from_bits(1)),
            3,
            "−min, −0, +0, +min"
        );
    }
}
