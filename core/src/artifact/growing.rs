//! A zip file read while it is still being written, so that unpacking can
//! overlap its download.
//!
//! The writer (the downloader) fills a file of known length in two parts:
//! first its *tail* `[tail_start, len)` (the central directory and the end
//! records, all a zip reader needs to start), then its body from offset 0
//! upwards, reporting the *prefix* `[0, prefix)` written so far through a
//! [`FillProgress`]. A [`GrowingFile`] is a blocking `Read + Seek` over that
//! file: a read of bytes not written yet waits until they are, and fails
//! with an `io::Error` once the writer failed or gave up (a dropped
//! [`Filling`] counts as giving up, so a reader never waits forever).
//! [`directory_start`] tells the writer, from the tail it has, whether the
//! central directory starts before it (so it fetches that part next).
//!
//! This module knows nothing about HTTP, S3, tokio or jobs: only a file, a
//! length, which bytes are in place, and the zip end records (through
//! [`super::directory`]).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::directory::{self, DirectoryError, MAX_DIRECTORY_BYTES};

/// What is in place, shared by the writer and the readers.
#[derive(Debug)]
struct State {
    /// `[0, prefix)` is written.
    prefix: u64,
    /// Why the writer stopped before the end, once it did.
    failed: Option<String>,
}

#[derive(Debug)]
struct Shared {
    len: u64,
    /// `[tail_start, len)` was written before any reader existed.
    tail_start: u64,
    state: Mutex<State>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain numbers behind.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, why: String) {
        let mut st = self.lock();
        if st.failed.is_none() && st.prefix < self.tail_start {
            st.failed = Some(why);
        }
        drop(st);
        self.arrived.notify_all();
    }
}

/// The writer's side of a file being filled: its end (finished or failed).
/// Dropping it before [`Filling::finished`] fails the readers ("the
/// download stopped").
#[derive(Debug)]
pub struct Filling {
    shared: Arc<Shared>,
}

/// Reports progress of a [`Filling`] (cheap to clone, e.g. into the task
/// that writes a buffer).
#[derive(Debug, Clone)]
pub struct FillProgress {
    shared: Arc<Shared>,
}

impl FillProgress {
    /// `[0, prefix)` is now written. Never moves backwards.
    pub fn written_to(&self, prefix: u64) {
        let mut st = self.shared.lock();
        if prefix > st.prefix {
            st.prefix = prefix.min(self.shared.len);
            drop(st);
            self.shared.arrived.notify_all();
        }
    }
}

impl Filling {
    /// A file of `len` bytes whose `[tail_start, len)` is already written
    /// and whose `[0, tail_start)` will be, in order from 0.
    pub fn new(len: u64, tail_start: u64) -> Self {
        Filling {
            shared: Arc::new(Shared {
                len,
                tail_start: tail_start.min(len),
                state: Mutex::new(State {
                    prefix: 0,
                    failed: None,
                }),
                arrived: Condvar::new(),
            }),
        }
    }

    /// A reporter of progress for the writer.
    pub fn progress(&self) -> FillProgress {
        FillProgress {
            shared: self.shared.clone(),
        }
    }

    /// A reader of the file at `path` (opened now).
    pub fn reader(&self, path: &Path) -> io::Result<GrowingFile> {
        Ok(GrowingFile {
            file: File::open(path)?,
            file_pos: None,
            pos: 0,
            len: self.shared.len,
            tail_start: self.shared.tail_start,
            seen_prefix: 0,
            shared: self.shared.clone(),
        })
    }

    /// Bytes `[0, prefix)` written so far.
    pub fn prefix(&self) -> u64 {
        self.shared.lock().prefix
    }

    /// The whole file is written.
    pub fn finished(self) {
        self.progress().written_to(self.shared.len);
    }

    /// The writer cannot go on: readers of missing bytes fail with `why`.
    pub fn failed(self, why: impl fmt::Display) {
        self.shared.fail(why.to_string());
    }
}

impl Drop for Filling {
    fn drop(&mut self) {
        // No-op once finished (the prefix reached the tail).
        self.shared
            .fail("the download stopped before the end".to_string());
    }
}

/// A blocking `Read + Seek` over a file being filled by a [`Filling`]: reads
/// wait for their bytes (see the module doc). Seeks never wait; its length
/// (`SeekFrom::End(0)`) is the final one from the start.
#[derive(Debug)]
pub struct GrowingFile {
    file: File,
    /// Where the OS file position is, when known.
    file_pos: Option<u64>,
    pos: u64,
    len: u64,
    tail_start: u64,
    /// Prefix last seen (saves taking the lock for every read).
    seen_prefix: u64,
    shared: Arc<Shared>,
}

