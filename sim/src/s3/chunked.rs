//! Streaming decoder of `Content-Encoding: aws-chunked` request bodies, as
//! current SDKs send PutObject/UploadPart payloads:
//!
//! - unsigned (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): `hex-size\r\ndata\r\n` …
//!   `0\r\n`, then trailers `name:value\r\n` and a final `\r\n`;
//! - signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): each chunk header
//!   is `hex-size;chunk-signature=SIG`, the final chunk is
//!   `0;chunk-signature=SIG\r\n`, and a trailer section may carry
//!   `x-amz-trailer-signature`.
//!
//! The decoder is push-based and keeps no more than one header line in
//! memory: the caller feeds network frames and receives decoded bytes. When
//! given a [`ChunkSigner`] (credentials the sim knows the secret of) it checks
//! every chunk signature and the trailer signature with `aws-sigv4`'s signing
//! primitives. It knows nothing about HTTP or storage.

use sha2::{Digest, Sha256};

use crate::error::AwsError;

/// Longest chunk header or trailer line accepted.
const MAX_LINE: usize = 8 * 1024;
/// Largest chunk size accepted (S3 itself limits chunks far below this).
const MAX_CHUNK: u64 = 1 << 32;

/// Computes the expected chunk and trailer signatures of a signed
/// aws-chunked body (the "seed" is the request's own signature).
pub struct ChunkSigner {
    signing_key: Vec<u8>,
    amz_date: String,
    scope: String,
    previous: String,
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigner")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl ChunkSigner {
    /// `amz_date` is the request's `x-amz-date`; `scope_date/region/service`
    /// come from its credential scope; `seed` is its signature.
    pub fn new(
        secret: &str,
        amz_date: &str,
        scope_date: &str,
        region: &str,
        service: &str,
        seed: &str,
    ) -> Option<ChunkSigner> {
        let time = crate::auth::parse_amz_date(amz_date)?;
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, time, region, service);
        Some(ChunkSigner {
            signing_key: key.as_ref().to_vec(),
            amz_date: amz_date.to_string(),
            scope: format!("{scope_date}/{region}/{service}/aws4_request"),
            previous: seed.to_string(),
        })
    }

    fn next(&mut self, algorithm: &str, payload_hash: &str) -> String {
        let string_to_sign = format!(
            "{algorithm}\n{}\n{}\n{}\n{payload_hash}",
            self.amz_date, self.scope, self.previous
        );
        let sig =
            aws_sigv4::sign::v4::calculate_signature(&self.signing_key, string_to_sign.as_bytes());
        self.previous = sig.clone();
        sig
    }

    /// The expected signature of a chunk whose data hashes to `chunk_sha256`.
    pub fn chunk(&mut self, chunk_sha256: &[u8]) -> String {
        let empty = hex::encode(Sha256::digest([]));
        let payload = format!("{empty}\n{}", hex::encode(chunk_sha256));
        self.next("AWS4-HMAC-SHA256-PAYLOAD", &payload)
    }

    /// The expected `x-amz-trailer-signature` over the trailer lines.
    pub fn trailer(&mut self, trailers: &[(String, String)]) -> String {
        let mut sorted: Vec<_> = trailers.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut canonical = String::new();
        for (k, v) in sorted {
            canonical.push_str(k);
            canonical.push(':');
            canonical.push_str(v.trim());
            canonical.push('\n');
        }
        let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
        self.next("AWS4-HMAC-SHA256-TRAILER", &hash)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a `size[;ext]` line.
    Header,
    /// Reading chunk data; `remaining` bytes left.
    Data,
    /// Expecting the `\r\n` after chunk data (how many of its 2 bytes seen).
    DataEnd(u8),
    /// Reading trailer lines until an empty one.
    Trailers,
    Done,
}

/// The push decoder. Feed it bytes with [`Decoder::feed`], then call
/// [`Decoder::finish`] at end of body.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    line: Vec<u8>,
    remaining: u64,
    /// Signature the current chunk header claimed.
    chunk_signature: Option<String>,
    /// Hash of the current chunk, when verifying.
    chunk_hash: Option<Sha256>,
    signer: Option<ChunkSigner>,
    trailers: Vec<(String, String)>,
    decoded: u64,
}

