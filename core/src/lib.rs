//! The pure core of pipeline-canary, in the way `quinn-proto` stands apart
//! from `quinn`: everything the worker decides, with no AWS SDK, no tokio
//! and no clock (time is an argument). The release manifest (native and
//! Serverless), the artifact checks (safe unzip, deterministic packaging,
//! `CodeSha256`), continuation tokens, the job state machine, the release
//! record and its phases, and the canary's pre-flight and shift decisions.
//! The worker crate (`pipeline-canary`) holds the adapters that perform
//! what this crate decides, and the runtime that drives it.
//!
//! Files are read and written only where the job is about files (unpacking
//! an artifact, packaging a bundle), synchronously; never over the network.

pub mod artifact;
pub mod bundle;
pub mod canary;
pub mod engine;
pub mod job;
pub mod ledger;
pub mod machine;
pub mod manifest;
pub mod release;
pub mod report;
pub mod token;
