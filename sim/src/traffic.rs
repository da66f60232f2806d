//! Simulated traffic. STUB — being implemented (issue 3): invokes every alias
//! at `--traffic-rate` per simulated second through Lambda's routing and
//! records `AWS/Lambda` metrics in CloudWatch.

use std::sync::Arc;
use std::time::SystemTime;

use crate::{Config, Sim};

#[derive(Debug)]
pub struct Traffic {}

impl Traffic {
    pub fn new(_config: &Config) -> Self {
        Traffic {}
    }

    pub fn tick(&self, _sim: &Arc<Sim>, _now: SystemTime) {}
}

/// `POST /_sim/traffic`.
pub fn control(_sim: &Arc<Sim>, _body: &serde_json::Value) -> Result<serde_json::Value, String> {
    Err("not implemented".into())
}
