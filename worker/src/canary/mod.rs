//! The canary orchestration: the core's pure pre-flight and shift decisions
//! (`pipeline_canary_core::canary`, re-exported here) and [`adapters`], the
//! SDK side that performs their actions.

pub use pipeline_canary_core::canary::*;

pub mod adapters;

pub use adapters::CanaryAdapters;
