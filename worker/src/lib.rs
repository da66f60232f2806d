//! pipeline-canary: a CodePipeline custom action worker that releases AWS
//! Lambda functions with CodeDeploy canary/linear traffic shifting, watched by
//! CloudWatch alarms, all-or-nothing per release.
//!
//! See ARCHITECTURE.md for the code map.

pub mod artifact;
pub mod aws;
pub mod bundle;
pub mod canary;
pub mod codepipeline;
pub mod config;
pub mod definition;
pub mod engine;
pub mod job;
pub mod machine;
pub mod manifest;
pub mod register;
pub mod release;
pub mod report;
pub mod runtime;
pub mod telemetry;
pub mod token;

pub use config::WorkerConfig;
pub use engine::{Decision, EngineError, NoReleaseEngine, ReleaseEngine};
pub use runtime::{RunSummary, Worker};
