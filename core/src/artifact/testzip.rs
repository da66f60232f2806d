//! Test-only writer of raw zips, byte by byte, for the hostile shapes the zip
//! crate refuses to write (`../` and absolute names, duplicates, symlink and
//! device attributes, non-UTF-8 names, lying sizes, forged counts).

/// One stored entry.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    /// Host byte of "version made by" (3 = Unix).
    pub host: u8,
    pub external: u32,
    pub flags: u16,
    pub method: u16,
    /// Overrides the declared uncompressed size (CD and local header).
    pub declared: Option<u32>,
    /// Extra field bytes of the central-directory entry.
    pub cd_extra: Vec<u8>,
}

impl Spec {
    pub fn file(name: &str, data: &[u8]) -> Spec {
        Spec {
            name: name.as_bytes().to_vec(),
            data: data.to_vec(),
            host: 3,
            external: (0o100_644u32) << 16,
            flags: 0x0800,
            method: 0,
            declared: None,
            cd_extra: Vec::new(),
        }
    }

    pub fn with_mode(mut self, mode: u32) -> Spec {
        self.external = mode << 16;
        self
    }
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A complete zip of `specs`, stored (method as given, data as is).
pub fn build(specs: &[Spec]) -> Vec<u8> {
    build_with_count(specs, None)
}

/// Like [`build`], with the end record's entry count forced to `count`.
pub fn build_with_count(specs: &[Spec], count: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for s in specs {
        offsets.push(out.len() as u32);
        let crc = crc32(&s.data);
        let usize_ = s.declared.unwrap_or(s.data.len() as u32);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&s.flags.to_le_bytes());
        out.extend_from_slice(&s.method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x21u16.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(s.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&usize_.to_le_bytes());
        out.extend_from_slice(&(s.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&s.name);
        out.extend_from_slice(&s.data);
    }
    let cd_start = out.len() as u32;
    for (s, off) in specs.iter().zip(&offsets) {
        let crc = crc32(&s.data);
        let usize_ = s.declared.unwrap_or(s.data.len() as u32);
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&((u16::from(s.host) << 8) | 20).to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&s.flags.to_le_bytes());
        out.extend_from_slice(&s.method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x21u16.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(s.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&usize_.to_le_bytes());
        out.extend_from_slice(&(s.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(s.cd_extra.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&s.external.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&s.name);
        out.extend_from_slice(&s.cd_extra);
    }
    let cd_size = out.len() as u32 - cd_start;
    let n = count.unwrap_or(specs.len() as u16);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A zip written by the zip crate: `(name, data, mode)` entries, deflated.
pub fn deflated(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, mode) in entries {
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(*mode);
        w.start_file(*name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}
