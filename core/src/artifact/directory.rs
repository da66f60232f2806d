//! A reader of a zip's central directory that trusts nothing: it finds the
//! end-of-central-directory record (plain or ZIP64), checks the entry count
//! and directory size against caps *before* reading any entry, and returns
//! each entry's raw name bytes, attributes and declared sizes exactly as
//! stored. The zip crate decodes names (CP437, Unicode extra fields) and
//! silently merges duplicate names; safety decisions need the raw facts, so
//! they come from here. Knows nothing about paths on disk or extraction.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

/// Largest central directory we read, whatever the caps: names are bounded
/// by [`MAX_NAME_BYTES`] and entries by the caller's cap, but this keeps the
/// memory held by one artifact's directory constant.
pub(crate) const MAX_DIRECTORY_BYTES: u64 = 64 * 1024 * 1024;
/// Longest entry name accepted (Linux PATH_MAX).
pub(crate) const MAX_NAME_BYTES: usize = 4096;

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CDH_SIG: u32 = 0x0201_4b50;
pub(crate) const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const LOCAL_HEADER_LEN: u64 = 30;

/// One central-directory entry, as stored.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub name: Vec<u8>,
    /// High byte of "version made by": 3 = Unix, 19 = OS X, 0 = MS-DOS…
    pub host: u8,
    pub flags: u16,
    pub method: u16,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub external_attributes: u32,
    /// Absolute offset of the local header in the file.
    pub local_header_offset: u64,
}

impl RawEntry {
    /// The Unix mode from the external attributes, when the archiver was a
    /// Unix-like host that stores one.
    pub fn unix_mode(&self) -> Option<u32> {
        match self.host {
            3 | 19 => {
                let mode = self.external_attributes >> 16;
                (mode != 0).then_some(mode)
            }
            _ => None,
        }
    }

    /// MS-DOS directory attribute.
    pub fn dos_directory(&self) -> bool {
        self.external_attributes & 0x10 != 0
    }
}

/// Why a directory could not be read.
#[derive(Debug)]
pub(crate) enum DirectoryError {
    Io(io::Error),
    /// No end-of-central-directory record; `looks_like_zip` when the file
    /// starts with a local header (so it is a truncated zip, not another format).
    NoEndRecord {
        looks_like_zip: bool,
    },
    /// Structurally broken.
    Corrupt(String),
    /// Split over several disks.
    MultiDisk,
    TooManyEntries {
        count: u64,
    },
    DirectoryTooLarge {
        bytes: u64,
    },
    NameTooLong {
        index: usize,
        len: usize,
    },
}

impl From<io::Error> for DirectoryError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            DirectoryError::Corrupt("the central directory ends early (truncated file)".into())
        } else {
            DirectoryError::Io(e)
        }
    }
}

/// Where a zip's central directory is, from its end records (plain or
/// ZIP64), before any cap is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    /// Entries the end record declares.
    pub count: u64,
    /// Bytes of directory the end record declares.
    pub cd_size: u64,
    /// Offset of the directory as stored (relative to the archive's start).
    pub cd_offset: u64,
    /// Where the directory ends in the file: the (ZIP64) end record.
    pub dir_end: u64,
}

impl Location {
    /// Where the directory starts in the file, when it fits before its end.
    pub fn cd_start(&self) -> Option<u64> {
        self.dir_end.checked_sub(self.cd_size)
    }
}

