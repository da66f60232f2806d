//! S3's flexible checksums (`x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`)
//! and `Content-MD5`: the algorithms, incremental hashers fed while a body
//! streams to disk, and the base64 wire form. It knows nothing about HTTP
//! requests or storage; callers decide what to compare and when.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::Digest as _;

static CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);
static CRC64NVME: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_NVME);

/// A checksum algorithm S3 supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Crc32,
        Algorithm::Crc32c,
        Algorithm::Crc64Nvme,
        Algorithm::Sha1,
        Algorithm::Sha256,
    ];

    /// From the model's `ChecksumAlgorithm` value (`CRC32`, …), case-insensitive.
    pub fn from_name(s: &str) -> Option<Algorithm> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
    }

    /// From a header name such as `x-amz-checksum-crc32`.
    pub fn from_header(h: &str) -> Option<Algorithm> {
        Self::ALL
            .into_iter()
            .find(|a| a.header().eq_ignore_ascii_case(h.trim()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The XML element name in CompleteMultipartUpload and friends.
    pub fn xml_tag(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "ChecksumCRC32",
            Algorithm::Crc32c => "ChecksumCRC32C",
            Algorithm::Crc64Nvme => "ChecksumCRC64NVME",
            Algorithm::Sha1 => "ChecksumSHA1",
            Algorithm::Sha256 => "ChecksumSHA256",
        }
    }

    /// Length in bytes of the raw digest.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64Nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
            Algorithm::Crc32c => Hasher::Crc32c(CRC32C.digest()),
            Algorithm::Crc64Nvme => Hasher::Crc64Nvme(CRC64NVME.digest()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// The checksum of `data`, base64 as on the wire.
    pub fn checksum_of(self, data: &[u8]) -> String {
        let mut h = self.hasher();
        h.update(data);
        h.finish_base64()
    }
}

/// An incremental hasher of one [`Algorithm`].
pub enum Hasher {
    Crc32(crc32fast::Hasher),
    Crc32c(crc::Digest<'static, u32, crc::Table<16>>),
    Crc64Nvme(crc::Digest<'static, u64, crc::Table<16>>),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32(h) => h.update(data),
            Hasher::Crc32c(h) => h.update(data),
            Hasher::Crc64Nvme(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// The raw digest (CRCs big-endian, as S3 encodes them).
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            Hasher::Crc32c(h) => h.finalize().to_be_bytes().to_vec(),
            Hasher::Crc64Nvme(h) => h.finalize().to_be_bytes().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }

    pub fn finish_base64(self) -> String {
        B64.encode(self.finish())
    }
}

/// A stored checksum: algorithm and base64 value (multipart composite values
/// end in `-N`), plus S3's `ChecksumType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub value: String,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub kind: &'static str,
}

/// Decodes a base64 checksum value, `None` when malformed or the wrong length.
pub fn decode(algorithm: Algorithm, value: &str) -> Option<Vec<u8>> {
    let raw = B64.decode(value.trim()).ok()?;
    (raw.len() == algorithm.digest_len()).then_some(raw)
}

pub fn base64(raw: &[u8]) -> String {
    B64.encode(raw)
}

/// Decodes `Content-MD5` (base64 of 16 bytes).
pub fn decode_md5(value: &str) -> Option<[u8; 16]> {
    let raw = B64.decode(value.trim()).ok()?;
    raw.try_into().ok()
}

/// A fresh MD5 hasher (ETags and `Content-MD5`).
pub fn md5() -> md5::Md5 {
    md5::Md5::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Python's zlib/hashlib give the same values.
        assert_eq!(Algorithm::Crc32.checksum_of(b"Hello world"), "i9aeUg==");
        // The catalogue check values of CRC-32/ISCSI and CRC-64/NVME.
        assert_eq!(
            decode(
                Algorithm::Crc32c,
                &Algorithm::Crc32c.checksum_of(b"123456789")
            )
            .unwrap(),
            0xe306_9283u32.to_be_bytes()
        );
        assert_eq!(
            decode(
                Algorithm::Crc64Nvme,
                &Algorithm::Crc64Nvme.checksum_of(b"123456789")
            )
            .unwrap(),
            0xae8b_1486_0a79_9888u64.to_be_bytes()
        );
        assert_eq!(
            Algorithm::Sha1.checksum_of(b"Hello world"),
            "e1AsOh9IyGCa4hLN+2Od7jlnP14="
        );
        assert_eq!(
            Algorithm::Sha256.checksum_of(b"Hello world"),
            "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
        );
    }

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.name()), Some(a));
            assert_eq!(Algorithm::from_header(a.header()), Some(a));
            assert!(decode(a, &a.checksum_of(b"x")).is_some());
        }
        assert_eq!(Algorithm::from_name("crc32c"), Some(Algorithm::Crc32c));
        assert_eq!(decode(Algorithm::Crc32, "AAAA"), None);
    }
}
