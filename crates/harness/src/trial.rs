//! A trial: one method run on one point of the sweep with one repetition index. Its identity is
//! a hash of what determines its result, and its random seed derives from that identity alone,
//! so a trial computes the same numbers whatever the thread count, shard or order.

use crate::param::Params;

/// Bumped only if the identity scheme changes (it invalidates every stored result).
const ID_SCHEME: &str = "subbench-trial-v1";

#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// 16 hex digits.
    pub id: String,
    /// Seed of the trial's ChaCha generator.
    pub seed: u64,
    pub method: String,
    pub params: Params,
    pub rep: u32,
}

impl Trial {
    /// `id = blake3(scheme, method, canonical params, rep, root seed)`; `seed` is the next 8 bytes.
    pub fn new(method: &str, params: &Params, rep: u32, root_seed: u64) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(ID_SCHEME.as_bytes());
        hasher.update(b"\nmethod=");
        hasher.update(method.as_bytes());
        for (name, value) in params.iter() {
            // BTreeMap order: canonical whatever order the spec wrote them in.
            hasher.update(format!("\n{name}={}", value.canonical()).as_bytes());
        }
        hasher.update(format!("\nrep={rep}\nroot_seed={root_seed}").as_bytes());
        let digest = hasher.finalize();
        let bytes = digest.as_bytes();
        let id = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let seed = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        Trial {
            id: format!("{id:016x}"),
            seed,
            method: method.to_string(),
            params: params.clone(),
            rep,
        }
    }

    /// The shard (of `count`) this trial belongs to: a stable function of its id.
    pub fn shard(&self, count: u32) -> u32 {
        let id = u64::from_str_radix(&self.id, 16).expect("ids are hex");
        (id % count as u64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use std::collections::BTreeMap;

    fn params(pairs: &[(&str, Value)]) -> Params {
        Params::checked_for_tests(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn identity_depends_on_everything_that_determines_the_result() {
        let p = params(&[("k", Value::Int(3)), ("eps", Value::Float(0.5))]);
        let base = Trial::new("m.a", &p, 0, 1);
        assert_eq!(base, Trial::new("m.a", &p, 0, 1));
        assert_ne!(base.id, Trial::new("m.b", &p, 0, 1).id);
        assert_ne!(base.id, Trial::new("m.a", &p, 1, 1).id);
        assert_ne!(base.id, Trial::new("m.a", &p, 0, 2).id);
        let q = params(&[
            ("k", Value::Int(3)),
            ("eps", Value::Float(0.5000000000000001)),
        ]);
        assert_ne!(base.id, Trial::new("m.a", &q, 0, 1).id);
        assert_ne!(base.seed, Trial::new("m.a", &p, 1, 1).seed);
    }

    /// Pinned: a change here silently orphans every stored result, so it must be deliberate.
    #[test]
    fn identity_is_stable_across_versions() {
        let p = params(&[("k", Value::Int(3))]);
        let t = Trial::new("test.quadratic", &p, 0, 0);
        assert_eq!(t.id, "d03c42641ac79feb");
        assert_eq!(t.seed, 13068039355100418490);
    }
}
