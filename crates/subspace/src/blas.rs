use std::os::raw::c_int;
use std::sync::Once;

extern "C" {
    // Provided by libopenblas, which ndarray-linalg links through openblas-src.
    fn openblas_set_num_threads(num_threads: c_int);
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
