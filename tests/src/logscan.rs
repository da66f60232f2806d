//! The secret scan every end-to-end environment runs when it ends (issue 9,
//! "Security checks"): no artifact secret key, session token, secret action
//! property value or the account's secret key in any log line or job result.
//!
//! - [`install_capture`] (called by [`crate::start_sim`], so before any
//!   worker code runs in a test process) installs, once per process, the
//!   global tracing subscriber the worker's binary builds —
//!   `telemetry::subscriber` in its default JSON format — at the binary's
//!   default level (`info`) plus `debug` for the worker and the harness,
//!   writing into a bounded in-memory buffer (the oldest lines go beyond
//!   [`CAPTURE_LIMIT`] bytes, counted). A single global subscriber and no
//!   scoped ones: tracing's callsite interest cache is built against it, so
//!   no line is lost to races between concurrent tests.
//! - [`LeakScan`] is a guard each harness environment (`worker::Env`, hence
//!   `release::ReleaseEnv`, and `canary::World`) owns. When it drops (unless
//!   the test is already panicking) it gathers every secret its sim ever
//!   issued or stored — job credentials' secret keys and session tokens,
//!   secret configuration values of every pipeline, the account secret the
//!   harness signs with — and scans the whole captured log and every job
//!   result stored in the sim (failure messages, summaries, revisions,
//!   output variables, continuation tokens, execution status summaries). A
//!   hit panics naming the kind of secret, the test, where it was found and
//!   the text with every secret redacted; the secret itself is never printed.
//!
//! The captured log is the whole process's (tests run concurrently), so an
//! environment's scan also sees other tests' lines: harmless, since it only
//! looks for its own sim's secrets and the account's. Secrets are matched
//! byte for byte in the JSON text: the sim's secrets (`[A-Za-z0-9+/]`) and
//! the harness's secret values contain nothing JSON escapes. Secrets
//! shorter than [`MIN_SECRET_LEN`] are ignored (they would match by chance).
//! This module knows no scenario and no AWS API: it reads the sim's state
//! through `aws_sim` accessors.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use aho_corasick::AhoCorasick;
use aws_sim::Sim;
use pipeline_canary::telemetry::{self, LogFormat};

/// Captured log bytes kept; older lines are dropped (and counted) beyond it.
pub const CAPTURE_LIMIT: usize = 64 << 20;

/// Secrets shorter than this are not looked for.
pub const MIN_SECRET_LEN: usize = 8;

/// The capture's filter: the worker binary's default level (`info`, see
/// `telemetry::env_filter`) plus `debug` for the worker and the harness.
/// aws-sim's own lines are not the worker's output (in production the sim
/// is not there): they are left out.
pub const CAPTURE_FILTER: &str = "info,pipeline_canary=debug,e2e=debug,aws_sim=off";

/// A secret action property value for harness pipelines: long and unique.
pub fn secret_value() -> String {
    format!("hunter2-SECRET-{:016x}", rand::random::<u64>())
}

// ---------------------------------------------------------------------------
// Capture

/// The process-wide log capture.
#[derive(Debug, Default)]
pub struct Capture {
    inner: Mutex<Buffer>,
}

#[derive(Debug, Default)]
struct Buffer {
    lines: VecDeque<Arc<str>>,
    bytes: usize,
    dropped_lines: u64,
    dropped_bytes: u64,
}

/// A copy of the captured lines (cheap: the lines are shared).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub lines: Vec<Arc<str>>,
    /// Lines dropped (oldest first) to stay within [`CAPTURE_LIMIT`].
    pub dropped_lines: u64,
    pub dropped_bytes: u64,
}

