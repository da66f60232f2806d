//! The pure half of the release engine: planning (`plan`), the manifest's
//! bundles (`bundle`), when a job watching a shift looks again (`watch`),
//! and what travels between jobs (`state`).

pub mod bundle;
pub mod plan;
pub mod watch;
