//! Real data sets, compiled into the binary so that a method reading them is still a pure
//! function of its parameters (no file access, nothing to download).
//!
//! `digits`: the UCI "Optical Recognition of Handwritten Digits" data set (E. Alpaydin,
//! C. Kaynak, 1998; test split as distributed with scikit-learn), CC BY 4.0: 1797 images of
//! 8×8 pixels with values 0–16, and their labels 0–9. The file is `data/digits.csv.gz`.
//!
//! `npy`: a guard for `.npy` files that users hand to subbench (matrices, hidden states).

pub mod npy;

use std::io::Read;
use std::sync::OnceLock;

use flate2::read::GzDecoder;
use ndarray::Array2;

const DIGITS_GZ: &[u8] = include_bytes!("../../../data/digits.csv.gz");

/// Pixels per digit image.
pub const DIGIT_PIXELS: usize = 64;

/// The digits: images as rows of 64 pixels (1797 × 64), and their labels.
pub fn digits() -> &'static (Array2<f64>, Vec<usize>) {
    static DATA: OnceLock<(Array2<f64>, Vec<usize>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut text = String::new();
        GzDecoder::new(DIGITS_GZ)
            .read_to_string(&mut text)
            .expect("the embedded data set is valid gzip text");
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let values: Vec<f64> = line
                .split(',')
                .map(|v| v.trim().parse().expect("the embedded data set is numeric"))
                .collect();
            assert_eq!(
                values.len(),
                DIGIT_PIXELS + 1,
                "64 pixels and a label per row"
            );
            pixels.extend_from_slice(&values[..DIGIT_PIXELS]);
            labels.push(values[DIGIT_PIXELS] as usize);
        }
        (
            Array2::from_shape_vec((labels.len(), DIGIT_PIXELS), pixels).expect("rows × 64"),
            labels,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_digits_are_complete() {
        let (images, labels) = digits();
        assert_eq!(images.dim(), (1797, 64));
        assert!((0..10).all(|c| labels.iter().filter(|&&l| l == c).count() > 150));
        assert!(images.iter().all(|&v| (0.0..=16.0).contains(&v)));
    }
}
