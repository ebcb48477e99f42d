//! Small statistics that polars does not provide: Student-t quantiles for confidence intervals,
//! two-sided t p-values, sample moments and the Benjamini–Hochberg adjustment.

/// The two-sided 95% Student-t critical value `t_{0.975, df}`.
pub fn t_critical_95(df: f64) -> f64 {
    student_t_quantile(0.975, df)
}

/// Quantile of Student's t distribution with `df > 0` degrees of freedom, by bisection on the
/// CDF (which is a regularised incomplete beta function). Accurate to ~1e-12; NaN for `df ≤ 0`.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while student_t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-14 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// `P(T ≤ t)` for Student's t with `df` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * incomplete_beta(0.5 * df, 0.5, x);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Two-sided p-value `P(|T| ≥ |t|)` of Student's t with `df` degrees of freedom, computed from the
/// tail directly (`I_x(df/2, 1/2)`, `x = df/(df + t²)`), so that p-values far below ε stay
/// accurate instead of rounding `1 − cdf` to 0. NaN for `df ≤ 0` or a NaN `t`.
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    incomplete_beta(0.5 * df, 0.5, df / (df + t * t))
}

/// The standard normal CDF `Φ(x)`, from the complementary error function (Numerical Recipes
/// `erfcc`, Chebyshev fit with fractional error below 1.2e-7 everywhere, also far in the tails).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let half_erfc = 0.5 * t * poly.exp();
    if x >= 0.0 {
        1.0 - half_erfc
    } else {
        half_erfc
    }
}

/// The standard normal quantile `Φ⁻¹(p)` (Acklam's rational approximation, relative error below
/// 1.2e-9); ±∞ at 0 and 1, NaN outside.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail(p)
    } else if p > 1.0 - 0.02425 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Arithmetic mean; NaN for no values.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample variance (ddof = 1), two-pass; NaN for fewer than two values.
pub fn sample_variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let m = mean(values);
    values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64
}

/// Benjamini–Hochberg adjusted p-values (q-values): rejecting every hypothesis whose q is at most
/// `α` controls the false discovery rate at `α` for independent or positively dependent tests
/// (Benjamini & Hochberg 1995; Benjamini & Yekutieli 2001). `q_(i) = min_{k ≥ i} p_(k)·m/k`,
/// capped at 1. NaN p-values (no test) are not hypotheses: they keep NaN and do not count in m.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]).then(i.cmp(&j)));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running;
    }
    q
}

/// Regularised incomplete beta `I_x(a, b)` by Lentz's continued fraction (Numerical Recipes §6.4).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = G[1..]
        .iter()
        .enumerate()
        .fold(G[0], |s, (i, g)| s + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: R 4.x `qt(0.975, df)`.
    #[test]
    fn t_quantiles_match_tables() {
        for (df, want) in [
            (1.0, 12.706204736174698),
            (2.0, 4.302652729749464),
            (5.0, 2.570581835636314),
            (10.0, 2.228138851986274),
            (30.0, 2.042272456301238),
        ] {
            let got = t_critical_95(df);
            assert!(
                (got - want).abs() <= 1e-9 * want,
                "df {df}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn cdf_is_symmetric_and_monotone() {
        for df in [1.0, 3.0, 50.0] {
            assert!((student_t_cdf(0.0, df) - 0.5).abs() < 1e-15);
            assert!((student_t_cdf(1.3, df) + student_t_cdf(-1.3, df) - 1.0).abs() < 1e-14);
            assert!(student_t_cdf(1.0, df) < student_t_cdf(1.1, df));
        }
        assert!(student_t_quantile(0.5, 0.0).is_nan());
    }

    /// Reference values: twice the t density integrated from |t| to ∞ (Simpson, 2·10⁵ panels,
    /// in Python).
    #[test]
    fn two_sided_p_values_match_r() {
        for (t, df, want) in [
            (2.0, 10.0, 0.07338803477074131),
            (-3.5, 4.0, 0.02489616346022266),
            (0.0, 7.0, 1.0),
            (12.0, 30.0, 5.580185415199139e-13),
        ] {
            let got = student_t_two_sided_p(t, df);
            assert!(
                (got - want).abs() <= 1e-8 * want,
                "t {t} df {df}: {got} vs {want}"
            );
        }
    }

    /// R: `p.adjust(c(0.01, 0.04, 0.03, 0.2), "BH")` = 0.04 0.0533 0.0533 0.2.
    #[test]
    fn benjamini_hochberg_matches_r() {
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, f64::NAN, 0.2]);
        let want = [0.04, 0.04 * 4.0 / 3.0, 0.04 * 4.0 / 3.0, f64::NAN, 0.2];
        for (g, w) in q.iter().zip(want) {
            assert!(g.is_nan() && w.is_nan() || (g - w).abs() < 1e-15, "{q:?}");
        }
    }

    #[test]
    fn moments() {
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        assert_eq!(sample_variance(&[1.0, 2.0, 6.0]), 7.0);
        assert!(sample_variance(&[1.0]).is_nan());
    }

    /// Reference: the standard normal table (Φ(1.96) = 0.9750021048517795, Φ(−3) =
    /// 0.0013498980316301, Φ⁻¹(0.975) = 1.959963984540054).
    #[test]
    fn normal_cdf_and_quantile_match_tables() {
        assert!((normal_cdf(1.96) - 0.9750021048517795).abs() < 2e-7);
        assert!((normal_cdf(-3.0) / 0.0013498980316301 - 1.0).abs() < 2e-7);
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-8);
        for p in [1e-12, 0.01, 0.3, 0.5, 0.9, 1.0 - 1e-9] {
            let x = normal_quantile(p);
            assert!((normal_cdf(x) / p - 1.0).abs() < 1e-6, "p {p}");
        }
    }
}
