//! The engine through the rlib, linked like a benchmark or another crate would
//! link it. This also guards the `dyn-symbols` feature in Cargo.toml: without
//! it this binary fails to link ("undefined symbol: napi_…"); the unit tests
//! alone would not notice, because napi-derive leaves out its registrations
//! under `cfg(test)`.

use core_consensus::engine::{consensus, EngineError, Options};

#[test]
fn engine_runs_outside_the_addon() {
    let options = Options { threshold: 0.3, cosine_weight: 0.7, max_key_points: 5 };
    let texts = vec!["a b".to_string(), "c d".to_string()];
    let r = consensus(&texts, &[1.0, 1.0], &options).unwrap();
    assert_eq!(r.consensus, 0);
    assert_eq!(r.clusters.len(), 2);
    assert_eq!(r.cluster_of.len(), 2);
    assert_eq!(consensus(&texts, &[1.0], &options), Err(EngineError::LengthMismatch { texts: 2, weights: 1 }));
}