/// Finds the end records of `file` (`len` bytes) and what they say about
/// the directory; `None` when there is no end record. Reads only the last
/// `65,557` bytes and the ZIP64 records.
pub(crate) fn locate<R: Read + Seek>(
    file: &mut R,
    len: u64,
) -> Result<Option<Location>, DirectoryError> {
    let tail_len = len.min((EOCD_LEN + u16::MAX as usize) as u64);
    let tail_start = len - tail_len;
    file.seek(SeekFrom::Start(tail_start))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)?;

    let Some(eocd) = find_end_record(&tail) else {
        return Ok(None);
    };
    let eocd_pos = tail_start + eocd as u64;
    let rec = &tail[eocd..];
    let disk = u16_at(rec, 4);
    let cd_disk = u16_at(rec, 6);
    let mut count = u64::from(u16_at(rec, 10));
    let mut cd_size = u64::from(u32_at(rec, 12));
    let mut cd_offset = u64::from(u32_at(rec, 16));
    if disk != 0 || cd_disk != 0 || u16_at(rec, 8) != u16_at(rec, 10) {
        return Err(DirectoryError::MultiDisk);
    }
    // Where the directory really is (files may carry a prefix, e.g. a stub).
    let mut dir_end = eocd_pos;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        let locator = eocd_pos
            .checked_sub(20)
            .ok_or_else(|| DirectoryError::Corrupt("ZIP64 locator missing".into()))?;
        let mut loc = [0u8; 20];
        file.seek(SeekFrom::Start(locator))?;
        file.read_exact(&mut loc)?;
        if u32_at(&loc, 0) != ZIP64_LOCATOR_SIG {
            return Err(DirectoryError::Corrupt(
                "the end record asks for ZIP64 but no ZIP64 locator precedes it".into(),
            ));
        }
        if u32_at(&loc, 4) != 0 || u32_at(&loc, 16) > 1 {
            return Err(DirectoryError::MultiDisk);
        }
        let stated = u64_at(&loc, 8);
        // The ZIP64 end record normally sits right before the locator.
        let z64_pos = match locator.checked_sub(56) {
            Some(p) if read_u32(file, p)? == Some(ZIP64_EOCD_SIG) => p,
            _ if read_u32(file, stated)? == Some(ZIP64_EOCD_SIG) => stated,
            _ => {
                return Err(DirectoryError::Corrupt(
                    "ZIP64 end-of-central-directory record not found".into(),
                ));
            }
        };
        let mut z = [0u8; 56];
        file.seek(SeekFrom::Start(z64_pos))?;
        file.read_exact(&mut z)?;
        if u32_at(&z, 16) != 0 || u32_at(&z, 20) != 0 || u64_at(&z, 24) != u64_at(&z, 32) {
            return Err(DirectoryError::MultiDisk);
        }
        count = u64_at(&z, 32);
        cd_size = u64_at(&z, 40);
        cd_offset = u64_at(&z, 48);
        dir_end = z64_pos;
    }
    Ok(Some(Location {
        count,
        cd_size,
        cd_offset,
        dir_end,
    }))
}

/// Reads the central directory of `file` (`len` bytes), refusing more than
/// `max_entries` entries before reading any of them.
pub(crate) fn read_directory<R: Read + Seek>(
    file: &mut R,
    len: u64,
    max_entries: u64,
) -> Result<Vec<RawEntry>, DirectoryError> {
    let Some(Location {
        count,
        cd_size,
        cd_offset,
        dir_end,
    }) = locate(file, len)?
    else {
        file.seek(SeekFrom::Start(0))?;
        let mut head = [0u8; 4];
        let looks_like_zip =
            file.read_exact(&mut head).is_ok() && u32::from_le_bytes(head) == LOCAL_SIG;
        return Err(DirectoryError::NoEndRecord { looks_like_zip });
    };
    if count > max_entries {
        return Err(DirectoryError::TooManyEntries { count });
    }
    if cd_size > MAX_DIRECTORY_BYTES {
        return Err(DirectoryError::DirectoryTooLarge { bytes: cd_size });
    }
    let cd_start = dir_end.checked_sub(cd_size).ok_or_else(|| {
        DirectoryError::Corrupt("the central directory is larger than the file".into())
    })?;
    let prefix = cd_start.checked_sub(cd_offset).ok_or_else(|| {
        DirectoryError::Corrupt(
            "the end record points past the central directory (truncated or corrupt)".into(),
        )
    })?;
    // Every entry needs at least 46 bytes of directory.
    if count.saturating_mul(46) > cd_size {
        return Err(DirectoryError::Corrupt(format!(
            "the end record claims {count} entries but the central directory has only {cd_size} bytes"
        )));
    }

    file.seek(SeekFrom::Start(cd_start))?;
    let mut cd = BufReader::new(Read::by_ref(file).take(cd_size));
    let mut entries = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let mut h = [0u8; 46];
        cd.read_exact(&mut h)?;
        if u32_at(&h, 0) != CDH_SIG {
            return Err(DirectoryError::Corrupt(format!(
                "central directory entry #{} has a bad signature",
                index + 1
            )));
        }
        let name_len = usize::from(u16_at(&h, 28));
        let extra_len = usize::from(u16_at(&h, 30));
        let comment_len = usize::from(u16_at(&h, 32));
        if name_len > MAX_NAME_BYTES {
            return Err(DirectoryError::NameTooLong {
                index,
                len: name_len,
            });
        }
        let mut name = vec![0u8; name_len];
        cd.read_exact(&mut name)?;
        let mut extra = vec![0u8; extra_len];
        cd.read_exact(&mut extra)?;
        io::copy(
            &mut Read::by_ref(&mut cd).take(comment_len as u64),
            &mut io::sink(),
        )?;
        let mut entry = RawEntry {
            name,
            host: h[5],
            flags: u16_at(&h, 8),
            method: u16_at(&h, 10),
            compressed_size: u64::from(u32_at(&h, 20)),
            uncompressed_size: u64::from(u32_at(&h, 24)),
            external_attributes: u32_at(&h, 38),
            local_header_offset: u64::from(u32_at(&h, 42)),
        };
        apply_zip64_extra(&mut entry, &extra);
        entry.local_header_offset = entry
            .local_header_offset
            .checked_add(prefix)
            .ok_or_else(|| DirectoryError::Corrupt("entry offset overflows".into()))?;
        entries.push(entry);
    }
    check_no_overlap(&entries, cd_start)?;
    Ok(entries)
}

