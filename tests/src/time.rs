//! Simulated time under a test's hand. A test that depends on *when*
//! something happens (a shift still running when an alarm fires, a worker
//! stopped between two steps) freezes aws-sim's clock and moves it itself:
//! between two moves nothing scheduled on simulated time happens, however
//! slowly the machine runs the worker, so the test cannot lose a race
//! against the shift's schedule. It knows no scenario.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sim::Sim;

/// How long (real time) a loop below may wait for the condition before the
/// test fails: it bounds a hang, it is not what the test measures.
pub const HANG: Duration = Duration::from_secs(120);

/// Freezes the clock, then moves it forward `step` at a time until `done`
/// holds, giving the worker real time between moves (`pause`) to act on
/// what the move made due. Each move is followed by a sim tick, so
/// everything due at the new time has happened before `done` is asked.
/// Returns the simulated time moved. The clock stays frozen.
///
/// Because `done` is asked after every move, a condition that holds for
/// at least `step` of simulated time cannot slip by unobserved.
pub async fn advance_until(
    sim: &Arc<Sim>,
    step: Duration,
    pause: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> Duration {
    sim.clock.freeze();
    let started = Instant::now();
    let mut moved = Duration::ZERO;
    loop {
        sim.tick();
        if done() {
            return moved;
        }
        assert!(
            started.elapsed() < HANG,
            "{what}: not reached after {moved:?} of simulated time"
        );
        tokio::time::sleep(pause).await;
        if done() {
            return moved;
        }
        sim.clock.advance(step);
        moved += step;
    }
}

/// Waits (real time, simulated time frozen or not) until `done` holds;
/// fails the test after [`HANG`].
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < HANG, "{what}: never happened");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