impl Snapshot {
    /// The lines joined with newlines.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

impl Capture {
    fn push(&self, text: &str) {
        let mut b = aws_sim::lock(&self.inner);
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            b.bytes += line.len();
            b.lines.push_back(Arc::from(line));
        }
        while b.bytes > CAPTURE_LIMIT {
            let Some(old) = b.lines.pop_front() else {
                break;
            };
            b.bytes -= old.len();
            b.dropped_lines += 1;
            b.dropped_bytes += old.len() as u64;
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let b = aws_sim::lock(&self.inner);
        Snapshot {
            lines: b.lines.iter().cloned().collect(),
            dropped_lines: b.dropped_lines,
            dropped_bytes: b.dropped_bytes,
        }
    }
}

/// `MakeWriter` into the capture: one writer per event, its bytes added as
/// whole lines when the event is written.
#[derive(Debug, Clone, Copy)]
struct Sink(&'static Capture);

struct EventWriter {
    capture: &'static Capture,
    buf: Vec<u8>,
}

impl Write for EventWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.capture.push(&String::from_utf8_lossy(&self.buf));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> EventWriter {
        EventWriter {
            capture: self.0,
            buf: Vec::new(),
        }
    }
}

static CAPTURE: OnceLock<Result<&'static Capture, String>> = OnceLock::new();

/// Installs the process-wide capture (once) and returns it. Panics when
/// another global subscriber was installed first: the scan would then see
/// nothing, and a scan that cannot fail must not pass.
pub fn install_capture() -> &'static Capture {
    let installed = CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::default());
        let sub = telemetry::subscriber(
            LogFormat::Json,
            Sink(capture),
            tracing_subscriber::EnvFilter::new(CAPTURE_FILTER),
        );
        tracing::subscriber::set_global_default(sub)
            .map(|()| capture)
            .map_err(|e| e.to_string())
    });
    match installed {
        Ok(c) => c,
        Err(e) => panic!(
            "e2e log capture: cannot install the global tracing subscriber ({e}); \
             a test binary must not install its own"
        ),
    }
}

// ---------------------------------------------------------------------------
// Secrets and the scan

/// What a secret is (named in a failed scan instead of the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretKind {
    ArtifactSecretAccessKey,
    ArtifactSessionToken,
    SecretActionProperty,
    AccountSecretKey,
    CodeLocationSignature,
}

impl std::fmt::Display for SecretKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretKind::ArtifactSecretAccessKey => "artifact secret access key",
            SecretKind::ArtifactSessionToken => "artifact session token",
            SecretKind::SecretActionProperty => "secret action property value",
            SecretKind::AccountSecretKey => "account secret key",
            SecretKind::CodeLocationSignature => "Lambda Code.Location signature",
        })
    }
}

/// Secrets to look for (those shorter than [`MIN_SECRET_LEN`] are skipped).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    list: Vec<(SecretKind, String)>,
}

