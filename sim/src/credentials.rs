//! Temporary credentials the sim issues with CodePipeline jobs (the job's
//! `artifactCredentials`), and the access rule they enforce: a pipeline's
//! artifact bucket accepts only these credentials, and they expire after
//! `--credential-ttl` of **real** time (as STS credentials do, whatever the
//! simulated clock says).
//!
//! This module knows nothing about HTTP or S3 operations; S3 asks it whether a
//! principal may touch a bucket.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::error::AwsError;

/// A set of temporary credentials. `Debug` redacts the secrets.
#[derive(Clone)]
pub struct TempCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Buckets these credentials may access.
    pub buckets: Vec<String>,
    pub expires: Instant,
}

impl std::fmt::Debug for TempCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("buckets", &self.buckets)
            .finish()
    }
}

/// Issued credentials and the buckets that only accept them.
#[derive(Debug)]
pub struct CredentialStore {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    issued: HashMap<String, TempCredentials>,
    /// Pipeline artifact buckets: only issued credentials may access them.
    protected: HashSet<String>,
}

/// Who is calling S3, as far as bucket access is concerned.
#[derive(Debug)]
pub enum Principal<'a> {
    /// Unsigned request.
    Anonymous,
    /// Any access key the sim did not issue ("the user's own credentials").
    Account,
    /// Credentials issued with a job.
    Job(&'a TempCredentials),
}

impl CredentialStore {
    pub fn new(ttl: Duration) -> Self {
        CredentialStore {
            ttl,
            inner: Mutex::default(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues fresh credentials scoped to `buckets`, valid for the TTL.
    pub fn issue(&self, buckets: &[String]) -> TempCredentials {
        let mut rng = rand::rng();
        let akid = format!("ASIASIM{}", random_upper(&mut rng, 13));
        let creds = TempCredentials {
            access_key_id: akid.clone(),
            secret_access_key: random_token(&mut rng, 40),
            session_token: format!("FwoGZXIvYXdzE{}", random_token(&mut rng, 180)),
            buckets: buckets.to_vec(),
            expires: Instant::now() + self.ttl,
        };
        crate::lock(&self.inner).issued.insert(akid, creds.clone());
        creds
    }

    /// Looks up credentials the sim issued, expired or not.
    pub fn lookup(&self, access_key_id: &str) -> Option<TempCredentials> {
        crate::lock(&self.inner).issued.get(access_key_id).cloned()
    }

    /// Every set of credentials issued so far, expired or not (for tests that
    /// scan logs and results for leaked secrets).
    pub fn issued(&self) -> Vec<TempCredentials> {
        crate::lock(&self.inner).issued.values().cloned().collect()
    }

    /// Marks a bucket as a pipeline artifact store.
    pub fn protect_bucket(&self, bucket: &str) {
        crate::lock(&self.inner)
            .protected
            .insert(bucket.to_string());
    }

    pub fn is_protected(&self, bucket: &str) -> bool {
        crate::lock(&self.inner).protected.contains(bucket)
    }

    /// The access rule for `bucket`: artifact buckets accept only unexpired job
    /// credentials scoped to them; job credentials work on no other bucket.
    /// (The signature of job credentials is verified by the caller, which has
    /// the request.)
    pub fn check_bucket_access(
        &self,
        principal: &Principal<'_>,
        bucket: &str,
    ) -> Result<(), AwsError> {
        let protected = self.is_protected(bucket);
        match principal {
            Principal::Job(c) => {
                if Instant::now() >= c.expires {
                    return Err(AwsError::bad_request(
                        "ExpiredToken",
                        "The provided token has expired.",
                    ));
                }
                if c.buckets.iter().any(|b| b == bucket) {
                    Ok(())
                } else {
                    Err(AwsError::access_denied(
                        "AccessDenied",
                        format!(
                            "Access Denied: job artifact credentials are not valid for bucket {bucket}"
                        ),
                    ))
                }
            }
            Principal::Account | Principal::Anonymous if protected => Err(AwsError::access_denied(
                "AccessDenied",
                format!(
                    "Access Denied: {bucket} is a pipeline artifact store; only the artifact credentials issued with a job may access it"
                ),
            )),
            Principal::Anonymous => Err(AwsError::access_denied("AccessDenied", "Access Denied")),
            Principal::Account => Ok(()),
        }
    }
}

fn random_upper(rng: &mut impl Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..n)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

fn random_token(rng: &mut impl Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..n)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_bucket_accepts_only_job_credentials() {
        let s = CredentialStore::new(Duration::from_secs(60));
        s.protect_bucket("art");
        let c = s.issue(&["art".into()]);
        assert!(s.check_bucket_access(&Principal::Job(&c), "art").is_ok());
        assert_eq!(
            s.check_bucket_access(&Principal::Account, "art")
                .unwrap_err()
                .code,
            "AccessDenied"
        );
        assert_eq!(
            s.check_bucket_access(&Principal::Job(&c), "other")
                .unwrap_err()
                .code,
            "AccessDenied"
        );
        assert!(s.check_bucket_access(&Principal::Account, "other").is_ok());
        assert!(!format!("{c:?}").contains(&c.secret_access_key));
        assert!(!format!("{c:?}").contains(&c.session_token));
    }

    #[test]
    fn credentials_expire() {
        let s = CredentialStore::new(Duration::from_millis(1));
        let c = s.issue(&["art".into()]);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            s.check_bucket_access(&Principal::Job(&c), "art")
                .unwrap_err()
                .code,
            "ExpiredToken"
        );
    }
}
