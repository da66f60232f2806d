//! The worker's memory as the C allocator keeps it: glibc malloc settings
//! chosen before any thread starts, and the free memory handed back to the
//! system after jobs, so that a long-running worker's RSS follows what it
//! uses (bounded by its job slots) rather than every peak it has seen.
//!
//! Why: glibc gives threads their own malloc arenas, up to 8 per CPU (16
//! on the 2 vCPUs a worker task typically has). Jobs run on the tokio
//! worker threads and on blocking threads (unpacking while the download
//! arrives, file writes) that come and go with the load, so a job's
//! allocations land in whichever arena its thread picks, and each arena
//! keeps the memory freed in it. Its download buffers (1 MiB) also stop
//! being mapped and unmapped after the first is freed: glibc's dynamic
//! mmap threshold rises to their size and moves them into the arenas.
//! Measured with the bench's `soak` (`--max-jobs 64`): at rest after 2,000
//! and 8,000 jobs the live heap was 7.1 and 6.6 MiB while the arenas held
//! 37.7 and 26.8 MiB, and peak RSS rose with the jobs put through.
//!
//! So, for the long-running `run` command and every other one (all on
//! glibc; other C libraries are left as they are):
//! - at most [`ARENAS`] arenas (`M_ARENA_MAX`);
//! - a fixed mmap threshold of [`MMAP_THRESHOLD`] (`M_MMAP_THRESHOLD`;
//!   fixing it also keeps the trim threshold at its 128 KiB default):
//!   large buffers are always their own mapping, returned when freed;
//! - after a job ends, at most once per [`TRIM_EVERY`], and once when
//!   the worker goes idle after jobs, `malloc_trim(0)` returns the free
//!   pages of every arena.
//!
//! Both settings can still be set from the environment, which glibc reads
//! at start-up (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, or
//! `GLIBC_TUNABLES=glibc.malloc.arena_max=…`): [`tune`] then leaves that
//! setting alone.
//! This module knows nothing about jobs beyond "one ended".

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Malloc arenas at most: the worker's threads mostly wait on the network;
/// two keep contention low on the usual 2 vCPUs.
pub const ARENAS: i32 = 2;

/// Allocations of this size or more get their own mapping (glibc's
/// initial default, kept fixed instead of rising with freed buffers).
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Free memory is handed back after a job at most this often (one
/// `malloc_trim` walks every arena, holding each one's lock).
pub const TRIM_EVERY: Duration = Duration::from_secs(5);

/// glibc's malloc interface (`<malloc.h>`), as the `libc` crate binds it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use libc as glibc;

/// Sets the allocator up (see the module's text). Call it first thing in
/// `main`, before the runtime starts its threads.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let unset = |var: &str, tunable: &str| {
            std::env::var_os(var).is_none() && !tunables.contains(tunable)
        };
        // SAFETY: mallopt takes plain integers and only changes malloc's
        // parameters (under its own lock).
        unsafe {
            if unset("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") {
                glibc::mallopt(glibc::M_ARENA_MAX, ARENAS);
            }
            if unset("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold") {
                glibc::mallopt(glibc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            }
        }
    }
}

/// Milliseconds since [`START`] of the last trim (0: none yet).
static LAST_TRIM_MS: AtomicU64 = AtomicU64::new(0);
static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
/// A job ended since the last trim.
static ENDED: AtomicBool = AtomicBool::new(false);

/// A job ended: returns the allocator's free pages to the system if the
/// last time was at least [`TRIM_EVERY`] ago. Returns whether it trimmed.
pub fn job_ended() -> bool {
    ENDED.store(true, Ordering::Relaxed);
    let start = *START.get_or_init(Instant::now);
    let now = start.elapsed().as_millis() as u64 + 1;
    let last = LAST_TRIM_MS.load(Ordering::Relaxed);
    if last != 0 && now.saturating_sub(last) < TRIM_EVERY.as_millis() as u64 {
        return false;
    }
    // One caller per period trims; the others go on.
    if LAST_TRIM_MS
        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        .is_err()
    {
        return false;
    }
    ENDED.store(false, Ordering::Relaxed);
    trim();
    true
}

/// The worker is idle (no job in flight): returns what the last jobs
/// freed, if a job ended since the last trim. Returns whether it trimmed.
pub fn idle() -> bool {
    if !ENDED.swap(false, Ordering::Relaxed) {
        return false;
    }
    let start = *START.get_or_init(Instant::now);
    LAST_TRIM_MS.store(start.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    trim();
    true
}

/// Returns the free pages of every malloc arena to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the arenas' locks itself; any thread may call it.
    unsafe {
        glibc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_at_most_once_per_period() {
        // Whether or not this one trims (another test may just have), the
        // next one, within the period, does not.
        job_ended();
        assert!(!job_ended());
        // Going idle after it trims once, then not again until a job ends.
        assert!(idle());
        assert!(!idle());
    }
}
