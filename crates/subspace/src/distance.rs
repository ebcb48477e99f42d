use std::f64::consts::FRAC_1_SQRT_2;
use std::fmt;
use std::str::FromStr;

use ndarray::ArrayView2;

use crate::angles::principal_angles;
use crate::{Result, SubspaceError};

/// The Grassmann distances of Ye & Lim (2016, SIAM J. Matrix Anal. Appl. 37(3), Table 2) and the
/// affinity of compressed subspace learning, all functions of the principal angles `θ₁..θ_m`.
///
/// Subspaces of different dimensions `k₁ ≠ k₂`: every formula runs over the `m = min(k₁, k₂)`
/// principal angles. That is Ye & Lim's distance from the smaller subspace to the Schubert variety
/// of the larger (zero when one contains the other); it is not a metric across dimensions.
/// For equal dimensions every distance here except Martin's is a metric on the Grassmannian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distance {
    /// `θ_m`, the largest angle. Range `[0, π/2]`.
    Asimov,
    /// `√(1 − ∏ cos² θᵢ)`. Range `[0, 1]`.
    BinetCauchy,
    /// Chordal, also the projection Frobenius distance `‖U₁U₁ᵀ − U₂U₂ᵀ‖_F/√2`: `‖sin θ‖₂`.
    /// Range `[0, √m]`.
    Chordal,
    /// `arccos ∏ cos θᵢ`. Range `[0, π/2]`.
    FubiniStudy,
    /// Arc length of the Grassmann geodesic, `‖θ‖₂`. Range `[0, π√m/2]`.
    Geodesic,
    /// `√(−Σ log cos² θᵢ)`. Range `[0, ∞]`: infinite as soon as one angle is π/2.
    Martin,
    /// `2 ‖sin(θ/2)‖₂`, the Procrustes distance `min_Q ‖U₁ − U₂Q‖_F`. Range `[0, √(2m)]`.
    Procrustes,
    /// Projection 2-norm distance `‖U₁U₁ᵀ − U₂U₂ᵀ‖₂ = sin θ_m` ("sin θ_max"). Range `[0, 1]`.
    Projection,
    /// `2 sin(θ_m/2)`, the spectral-norm Procrustes distance. Range `[0, √2]`.
    Spectral,
    /// Not a distance: the normalised affinity `‖cos θ‖₂/√m`, 1 for nested subspaces and 0 for
    /// orthogonal ones (Jiao, Li & Gu). Range `[0, 1]`.
    Affinity,
}

impl Distance {
    /// Every variant, in the order the CLI lists them.
    pub const ALL: [Distance; 10] = [
        Distance::Asimov,
        Distance::BinetCauchy,
        Distance::Chordal,
        Distance::FubiniStudy,
        Distance::Geodesic,
        Distance::Martin,
        Distance::Procrustes,
        Distance::Projection,
        Distance::Spectral,
        Distance::Affinity,
    ];

    /// The name used in specs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Distance::Asimov => "asimov",
            Distance::BinetCauchy => "binet_cauchy",
            Distance::Chordal => "chordal",
            Distance::FubiniStudy => "fubini_study",
            Distance::Geodesic => "geodesic",
            Distance::Martin => "martin",
            Distance::Procrustes => "procrustes",
            Distance::Projection => "projection",
            Distance::Spectral => "spectral",
            Distance::Affinity => "affinity",
        }
    }

    /// Whether the triangle inequality holds between subspaces of one dimension.
    pub fn is_metric(self) -> bool {
        !matches!(self, Distance::Martin | Distance::Affinity)
    }

    /// The value from principal angles (radians, any order, each in `[0, π/2]`).
    ///
    /// Products of cosines are formed as sums of `log(1 − sin²θ)` through `ln_1p`, so distances
    /// of nearly equal subspaces keep their relative accuracy instead of cancelling to zero.
    pub fn from_angles(self, angles: &[f64]) -> f64 {
        let largest = angles.iter().copied().fold(0.0_f64, f64::max);
        let sum_sq = |f: &dyn Fn(f64) -> f64| angles.iter().map(|&t| f(t).powi(2)).sum::<f64>();
        // Σ log cos²θ, computed without forming 1 − sin² in floating point.
        let log_prod_cos_sq = || {
            angles
                .iter()
                .map(|&t| (-t.sin().powi(2)).ln_1p())
                .sum::<f64>()
        };
        match self {
            Distance::Asimov => largest,
            Distance::BinetCauchy => (-log_prod_cos_sq().exp_m1()).sqrt(),
            Distance::Chordal => sum_sq(&f64::sin).sqrt(),
            Distance::FubiniStudy => {
                let prod_cos = angles.iter().map(|t| t.cos()).product::<f64>();
                if prod_cos >= FRAC_1_SQRT_2 {
                    // sin(FS) = √(1 − ∏cos²): accurate where arccos is not.
                    (-log_prod_cos_sq().exp_m1()).sqrt().asin()
                } else {
                    prod_cos.acos()
                }
            }
            Distance::Geodesic => sum_sq(&|t| t).sqrt(),
            Distance::Martin => (-log_prod_cos_sq()).sqrt(),
            Distance::Procrustes => 2.0 * sum_sq(&|t: f64| (t / 2.0).sin()).sqrt(),
            Distance::Projection => largest.sin(),
            Distance::Spectral => 2.0 * (largest / 2.0).sin(),
            Distance::Affinity => {
                if angles.is_empty() {
                    return f64::NAN;
                }
                (sum_sq(&f64::cos) / angles.len() as f64).sqrt()
            }
        }
    }
}

