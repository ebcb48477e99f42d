//! The BLAS-3 and LAPACK kernels of the Gram-matrix path of principal angles, called directly in
//! the OpenBLAS that ndarray-linalg links (cblas and Fortran LAPACK symbols of the same library).
//!
//! Why not `ndarray`'s `.dot`: in this workspace ndarray is built without its `blas` feature, so
//! `.dot` runs `matrixmultiply`, and there is no `syrk` (half the work of `AᵀA`) or `trsm` at all.
//! Enabling the feature would change every product of every crate by rounding. These wrappers
//! are used where the speed matters and their rounding is covered by the accuracy tests.
//!
//! Small matrices are column-major `Vec<f64>` buffers (LAPACK's layout). A large `n × k` operand
//! is read in place when it is row- or column-contiguous and copied once otherwise.

use std::os::raw::{c_char, c_int};

use ndarray::{Array2, ArrayView2, ShapeBuilder};

const COL_MAJOR: c_int = 102;
const NO_TRANS: c_int = 111;
const TRANS: c_int = 112;
const UPPER: c_int = 121;
const LEFT: c_int = 141;
const RIGHT: c_int = 142;
const NON_UNIT: c_int = 131;

extern "C" {
    // cblas interface of libopenblas (the CBLAS enums are C ints).
    fn cblas_dgemm(
        order: c_int,
        trans_a: c_int,
        trans_b: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f64,
        a: *const f64,
        lda: c_int,
        b: *const f64,
        ldb: c_int,
        beta: f64,
        c: *mut f64,
        ldc: c_int,
    );
    fn cblas_dsyrk(
        order: c_int,
        uplo: c_int,
        trans: c_int,
        n: c_int,
        k: c_int,
        alpha: f64,
        a: *const f64,
        lda: c_int,
        beta: f64,
        c: *mut f64,
        ldc: c_int,
    );
    fn cblas_dtrsm(
        order: c_int,
        side: c_int,
        uplo: c_int,
        trans_a: c_int,
        diag: c_int,
        m: c_int,
        n: c_int,
        alpha: f64,
        a: *const f64,
        lda: c_int,
        b: *mut f64,
        ldb: c_int,
    );
    // Fortran LAPACK of libopenblas (one-character arguments; as lapack-sys declares them).
    fn dpotrf_(
        uplo: *const c_char,
        n: *const c_int,
        a: *mut f64,
        lda: *const c_int,
        info: *mut c_int,
    );
    fn dsyevr_(
        jobz: *const c_char,
        range: *const c_char,
        uplo: *const c_char,
        n: *const c_int,
        a: *mut f64,
        lda: *const c_int,
        vl: *const f64,
        vu: *const f64,
        il: *const c_int,
        iu: *const c_int,
        abstol: *const f64,
        m: *mut c_int,
        w: *mut f64,
        z: *mut f64,
        ldz: *const c_int,
        isuppz: *mut c_int,
        work: *mut f64,
        lwork: *const c_int,
        iwork: *mut c_int,
        liwork: *const c_int,
        info: *mut c_int,
    );
    fn dtrcon_(
        norm: *const c_char,
        uplo: *const c_char,
        diag: *const c_char,
        n: *const c_int,
        a: *const f64,
        lda: *const c_int,
        rcond: *mut f64,
        work: *mut f64,
        iwork: *mut c_int,
        info: *mut c_int,
    );
}

/// Whether every dimension a kernel will see fits LAPACK's 32-bit integers.
pub(crate) fn fits_blas(dims: &[usize]) -> bool {
    dims.iter().all(|&d| d <= c_int::MAX as usize)
}

/// An `rows × cols` matrix as BLAS sees it: a column-major buffer holding either the matrix
/// itself (`transposed == false`, leading dimension `ld ≥ rows`) or its transpose (a row-major
/// matrix: `transposed == true`, `ld ≥ cols`).
pub(crate) struct BlasMatrix<'a> {
    ptr: *const f64,
    rows: usize,
    cols: usize,
    ld: usize,
    transposed: bool,
    // Keeps a copy alive when the view was neither row- nor column-contiguous.
    _copy: Option<Array2<f64>>,
    _view: std::marker::PhantomData<&'a f64>,
}

