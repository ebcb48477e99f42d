use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::sync::Once;

extern "C" {
    // Provided by libopenblas, which ndarray-linalg links through openblas-src.
    fn openblas_set_num_threads(num_threads: c_int);
    fn openblas_get_corename() -> *const c_char;
}

/// Make OpenBLAS run on the calling thread only.
///
/// subbench parallelises across trials with rayon; OpenBLAS's own thread pool would fight with it
/// for the same cores (and makes floating-point reductions depend on the thread count). The
/// environment variable `OPENBLAS_NUM_THREADS` is not enough: it is read once at load time and a
/// user's shell may set it. Idempotent and cheap after the first call.
pub fn force_single_threaded_blas() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain setter in OpenBLAS with no preconditions.
        unsafe { openblas_set_num_threads(1) }
    });
}

/// The kernel family OpenBLAS selected for this CPU, e.g. `Haswell` or `Prescott`.
pub fn blas_core_name() -> String {
    // SAFETY: OpenBLAS returns a pointer to a static NUL-terminated string (or null).
    let name = unsafe { openblas_get_corename() };
    if name.is_null() {
        return "unknown".into();
    }
    // SAFETY: non-null, NUL-terminated and static, as above.
    unsafe { CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned()
}

/// The OpenBLAS core type to request instead of the one OpenBLAS detected.
///
/// Results must be bit-identical on every machine of a kind, and the baselines compare them to
/// 1e-9: but OpenBLAS picks its kernels per CPU, and the same virtual "Intel Xeon Processor" with
/// AVX2, FMA and AVX-512 was detected as `Prescott` (generic SSE3, 20% slower on LAPACK-heavy
/// trials) on one machine and as `SkylakeX` on another, whose different rounding moved an
/// ill-conditioned CoLoRA metric by a factor of two and failed three baselines. So on any CPU
/// with AVX2 and FMA the kernels are pinned to `Haswell`, which every such CPU runs, unless the
/// user has chosen a core type. OpenBLAS reads `OPENBLAS_CORETYPE` only when it is loaded, so a
/// caller has to set it and re-execute itself.
pub fn better_blas_core() -> Option<&'static str> {
    if std::env::var_os("OPENBLAS_CORETYPE").is_some() {
        return None;
    }
    if blas_core_name().eq_ignore_ascii_case("haswell") {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return Some("Haswell");
    }
    None
}

/// Re-execute the current program with `OPENBLAS_CORETYPE` set when [`better_blas_core`] says
/// OpenBLAS misdetected the CPU. The variable is read when the library loads, before `main`, so it
/// needs a fresh process image; `exec` keeps the process id, the arguments and the rest of the
/// environment. Returns (and runs with the detected kernels) if nothing is to be done or `exec`
/// fails. Call it first thing in `main`: the subbench binary and the benchmarks do, so that both
/// measure the same kernels.
pub fn reexec_with_better_blas_kernels() {
    #[cfg(unix)]
    if let Some(core) = better_blas_core() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let _failed = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("OPENBLAS_CORETYPE", core)
                .exec();
        }
    }
}