/// Each entry's local header plus data must end before the next one starts
/// (overlapping entries are how non-recursive zip bombs reuse one payload).
fn check_no_overlap(entries: &[RawEntry], cd_start: u64) -> Result<(), DirectoryError> {
    let mut spans: Vec<(u64, u64, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let end = e
                .local_header_offset
                .saturating_add(LOCAL_HEADER_LEN)
                .saturating_add(e.compressed_size);
            (e.local_header_offset, end, i)
        })
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if pair[0].1 > pair[1].0 {
            return Err(DirectoryError::Corrupt(format!(
                "entries `{}` and `{}` overlap in the file (a zip bomb shape)",
                String::from_utf8_lossy(&entries[pair[0].2].name),
                String::from_utf8_lossy(&entries[pair[1].2].name)
            )));
        }
    }
    if let Some(last) = spans.last()
        && last.1 > cd_start
    {
        return Err(DirectoryError::Corrupt(format!(
            "entry `{}` runs into the central directory (truncated or corrupt)",
            String::from_utf8_lossy(&entries[last.2].name)
        )));
    }
    Ok(())
}

fn apply_zip64_extra(entry: &mut RawEntry, extra: &[u8]) {
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16_at(rest, 0);
        let size = usize::from(u16_at(rest, 2));
        let body = &rest[4..];
        if size > body.len() {
            return;
        }
        if id == 0x0001 {
            let mut field = &body[..size];
            let mut take = |v: &mut u64| {
                if *v == 0xFFFF_FFFF && field.len() >= 8 {
                    *v = u64_at(field, 0);
                    field = &field[8..];
                }
            };
            take(&mut entry.uncompressed_size);
            take(&mut entry.compressed_size);
            take(&mut entry.local_header_offset);
            return;
        }
        rest = &body[size..];
    }
}

/// Position of the end record in `tail`: the last signature whose comment
/// length reaches exactly the end of the file, else the last plausible one.
fn find_end_record(tail: &[u8]) -> Option<usize> {
    if tail.len() < EOCD_LEN {
        return None;
    }
    let mut fallback = None;
    for p in (0..=tail.len() - EOCD_LEN).rev() {
        if u32_at(tail, p) == EOCD_SIG {
            let comment = usize::from(u16_at(tail, p + 20));
            if p + EOCD_LEN + comment == tail.len() {
                return Some(p);
            }
            if fallback.is_none() && p + EOCD_LEN + comment <= tail.len() {
                fallback = Some(p);
            }
        }
    }
    fallback
}

fn read_u32<R: Read + Seek>(file: &mut R, pos: u64) -> io::Result<Option<u32>> {
    let mut b = [0u8; 4];
    file.seek(SeekFrom::Start(pos))?;
    match file.read_exact(&mut b) {
        Ok(()) => Ok(Some(u32::from_le_bytes(b))),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}