impl GrowingFile {
    /// The end of the run of written bytes that holds `self.pos`
    /// (`self.pos < self.len`), waiting until there is one.
    fn available_end(&mut self) -> io::Result<u64> {
        if self.pos >= self.tail_start || self.seen_prefix >= self.tail_start {
            return Ok(self.len);
        }
        if self.pos < self.seen_prefix {
            return Ok(self.seen_prefix);
        }
        let mut st = self.shared.lock();
        loop {
            if st.prefix > self.pos {
                self.seen_prefix = st.prefix;
                return Ok(if st.prefix >= self.tail_start {
                    self.len
                } else {
                    st.prefix
                });
            }
            if let Some(why) = &st.failed {
                return Err(io::Error::other(why.clone()));
            }
            st = self
                .shared
                .arrived
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Read for GrowingFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let end = self.available_end()?;
        let want = usize::try_from(end - self.pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if self.file_pos != Some(self.pos) {
            self.file.seek(SeekFrom::Start(self.pos))?;
        }
        let n = match self.file.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                self.file_pos = None;
                return Err(e);
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the file ends at {} but should hold {} bytes",
                    self.pos, self.len
                ),
            ));
        }
        self.pos += n as u64;
        self.file_pos = Some(self.pos);
        Ok(n)
    }
}

impl Seek for GrowingFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        Ok(self.pos)
    }
}

/// A read of bytes not in place in a [`Window`].
#[derive(Debug)]
struct NotHere(u64);

impl fmt::Display for NotHere {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {} is not here yet", self.0)
    }
}

impl std::error::Error for NotHere {}

/// The file with only `[from, len)` in place: a read below `from` fails
/// with [`NotHere`] instead of waiting.
struct Window {
    file: File,
    from: u64,
    pos: u64,
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.from && !buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, NotHere(self.pos)));
        }
        let n = self.file.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

