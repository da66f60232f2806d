//! Lambda's API request-rate quotas, which AWS enforces per account and
//! region and which cannot be increased ("Lambda quotas", API requests):
//! GetFunction 100 requests/s; GetPolicy 15 requests/s; the remainder of
//! the control plane (every API but invocation, GetFunction and GetPolicy)
//! 15 requests/s across all APIs together, not per API. Invoke is not
//! metered here (its limits are concurrency, which the sim does not model).
//!
//! Each group is a token bucket in **real** time (quotas are about request
//! rates, not simulated time), refilled at the group's rate and holding
//! `burst_seconds` of it (AWS does not document its burst; default one
//! second's worth), starting full. A request that finds its bucket empty
//! is answered 429 `TooManyRequestsException` with `Type: User`,
//! `Reason: CallerRateLimitExceeded`, `message: Rate exceeded` and a
//! `Retry-After` header (whole seconds until a token is back, at least 1);
//! it takes no token. The sim has one account: buckets are per region.
//!
//! On by default; [`super::Lambda::set_request_quota`] (or
//! `POST /_sim/lambda/quota`) changes or disables it. Knows no operation
//! handler.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The rates (requests per second) and burst of the quota.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RequestQuota {
    /// Every control-plane API together (not invocation, GetFunction, GetPolicy).
    pub control_plane: f64,
    pub get_function: f64,
    pub get_policy: f64,
    /// How many seconds of its rate a bucket holds (the burst).
    pub burst_seconds: f64,
}

impl Default for RequestQuota {
    /// AWS's documented quotas.
    fn default() -> Self {
        RequestQuota {
            control_plane: 15.0,
            get_function: 100.0,
            get_policy: 15.0,
            burst_seconds: 1.0,
        }
    }
}

impl RequestQuota {
    /// An error naming the bad field, for the control API.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("controlPlane", self.control_plane),
            ("getFunction", self.get_function),
            ("getPolicy", self.get_policy),
            ("burstSeconds", self.burst_seconds),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(format!("{name} must be a number > 0, got {v}"));
            }
        }
        Ok(())
    }

    fn rate(&self, g: Group) -> Option<f64> {
        match g {
            Group::GetFunction => Some(self.get_function),
            Group::GetPolicy => Some(self.get_policy),
            Group::ControlPlane => Some(self.control_plane),
            Group::Unmetered => None,
        }
    }
}

/// Which quota an operation counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    GetFunction,
    GetPolicy,
    ControlPlane,
    /// Invocation.
    Unmetered,
}

pub fn group(operation: &str) -> Group {
    match operation {
        "GetFunction" => Group::GetFunction,
        "GetPolicy" => Group::GetPolicy,
        "Invoke" | "InvokeAsync" | "InvokeWithResponseStream" => Group::Unmetered,
        _ => Group::ControlPlane,
    }
}

/// One token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(capacity: f64, now: Instant) -> Self {
        Bucket {
            tokens: capacity,
            at: now,
        }
    }

    /// Takes a token at `now`, or says how long until one is back.
    pub fn take(&mut self, rate: f64, capacity: f64, now: Instant) -> Result<(), Duration> {
        let capacity = capacity.max(1.0);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.at = now.max(self.at);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

/// The buckets of every region, and the settings (`None`: not enforced).
#[derive(Debug)]
pub struct Quotas {
    settings: Option<RequestQuota>,
    buckets: HashMap<(String, Group), Bucket>,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            settings: Some(RequestQuota::default()),
            buckets: HashMap::new(),
        }
    }
}

impl Quotas {
    pub fn settings(&self) -> Option<RequestQuota> {
        self.settings
    }

    /// New settings; every bucket starts full again.
    pub fn set(&mut self, settings: Option<RequestQuota>) {
        self.settings = settings;
        self.buckets.clear();
    }

    /// Admits `operation` in `region` at `now`, or answers the time until
    /// a token is back.
    pub fn admit(&mut self, region: &str, operation: &str, now: Instant) -> Result<(), Duration> {
        let Some(q) = self.settings else {
            return Ok(());
        };
        let g = group(operation);
        let Some(rate) = q.rate(g) else {
            return Ok(());
        };
        let capacity = rate * q.burst_seconds;
        self.buckets
            .entry((region.to_string(), g))
            .or_insert_with(|| Bucket::full(capacity.max(1.0), now))
            .take(rate, capacity, now)
    }
}

/// The `Retry-After` value for a wait: whole seconds, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(group("GetFunction"), Group::GetFunction);
        assert_eq!(group("GetPolicy"), Group::GetPolicy);
        assert_eq!(group("Invoke"), Group::Unmetered);
        for op in [
            "GetAlias",
            "UpdateFunctionCode",
            "PublishVersion",
            "GetFunctionConfiguration",
            "ListVersionsByFunction",
            "CreateFunction",
        ] {
            assert_eq!(group(op), Group::ControlPlane, "{op}");
        }
    }

    #[test]
    fn fifteen_a_second_across_the_control_plane() {
        let mut q = Quotas::default();
        let t0 = Instant::now();
        // A full bucket: 15 at once, whatever the API.
        for i in 0..15 {
            let op = if i % 2 == 0 {
                "GetAlias"
            } else {
                "PublishVersion"
            };
            assert_eq!(q.admit("eu-west-1", op, t0), Ok(()), "call {i}");
        }
        let wait = q.admit("eu-west-1", "UpdateFunctionCode", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0 / 15.0).abs() < 1e-6, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // The throttled call took no token: one is back after 1/15 s.
        let t1 = t0 + Duration::from_millis(67);
        assert_eq!(q.admit("eu-west-1", "GetAlias", t1), Ok(()));
        assert!(q.admit("eu-west-1", "GetAlias", t1).is_err());
        // GetFunction has its own 100/s; another region its own buckets;
        // Invoke is not metered.
        for _ in 0..100 {
            assert_eq!(q.admit("eu-west-1", "GetFunction", t1), Ok(()));
        }
        assert!(q.admit("eu-west-1", "GetFunction", t1).is_err());
        assert_eq!(q.admit("us-east-1", "GetAlias", t1), Ok(()));
        for _ in 0..1000 {
            assert_eq!(q.admit("eu-west-1", "Invoke", t1), Ok(()));
        }
        // A quiet second refills the bucket, no further than its capacity.
        let t2 = t1 + Duration::from_secs(10);
        for _ in 0..15 {
            assert_eq!(q.admit("eu-west-1", "GetAlias", t2), Ok(()));
        }
        assert!(q.admit("eu-west-1", "GetAlias", t2).is_err());
    }

    #[test]
    fn switched_off_or_changed() {
        let mut q = Quotas::default();
        let t0 = Instant::now();
        q.set(None);
        for _ in 0..1000 {
            assert_eq!(q.admit("eu-west-1", "GetAlias", t0), Ok(()));
        }
        q.set(Some(RequestQuota {
            control_plane: 2.0,
            burst_seconds: 2.0,
            ..Default::default()
        }));
        for _ in 0..4 {
            assert_eq!(q.admit("eu-west-1", "GetAlias", t0), Ok(()));
        }
        let wait = q.admit("eu-west-1", "GetAlias", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(
            RequestQuota {
                get_function: 0.0,
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .contains("getFunction")
        );
    }
}
