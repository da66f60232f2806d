//! pipeline-canary: a CodePipeline custom action worker that releases AWS
//! Lambda functions with CodeDeploy canary/linear traffic shifting, watched by
//! CloudWatch alarms, all-or-nothing per release.
//!
//! See ARCHITECTURE.md for the code map.

pub mod aws;
