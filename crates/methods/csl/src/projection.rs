//! The Johnson–Lindenstrauss family a method compresses with, as a spec names it.

use subspace::Projection;

harness::choice! {
    /// JL family: gaussian, rademacher, achlioptas, sparse (very sparse, s = √N), srht.
    pub enum Family {
        /// Entries N(0, 1/n).
        Gaussian = "gaussian",
        /// Entries ±1/√n.
        Rademacher = "rademacher",
        /// Achlioptas' sparse signs, s = 3.
        Achlioptas = "achlioptas",
        /// Very sparse signs (Li, Hastie & Church), s = √N.
        Sparse = "sparse",
        /// Subsampled randomised Hadamard transform.
        Srht = "srht",
    }
}

impl Family {
    /// The `subspace` crate's projection of this family (the same name on both sides).
    pub fn projection(self) -> Projection {
        match self {
            Family::Gaussian => Projection::Gaussian,
            Family::Rademacher => Projection::Rademacher,
            Family::Achlioptas => Projection::Achlioptas,
            Family::Sparse => Projection::Sparse,
            Family::Srht => Projection::Srht,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec's word for a family is the `subspace` crate's name of the projection it builds.
    #[test]
    fn every_family_has_one_name_on_both_sides() {
        for family in Family::ALL {
            assert_eq!(family.projection().name(), family.name());
            assert_eq!(
                family.name().parse::<Projection>().unwrap(),
                family.projection()
            );
        }
        assert_eq!(Family::ALL.len(), Projection::ALL.len());
    }
}