impl Secrets {
    pub fn add(&mut self, kind: SecretKind, value: impl Into<String>) {
        let value = value.into();
        if value.len() >= MIN_SECRET_LEN && !self.list.iter().any(|(_, v)| *v == value) {
            self.list.push((kind, value));
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many secrets of `kind`.
    pub fn count(&self, kind: SecretKind) -> usize {
        self.list.iter().filter(|(k, _)| *k == kind).count()
    }

    /// Every secret `sim` issued or stores, plus the account's secret key.
    pub fn of_sim(sim: &Sim) -> Secrets {
        let mut s = Secrets::default();
        s.add(SecretKind::AccountSecretKey, crate::ACCOUNT_SECRET);
        for c in sim.credentials.issued() {
            s.add(SecretKind::ArtifactSecretAccessKey, c.secret_access_key);
            s.add(SecretKind::ArtifactSessionToken, c.session_token);
        }
        for v in sim.codepipeline.secret_configuration_values() {
            s.add(SecretKind::SecretActionProperty, v);
        }
        for v in sim.lambda.code_location_signatures() {
            s.add(SecretKind::CodeLocationSignature, v);
        }
        s
    }
}

/// Many fixed strings found in one pass (aho-corasick, overlapping matches
/// reported); empty patterns never match.
struct Matcher {
    ac: AhoCorasick,
    /// The caller's index of each (non-empty) pattern in `ac`.
    ids: Vec<usize>,
}

impl Matcher {
    fn new(patterns: Vec<&[u8]>) -> Self {
        let (ids, patterns): (Vec<usize>, Vec<&[u8]>) = patterns
            .into_iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .unzip();
        let ac = AhoCorasick::new(patterns).expect("a few dozen secrets fit any automaton");
        Matcher { ac, ids }
    }

    /// Calls `f(pattern index, start, end)` for every occurrence in `hay`.
    fn each(&self, hay: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        for m in self.ac.find_overlapping_iter(hay) {
            f(self.ids[m.pattern().as_usize()], m.start(), m.end());
        }
    }

    fn any(&self, hay: &[u8]) -> bool {
        self.ac.is_match(hay)
    }
}

/// One secret found somewhere.
#[derive(Debug, Clone)]
pub struct Leak {
    pub kind: SecretKind,
    /// `log line N` or where the sim keeps the job result.
    pub place: String,
    /// The text with every secret replaced by `<redacted: kind>` (≤ 2000 chars).
    pub redacted: String,
}

/// What one scan looked at and found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// The test (its thread's name).
    pub test: String,
    /// Captured log lines scanned (the whole process's).
    pub lines: usize,
    /// Of those, lines naming one of this sim's jobs.
    pub job_lines: usize,
    /// Job results scanned.
    pub results: usize,
    /// Secrets looked for, and of them secret action property values.
    pub secrets: usize,
    pub secret_properties: usize,
    /// Lines the bounded capture had dropped before the scan (not scanned).
    pub dropped_lines: u64,
    pub leaks: Vec<Leak>,
}

impl ScanReport {
    /// Panics naming every leak (kind, test, place, redacted text).
    pub fn assert_clean(&self) {
        if self.leaks.is_empty() {
            return;
        }
        let mut msg = format!(
            "secret leak in test {}: {} occurrence(s)",
            self.test,
            self.leaks.len()
        );
        for l in self.leaks.iter().take(10) {
            msg.push_str(&format!("\n- {} in {}: {}", l.kind, l.place, l.redacted));
        }
        panic!("{msg}");
    }

    /// One line for logs and reports (no secrets).
    pub fn summary(&self) -> String {
        format!(
            "{}: {} log lines ({} of this sim's jobs, {} dropped before the scan), {} job results, {} secrets ({} secret property values), {} leaks",
            self.test,
            self.lines,
            self.job_lines,
            self.dropped_lines,
            self.results,
            self.secrets,
            self.secret_properties,
            self.leaks.len()
        )
    }
}

/// `text` with every secret replaced, cut to 2000 characters.
fn redact(text: &str, m: &Matcher, kinds: &[SecretKind]) -> String {
    let mut hits: Vec<(usize, usize, SecretKind)> = Vec::new();
    m.each(text.as_bytes(), |id, start, end| {
        hits.push((start, end, kinds[id]))
    });
    hits.sort();
    let mut out = String::new();
    let mut pos = 0;
    for (start, end, kind) in hits {
        if end <= pos {
            continue;
        }
        out.push_str(&text[pos..start.max(pos)]);
        out.push_str(&format!("<redacted: {kind}>"));
        pos = end;
    }
    out.push_str(&text[pos..]);
    if out.chars().count() > 2000 {
        out = out.chars().take(2000).collect::<String>() + "…";
    }
    out
}

/// Scans `lines` and `results` (`(where, text)`) for `secrets`; counts the
/// lines that name one of `job_ids`.
pub fn scan<L: AsRef<str>>(
    lines: &[L],
    results: &[(String, String)],
    secrets: &Secrets,
    job_ids: &[String],
) -> ScanReport {
    let kinds: Vec<SecretKind> = secrets.list.iter().map(|(k, _)| *k).collect();
    let m = Matcher::new(secrets.list.iter().map(|(_, v)| v.as_bytes()).collect());
    let jobs = Matcher::new(job_ids.iter().map(|j| j.as_bytes()).collect());
    let mut report = ScanReport {
        test: current_test(),
        lines: lines.len(),
        results: results.len(),
        secrets: secrets.len(),
        secret_properties: secrets.count(SecretKind::SecretActionProperty),
        ..Default::default()
    };
    let mut find = |place: &dyn Fn() -> String, text: &str| {
        let mut found: Vec<SecretKind> = Vec::new();
        m.each(text.as_bytes(), |id, _, _| {
            if !found.contains(&kinds[id]) {
                found.push(kinds[id]);
            }
        });
        if !found.is_empty() {
            let redacted = redact(text, &m, &kinds);
            for kind in found {
                report.leaks.push(Leak {
                    kind,
                    place: place(),
                    redacted: redacted.clone(),
                });
            }
        }
    };
    for (n, line) in lines.iter().enumerate() {
        find(&|| format!("log line {}", n + 1), line.as_ref());
    }
    for (place, text) in results {
        find(&|| place.clone(), text);
    }
    report.job_lines = lines
        .iter()
        .filter(|l| jobs.any(l.as_ref().as_bytes()))
        .count();
    report
}

/// The running test's name (libtest names each test's thread after it).
fn current_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("an unnamed test thread")
        .to_string()
}

