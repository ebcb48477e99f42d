//! Family-wise confidence intervals. A claim over G groups is G tests: with a 95% interval in
//! each, "the interval holds in every group" fails by chance with probability 1 − 0.95^G. A
//! check's `level` (default 0.95) is the probability that every interval of the claim covers its
//! true mean at once; each group gets the Šidák level `level^(1/G)` (exact for independent
//! groups, which the trials of different points are: each has its own seeds).

use harness::spec::Interval;

use crate::aggregate::Stats;
use crate::stats::student_t_quantile;

/// The intervals of one claim's G groups at a family-wise level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Family {
    pub level: f64,
    pub members: usize,
    interval: Interval,
}

impl Family {
    pub fn new(level: f64, members: usize, interval: Interval) -> Self {
        Family {
            level,
            members: members.max(1),
            interval,
        }
    }

    /// The confidence of each member's interval: `level^(1/G)` (Šidák).
    pub fn per_member(&self) -> f64 {
        self.level.powf(1.0 / self.members as f64)
    }

    /// The member interval of the mean of `s`: the stored one when it is at that level (one
    /// group at 95%), else Student's `mean ± t·std/√n` (also for a store of bootstrap
    /// intervals, which [`Family::describe`] then says). NaN with n < 2.
    pub fn interval(&self, s: &Stats) -> (f64, f64) {
        if self.members == 1 && self.level == 0.95 {
            return (s.ci_low, s.ci_high);
        }
        if s.n < 2 {
            return (f64::NAN, f64::NAN);
        }
        let t = student_t_quantile(0.5 + 0.5 * self.per_member(), (s.n - 1) as f64);
        let half = t * s.std / (s.n as f64).sqrt();
        (s.mean - half, s.mean + half)
    }

    /// Half the width of the member interval of `s`.
    pub fn half_width(&self, s: &Stats) -> f64 {
        let (lo, hi) = self.interval(s);
        0.5 * (hi - lo)
    }

    /// `95% family-wise over 5 groups (Šidák, 98.98% each)`, or `95%` for one group.
    pub fn describe(&self) -> String {
        let pct = |x: f64| {
            let percent = (x * 1e4).round() / 1e2;
            if percent.fract() == 0.0 {
                format!("{percent:.0}%")
            } else {
                format!("{percent}%")
            }
        };
        let student =
            if self.interval == Interval::Bootstrap && !(self.members == 1 && self.level == 0.95) {
                ", Student-t"
            } else {
                ""
            };
        if self.members == 1 {
            format!("{}{student}", pct(self.level))
        } else {
            format!(
                "{} family-wise over {} groups (Šidák, {} each{student})",
                pct(self.level),
                self.members,
                pct(self.per_member())
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(n: usize, mean: f64, std: f64) -> Stats {
        let half = student_t_quantile(0.975, n as f64 - 1.0) * std / (n as f64).sqrt();
        Stats {
            n,
            mean,
            std,
            median: mean,
            min: mean,
            max: mean,
            ci_low: mean - half,
            ci_high: mean + half,
        }
    }

    /// One group at 95% is the usual Student interval; five groups widen each to the Šidák
    /// level 0.95^(1/5) = 0.98979…, whose t quantile for 9 degrees of freedom is larger.
    #[test]
    fn sidak_levels_widen_the_members_and_one_group_is_the_plain_interval() {
        let s = stats(10, 1.0, 1.0);
        let one = Family::new(0.95, 1, Interval::Student);
        let (lo, hi) = one.interval(&s);
        let t95 = student_t_quantile(0.975, 9.0);
        assert!(
            (hi - 1.0 - t95 / 10f64.sqrt()).abs() < 1e-12 && (1.0 - lo - (hi - 1.0)).abs() < 1e-12
        );
        let five = Family::new(0.95, 5, Interval::Student);
        assert!((five.per_member() - 0.95f64.powf(0.2)).abs() < 1e-15);
        assert!(five.half_width(&s) > one.half_width(&s) * 1.2);
        assert!(five.describe().contains("Šidák"), "{}", five.describe());
        assert!(one.interval(&stats(1, 1.0, f64::NAN)).0.is_nan());
    }
}