fn malformed(msg: &str) -> AwsError {
    AwsError::bad_request(
        "IncompleteBody",
        format!("The request body is not valid aws-chunked encoding: {msg}"),
    )
}

fn signature_mismatch() -> AwsError {
    AwsError::access_denied(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
}

impl Decoder {
    pub fn new(signer: Option<ChunkSigner>) -> Decoder {
        Decoder {
            state: State::Header,
            line: Vec::new(),
            remaining: 0,
            chunk_signature: None,
            chunk_hash: None,
            signer,
            trailers: Vec::new(),
            decoded: 0,
        }
    }

    /// Decoded bytes so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded
    }

    /// Decodes `input`, appending payload bytes to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), AwsError> {
        while !input.is_empty() {
            match self.state {
                State::Header | State::Trailers => {
                    let Some(line) = self.take_line(&mut input)? else {
                        return Ok(());
                    };
                    if self.state == State::Header {
                        self.header(&line)?;
                    } else {
                        self.trailer_line(&line)?;
                    }
                }
                State::Data => {
                    let n = (self.remaining.min(input.len() as u64)) as usize;
                    let (data, rest) = input.split_at(n);
                    out.extend_from_slice(data);
                    if let Some(h) = &mut self.chunk_hash {
                        h.update(data);
                    }
                    self.decoded += n as u64;
                    self.remaining -= n as u64;
                    input = rest;
                    if self.remaining == 0 {
                        self.end_chunk()?;
                        self.state = State::DataEnd(0);
                    }
                }
                State::DataEnd(seen) => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if input[0] != expected {
                        return Err(malformed("chunk data is not followed by CRLF"));
                    }
                    input = &input[1..];
                    self.state = if seen == 0 {
                        State::DataEnd(1)
                    } else {
                        State::Header
                    };
                }
                State::Done => {
                    if input.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                        return Ok(());
                    }
                    return Err(malformed("data after the final chunk"));
                }
            }
        }
        Ok(())
    }

    /// Ends the body: returns the trailers (lower-case names) when the
    /// encoding was complete.
    pub fn finish(mut self) -> Result<Vec<(String, String)>, AwsError> {
        match self.state {
            State::Done => {}
            // A final chunk without a trailer section or final CRLF.
            State::Trailers if self.line.is_empty() => self.check_trailer_signature()?,
            _ => return Err(malformed("the body ended before the final chunk")),
        }
        Ok(self
            .trailers
            .into_iter()
            .filter(|(k, _)| k != "x-amz-trailer-signature")
            .collect())
    }

    /// Takes one CRLF-terminated line from `input`, buffering partial lines.
    fn take_line(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, AwsError> {
        match input.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.line.extend_from_slice(&input[..i]);
                *input = &input[i + 1..];
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Ok(Some(line))
            }
            None => {
                self.line.extend_from_slice(input);
                *input = &[];
                if self.line.len() > MAX_LINE {
                    return Err(malformed("chunk header line too long"));
                }
                Ok(None)
            }
        }
    }

    fn header(&mut self, line: &[u8]) -> Result<(), AwsError> {
        let line = std::str::from_utf8(line).map_err(|_| malformed("chunk header is not ASCII"))?;
        let (size, ext) = line.split_once(';').unwrap_or((line, ""));
        let size = u64::from_str_radix(size.trim(), 16)
            .map_err(|_| malformed("chunk size is not hexadecimal"))?;
        if size > MAX_CHUNK {
            return Err(malformed("chunk too large"));
        }
        self.chunk_signature = ext
            .split(';')
            .find_map(|e| e.trim().strip_prefix("chunk-signature="))
            .map(str::to_string);
        if self.signer.is_some() {
            if self.chunk_signature.is_none() {
                return Err(signature_mismatch());
            }
            self.chunk_hash = Some(Sha256::new());
        }
        if size == 0 {
            self.end_chunk()?;
            self.state = State::Trailers;
        } else {
            self.remaining = size;
            self.state = State::Data;
        }
        Ok(())
    }

    /// Verifies the signature of the chunk just read (when verifying).
    fn end_chunk(&mut self) -> Result<(), AwsError> {
        if let (Some(signer), Some(hash)) = (&mut self.signer, self.chunk_hash.take()) {
            let expected = signer.chunk(&hash.finalize());
            if self.chunk_signature.as_deref() != Some(expected.as_str()) {
                return Err(signature_mismatch());
            }
        }
        Ok(())
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), AwsError> {
        if line.is_empty() {
            self.check_trailer_signature()?;
            self.state = State::Done;
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| malformed("trailer is not UTF-8"))?;
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| malformed("trailer line without ':'"))?;
        self.trailers
            .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        Ok(())
    }

    fn check_trailer_signature(&mut self) -> Result<(), AwsError> {
        let Some(signer) = &mut self.signer else {
            return Ok(());
        };
        let claimed = self
            .trailers
            .iter()
            .find(|(k, _)| k == "x-amz-trailer-signature")
            .map(|(_, v)| v.clone());
        let signed: Vec<(String, String)> = self
            .trailers
            .iter()
            .filter(|(k, _)| k != "x-amz-trailer-signature")
            .cloned()
            .collect();
        match claimed {
            None if signed.is_empty() => Ok(()),
            None => Err(signature_mismatch()),
            Some(c) if c == signer.trailer(&signed) => Ok(()),
            Some(_) => Err(signature_mismatch()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Decoded = (Vec<u8>, Vec<(String, String)>);

    fn decode_in_pieces(body: &[u8], piece: usize) -> Result<Decoded, AwsError> {
        let mut d = Decoder::new(None);
        let mut out = Vec::new();
        for p in body.chunks(piece) {
            d.feed(p, &mut out)?;
        }
        Ok((out, d.finish()?))
    }

    #[test]
    fn unsigned_with_trailer() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        for piece in [1, 2, 3, 7, 100] {
            let (out, trailers) = decode_in_pieces(body, piece).unwrap();
            assert_eq!(out, b"hello world");
            assert_eq!(
                trailers,
                vec![("x-amz-checksum-crc32".to_string(), "DUoRhQ==".to_string())]
            );
        }
    }

    #[test]
    fn signed_without_trailer_and_malformed() {
        let body = b"3;chunk-signature=ab\r\nabc\r\n0;chunk-signature=cd\r\n\r\n";
        let (out, trailers) = decode_in_pieces(body, 4).unwrap();
        assert_eq!(out, b"abc");
        assert!(trailers.is_empty());
        assert_eq!(
            decode_in_pieces(b"3\r\nabc\r\n", 4).unwrap_err().code,
            "IncompleteBody"
        );
        assert_eq!(
            decode_in_pieces(b"zz\r\nabc\r\n0\r\n\r\n", 4)
                .unwrap_err()
                .code,
            "IncompleteBody"
        );
        assert_eq!(
            decode_in_pieces(b"3\r\nabcd\r\n0\r\n\r\n", 4)
                .unwrap_err()
                .code,
            "IncompleteBody"
        );
    }

    /// The example of the S3 docs ("Signature Calculation: Transfer Payload
    /// in Multiple Chunks"): 65 KiB of 'a' in chunks of 64 KiB and 1 KiB.
    #[test]
    fn verifies_documented_chunk_signatures() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
        let mk = || {
            ChunkSigner::new(
                secret,
                "20130524T000000Z",
                "20130524",
                "us-east-1",
                "s3",
                seed,
            )
        };
        let data = vec![b'a'; 65 * 1024];
        let sigs = [
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ];
        let mut body = Vec::new();
        body.extend_from_slice(format!("10000;chunk-signature={}\r\n", sigs[0]).as_bytes());
        body.extend_from_slice(&data[..65536]);
        body.extend_from_slice(format!("\r\n400;chunk-signature={}\r\n", sigs[1]).as_bytes());
        body.extend_from_slice(&data[65536..]);
        body.extend_from_slice(format!("\r\n0;chunk-signature={}\r\n\r\n", sigs[2]).as_bytes());
        let mut d = Decoder::new(mk());
        let mut out = Vec::new();
        d.feed(&body, &mut out).unwrap();
        d.finish().unwrap();
        assert_eq!(out, data);

        let mut bad = body.clone();
        let pos = bad.len() - 10;
        bad[pos] = if bad[pos] == b'0' { b'1' } else { b'0' };
        let mut d = Decoder::new(mk());
        let err = d.feed(&bad, &mut Vec::new()).unwrap_err();
        assert_eq!(err.code, "SignatureDoesNotMatch");
    }
}
