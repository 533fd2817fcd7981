//! Webhooks as pure rules: the HMAC-SHA256 signature over `"<t>.<body>"` (RFC 2104 over `sha2`,
//! checked against the RFC 4231 vectors), the event each job end sends, which answers are worth
//! another attempt, and the backoff schedule. The sending adapter and the retrying service
//! follow these rules; nothing here does I/O.

use std::time::Duration;

use sha2::{Digest, Sha256};
use url::Url;

use super::job::JobState;
use super::target::{TrustedHosts, parse_target};

/// Most attempts per delivery (the first and five retries).
pub const MAX_ATTEMPTS: u32 = 6;
/// The first retry's delay; each later one doubles it (1, 2, 4, 8, 16 s).
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_secs(1);
/// Longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// HMAC-SHA256 of `message` under `key` (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0_u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_key = block.map(|b| b ^ 0x36);
    let outer_key = block.map(|b| b ^ 0x5c);
    let inner = Sha256::new().chain_update(inner_key).chain_update(message).finalize();
    Sha256::new().chain_update(outer_key).chain_update(inner).finalize().into()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The `X-Crawlrag-Signature` value: `t=<unix>,v1=<hex hmac_sha256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("t={timestamp},v1={}", hex(&hmac_sha256(secret.as_bytes(), &message)))
}

/// The event a job's end sends, or `None` while it has not ended.
pub fn event_for(state: JobState) -> Option<&'static str> {
    match state {
        JobState::Succeeded => Some("job.completed"),
        JobState::Failed => Some("job.failed"),
        JobState::Cancelled => Some("job.cancelled"),
        JobState::Interrupted => Some("job.interrupted"),
        JobState::Queued | JobState::Running => None,
    }
}

/// How one attempt went, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed and another attempt follows.
    Retrying,
    /// It failed for good (a 4xx other than 408/429, or the last attempt).
    Failed,
    /// The target resolves to a forbidden address: never sent.
    Refused,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Refused => "refused",
        }
    }
}

/// Whether an answer with `status` (or a network error, `None`) is worth another attempt:
/// network errors, 5xx, 408 and 429 are; any other status is final.
pub fn retryable(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(code) => code >= 500 || code == 408 || code == 429,
    }
}

/// The delay before attempt `attempt + 1` (attempt counts from 1): `base * 2^(attempt-1)`, plus
/// `jitter` (0..1) of up to 25% more; a receiver's `Retry-After` replaces it, capped.
pub fn backoff(base: Duration, attempt: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after {
        return after.min(MAX_RETRY_AFTER);
    }
    super::backoff::exponential(base, attempt, jitter)
}

/// Check a webhook URL when its job is submitted: http(s) with a host, and no literal private,
/// loopback, link-local or metadata IP unless allowed (names are checked again after DNS, at
/// delivery).
///
/// # Errors
/// A sentence saying what is wrong with the URL.
pub fn check_webhook_url(raw: &str, allow_private: bool, trusted: &TrustedHosts) -> Result<Url, String> {
    let url = parse_target(raw).map_err(|e| format!("webhook_url: {e}"))?;
    if !allow_private && let Some(reason) = trusted.literal_refusal(&url) {
        return Err(format!(
            "webhook_url {url} is a {reason}; webhooks are not sent to private networks (set \
             CRAWLRAG_ALLOW_PRIVATE_NETWORKS or CRAWLRAG_TRUSTED_HOSTS to allow it)"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let long_key = vec![0xaa_u8; 131];
        let cases: [(Vec<u8>, Vec<u8>, &str); 5] = [
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (
                long_key.clone(),
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                long_key,
                b"This is a test using a larger than block-size key and a larger than block-size data. The key \
                  needs to be hashed before being used by the HMAC algorithm."
                    .to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(hex(&hmac_sha256(&key, &data)), expected);
        }
        let case4_key = unhex("0102030405060708090a0b0c0d0e0f10111213141516171819");
        assert_eq!(
            hex(&hmac_sha256(&case4_key, &[0xcd; 50])),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        );
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        let sig = signature("s3cret", 1_700_000_000, b"{\"a\":1}");
        let expected = hex(&hmac_sha256(b"s3cret", b"1700000000.{\"a\":1}"));
        assert_eq!(sig, format!("t=1700000000,v1={expected}"));
        assert_ne!(sig, signature("s3cret", 1_700_000_001, b"{\"a\":1}"));
    }

    #[test]
    fn retry_classification() {
        for status in [None, Some(500), Some(502), Some(503), Some(408), Some(429)] {
            assert!(retryable(status), "{status:?}");
        }
        for status in [Some(400), Some(401), Some(403), Some(404), Some(410), Some(422)] {
            assert!(!retryable(status), "{status:?}");
        }
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = DEFAULT_BASE_DELAY;
        let plain: Vec<u64> = (1..MAX_ATTEMPTS).map(|a| backoff(base, a, 0.0, None).as_secs()).collect();
        assert_eq!(plain, [1, 2, 4, 8, 16]);
        assert_eq!(backoff(base, 3, 1.0, None), Duration::from_secs(5));
        assert_eq!(backoff(base, 1, 0.0, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(backoff(base, 1, 0.0, Some(Duration::from_secs(999))), MAX_RETRY_AFTER);
    }

    #[test]
    fn webhook_urls_are_checked_at_submit() {
        let none = TrustedHosts::default();
        assert!(check_webhook_url("https://hooks.example.com/x", false, &none).is_ok());
        let err = check_webhook_url("http://169.254.169.254/x", false, &none).unwrap_err();
        assert!(err.contains("cloud metadata address"), "{err}");
        assert!(check_webhook_url("http://127.0.0.1:9/x", true, &none).is_ok());
        assert!(check_webhook_url("http://10.0.0.1/x", false, &TrustedHosts::new(["10.0.0.1".to_owned()])).is_ok());
        assert!(check_webhook_url("ftp://x.y/", false, &none).unwrap_err().contains("scheme"));
        for state in [JobState::Succeeded, JobState::Failed, JobState::Cancelled, JobState::Interrupted] {
            assert!(event_for(state).is_some());
        }
        assert_eq!(event_for(JobState::Running), None);
    }
}