/// The distance between the column spans of two bases.
pub fn distance(a: ArrayView2<f64>, b: ArrayView2<f64>, metric: Distance) -> Result<f64> {
    let angles = principal_angles(a, b, false)?.angles;
    Ok(metric.from_angles(angles.as_slice().expect("contiguous")))
}

impl fmt::Display for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Distance {
    type Err = SubspaceError;

    /// Accepts the names of [`Distance::name`]; `-` and `_` are interchangeable, case is ignored.
    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Distance::ALL
            .into_iter()
            .find(|d| d.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Distance::ALL.iter().map(|d| d.name()).collect();
                SubspaceError::InvalidArgument(format!(
                    "unknown distance '{s}'; accepted: {}",
                    names.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::FRAC_PI_2;

    #[test]
    fn names_round_trip() {
        for d in Distance::ALL {
            assert_eq!(d.name().parse::<Distance>().unwrap(), d);
        }
        assert_eq!(
            "Binet-Cauchy".parse::<Distance>().unwrap(),
            Distance::BinetCauchy
        );
        let err = "chordial".parse::<Distance>().unwrap_err().to_string();
        assert!(err.contains("accepted: asimov"), "{err}");
    }

    #[test]
    fn closed_forms_for_one_angle() {
        // With a single angle θ every distance has an elementary value.
        let t = 0.3_f64;
        let eps = 4.0 * f64::EPSILON;
        let close = |a: f64, b: f64| (a - b).abs() <= eps * b.abs().max(1.0);
        assert!(close(Distance::Asimov.from_angles(&[t]), t));
        assert!(close(Distance::BinetCauchy.from_angles(&[t]), t.sin()));
        assert!(close(Distance::Chordal.from_angles(&[t]), t.sin()));
        assert!(close(Distance::FubiniStudy.from_angles(&[t]), t));
        assert!(close(Distance::Geodesic.from_angles(&[t]), t));
        assert!(close(
            Distance::Martin.from_angles(&[t]),
            (-(t.cos().powi(2)).ln()).sqrt()
        ));
        assert!(close(
            Distance::Procrustes.from_angles(&[t]),
            2.0 * (t / 2.0).sin()
        ));
        assert!(close(Distance::Projection.from_angles(&[t]), t.sin()));
        assert!(close(
            Distance::Spectral.from_angles(&[t]),
            2.0 * (t / 2.0).sin()
        ));
        assert!(close(Distance::Affinity.from_angles(&[t]), t.cos()));
    }

    #[test]
    fn tiny_angles_keep_relative_accuracy() {
        // 1 − cos²(1e-12) is 0 in floating point; the log1p form is not fooled.
        let t = 1e-12;
        for d in [
            Distance::BinetCauchy,
            Distance::FubiniStudy,
            Distance::Martin,
        ] {
            let v = d.from_angles(&[t, 0.0]);
            assert!((v - t).abs() <= 4.0 * f64::EPSILON * t, "{d}: {v}");
        }
    }

    #[test]
    fn orthogonal_extremes() {
        let angles = [FRAC_PI_2, FRAC_PI_2];
        assert_eq!(Distance::Projection.from_angles(&angles), 1.0);
        assert!(Distance::Martin.from_angles(&angles).is_infinite());
        assert!(Distance::Affinity.from_angles(&angles).abs() <= f64::EPSILON);
        let fs = Distance::FubiniStudy.from_angles(&angles);
        assert!((fs - FRAC_PI_2).abs() <= 4.0 * f64::EPSILON);
    }
}
