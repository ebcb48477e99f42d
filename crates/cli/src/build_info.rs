//! What provenance records about this build of the binary (shared by `run`, `check` and `merge`).

use harness::provenance::BuildInfo;

pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        rustc: env!("SUBBENCH_RUSTC").to_string(),
        target: env!("SUBBENCH_TARGET").to_string(),
        blas: format!(
            "OpenBLAS (system, {} kernels), 1 thread per trial",
            subspace::blas_core_name()
        ),
    }
}
