//! pipeline-canary: a CodePipeline custom action worker that releases AWS
//! Lambda functions with CodeDeploy canary/linear traffic shifting, watched by
//! CloudWatch alarms, all-or-nothing per release.
//!
//! See ARCHITECTURE.md for the code map.

pub mod aws;
pub mod aws_error;
pub mod canary;
pub mod codepipeline;
pub mod config;
pub mod definition;
pub mod engine;
pub mod history;
pub mod job;
pub mod ledger;
pub mod memory;
pub mod register;
pub mod release;
pub mod runtime;
pub mod telemetry;

pub use pipeline_canary_core::{artifact, bundle, machine, manifest, report, token};

pub use config::WorkerConfig;
pub use engine::{Decision, EngineError, NoReleaseEngine, ReleaseEngine};
pub use runtime::{RunSummary, Worker};
