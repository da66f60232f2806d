//! Fuzzes continuation-token decoding (`token::decode`) with the state type
//! the worker really carries (`release::ReleaseState`), in two ways per input:
//! the bytes as a token (format, version, base64url, checksum checks), and
//! the bytes as the token's JSON payload, wrapped and checksummed as the
//! encoder does, so the envelope and the state's own decoders (function
//! records, shift slots, pre-flight) are reached too. Checks: no panic;
//! every accepted token re-encodes (or is refused as too long) to a token
//! that decodes again and is a fixed point (encode ∘ decode is idempotent),
//! so state accepted once survives every later hand-back; every refusal has
//! a message.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use pipeline_canary_core::release::ReleaseState;
use pipeline_canary_core::token::{self, Envelope, TokenError};
use sha2::{Digest, Sha256};

/// `pc1.<payload>.<check>` around `json`, as `token::encode` writes it.
fn wrap(json: &[u8]) -> String {
    format!(
        "pc1.{}.{}",
        URL_SAFE_NO_PAD.encode(json),
        URL_SAFE_NO_PAD.encode(&Sha256::digest(json)[..8])
    )
}

fn check(t: &str) {
    match token::decode::<ReleaseState>(t) {
        Ok(env) => check_round_trip(&env),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

fn check_round_trip(env: &Envelope<ReleaseState>) {
    let t2 = match token::encode(env) {
        Ok(t) => t,
        Err(TokenError::TooLong(_)) => return,
        Err(e) => panic!("an accepted envelope does not re-encode: {e}"),
    };
    let env2: Envelope<ReleaseState> = token::decode(&t2)
        .unwrap_or_else(|e| panic!("the re-encoded token {t2} does not decode: {e}"));
    let t3 = token::encode(&env2).expect("a decoded re-encoded token encodes");
    assert_eq!(t2, t3, "encode(decode(t)) is not a fixed point");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = std::str::from_utf8(data) {
        check(t);
    }
    check(&wrap(data));
});
