//! moto (`moto_server`, PyPI; the version CI installs is pinned in
//! `.ci/versions`) as a reference implementation for conformance tests.
//! [`moto`] is the one way a test gets it: it starts `moto_server` on a port
//! moto picks and reports itself, checks that what answers there *is* moto,
//! and kills it when the returned [`Moto`] drops. Without `moto_server` on
//! `PATH` a test fails when `CI` (or `REQUIRE_MOTO`) is set, and otherwise
//! prints `skipped: moto_server not found` past the test harness's output
//! capture, so a skipped comparison is seen. It knows no scenario.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// How long `moto_server` may take to report its port (Python starts slowly
/// on a loaded machine; this bounds a hang, it times nothing).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `moto_server`; dropping it kills the process.
#[derive(Debug)]
pub struct Moto {
    /// `http://127.0.0.1:PORT`, the port moto bound and reported.
    pub endpoint: String,
    _child: tokio::process::Child,
    /// Reads moto's request log (stderr) to its end: a pipe nobody reads
    /// would fill and block moto mid-answer.
    _drain: tokio::task::JoinHandle<()>,
}

/// `moto_server` on `PATH`, if any.
fn find_moto_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
}

/// Whether a missing moto fails the test: in CI (`.ci/run` installs moto, so
/// a comparison that never ran must not pass) or when `REQUIRE_MOTO` is set.
fn moto_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("REQUIRE_MOTO").is_some()
}

/// Writes `line` to the process's stderr directly: libtest captures only
/// `print!`/`eprint!`, so this stays visible for a test that passes.
fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Starts `moto_server` for the test `test` (its name, for the messages).
/// `None` when it is not installed and not required: the caller skips what
/// needs moto (the skip is printed). Panics when it is required but missing,
/// or when it does not start, or when what answers is not moto.
pub async fn moto(test: &str) -> Option<Moto> {
    let Some(bin) = find_moto_server() else {
        if moto_required() {
            panic!(
                "{test}: moto_server not found but CI/REQUIRE_MOTO is set: install it with \
                 `pip install 'moto[server]==<MOTO_VERSION in .ci/versions>'`"
            );
        }
        say(&format!(
            "skipped: moto_server not found ({test}: its moto comparison did not run; \
             `pip install 'moto[server]'` to run it)"
        ));
        return None;
    };
    // `-p 0`: the kernel picks a free port when moto binds, and moto prints
    // it (" * Running on http://127.0.0.1:PORT" on stderr). No port is
    // chosen here and released for moto to take: nothing else can hold it.
    let mut child = tokio::process::Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", "0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{test}: spawn {}: {e}", bin.display()));
    let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let mut seen = Vec::new();
    let port = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.expect("read moto_server's stderr") {
            if let Some(port) = reported_port(&line) {
                return Some(port);
            }
            seen.push(line);
        }
        None
    })
    .await
    .unwrap_or_else(|_| panic!("{test}: moto_server reported no port within {START_TIMEOUT:?}"))
    .unwrap_or_else(|| panic!("{test}: moto_server exited before serving: {seen:?}"));
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let endpoint = format!("http://127.0.0.1:{port}");
    // The port was reported by the process just started, so it is moto's;
    // still, ask: a comparison against anything else would compare nothing.
    if let Err(e) = is_moto(port).await {
        panic!("{test}: the server on {endpoint} is not moto: {e}");
    }
    Some(Moto {
        endpoint,
        _child: child,
        _drain: drain,
    })
}

/// The port in werkzeug's start-up line ` * Running on http://HOST:PORT`.
fn reported_port(line: &str) -> Option<u16> {
    let rest = line.split("Running on http://").nth(1)?;
    let authority = rest.split(['/', ' ']).next()?;
    authority.rsplit(':').next()?.parse().ok()
}

/// Whether `127.0.0.1:port` is moto: its dashboard, `GET /moto-api/`, is a
/// page titled "Moto" (aws-sim, or any other AWS look-alike, has no such
/// route).
async fn is_moto(port: u16) -> Result<(), String> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let req =
        format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    s.take(1 << 20)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 200") && answer.contains("<title>Moto</title>") {
        Ok(())
    } else {
        Err(format!(
            "GET /moto-api/ answered {status:?} without moto's dashboard"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_werkzeug_reports() {
        assert_eq!(
            reported_port(" * Running on http://127.0.0.1:42075"),
            Some(42075)
        );
        assert_eq!(
            reported_port(" * Running on http://127.0.0.1:5000/ (Press CTRL+C to quit)"),
            Some(5000)
        );
        assert_eq!(reported_port("Press CTRL+C to quit"), None);
        assert_eq!(reported_port(" * Running on http://127.0.0.1:x"), None);
    }

    /// A server that is not moto is refused, however it answers.
    #[tokio::test]
    async fn an_aws_look_alike_is_not_taken_for_moto() {
        let sim = crate::start_sim(crate::SimConfig::default()).await;
        let e = is_moto(sim.addr().port()).await.unwrap_err();
        assert!(e.contains("without moto's dashboard"), "{e}");
    }
}