/// Scans the whole capture and `sim`'s job results for `sim`'s secrets.
pub fn scan_sim(sim: &Sim) -> ScanReport {
    let snap = install_capture().snapshot();
    let secrets = Secrets::of_sim(sim);
    let results = sim.codepipeline.reported_texts();
    let job_ids: Vec<String> = sim
        .codepipeline
        .job_ids(crate::REGION)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut r = scan(&snap.lines, &results, &secrets, &job_ids);
    r.dropped_lines = snap.dropped_lines;
    r
}

static REPORTS: Mutex<Vec<ScanReport>> = Mutex::new(Vec::new());

/// Every report of the finished scans of this process, in order.
pub fn reports() -> Vec<ScanReport> {
    aws_sim::lock(&REPORTS).clone()
}

fn record(r: &ScanReport) {
    aws_sim::lock(&REPORTS).push(r.clone());
    // `E2E_LOGSCAN_REPORT=<file>`: one line per scan (counts only).
    if let Some(path) = std::env::var_os("E2E_LOGSCAN_REPORT")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let suite = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let _ = writeln!(f, "{suite} {}", r.summary());
    }
}

/// The scan guard of one harness environment: scans when dropped (unless
/// the test is already panicking).
#[derive(Debug)]
pub struct LeakScan {
    sim: Arc<Sim>,
    armed: AtomicBool,
}

impl LeakScan {
    /// A guard for `sim` (installs the capture if needed).
    pub fn new(sim: &Arc<Sim>) -> Self {
        install_capture();
        LeakScan {
            sim: sim.clone(),
            armed: AtomicBool::new(true),
        }
    }

    /// Scans now and panics on a leak; the counts are returned (and the
    /// guard still scans again when dropped).
    pub fn check(&self) -> ScanReport {
        let r = scan_sim(&self.sim);
        record(&r);
        r.assert_clean();
        r
    }

    /// For tests of the scan itself: scans now, returns what was found
    /// without panicking, and disarms the scan on drop.
    pub fn expect_leaks(&self) -> ScanReport {
        self.armed.store(false, Ordering::SeqCst);
        scan_sim(&self.sim)
    }
}

impl Drop for LeakScan {
    fn drop(&mut self) {
        if std::thread::panicking() || !self.armed.load(Ordering::SeqCst) {
            return;
        }
        self.check();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        let mut s = Secrets::default();
        s.add(
            SecretKind::ArtifactSecretAccessKey,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
        );
        s.add(
            SecretKind::ArtifactSessionToken,
            "FwoGZXIvYXdzEabcdefghijklmnopqrstuvwxyz0123456789+/",
        );
        s.add(
            SecretKind::SecretActionProperty,
            "hunter2-SECRET-00c0ffee00c0ffee",
        );
        s.add(SecretKind::SecretActionProperty, "short");
        s
    }