impl<'a> BlasMatrix<'a> {
    pub(crate) fn new(a: ArrayView2<'a, f64>) -> Self {
        let (rows, cols) = a.dim();
        if a.is_standard_layout() {
            return BlasMatrix {
                ptr: a.as_ptr(),
                rows,
                cols,
                ld: cols.max(1),
                transposed: true,
                _copy: None,
                _view: std::marker::PhantomData,
            };
        }
        if a.t().is_standard_layout() {
            return BlasMatrix {
                ptr: a.as_ptr(),
                rows,
                cols,
                ld: rows.max(1),
                transposed: false,
                _copy: None,
                _view: std::marker::PhantomData,
            };
        }
        let copy = a.as_standard_layout().into_owned();
        BlasMatrix {
            ptr: copy.as_ptr(),
            rows,
            cols,
            ld: cols.max(1),
            transposed: true,
            _copy: Some(copy),
            _view: std::marker::PhantomData,
        }
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// The CBLAS transpose flag that makes the buffer read as the matrix (`want_transpose ==
    /// false`) or as its transpose.
    fn flag(&self, want_transpose: bool) -> c_int {
        if self.transposed != want_transpose {
            TRANS
        } else {
            NO_TRANS
        }
    }
}

/// `AᵀA` (`k × k`, upper triangle only, column-major) by `dsyrk`: half the flops of a product.
pub(crate) fn gram_upper(a: &BlasMatrix) -> Vec<f64> {
    let (n, k) = (a.rows, a.cols);
    let mut g = vec![0.0; k * k];
    // G = Xᵀ X with X = A: syrk's `Trans` form reads X as stored; the buffer of a row-major A
    // holds Aᵀ, for which G = (Aᵀ)(Aᵀ)ᵀ is the `NoTrans` form.
    let trans = if a.transposed { NO_TRANS } else { TRANS };
    // SAFETY: the buffer holds the whole matrix with the leading dimension recorded; g is k × k.
    unsafe {
        cblas_dsyrk(
            COL_MAJOR,
            UPPER,
            trans,
            k as c_int,
            n as c_int,
            1.0,
            a.ptr,
            a.ld as c_int,
            0.0,
            g.as_mut_ptr(),
            k as c_int,
        )
    }
    g
}

/// `AᵀB` (`k_a × k_b`, column-major) by `dgemm`.
pub(crate) fn cross(a: &BlasMatrix, b: &BlasMatrix) -> Vec<f64> {
    debug_assert_eq!(a.rows, b.rows);
    let (n, ka, kb) = (a.rows, a.cols, b.cols);
    let mut c = vec![0.0; ka * kb];
    // SAFETY: as in gram_upper; c is ka × kb with leading dimension ka.
    unsafe {
        cblas_dgemm(
            COL_MAJOR,
            a.flag(true),
            b.flag(false),
            ka as c_int,
            kb as c_int,
            n as c_int,
            1.0,
            a.ptr,
            a.ld as c_int,
            b.ptr,
            b.ld as c_int,
            0.0,
            c.as_mut_ptr(),
            ka.max(1) as c_int,
        )
    }
    c
}

/// `C ← α·op(A)·B + β·C` with `B` a `k × p` and `C` an `n × p` column-major buffer, `op(A)` the
/// `n × k` matrix `a`.
pub(crate) fn multiply_into(
    alpha: f64,
    a: &BlasMatrix,
    b: &[f64],
    p: usize,
    beta: f64,
    c: &mut [f64],
) {
    let (n, k) = (a.rows, a.cols);
    assert!(b.len() >= k * p && c.len() >= n * p);
    // SAFETY: dimensions checked above; leading dimensions are k and n.
    unsafe {
        cblas_dgemm(
            COL_MAJOR,
            a.flag(false),
            NO_TRANS,
            n as c_int,
            p as c_int,
            k as c_int,
            alpha,
            a.ptr,
            a.ld as c_int,
            b.as_ptr(),
            k.max(1) as c_int,
            beta,
            c.as_mut_ptr(),
            n.max(1) as c_int,
        )
    }
}

/// The Cholesky factor `R` (upper, `RᵀR = G`) of a `k × k` column-major matrix whose upper
/// triangle holds `G`, in place; `false` when `G` is not numerically positive definite.
pub(crate) fn cholesky_upper(g: &mut [f64], k: usize) -> bool {
    assert_eq!(g.len(), k * k);
    let (n, mut info) = (k as c_int, 0);
    // SAFETY: g is k × k with leading dimension k.
    unsafe { dpotrf_(&(b'U' as c_char), &n, g.as_mut_ptr(), &n, &mut info) };
    if info != 0 {
        return false;
    }
    // dpotrf leaves the strict lower triangle as it was; the kernels below never read it, but
    // zero it so that the buffer is R.
    for j in 0..k {
        for i in j + 1..k {
            g[j * k + i] = 0.0;
        }
    }
    true
}

/// The `count` largest eigenvalues (ascending) and their orthonormal eigenvectors (`n × count`,
/// column-major) of a symmetric `n × n` matrix whose upper triangle `g` holds (destroyed), by
/// LAPACK's MRRR driver `dsyevr`. `None` if LAPACK fails.
///
/// For a subset `dsyevr` uses bisection and inverse iteration (MRRR only serves the whole
/// spectrum); at `n = 50`, `count = 6` that measured slightly faster than MRRR for all pairs.
pub(crate) fn top_eigenpairs(
    g: &mut [f64],
    n: usize,
    count: usize,
) -> Option<(Vec<f64>, Vec<f64>)> {
    assert!(g.len() == n * n && (1..=n).contains(&count));
    let (nn, il, iu) = (n as c_int, (n - count + 1) as c_int, n as c_int);
    let (lwork, liwork) = (26 * n.max(1), 10 * n.max(1));
    let mut w = vec![0.0; n];
    let mut z = vec![0.0; n * count];
    let mut isuppz = vec![0 as c_int; 2 * count];
    let mut work = vec![0.0; lwork];
    let mut iwork = vec![0 as c_int; liwork];
    let (mut found, mut info) = (0 as c_int, 0 as c_int);
    // SAFETY: every buffer has the size dsyevr documents for these arguments.
    unsafe {
        dsyevr_(
            &(b'V' as c_char),
            &(b'I' as c_char),
            &(b'U' as c_char),
            &nn,
            g.as_mut_ptr(),
            &nn,
            &0.0,
            &0.0,
            &il,
            &iu,
            &0.0,
            &mut found,
            w.as_mut_ptr(),
            z.as_mut_ptr(),
            &nn,
            isuppz.as_mut_ptr(),
            work.as_mut_ptr(),
            &(lwork as c_int),
            iwork.as_mut_ptr(),
            &(liwork as c_int),
            &mut info,
        )
    };
    if info != 0 || found as usize != count {
        return None;
    }
    w.truncate(count);
    Some((w, z))
}

/// An estimate of the 2-norm condition number of an upper triangular `R` (`k × k`): the
/// geometric mean `√(κ₁ κ∞)` of LAPACK's 1- and ∞-norm estimates (`dtrcon`, O(k²)), which bounds
/// `κ₂` from above when the estimates are exact (`‖X‖₂² ≤ ‖X‖₁ ‖X‖∞`). `∞` for a singular `R`.
pub(crate) fn triangular_condition(r: &[f64], k: usize) -> f64 {
    assert_eq!(r.len(), k * k);
    let n = k as c_int;
    let mut work = vec![0.0; 3 * k];
    let mut iwork = vec![0 as c_int; k];
    let mut product = 1.0;
    for norm in [b'1', b'I'] {
        let (mut rcond, mut info) = (0.0, 0);
        // SAFETY: r is k × k (leading dimension k); work has 3k and iwork k entries as dtrcon needs.
        unsafe {
            dtrcon_(
                &(norm as c_char),
                &(b'U' as c_char),
                &(b'N' as c_char),
                &n,
                r.as_ptr(),
                &n,
                &mut rcond,
                work.as_mut_ptr(),
                iwork.as_mut_ptr(),
                &mut info,
            )
        };
        if info != 0 || rcond.is_nan() || rcond <= 0.0 {
            return f64::INFINITY;
        }
        product *= rcond;
    }
    1.0 / product.sqrt()
}

/// `X ← R⁻ᵀX` (`transpose`) or `X ← R⁻¹X` for upper triangular `R` (`k × k`) and `X` (`k × p`),
/// column-major.
pub(crate) fn solve_upper_left(r: &[f64], k: usize, x: &mut [f64], p: usize, transpose: bool) {
    assert!(r.len() == k * k && x.len() == k * p);
    let trans = if transpose { TRANS } else { NO_TRANS };
    // SAFETY: sizes checked above.
    unsafe {
        cblas_dtrsm(
            COL_MAJOR,
            LEFT,
            UPPER,
            trans,
            NON_UNIT,
            k as c_int,
            p as c_int,
            1.0,
            r.as_ptr(),
            k.max(1) as c_int,
            x.as_mut_ptr(),
            k.max(1) as c_int,
        )
    }
}

/// `X ← X R⁻¹` for upper triangular `R` (`k × k`) and `X` (`p × k`), column-major.
pub(crate) fn solve_upper_right(r: &[f64], k: usize, x: &mut [f64], p: usize) {
    assert!(r.len() == k * k && x.len() == k * p);
    // SAFETY: sizes checked above.
    unsafe {
        cblas_dtrsm(
            COL_MAJOR,
            RIGHT,
            UPPER,
            NO_TRANS,
            NON_UNIT,
            p as c_int,
            k as c_int,
            1.0,
            r.as_ptr(),
            k.max(1) as c_int,
            x.as_mut_ptr(),
            p.max(1) as c_int,
        )
    }
}

/// A column-major buffer as an ndarray matrix (no copy).
pub(crate) fn to_array(buffer: Vec<f64>, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_vec((rows, cols).f(), buffer).expect("buffer length is rows · cols")
}

/// `A B` by OpenBLAS `dgemm`, for any layouts of `a` (`n × k`) and `b` (`k × p`).
///
/// The same product as ndarray's `a.dot(&b)`, which in this workspace runs `matrixmultiply`
/// (ndarray is built without its `blas` feature); the rounding differs. Used for the DGEMM rate
/// of `just bench-reference`; panics when the inner dimensions differ, like `dot`.
pub fn gemm(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    assert_eq!(a.ncols(), b.nrows(), "inner dimensions of a product");
    assert!(
        fits_blas(&[a.nrows(), a.ncols(), b.ncols()]),
        "matrix too large for 32-bit BLAS"
    );
    let (n, k, p) = (a.nrows(), a.ncols(), b.ncols());
    let bm = BlasMatrix::new(b);
    let am = BlasMatrix::new(a);
    let mut c = vec![0.0; n * p];
    // SAFETY: both operands are contiguous buffers of the dimensions passed; c is n × p.
    unsafe {
        cblas_dgemm(
            COL_MAJOR,
            am.flag(false),
            bm.flag(false),
            n as c_int,
            p as c_int,
            k as c_int,
            1.0,
            am.ptr,
            am.ld as c_int,
            bm.ptr,
            bm.ld as c_int,
            0.0,
            c.as_mut_ptr(),
            n.max(1) as c_int,
        )
    }
    to_array(c, n, p)
}
