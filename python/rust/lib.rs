//! `subbench._core`: the subspace crate's principal angles and Grassmann distances for numpy
//! arrays, and blake3 for the checksums of result stores. The Python package (src/subbench)
//! wraps these; nothing here is public API on its own.

use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use subspace::{AnglesMethod, Distance, SubspaceError};

/// Bad input is a `ValueError` with the subspace crate's sentence; a LAPACK failure is not the
/// caller's fault, so it is a `RuntimeError`.
fn to_py(e: SubspaceError) -> PyErr {
    match e {
        SubspaceError::Lapack(_) => PyRuntimeError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

fn path_name(method: AnglesMethod) -> &'static str {
    match method {
        AnglesMethod::Gram => "gram",
        AnglesMethod::Householder => "householder",
    }
}

type Vectors<'py> = Option<(Bound<'py, PyArray2<f64>>, Bound<'py, PyArray2<f64>>)>;

/// `(angles ascending, path taken, principal vectors or None)`; the GIL is released meanwhile.
#[pyfunction]
fn principal_angles<'py>(
    py: Python<'py>,
    a: PyReadonlyArray2<'py, f64>,
    b: PyReadonlyArray2<'py, f64>,
    vectors: bool,
) -> PyResult<(Bound<'py, PyArray1<f64>>, &'static str, Vectors<'py>)> {
    let (a, b) = (a.as_array(), b.as_array());
    let (result, method) = py
        .detach(|| subspace::principal_angles_reporting(a, b, vectors))
        .map_err(to_py)?;
    let vectors = result
        .vectors
        .map(|(u, v)| (u.into_pyarray(py), v.into_pyarray(py)));
    Ok((result.angles.into_pyarray(py), path_name(method), vectors))
}

/// The distance `metric` (a name of `Distance`, `-` or `_`, any case) between the spans.
#[pyfunction]
fn distance(
    py: Python<'_>,
    a: PyReadonlyArray2<'_, f64>,
    b: PyReadonlyArray2<'_, f64>,
    metric: &str,
) -> PyResult<f64> {
    let metric: Distance = metric.parse().map_err(to_py)?;
    let (a, b) = (a.as_array(), b.as_array());
    py.detach(|| subspace::distance(a, b, metric))
        .map_err(to_py)
}

/// The names `distance` accepts, in the order the CLI lists them.
#[pyfunction]
fn metrics() -> Vec<&'static str> {
    Distance::ALL.iter().map(|d| d.name()).collect()
}

/// Whether `metric` satisfies the triangle inequality between subspaces of one dimension.
#[pyfunction]
fn is_metric(metric: &str) -> PyResult<bool> {
    let metric: Distance = metric.parse().map_err(to_py)?;
    Ok(metric.is_metric())
}

/// The blake3 of `data` in hex, as the store's checksums record it.
#[pyfunction]
fn blake3_hex(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // As in the subbench binary: OpenBLAS on the calling thread only, so that results do not
    // depend on the thread count (and no pool competes with the caller's own parallelism).
    subspace::force_single_threaded_blas();
    m.add_function(wrap_pyfunction!(principal_angles, m)?)?;
    m.add_function(wrap_pyfunction!(distance, m)?)?;
    m.add_function(wrap_pyfunction!(metrics, m)?)?;
    m.add_function(wrap_pyfunction!(is_metric, m)?)?;
    m.add_function(wrap_pyfunction!(blake3_hex, m)?)?;
    m.add("GRAM_CONDITION_LIMIT", subspace::GRAM_CONDITION_LIMIT)?;
    m.add("BLAS_CORE", subspace::blas_core_name())?;
    Ok(())
}
