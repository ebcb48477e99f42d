//! Reading a dense f64 matrix from a `.npy` or headerless `.csv` file, with errors that name the
//! file, the place and what would be accepted.

use std::path::Path;

use ndarray::Array2;
use ndarray_npy::{ReadNpyError, ReadNpyExt};

use crate::user_error::UserError;

/// Matrix files larger than this are refused (a principal-angle problem of 2^31 bytes is far
/// beyond what the command is for, and the whole file is held in memory).
const MAX_MATRIX_BYTES: u64 = 1 << 31;

/// Read `path` as a 2-D f64 matrix. `.npy` must hold float64 (either memory order); any other
/// extension is read as headerless CSV with one row per line.
pub fn read_matrix(path: &Path) -> Result<Array2<f64>, UserError> {
    let shown = path.display();
    // Regular files only, read after their size is known: /dev/zero as a CSV aborted on a 4 GB
    // allocation, and as .npy read until memory ran out.
    let bytes = harness::input::read_regular(path, MAX_MATRIX_BYTES)
        .map_err(|why| UserError::new(format!("{shown}: {why}")))?;
    let matrix = match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => {
            datasets::npy::check_npy_size(&bytes)
                .map_err(|why| UserError::new(format!("{shown}: {why}")))?;
            read_npy(&bytes[..], &shown.to_string())?
        }
        _ => read_csv(&bytes[..], &shown.to_string())?,
    };
    if matrix.is_empty() {
        return Err(UserError::new(format!(
            "{shown}: the matrix is empty ({} × {}); expected n × k with n, k ≥ 1",
            matrix.nrows(),
            matrix.ncols()
        )));
    }
    if let Some(((row, col), value)) = matrix.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(UserError::new(format!(
            "{shown}: entry at row {}, column {} is {value}; every entry must be finite",
            row + 1,
            col + 1
        )));
    }
    Ok(matrix)
}

fn read_npy(reader: impl std::io::Read, shown: &str) -> Result<Array2<f64>, UserError> {
    Array2::<f64>::read_npy(reader).map_err(|e| {
        let why = match e {
            ReadNpyError::WrongDescriptor(descr) => format!(
                "holds dtype {descr}; expected a 2-D float64 array ('<f8'), e.g. np.save(path, a.astype(np.float64))"
            ),
            ReadNpyError::WrongNdim(_, got) => {
                format!("is a {got}-D array; expected a 2-D array (rows × columns)")
            }
            other => format!("is not a readable .npy file: {other}"),
        };
        UserError::new(format!("{shown}: {why}"))
    })
}

fn read_csv(reader: impl std::io::Read, shown: &str) -> Result<Array2<f64>, UserError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(reader);
    let mut values = Vec::new();
    let mut width = None;
    let mut rows = 0;
    for record in csv.records() {
        let record = record.map_err(|e| UserError::new(format!("{shown}: not valid CSV: {e}")))?;
        let line = record.position().map_or(rows + 1, |p| p.line() as usize);
        if record.len() == 1 && record[0].is_empty() {
            continue; // blank line
        }
        match width {
            None => width = Some(record.len()),
            Some(w) if w != record.len() => {
                return Err(UserError::new(format!(
                    "{shown}:{line}: row has {} values but the first row has {w}; every row needs the same count",
                    record.len()
                )))
            }
            Some(_) => {}
        }
        for (col, field) in record.iter().enumerate() {
            let value: f64 = field.parse().map_err(|_| {
                UserError::new(format!(
                    "{shown}:{line}: column {} is '{field}', not a number; expected headerless numeric CSV",
                    col + 1
                ))
            })?;
            values.push(value);
        }
        rows += 1;
    }
    let cols = width.unwrap_or(0);
    Ok(Array2::from_shape_vec((rows, cols), values).expect("rows × cols values were pushed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Array2<f64>, UserError> {
        read_csv(text.as_bytes(), "m.csv")
    }

    #[test]
    fn reads_rows_and_skips_blank_lines_and_comments() {
        let m = csv("# basis\n1, 2\n\n3,4e-3\n").unwrap();
        assert_eq!(m, ndarray::array![[1.0, 2.0], [3.0, 4e-3]]);
    }

    #[test]
    fn ragged_rows_name_the_line() {
        let e = csv("1,2\n3\n").unwrap_err().to_string();
        assert!(e.starts_with("m.csv:2: row has 1 values"), "{e}");
    }

    #[test]
    fn non_numbers_name_line_and_column() {
        let e = csv("1,2\n3,x\n").unwrap_err().to_string();
        assert!(e.starts_with("m.csv:2: column 2 is 'x'"), "{e}");
    }
}
