//! moto (`moto_server`, PyPI) as a reference S3 for conformance tests: start
//! it on a free loopback port when it is on `PATH`, wait until it answers,
//! and kill it when the returned guard drops. It knows no scenario.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A running `moto_server`; dropping it kills the process.
#[derive(Debug)]
pub struct MotoGuard {
    _child: tokio::process::Child,
}

/// `moto_server` on `PATH`, if any.
fn find_moto_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
}

/// Starts `moto_server -H 127.0.0.1 -p <free port>` and returns its endpoint
/// with the guard that keeps it alive. `None` (after printing
/// "moto_server not found, skipping") when it is not installed.
pub async fn moto_endpoint() -> Option<(String, MotoGuard)> {
    let Some(bin) = find_moto_server() else {
        // CI (`.ci/run` installs moto) must not pass a conformance test
        // that never ran; locally, without moto, the test is skipped.
        if std::env::var_os("CI").is_some() || std::env::var_os("REQUIRE_MOTO").is_some() {
            panic!(
                "moto_server not found but CI/REQUIRE_MOTO is set: install it with `pip install 'moto[server]'`"
            );
        }
        eprintln!("moto_server not found, skipping");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = tokio::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn moto_server");
    let guard = MotoGuard { _child: child };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if answers(port).await {
            return Some((format!("http://127.0.0.1:{port}"), guard));
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer on port {port} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether an HTTP server answers on the port (any status).
async fn answers(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let req =
        format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).await.is_ok() && buf.starts_with(b"HTTP/1.")
}
