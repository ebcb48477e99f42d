//! The optimal attacks of docs/papers/attack.md [derived]: everything happens in the plane of the k-th and
//! (k+1)-th singular pairs. With `s1 = σ_k`, `s2 = σ_{k+1}` (0 when k = rank X) and budget `ε`,
//! each function returns the achieved principal angle θ* and the 2×2 perturbation `D` acting on
//! coordinates `(u_k, u_{k+1}) × (v_k, v_{k+1})`, with `‖D‖_F = ε`.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_PI_2};

/// A perturbation of the 2×2 block, `d[row][col]`, and the angle it achieves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneAttack {
    pub theta: f64,
    pub d: [[f64; 2]; 2],
}

/// The optimal rank-one attack.
///
/// Below `ε = s1 − s2` it rotates by `tan θ* = (s1² − S1²)/(ε S1)` with
/// `S1² = (a + √(a² − 4 s1² s2²))/2`, `a = s1² + s2² − ε²`, using
/// `Δ = ε (−sin θ u_k + cos θ u_{k+1})(cos φ v_k + sin φ v_{k+1})ᵀ`, `tan φ = (S2² − s2²)/(ε S2)`,
/// `S2 = s1 s2 / S1`. At and above it the k-th direction is swapped out: θ* = π/2.
pub fn rank_one(s1: f64, s2: f64, eps: f64) -> PlaneAttack {
    if eps < s1 - s2 {
        let a = s1 * s1 + s2 * s2 - eps * eps;
        let big1_sq = 0.5 * (a + (a * a - 4.0 * s1 * s1 * s2 * s2).max(0.0).sqrt());
        let big1 = big1_sq.sqrt();
        let theta = ((s1 * s1 - big1_sq).abs() / (eps * big1)).atan();
        let phi = if s2 > 0.0 {
            let big2 = s1 * s2 / big1;
            ((big2 * big2 - s2 * s2).abs() / (eps * big2)).atan()
        } else {
            0.0 // the limit S2 → 0 of (S2² − s2²)/(ε S2)
        };
        let left = [-theta.sin(), theta.cos()];
        let right = [phi.cos(), phi.sin()];
        return PlaneAttack {
            theta,
            d: outer(eps, left, right),
        };
    }
    if eps < s1 {
        // Shrink σ_k below σ_{k+1}.
        return PlaneAttack {
            theta: FRAC_PI_2,
            d: [[-eps, 0.0], [0.0, 0.0]],
        };
    }
    // Remove σ_k entirely and put the rest of the budget on u_{k+1} (which then leads the plane).
    PlaneAttack {
        theta: FRAC_PI_2,
        d: [[-s1, 0.0], [(eps * eps - s1 * s1).sqrt(), 0.0]],
    }
}

