//! Binary-level regression tests: one per bug fixed, named after the bug.

mod common;

use std::fs;

/// OpenBLAS detected this machine's CPU as SkylakeX where the baselines' machine had been given
/// Haswell kernels: an ill-conditioned CoLoRA metric moved by a factor of two and three
/// baselines failed. Every run on an AVX2/FMA CPU now uses the Haswell kernels, whatever
/// OpenBLAS detects (unless the user sets OPENBLAS_CORETYPE), and provenance says so.
#[test]
fn blas_kernels_are_the_same_on_every_avx2_machine() {
    #[cfg(target_arch = "x86_64")]
    if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
    {
        eprintln!("no AVX2/FMA: OpenBLAS keeps its own choice of kernels here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("k.yaml"),
        "name: kernels\ntitle: K\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 2}\n",
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"));
    command
        .current_dir(d)
        .args(["run", "k.yaml", "--no-report"])
        .env_remove("OPENBLAS_CORETYPE");
    assert!(command.output().unwrap().status.success());
    let provenance = fs::read_to_string(d.join("results/kernels/provenance.json")).unwrap();
    assert!(provenance.contains("Haswell kernels"), "{provenance}");
    // A user's explicit choice is kept.
    fs::write(
        d.join("p.yaml"),
        "name: chosen\ntitle: K\npaper: test\nclaim: c\nmethod: test.quadratic\nparams: {x: 2}\n",
    )
    .unwrap();
    let chosen = std::process::Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(d)
        .args(["run", "p.yaml", "--no-report"])
        .env("OPENBLAS_CORETYPE", "Prescott")
        .output()
        .unwrap();
    assert!(chosen.status.success());
    let provenance = fs::read_to_string(d.join("results/chosen/provenance.json")).unwrap();
    assert!(provenance.contains("Prescott kernels"), "{provenance}");
}
