//! The worker's input-artifact download overlapped with its unpacking
//! (`ArtifactStore::download_while`, issue 8) against aws-sim's S3: the
//! requests it makes per artifact shape (one GET for a small artifact; tail,
//! body for a big one; tail, central directory, body when the directory is
//! bigger than the first tail fetch), what the reader gets, and a
//! truncated artifact refused with a clear error.

use std::io::Write;
use std::time::Duration;

use pipeline_canary::artifact::{self, UnpackLimits};
use pipeline_canary::codepipeline::JobContext;
use pipeline_canary::engine::EngineError;
use pipeline_canary::job::{ActionConfiguration, Artifact, ArtifactCredentials, JobInput};
use pipeline_canary::release::fetch::ArtifactStore;
use pipeline_canary::report::FailureKind;

const BUCKET: &str = "overlap-artifacts";

fn data(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + seed * 7) % 251) as u8).collect()
}

/// A zip of `n` stored entries of `size` bytes with long names.
fn zip_of(n: usize, size: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..n {
        w.start_file(format!("src/{}/f{i:05}.js", "d".repeat(70)), opts)
            .unwrap();
        w.write_all(&data(size, i)).unwrap();
    }
    w.finish().unwrap().into_inner()
}

struct Env {
    sim: e2e::SimHandle,
    conf: aws_config::SdkConfig,
}