/// Of the zip at `path` (`len` bytes, of which only `[from, len)` is in
/// place): the lowest offset below `from` that reading its end records and
/// central directory needs, so a downloader fetches `[offset, from)` next.
/// `None` when what is in place suffices, or when the end records do not
/// say (not a zip, corrupt, or a directory over the cap: the unpacking
/// reports those). Never asks for more than the directory cap plus the end
/// records.
pub fn directory_start(path: &Path, len: u64, from: u64) -> io::Result<Option<u64>> {
    let from = from.min(len);
    if from == 0 {
        return Ok(None);
    }
    let mut window = Window {
        file: File::open(path)?,
        from,
        pos: 0,
    };
    let need = match directory::locate(&mut window, len) {
        Ok(Some(loc)) if loc.cd_size <= MAX_DIRECTORY_BYTES => loc.cd_start(),
        Ok(_) => None,
        Err(DirectoryError::Io(e)) => match e.get_ref().and_then(|i| i.downcast_ref::<NotHere>()) {
            Some(NotHere(at)) => Some(*at),
            None => return Err(e),
        },
        Err(_) => None,
    };
    // The end records and the ZIP64 records are at most 64 KiB + 98 bytes.
    let most = MAX_DIRECTORY_BYTES + 128 * 1024;
    Ok(need.filter(|&at| at < from && from - at <= most))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.zip");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn the_tail_is_served_at_once_and_the_body_waits_for_its_bytes() {
        let bytes = data(10_000);
        let (_d, path) = file_of(&bytes);
        let filling = Filling::new(10_000, 8_000);
        let mut r = filling.reader(&path).unwrap();
        // Length and the tail without any body byte written.
        assert_eq!(r.seek(SeekFrom::End(0)).unwrap(), 10_000);
        r.seek(SeekFrom::Start(9_000)).unwrap();
        let mut tail = vec![0u8; 1_000];
        r.read_exact(&mut tail).unwrap();
        assert_eq!(tail, bytes[9_000..]);
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0, "end of file");

        // A body read blocks until its bytes are reported. The reader runs
        // on its own thread and says what each read returned; the test
        // reports bytes only once it knows where the reader stands, so no
        // step depends on how fast either thread runs.
        let progress = filling.progress();
        let (said, heard) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            r.seek(SeekFrom::Start(2_000)).unwrap();
            let mut buf = vec![0u8; 4_000];
            // The first read returns what is there (up to the prefix)…
            let n = r.read(&mut buf).unwrap();
            said.send(n).unwrap();
            // …read_exact across the prefix waits for the rest.
            r.read_exact(&mut buf[n..]).unwrap();
            (r, buf)
        });
        // Nothing of the body is there: the first read is still waiting (a
        // reader that did not wait would have answered by now: 0 bytes, an
        // error or bytes never written).
        std::thread::sleep(Duration::from_millis(20));
        assert!(heard.try_recv().is_err(), "the read did not wait");
        progress.written_to(3_000);
        let n = heard.recv().unwrap();
        assert_eq!(n, 1_000, "up to the bytes reported");
        progress.written_to(8_000);
        let (mut r, buf) = reader.join().unwrap();
        assert_eq!(buf, bytes[2_000..6_000]);
        // Everything before the tail is in place now: reads run to the end.
        r.seek(SeekFrom::Start(7_000)).unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, bytes[7_000..]);
        filling.finished();
    }

    #[test]
    fn a_failed_or_dropped_filling_fails_waiting_readers() {
        let (_d, path) = file_of(&data(1_000));
        let filling = Filling::new(1_000, 900);
        let mut r = filling.reader(&path).unwrap();
        filling.progress().written_to(100);
        let waiting = std::thread::spawn(move || {
            let mut buf = [0u8; 200];
            let first = r.read(&mut buf).map_err(|e| e.to_string());
            let second = r.read_exact(&mut buf).map_err(|e| e.to_string());
            (first, second)
        });
        std::thread::sleep(Duration::from_millis(100));
        filling.failed("GetObject failed: the download was cut");
        let (first, second) = waiting.join().unwrap();
        assert_eq!(first, Ok(100), "bytes in place are still served");
        assert_eq!(
            second,
            Err("GetObject failed: the download was cut".to_string())
        );

        let filling = Filling::new(1_000, 900);
        let mut r = filling.reader(&path).unwrap();
        let waiting = std::thread::spawn(move || r.read(&mut [0u8; 10]).map_err(|e| e.to_string()));
        std::thread::sleep(Duration::from_millis(50));
        drop(filling);
        assert_eq!(
            waiting.join().unwrap(),
            Err("the download stopped before the end".to_string())
        );
    }

    #[test]
    fn a_finished_filling_never_fails_and_seeks_are_checked() {
        let bytes = data(500);
        let (_d, path) = file_of(&bytes);
        let filling = Filling::new(500, 500);
        let mut r = filling.reader(&path).unwrap();
        filling.finished();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, bytes);
        assert!(r.seek(SeekFrom::Current(-501)).is_err());
        assert_eq!(r.seek(SeekFrom::End(-10)).unwrap(), 490);
    }

    #[test]
    fn a_file_shorter_than_announced_is_an_error_not_an_end() {
        let (_d, path) = file_of(&data(100));
        // All of it "in place" (a tail starting at 0), but 100 bytes short.
        let filling = Filling::new(200, 0);
        let mut r = filling.reader(&path).unwrap();
        r.seek(SeekFrom::Start(150)).unwrap();
        let e = r.read(&mut [0u8; 10]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// A stored zip of `n` entries with long names (a big directory).
    fn zip_of(n: usize, body: usize) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..n {
            w.start_file(format!("src/{}/file-{i:05}.js", "d".repeat(60)), opts)
                .unwrap();
            w.write_all(&data(body)).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn directory_start_asks_for_a_directory_bigger_than_the_tail() {
        let zip = zip_of(2_000, 100);
        let len = zip.len() as u64;
        let (_d, path) = file_of(&zip);
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&zip)).unwrap();
        let cd_start = z.central_directory_start();
        let second_entry = z.by_index(1).unwrap().header_start();
        assert!(len - cd_start > 64 * 1024, "a directory over 64 KiB");
        // The tail holds the end record but not the whole directory.
        assert_eq!(
            directory_start(&path, len, len - 70_000).unwrap(),
            Some(cd_start)
        );
        // With the directory in place nothing more is needed.
        assert_eq!(directory_start(&path, len, cd_start).unwrap(), None);
        assert_eq!(directory_start(&path, len, second_entry).unwrap(), None);
        // The whole file in place: nothing needed.
        assert_eq!(directory_start(&path, len, 0).unwrap(), None);
    }

    #[test]
    fn directory_start_asks_for_the_end_record_and_gives_up_on_garbage() {
        let zip = zip_of(3, 10);
        let len = zip.len() as u64;
        let (_d, path) = file_of(&zip);
        // Only the last 10 bytes: the end record scan needs all 65,557
        // (here: the whole small file).
        assert_eq!(directory_start(&path, len, len - 10).unwrap(), Some(0));
        // Not a zip: no end record, nothing to ask for.
        let junk = data(200_000);
        let (_d2, junk_path) = file_of(&junk);
        assert_eq!(directory_start(&junk_path, 200_000, 100_000).unwrap(), None);
        // End records claiming a directory larger than the file, or over
        // the cap: nothing to fetch (the unpacking reports them).
        let big = zip_of(1, 200_000);
        let big_len = big.len() as u64;
        let eocd = big.len() - 22;
        for claimed in [10_000_000u32, u32::MAX - 1] {
            let mut lying = big.clone();
            lying[eocd + 12..eocd + 16].copy_from_slice(&claimed.to_le_bytes());
            let (_d, lying_path) = file_of(&lying);
            assert_eq!(
                directory_start(&lying_path, big_len, big_len - 100_000).unwrap(),
                None,
                "{claimed}"
            );
        }
    }
}
