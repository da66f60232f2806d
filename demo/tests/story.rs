//! The README's demo, short form, as a test: runs the `demo` binary (the
//! whole release story on aws-sim at ×600, debug build) and passes only if
//! it exits 0, which it does only when every step of the story behaved as
//! expected. It knows nothing of the story itself; the demo judges its own
//! steps (demo/src/main.rs).
//!
//! Being a test of the demo package, the binary is built by
//! `cargo test --workspace` with the features the rest of the suite uses,
//! so CI compiles it once instead of again for a separate `cargo run`.

use std::process::Command;

#[test]
fn the_release_story_plays_and_every_step_behaves_as_expected() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--speed", "600", "--plain"])
        .output()
        .expect("the demo binary starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the demo exited with {:?}; its output:\n{stdout}\n{stderr}",
        output.status.code()
    );
    // The closing verdict is printed: the story reached its end.
    assert!(
        stdout.contains("Every step behaved as expected"),
        "the demo's output lacks its closing verdict:\n{stdout}"
    );
}