impl Env {
    async fn new() -> Env {
        let sim = e2e::start_sim(e2e::SimConfig::default()).await;
        let conf = e2e::sdk_config(&sim.endpoint());
        e2e::s3_client(&conf)
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        Env { sim, conf }
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Artifact {
        e2e::s3_client(&self.conf)
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        Artifact {
            name: "App".into(),
            revision: None,
            bucket: BUCKET.into(),
            key: key.into(),
        }
    }

    /// Downloads `a` with `download_while`, unpacking into a temp dir; the
    /// GetObject calls it made (status of each).
    async fn fetch(
        &self,
        a: &Artifact,
    ) -> (
        Result<(u64, artifact::UnpackReport), EngineError>,
        Vec<u16>,
        tempfile::TempDir,
    ) {
        let job = JobInput {
            job_id: "00000000-0000-4000-8000-000000000008".into(),
            pipeline_name: "p".into(),
            stage_name: "Deploy".into(),
            action_name: "Canary".into(),
            pipeline_execution_id: "e".into(),
            action_execution_id: "a".into(),
            configuration: ActionConfiguration::default(),
            input_artifacts: vec![a.clone()],
            output_artifacts: vec![],
            artifact_credentials: Some(ArtifactCredentials {
                access_key_id: e2e::ACCOUNT_KEY.into(),
                secret_access_key: e2e::ACCOUNT_SECRET.into(),
                session_token: "token".into(),
            }),
            continuation_token: None,
            encryption_key_id: None,
        };
        let ctx = JobContext::new(job, None, Duration::from_secs(600));
        let store = ArtifactStore {
            sdk: &self.conf,
            ctx: &ctx,
            path_style: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let since = self.sim.sim().log.len();
        let r = store
            .download_while(a, &dir.path().join("input.zip"), move |reader| {
                artifact::unpack_verifying_zips_from(
                    reader,
                    &out,
                    &UnpackLimits::pipeline_artifact(),
                    &UnpackLimits::function_bundle(),
                )
                .map(|(report, _)| report)
                .map_err(|e| {
                    EngineError::new(
                        FailureKind::ConfigurationError,
                        format!("the input artifact: {e}"),
                    )
                })
            })
            .await;
        let gets = self
            .sim
            .sim()
            .log
            .query(since, Some("s3"), Some("GetObject"))
            .iter()
            .map(|x| x.status)
            .collect();
        (r, gets, dir)
    }
}

fn assert_unpacked(dir: &tempfile::TempDir, n: usize, size: usize) {
    for i in [0, n / 2, n - 1] {
        let p = dir
            .path()
            .join(format!("out/src/{}/f{i:05}.js", "d".repeat(70)));
        assert_eq!(std::fs::read(&p).unwrap(), data(size, i), "{}", p.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_artifacts_take_one_get_big_ones_a_tail_and_a_body() {
    let env = Env::new().await;
    // 20 KiB: the tail GET is the whole object.
    let small = zip_of(10, 2_000);
    let a = env.put("small.zip", small.clone()).await;
    let (r, gets, dir) = env.fetch(&a).await;
    let (len, report) = r.unwrap();
    assert_eq!((len, report.files), (small.len() as u64, 10));
    assert_eq!(gets, [206]);
    assert_unpacked(&dir, 10, 2_000);

    // 3 MiB, small directory: tail, then the body.
    let big = zip_of(30, 100_000);
    let a = env.put("big.zip", big.clone()).await;
    let (r, gets, dir) = env.fetch(&a).await;
    let (len, report) = r.unwrap();
    assert_eq!((len, report.files), (big.len() as u64, 30));
    assert_eq!(gets, [206, 206]);
    assert_unpacked(&dir, 30, 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_bigger_than_the_first_tail_is_fetched_before_the_body() {
    let env = Env::new().await;
    // 4,000 entries × ~130 bytes of directory: ~520 KiB, over the 256 KiB tail.
    let zip = zip_of(4_000, 300);
    let cd = zip::ZipArchive::new(std::io::Cursor::new(&zip))
        .unwrap()
        .central_directory_start();
    assert!(zip.len() as u64 - cd > 300 * 1024);
    let a = env.put("many.zip", zip.clone()).await;
    let (r, gets, dir) = env.fetch(&a).await;
    let (len, report) = r.unwrap();
    assert_eq!((len, report.files), (zip.len() as u64, 4_000));
    assert_eq!(gets, [206, 206, 206], "tail, directory, body");
    assert_unpacked(&dir, 4_000, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_artifact_is_refused_and_an_empty_one_named() {
    let env = Env::new().await;
    // A zip cut in its middle keeps its local headers but loses its end
    // records: refused as truncated after the tail fetch.
    let zip = zip_of(30, 100_000);
    let a = env.put("cut.zip", zip[..zip.len() / 2].to_vec()).await;
    let (r, gets, _dir) = env.fetch(&a).await;
    let e = r.unwrap_err();
    assert_eq!(e.kind, FailureKind::ConfigurationError, "{}", e.message);
    assert!(
        e.message
            .starts_with("the input artifact: the zip is truncated"),
        "{}",
        e.message
    );
    assert_eq!(gets.first(), Some(&206));

    // End records claiming a directory longer than the object (the object
    // is shorter than its directory says): corrupt, named as such.
    let mut lying = zip.clone();
    let eocd = lying.len() - 22;
    lying[eocd + 12..eocd + 16].copy_from_slice(&(50_000_000u32).to_le_bytes());
    let a = env.put("lying.zip", lying).await;
    let (r, _, _dir) = env.fetch(&a).await;
    let e = r.unwrap_err();
    assert_eq!(e.kind, FailureKind::ConfigurationError, "{}", e.message);
    assert!(
        e.message
            .contains("the central directory is larger than the file"),
        "{}",
        e.message
    );

    // An empty object: 416 to the suffix range, then one plain GET.
    let a = env.put("empty.zip", Vec::new()).await;
    let (r, gets, _dir) = env.fetch(&a).await;
    let e = r.unwrap_err();
    assert!(e.message.contains("empty file (0 bytes)"), "{}", e.message);
    assert_eq!(gets, [416, 200]);

    // A missing object: the download's failure names the artifact.
    let gone = Artifact {
        key: "missing.zip".into(),
        ..a
    };
    let (r, _, _dir) = env.fetch(&gone).await;
    let e = r.unwrap_err();
    assert_eq!(e.kind, FailureKind::RevisionUnavailable, "{}", e.message);
    assert!(
        e.message
            .contains("artifact `App` (s3://overlap-artifacts/missing.zip)"),
        "{}",
        e.message
    );
}
