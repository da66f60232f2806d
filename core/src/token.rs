//! Continuation tokens: how a job hands its progress to the next job of the same
//! action execution (CodePipeline stores the token and gives it back verbatim).
//!
//! Format `pc1.<payload>.<check>`: `pc1` names the format version, `payload`
//! is base64url (no padding) of a small JSON envelope, `check` is base64url of
//! the first 8 bytes of SHA-256 over the payload JSON, so a truncated or
//! edited token is refused instead of misread. The whole token is at most
//! 2048 characters (`continuationToken`'s limit). The envelope carries only
//! what cannot be re-read from AWS: which pipeline execution it belongs to,
//! how many jobs came before, when the first started, and the release
//! engine's own state.
//!
//! Pure; knows nothing about jobs beyond these fields.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::report::TOKEN_MAX;

/// The format version this worker writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// What a continuation token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<S> {
    /// `pipelineExecutionId` the token was issued in; a token presented in
    /// another execution is refused.
    #[serde(rename = "x")]
    pub pipeline_execution_id: String,
    /// How many jobs of this action execution ended with a token so far.
    #[serde(rename = "n")]
    pub continuations: u32,
    /// When the first job of this action execution started (ms since the epoch).
    #[serde(rename = "t")]
    pub started_ms: u64,
    /// The release engine's state.
    #[serde(rename = "s")]
    pub state: S,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the continuation token was not written by pipeline-canary")]
    Foreign,
    #[error(
        "the continuation token was written by a newer pipeline-canary (token format {0}, this worker reads up to {FORMAT_VERSION}); upgrade this worker"
    )]
    Newer(u32),
    #[error("the continuation token is corrupted (truncated or modified): {0}")]
    Corrupt(String),
    #[error(
        "the continuation token would be {0} characters; CodePipeline accepts at most {TOKEN_MAX}"
    )]
    TooLong(usize),
}

fn check(json: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(json)[..8])
}

/// Encodes an envelope, or `TooLong` when it does not fit in 2048 characters.
pub fn encode<S: Serialize>(env: &Envelope<S>) -> Result<String, TokenError> {
    let json = serde_json::to_vec(env).map_err(|e| TokenError::Corrupt(e.to_string()))?;
    let token = format!(
        "pc{FORMAT_VERSION}.{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        check(&json)
    );
    if token.len() > TOKEN_MAX {
        return Err(TokenError::TooLong(token.len()));
    }
    Ok(token)
}

/// Decodes a token written by [`encode`] (this or an older format version).
pub fn decode<S: DeserializeOwned>(token: &str) -> Result<Envelope<S>, TokenError> {
    let (head, rest) = token.split_once('.').ok_or(TokenError::Foreign)?;
    let version: u32 = head
        .strip_prefix("pc")
        .and_then(|v| v.parse().ok())
        .ok_or(TokenError::Foreign)?;
    if version > FORMAT_VERSION {
        return Err(TokenError::Newer(version));
    }
    if version == 0 {
        return Err(TokenError::Foreign);
    }
    let (payload, sum) = rest
        .split_once('.')
        .ok_or_else(|| TokenError::Corrupt("missing checksum".into()))?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| TokenError::Corrupt(format!("payload is not base64url: {e}")))?;
    if check(&json) != sum {
        return Err(TokenError::Corrupt("checksum mismatch".into()));
    }
    serde_json::from_slice(&json).map_err(|e| TokenError::Corrupt(format!("payload: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct St {
        step: u32,
        done: Vec<String>,
    }

    fn env() -> Envelope<St> {
        Envelope {
            pipeline_execution_id: "2b0e8f3c-0000-4000-8000-000000000001".into(),
            continuations: 3,
            started_ms: 1_700_000_000_000,
            state: St {
                step: 2,
                done: vec!["fn-a".into(), "fn-b".into()],
            },
        }
    }

    #[test]
    fn round_trips() {
        let t = encode(&env()).unwrap();
        assert!(t.starts_with("pc1."), "{t}");
        assert!(t.len() <= TOKEN_MAX);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert_eq!(decode::<St>(&t).unwrap(), env());
    }

    #[test]
    fn refuses_tampered_truncated_foreign_and_newer_tokens() {
        let t = encode(&env()).unwrap();
        // Truncated anywhere.
        for cut in [t.len() - 1, t.len() - 12, 10, 4] {
            assert!(
                matches!(decode::<St>(&t[..cut]), Err(TokenError::Corrupt(_))),
                "cut at {cut}"
            );
        }
        // One payload character changed.
        let mut b = t.clone().into_bytes();
        b[8] = if b[8] == b'A' { b'B' } else { b'A' };
        let e = decode::<St>(std::str::from_utf8(&b).unwrap()).unwrap_err();
        assert_eq!(e, TokenError::Corrupt("checksum mismatch".into()));
        // A well-formed payload of the wrong shape.
        let json = br#"{"x":"e","n":1,"t":0,"s":{"other":1}}"#;
        let forged = format!("pc1.{}.{}", URL_SAFE_NO_PAD.encode(json), check(json));
        assert!(
            matches!(decode::<St>(&forged), Err(TokenError::Corrupt(m)) if m.starts_with("payload"))
        );
        assert_eq!(decode::<St>("hello"), Err(TokenError::Foreign));
        assert_eq!(decode::<St>("abc.def.ghi"), Err(TokenError::Foreign));
        let newer = t.replacen("pc1.", "pc2.", 1);
        let e = decode::<St>(&newer).unwrap_err();
        assert_eq!(e, TokenError::Newer(2));
        assert!(e.to_string().contains("upgrade this worker"));
    }

    #[test]
    fn refuses_to_write_more_than_2048_characters() {
        let mut e = env();
        e.state.done = (0..200).map(|i| format!("function-{i}")).collect();
        assert!(matches!(encode(&e), Err(TokenError::TooLong(n)) if n > TOKEN_MAX));
    }
}
