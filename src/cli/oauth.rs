//! The OAuth settings of `crawlrag serve --http`: an issuer whose JWT access tokens are accepted
//! beside API keys, and this server's canonical URL as an RFC 9728 protected resource. Checked
//! here, before serving, so a wrong setting stops the start with a message (exit code 2).

use clap::Args;
use url::Url;

use crate::app::App;
use crate::domain::oauth::{check_resource_url, tls_unless_loopback};
use crate::error::Error;
use crate::transport::bearer::{BearerVerifier, DEFAULT_ALGORITHMS, TokenPolicy, parse_algorithms};
use crate::transport::resource_metadata::ProtectedResource;

#[derive(Debug, Clone, Args)]
pub struct OAuthArgs {
    /// JWKS URL of the OAuth issuer whose JWT access tokens are accepted beside API keys
    /// (https, or http on loopback). Needs --oauth-issuer and --public-url.
    #[arg(long = "oauth-jwks-url", env = "CRAWLRAG_OAUTH_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// The issuer (`iss`) tokens must come from, exactly.
    #[arg(long = "oauth-issuer", env = "CRAWLRAG_OAUTH_ISSUER")]
    pub issuer: Option<String>,
    /// This server's canonical resource URL, e.g. https://rag.example.com/mcp: tokens' `aud` must
    /// contain it, and the RFC 9728 metadata at /.well-known/oauth-protected-resource names it.
    #[arg(long = "public-url", env = "CRAWLRAG_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Token signing algorithms accepted, comma-separated (asymmetric only; never none or HS*).
    #[arg(long = "oauth-algorithms", env = "CRAWLRAG_OAUTH_ALGORITHMS", value_delimiter = ',', default_value = DEFAULT_ALGORITHMS)]
    pub algorithms: Vec<String>,
    /// Authorization servers listed in the metadata, comma-separated (default: the issuer).
    #[arg(long = "oauth-authorization-servers", env = "CRAWLRAG_OAUTH_AUTHORIZATION_SERVERS", value_delimiter = ',')]
    pub authorization_servers: Vec<String>,
}

/// What the OAuth settings configure: token checking and the protected-resource metadata.
#[derive(Debug, Default)]
pub struct OAuthSetup {
    pub bearer: Option<BearerVerifier>,
    pub resource: Option<ProtectedResource>,
}

impl OAuthArgs {
    /// Check the settings and build what they configure.
    ///
    /// # Errors
    /// [`Error::BadInput`] naming the setting that is wrong or missing.
    pub fn resolve(&self) -> Result<OAuthSetup, Error> {
        let bad = |m: String| Error::BadInput(m);
        let issuer = self.issuer.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let servers: Vec<String> =
            self.authorization_servers.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        let Some(jwks) = self.jwks_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            if issuer.is_some() || !servers.is_empty() {
                return Err(bad("CRAWLRAG_OAUTH_ISSUER / CRAWLRAG_OAUTH_AUTHORIZATION_SERVERS need \
                                CRAWLRAG_OAUTH_JWKS_URL (the issuer's key set)"
                    .into()));
            }
            return Ok(OAuthSetup { bearer: None, resource: self.resource(Vec::new())? });
        };
        let jwks = check_jwks_url(jwks).map_err(bad)?;
        let issuer = issuer.ok_or_else(|| bad("CRAWLRAG_OAUTH_JWKS_URL needs CRAWLRAG_OAUTH_ISSUER".into()))?;
        let servers = if servers.is_empty() { vec![issuer.to_owned()] } else { servers };
        let resource = self.resource(servers)?.ok_or_else(|| {
            bad("CRAWLRAG_OAUTH_JWKS_URL needs CRAWLRAG_PUBLIC_URL (tokens' audience must name this server)".into())
        })?;
        let algorithms =
            parse_algorithms(&self.algorithms).map_err(|e| bad(format!("CRAWLRAG_OAUTH_ALGORITHMS: {e}")))?;
        let keys = App::token_keys(jwks).map_err(|e| Error::Internal(format!("{e:#}")))?;
        let policy = TokenPolicy { issuer: issuer.to_owned(), audience: resource.canonical.clone(), algorithms };
        Ok(OAuthSetup { bearer: Some(BearerVerifier::new(keys, policy)), resource: Some(resource) })
    }

    fn resource(&self, authorization_servers: Vec<String>) -> Result<Option<ProtectedResource>, Error> {
        let Some(text) = self.public_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        let url = check_resource_url(text).map_err(|e| Error::BadInput(format!("CRAWLRAG_PUBLIC_URL: {e}")))?;
        Ok(Some(ProtectedResource { url, canonical: text.to_owned(), authorization_servers }))
    }
}

/// The key set must come over TLS, but for an issuer on this machine.
fn check_jwks_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("CRAWLRAG_OAUTH_JWKS_URL {text:?}: {e}"))?;
    if !tls_unless_loopback(&url) {
        return Err(format!("CRAWLRAG_OAUTH_JWKS_URL {text:?}: https is required off loopback"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(jwks: Option<&str>, issuer: Option<&str>, public: Option<&str>) -> OAuthArgs {
        OAuthArgs {
            jwks_url: jwks.map(String::from),
            issuer: issuer.map(String::from),
            public_url: public.map(String::from),
            algorithms: vec!["RS256".into(), "ES256".into()],
            authorization_servers: Vec::new(),
        }
    }

    #[test]
    fn nothing_set_configures_nothing() {
        let setup = args(None, None, None).resolve().unwrap();
        assert!(setup.bearer.is_none() && setup.resource.is_none());
    }

    #[test]
    fn a_public_url_alone_serves_metadata_without_servers() {
        let setup = args(None, None, Some("https://rag.example.com/mcp")).resolve().unwrap();
        let resource = setup.resource.unwrap();
        assert!(setup.bearer.is_none() && resource.authorization_servers.is_empty());
        assert_eq!(resource.metadata_url(), "https://rag.example.com/.well-known/oauth-protected-resource/mcp");
    }

    #[tokio::test]
    async fn jwks_needs_issuer_and_public_url_and_a_safe_allow_list() {
        let jwks = Some("https://idp.example.com/jwks");
        assert!(args(jwks, None, Some("https://r/mcp")).resolve().is_err());
        assert!(args(jwks, Some("https://idp.example.com"), None).resolve().is_err());
        assert!(args(Some("http://idp.example.com/jwks"), Some("i"), Some("https://r/mcp")).resolve().is_err());
        assert!(args(None, Some("https://idp.example.com"), None).resolve().is_err());
        let mut hs = args(jwks, Some("https://idp.example.com"), Some("https://r/mcp"));
        hs.algorithms = vec!["HS256".into()];
        assert!(matches!(hs.resolve(), Err(Error::BadInput(m)) if m.contains("HS256")));
        let setup = args(jwks, Some("https://idp.example.com"), Some("https://r/mcp")).resolve().unwrap();
        assert!(setup.bearer.is_some());
        assert_eq!(setup.resource.unwrap().authorization_servers, vec!["https://idp.example.com".to_owned()]);
    }
}
