//! How the worker reaches AWS: the SDK's default credential chain and
//! `AWS_ENDPOINT_URL`, over one HTTP/TLS stack (hyper 1 + rustls with ring).
//!
//! There is no special code path for aws-sim: pointing `AWS_ENDPOINT_URL` at
//! it is all it takes. This module knows nothing about jobs or releases.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTP client every SDK client of the worker uses: HTTPS via rustls
/// (ring crypto, so no C toolchain for aws-lc), plain HTTP for local endpoints.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Loads the SDK configuration from the environment: credentials by the
/// default chain (env, profile, SSO, web identity, ECS task role, IMDS),
/// region, and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}
