//! The registry of every method this binary can run. A paper crate contributes its methods with
//! one `register` call here.

use harness::Registry;

pub fn registry() -> Registry {
    let mut registry = Registry::new();
    attack::register(&mut registry);
    csl::register(&mut registry);
    colora::register(&mut registry);
    layerwise::register(&mut registry);
    shifcon::register(&mut registry);
    #[cfg(feature = "testkit")]
    harness::testkit::register(&mut registry);
    registry
}