    #[test]
    fn finds_a_planted_secret_in_a_log_line_and_a_failure_message() {
        let lines = vec![
            r#"{"level":"INFO","fields":{"message":"polled"},"spans":[{"name":"job","job_id":"11111111-2222-4333-8444-555555555555"}]}"#.to_string(),
            r#"{"level":"DEBUG","fields":{"message":"token is FwoGZXIvYXdzEabcdefghijklmnopqrstuvwxyz0123456789+/ ok"}}"#.to_string(),
            r#"{"level":"INFO","fields":{"message":"a short value: short"}}"#.to_string(),
        ];
        let results = vec![
            (
                "pipeline p execution e action Canary (a): failure details message".to_string(),
                "cannot use hunter2-SECRET-00c0ffee00c0ffee for the API".to_string(),
            ),
            (
                "job j: continuation token".to_string(),
                "eyJzdGVwIjoxfQ".to_string(),
            ),
        ];
        let r = scan(
            &lines,
            &results,
            &secrets(),
            &["11111111-2222-4333-8444-555555555555".to_string()],
        );
        assert_eq!(r.secrets, 3, "the 5-character secret is not looked for");
        assert_eq!(r.secret_properties, 1);
        assert_eq!((r.lines, r.job_lines, r.results), (3, 1, 2));
        assert_eq!(r.leaks.len(), 2, "{:?}", r.leaks);
        let log = &r.leaks[0];
        assert_eq!(log.kind, SecretKind::ArtifactSessionToken);
        assert_eq!(log.place, "log line 2");
        assert_eq!(
            log.redacted,
            r#"{"level":"DEBUG","fields":{"message":"token is <redacted: artifact session token> ok"}}"#
        );
        let result = &r.leaks[1];
        assert_eq!(result.kind, SecretKind::SecretActionProperty);
        assert!(result.place.ends_with("failure details message"));
        assert_eq!(
            result.redacted,
            "cannot use <redacted: secret action property value> for the API"
        );
        // The failure names kind, test and place, never the secret.
        let panic = std::panic::catch_unwind(|| r.assert_clean()).unwrap_err();
        let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("artifact session token in log line 2"),
            "{msg}"
        );
        assert!(
            msg.contains("secret action property value in pipeline p"),
            "{msg}"
        );
        assert!(msg.contains(&current_test()), "{msg}");
        assert!(!msg.contains("FwoGZXIvYXdzEabc"), "{msg}");
        assert!(!msg.contains("00c0ffee"), "{msg}");
    }

    #[test]
    fn clean_text_passes_and_every_occurrence_is_found() {
        let s = secrets();
        let clean = vec![
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKE",
            "hunter2-SECRET-",
        ];
        let r = scan(&clean, &[], &s, &[]);
        assert!(r.leaks.is_empty(), "{:?}", r.leaks);
        r.assert_clean();
        // Secrets at the start and end of a line, twice, and two at once.
        let line = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEYx hunter2-SECRET-00c0ffee00c0ffeewJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY";
        let r = scan(&[line], &[], &s, &[]);
        let mut kinds: Vec<_> = r.leaks.iter().map(|l| l.kind).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                SecretKind::ArtifactSecretAccessKey,
                SecretKind::SecretActionProperty
            ]
        );
        assert_eq!(
            r.leaks[0].redacted,
            "<redacted: artifact secret access key>x <redacted: secret action property value><redacted: artifact secret access key>"
        );
    }

    #[test]
    fn the_capture_keeps_whole_lines_and_drops_the_oldest() {
        let c = Capture::default();
        c.push("one\ntwo\n");
        c.push("three");
        let s = c.snapshot();
        assert_eq!(s.text(), "one\ntwo\nthree\n");
        let big = "x".repeat(CAPTURE_LIMIT / 2);
        c.push(&big);
        c.push(&big);
        c.push("last");
        let s = c.snapshot();
        assert_eq!(s.lines.len(), 2, "the oldest lines went");
        assert_eq!(s.dropped_lines, 4);
        assert_eq!(s.dropped_bytes, (3 + 3 + 5 + CAPTURE_LIMIT / 2) as u64);
        assert_eq!(&*s.lines[1], "last");
    }
}
