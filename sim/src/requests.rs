//! The request log behind `GET /_sim/requests`: one record per AWS call
//! (service, operation, status, error code, time), so tests and benchmarks can
//! count API calls and prove that nothing was mutated. It knows no service.

use std::sync::Mutex;

use serde::Serialize;

/// One AWS call as the sim answered it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Simulated time of arrival, seconds since the Unix epoch.
    pub time: f64,
    /// Real milliseconds since the sim started.
    pub real_ms: u64,
    pub service: String,
    pub operation: String,
    pub region: String,
    pub status: u16,
    /// AWS error code when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Access key id of the caller (never the secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Whether the answer came from an injected fault.
    pub injected: bool,
    /// The request's path, percent-encoded as sent (S3 path-style:
    /// `/bucket/key`; virtual-hosted requests name the bucket in the host).
    pub path: String,
}

/// Append-only log of AWS calls.
#[derive(Debug, Default)]
pub struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
}

impl RequestLog {
    pub fn push(&self, mut r: RequestRecord) {
        let mut v = crate::lock(&self.records);
        r.seq = v.len() as u64;
        v.push(r);
    }

    /// Records from `since` (a `seq`) on, optionally filtered.
    pub fn query(
        &self,
        since: u64,
        service: Option<&str>,
        operation: Option<&str>,
    ) -> Vec<RequestRecord> {
        let v = crate::lock(&self.records);
        v.iter()
            .skip(since as usize)
            .filter(|r| service.is_none_or(|s| r.service == s))
            .filter(|r| operation.is_none_or(|o| r.operation == o))
            .cloned()
            .collect()
    }

    /// Number of records so far (the `seq` the next one gets).
    pub fn len(&self) -> u64 {
        crate::lock(&self.records).len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
