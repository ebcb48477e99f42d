//! The registry of every method this binary can run. A paper crate contributes its methods with
//! one `register` call here, under the code identity `build.rs` derived from that crate's
//! sources; external methods (manifests named by a spec's `external:`) are loaded on demand.

use harness::Registry;

pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.with_code(env!("SUBBENCH_CODE_ATTACK"), attack::register);
    registry.with_code(env!("SUBBENCH_CODE_CSL"), csl::register);
    registry.with_code(env!("SUBBENCH_CODE_COLORA"), colora::register);
    registry.with_code(env!("SUBBENCH_CODE_LAYERWISE"), layerwise::register);
    registry.with_code(env!("SUBBENCH_CODE_SHIFCON"), shifcon::register);
    registry.with_code(env!("SUBBENCH_CODE_ANGLES"), angles::register);
    #[cfg(feature = "testkit")]
    registry.with_code(env!("SUBBENCH_CODE_TESTKIT"), harness::testkit::register);
    registry.set_external_loader(Box::new(|path, registry| {
        external::load(path, registry).map(|m| m as std::sync::Arc<dyn harness::Method>)
    }));
    registry
}