/// The optimal attack without rank constraint (rank two).
///
/// Below `ε = (s1 − s2)/√2`: `sin 2θ* = 2ε√(s1² + s2² − ε²)/(s1² − s2²)`, realised by the block
/// `R_θ diag(a, b) R_ψᵀ` closest to `diag(s1, s2)`, where
/// `2ψ = atan2(s1 s2 sin 2θ, A cos 2θ)`, `A = (s1² + s2²)/2`. Above it, `ε/√2 (−u_k v_kᵀ + u_{k+1} v_{k+1}ᵀ)`
/// swaps the two directions: θ* = π/2.
pub fn unconstrained(s1: f64, s2: f64, eps: f64) -> PlaneAttack {
    if eps < (s1 - s2) * FRAC_1_SQRT_2 {
        let sin_2theta = (2.0 * eps * (s1 * s1 + s2 * s2 - eps * eps).max(0.0).sqrt()
            / (s1 * s1 - s2 * s2))
            .min(1.0);
        let theta = 0.5 * sin_2theta.asin();
        let big_a = 0.5 * (s1 * s1 + s2 * s2);
        let psi = 0.5 * (s1 * s2 * (2.0 * theta).sin()).atan2(big_a * (2.0 * theta).cos());
        let (ct, st, cp, sp) = (theta.cos(), theta.sin(), psi.cos(), psi.sin());
        // C = R_θᵀ B R_ψ; keep its diagonal.
        let c11 = s1 * ct * cp + s2 * st * sp;
        let c22 = s1 * st * sp + s2 * ct * cp;
        // B' = R_θ diag(c11, c22) R_ψᵀ
        let b = [
            [
                ct * c11 * cp + (-st) * c22 * (-sp),
                ct * c11 * sp + (-st) * c22 * cp,
            ],
            [
                st * c11 * cp + ct * c22 * (-sp),
                st * c11 * sp + ct * c22 * cp,
            ],
        ];
        let mut d = [[b[0][0] - s1, b[0][1]], [b[1][0], b[1][1] - s2]];
        // The construction is exact up to rounding; make the energy exactly ε.
        let norm = frobenius(&d);
        if norm > 0.0 {
            d = d.map(|row| row.map(|x| x * eps / norm));
        }
        return PlaneAttack { theta, d };
    }
    let t = eps * FRAC_1_SQRT_2;
    PlaneAttack {
        theta: FRAC_PI_2,
        d: [[-t, 0.0], [0.0, t]],
    }
}

/// The budget the rank-two attack needs to rotate by θ ≤ π/4:
/// `ε²(θ) = A − √(A² − ((s1² − s2²)/2)² sin² 2θ)`.
pub fn unconstrained_budget(s1: f64, s2: f64, theta: f64) -> f64 {
    let a = 0.5 * (s1 * s1 + s2 * s2);
    let k = 0.5 * (s1 * s1 - s2 * s2) * (2.0 * theta).sin();
    (a - (a * a - k * k).sqrt()).sqrt()
}

fn outer(scale: f64, left: [f64; 2], right: [f64; 2]) -> [[f64; 2]; 2] {
    [
        [scale * left[0] * right[0], scale * left[0] * right[1]],
        [scale * left[1] * right[0], scale * left[1] * right[1]],
    ]
}

/// The budget ε of an attack on a matrix with gap `σ_k − σ_{k+1}` (the crate doc's rule, the
/// same in every method): `budget_rel · gap` when `budget_rel` is given, else `budget`, else 0.
/// The methods' defaults differ, not the rule: `attack.pca`'s `budget` defaults to 0.1 (so
/// neither given attacks with ε = 0.1), `attack.digits`' is unset (neither given: ε = 0, the
/// clean classifier).
pub fn epsilon(budget: Option<f64>, budget_rel: Option<f64>, gap: f64) -> f64 {
    match (budget_rel, budget) {
        (Some(relative), _) => relative * gap,
        (None, Some(absolute)) => absolute,
        (None, None) => 0.0,
    }
}

