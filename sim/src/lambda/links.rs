//! GetFunction's `Code.Location`: a presigned-style URL on the sim's own
//! listener that serves the exact zip of the version (or `$LATEST`) that was
//! read, and expires like AWS's (botocore's `FunctionCodeLocation.Location`:
//! "A presigned URL that you can use to download the deployment package";
//! AWS's is an S3 presigned URL with `X-Amz-Expires=600`, valid 10 minutes of
//! real time). The URL's `X-Amz-Signature` is its credential: a request
//! without the right one, or after the expiry, gets S3's 403. Knows nothing
//! of functions or versions: it is handed bytes and a host.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a code location stays downloadable (AWS: 10 minutes).
pub const CODE_LOCATION_TTL: Duration = Duration::from_secs(600);
/// The path prefix the sim serves code locations under.
pub const PATH_PREFIX: &str = "/_sim/lambda/code/";

#[derive(Debug)]
struct Link {
    signature: String,
    bytes: Arc<[u8]>,
    expires: Instant,
}

/// Why a download was refused (S3's 403 `AccessDenied` with this message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Expired,
    Denied,
}

/// Every code location issued and not yet expired, by its path token.
#[derive(Debug, Default)]
pub struct Links {
    links: HashMap<String, Link>,
    /// Every signature ever issued (the e2e log scan looks for them).
    issued: Vec<String>,
}

impl Links {
    /// A new URL for `bytes`, reached at `http://{host}`; issued at `now`.
    pub fn issue(&mut self, host: &str, key_name: &str, bytes: Arc<[u8]>, now: Instant) -> String {
        self.links.retain(|_, l| l.expires > now);
        let token = uuid::Uuid::new_v4().simple().to_string();
        let signature = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let url = format!(
            "http://{host}{PATH_PREFIX}{token}/{key_name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-SignedHeaders=host&X-Amz-Expires={}&X-Amz-Signature={signature}",
            CODE_LOCATION_TTL.as_secs()
        );
        self.issued.push(signature.clone());
        self.links.insert(
            token,
            Link {
                signature,
                bytes,
                expires: now + CODE_LOCATION_TTL,
            },
        );
        url
    }

    /// The zip behind `path` (under [`PATH_PREFIX`]) with `signature`, at `now`.
    pub fn get(
        &self,
        path: &str,
        signature: Option<&str>,
        now: Instant,
    ) -> Result<Arc<[u8]>, Refused> {
        let token = path
            .strip_prefix(PATH_PREFIX)
            .and_then(|rest| rest.split('/').next())
            .ok_or(Refused::Denied)?;
        let link = self.links.get(token).ok_or(Refused::Denied)?;
        if signature != Some(link.signature.as_str()) {
            return Err(Refused::Denied);
        }
        if now >= link.expires {
            return Err(Refused::Expired);
        }
        Ok(link.bytes.clone())
    }

    /// Every signature issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.issued.clone()
    }

    /// Makes every issued link expire now (tests of the expiry path).
    pub fn expire_all(&mut self, now: Instant) {
        for l in self.links.values_mut() {
            l.expires = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, String) {
        let rest = url.strip_prefix("http://h:1").unwrap();
        let (path, query) = rest.split_once('?').unwrap();
        let sig = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("X-Amz-Signature="))
            .unwrap();
        (path.to_string(), sig.to_string())
    }

    #[test]
    fn serves_the_bytes_with_the_signature_until_it_expires() {
        let mut l = Links::default();
        let t0 = Instant::now();
        let url = l.issue("h:1", "f-abc", Arc::from(&b"zip"[..]), t0);
        assert!(url.contains("X-Amz-Expires=600"));
        let (path, sig) = parts(&url);
        assert_eq!(&*l.get(&path, Some(&sig), t0).unwrap(), b"zip");
        assert_eq!(l.get(&path, Some("forged"), t0), Err(Refused::Denied));
        assert_eq!(l.get(&path, None, t0), Err(Refused::Denied));
        assert_eq!(
            l.get(&path, Some(&sig), t0 + CODE_LOCATION_TTL),
            Err(Refused::Expired)
        );
        assert_eq!(l.issued(), vec![sig]);
    }
}
