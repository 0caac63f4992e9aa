//! The one way a provider fetches a remote document (discovery, JWKS): the scheme checked
//! (`https`, or `http` only where the configuration allows it, also after redirects), a
//! timeout and a bounded size.

use std::time::Duration;

use url::Url;

use crate::VerifyError;

/// `https` always; `http` only when allowed; anything else never.
pub fn check_scheme(url: &Url, allow_http: bool) -> Result<(), VerifyError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http => Ok(()),
        _ => Err(VerifyError::Config(format!(
            "{url}: only https URLs are allowed (allow_http is for development and tests)"
        ))),
    }
}

/// GET a JSON document: scheme checked (also after redirects), timeout, bounded size.
/// Failures are `Unavailable`, a refused scheme is `Config`.
pub async fn fetch_document(
    http: &reqwest::Client,
    url: &Url,
    allow_http: bool,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Vec<u8>, VerifyError> {
    check_scheme(url, allow_http)?;
    let unavailable = |what: String| VerifyError::Unavailable(format!("GET {url}: {what}"));
    let mut response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| unavailable(e.without_url().to_string()))?;
    if check_scheme(response.url(), allow_http).is_err() {
        return Err(unavailable(
            "redirected to a URL that is not allowed".to_owned(),
        ));
    }
    let status = response.status();
    if !status.is_success() {
        return Err(unavailable(format!("HTTP {status}")));
    }
    let too_large = || unavailable(format!("document larger than {max_bytes} bytes"));
    if response
        .content_length()
        .is_some_and(|len| len > max_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