pub fn frobenius(d: &[[f64; 2]; 2]) -> f64 {
    d.iter().flatten().map(|x| x * x).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Angle of the top left singular vector of a 2×2 matrix from e₁ (brute force via its Gram matrix).
    fn top_angle(m: [[f64; 2]; 2]) -> f64 {
        let g = [
            [
                m[0][0] * m[0][0] + m[0][1] * m[0][1],
                m[0][0] * m[1][0] + m[0][1] * m[1][1],
            ],
            [0.0, m[1][0] * m[1][0] + m[1][1] * m[1][1]],
        ];
        // Eigenvector of the symmetric 2×2 Gram matrix for its largest eigenvalue.
        let angle = 0.5 * (2.0 * g[0][1]).atan2(g[0][0] - g[1][1]);
        angle.abs().min(FRAC_PI_2)
    }

    fn perturbed(s1: f64, s2: f64, a: &PlaneAttack) -> [[f64; 2]; 2] {
        [[s1 + a.d[0][0], a.d[0][1]], [a.d[1][0], s2 + a.d[1][1]]]
    }

    /// Brute force: the best angle over a fine grid of rank-one perturbations of energy ε.
    fn brute_force_rank_one(s1: f64, s2: f64, eps: f64) -> f64 {
        let n = 720;
        let mut best: f64 = 0.0;
        for i in 0..n {
            for j in 0..n {
                let (a, b) = (
                    std::f64::consts::TAU * i as f64 / n as f64,
                    std::f64::consts::PI * j as f64 / n as f64,
                );
                let d = outer(eps, [a.cos(), a.sin()], [b.cos(), b.sin()]);
                best =
                    best.max(top_angle([[s1 + d[0][0], d[0][1]], [d[1][0], s2 + d[1][1]]]).sin());
            }
        }
        best
    }

    #[test]
    fn rank_one_matches_brute_force_search_in_2x2() {
        for (s1, s2, eps) in [
            (3.0, 1.0, 0.5),
            (3.0, 1.0, 1.5),
            (2.0, 1.5, 0.3),
            (1.0, 0.0, 0.4),
        ] {
            let attack = rank_one(s1, s2, eps);
            let achieved = top_angle(perturbed(s1, s2, &attack));
            assert!(
                (achieved - attack.theta).abs() < 1e-12,
                "({s1},{s2},{eps}): {achieved} vs {}",
                attack.theta
            );
            assert!((frobenius(&attack.d) - eps).abs() <= 4.0 * f64::EPSILON * eps);
            let brute = brute_force_rank_one(s1, s2, eps);
            // The grid is 0.5° fine: the optimum is within its resolution, and never beaten.
            assert!(
                brute <= attack.theta.sin() + 1e-12,
                "brute force beat the closed form: {brute}"
            );
            assert!(
                attack.theta.sin() - brute < 2e-2,
                "grid far from the optimum: {brute} vs {}",
                attack.theta.sin()
            );
        }
    }

    #[test]
    fn special_cases_of_the_rank_one_attack() {
        // s2 = 0: sin θ* = ε/σ_k.
        let a = rank_one(2.0, 0.0, 0.5);
        assert!((a.theta.sin() - 0.25).abs() < 1e-15);
        // The jump at ε = s1 − s2 for σ = (3, 1): from √(3/4) to 1.
        // The limit is approached like √(s1 − s2 − ε): at a distance 1e-9 the gap is ~1e-5.
        let below = rank_one(3.0, 1.0, 2.0 - 1e-9).theta.sin();
        assert!((below - 0.75f64.sqrt()).abs() < 1e-4, "{below}");
        assert!(below < 0.75f64.sqrt());
        assert_eq!(rank_one(3.0, 1.0, 2.0).theta, FRAC_PI_2);
        for eps in [2.5, 3.5] {
            let swap = rank_one(3.0, 1.0, eps);
            assert!((frobenius(&swap.d) - eps).abs() < 1e-12);
            assert!((top_angle(perturbed(3.0, 1.0, &swap)) - FRAC_PI_2).abs() < 1e-12);
        }
    }

    #[test]
    fn unconstrained_attack_achieves_its_angle_and_inverts_the_budget() {
        for (s1, s2) in [(3.0, 1.0), (1.0, 0.5), (1.0, 0.0)] {
            for frac in [0.1, 0.5, 0.9] {
                let eps = frac * (s1 - s2) * FRAC_1_SQRT_2;
                let attack = unconstrained(s1, s2, eps);
                let achieved = top_angle(perturbed(s1, s2, &attack));
                assert!(
                    (achieved - attack.theta).abs() < 1e-10,
                    "{achieved} vs {}",
                    attack.theta
                );
                assert!(
                    (unconstrained_budget(s1, s2, attack.theta) - eps).abs() < 1e-10 * (1.0 + eps)
                );
                // It beats the rank-one attack with the same budget.
                assert!(attack.theta >= rank_one(s1, s2, eps).theta - 1e-12);
            }
        }
    }
}
