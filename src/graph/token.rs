//! Client-credentials tokens, cached per (login host, tenant, app) until shortly before they
//! expire. The secret goes into the token request body and nowhere else.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::error::{ErrorCode, GraphError};
use super::handles::TenantConnection;

/// Renew this long before expiry, so a token never dies mid-request.
const EARLY: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
    /// Entra's AADSTS numbers, e.g. 7000215 for a wrong secret.
    error_codes: Option<Vec<u64>>,
}

/// What an Entra sign-in error means for the admin, and what to do (Microsoft's AADSTS error
/// code reference).
pub fn aadsts_meaning(code: u64) -> Option<&'static str> {
    Some(match code {
        7_000_215 => "the client secret is wrong: paste the secret's value (not its ID) in the tenant's settings",
        7_000_222 => "the client secret has expired: create a new one for the app registration and save it here",
        700_016 => {
            "the app registration is not in this tenant: check the client id and the tenant id, and that admin consent was given"
        }
        90_002 | 900_023 => "no such Entra tenant: check the tenant id",
        65_001 => "admin consent is missing: grant admin consent to the app's permissions in Entra",
        7_000_112 => "the app registration is disabled in Entra",
        _ => return None,
    })
}

#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, (SecretString, Instant)>>,
}

/// One token per login host, tenant, app *and secret*: two tenant records for the same app
/// (a second record, a secret being replaced) must each prove their own secret; a token
/// cached for one must never vouch for the other. The secret enters only as a digest, kept
/// in memory.
fn key(conn: &TenantConnection) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(conn.client_secret.expose_secret().as_bytes());
    format!(
        "{}|{}|{}|{}",
        conn.login_base_url,
        conn.entra_tenant_id,
        conn.client_id,
        hex::encode(&digest[..16])
    )
}

impl TokenCache {
    pub async fn token(&self, http: &reqwest::Client, conn: &TenantConnection) -> Result<SecretString, GraphError> {
        if let Some((t, until)) = self.lock().get(&key(conn))
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let fresh = request(http, conn).await?;
        self.lock().insert(key(conn), fresh.clone());
        Ok(fresh.0)
    }

    /// Forgets a token Graph refused (401), so the next call fetches a new one.
    pub fn invalidate(&self, conn: &TenantConnection) {
        self.lock().remove(&key(conn));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SecretString, Instant)>> {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn request(http: &reqwest::Client, conn: &TenantConnection) -> Result<(SecretString, Instant), GraphError> {
    let url = format!("{}/{}/oauth2/v2.0/token", conn.login_base_url, conn.entra_tenant_id);
    let scope = format!("{}/.default", conn.graph_base_url);
    let form = [
        ("client_id", conn.client_id.as_str()),
        ("client_secret", conn.client_secret.expose_secret()),
        ("scope", scope.as_str()),
        ("grant_type", "client_credentials"),
    ];
    let res = http.post(&url).form(&form).send().await.map_err(|e| {
        let code = if e.is_timeout() {
            ErrorCode::Timeout
        } else {
            ErrorCode::Network
        };
        GraphError::new(code, "could not reach the token endpoint", &json!({}))
    })?;
    let status = res.status().as_u16();
    if res.status().is_redirection() {
        // The client never follows redirects: the secret goes to the login endpoint only.
        return Err(GraphError::new(
            ErrorCode::AuthFailed,
            format!("the token endpoint answered with a redirect ({status}), which is not followed"),
            &json!({"http_status": status, "reason": "the token endpoint redirected elsewhere; the client secret is only sent to the tenant's login endpoint"}),
        ));
    }
    if !res.status().is_success() {
        // Entra answers e.g. {"error": "invalid_client", ...}: keep the code, drop the text.
        let err: Option<TokenError> = res.json().await.ok();
        let code = if (500..600).contains(&status) {
            ErrorCode::GraphUnavailable
        } else {
            ErrorCode::AuthFailed
        };
        let aadsts = err
            .as_ref()
            .and_then(|e| e.error_codes.as_ref())
            .and_then(|c| c.first().copied());
        let reason = aadsts.map(|c| match aadsts_meaning(c) {
            Some(meaning) => format!("AADSTS{c}: {meaning}"),
            None => format!("AADSTS{c}: Entra refused the app's sign-in"),
        });
        let ctx = json!({
            "http_status": status,
            "graph_error_code": err.and_then(|e| e.error),
            "reason": reason,
        });
        return Err(GraphError::new(
            code,
            format!("the token endpoint refused the app credentials ({status})"),
            &ctx,
        ));
    }
    let answer: TokenAnswer = res.json().await.map_err(|_| {
        GraphError::new(
            ErrorCode::AuthFailed,
            "the token endpoint sent no token",
            &json!({"http_status": status}),
        )
    })?;
    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3599))
        .saturating_sub(EARLY)
        .max(Duration::from_secs(30));
    Ok((SecretString::from(answer.access_token), Instant::now() + lifetime))
}

#[derive(Deserialize)]
struct Discovery {
    issuer: Option<String>,
    token_endpoint: Option<String>,
}

/// The tenant id of an Entra tenant named by a domain (`contoso.onmicrosoft.com`), from its
/// OpenID discovery document: `{login}/{domain}/v2.0/.well-known/openid-configuration`, whose
/// `issuer` is `{login}/{tenant id}/v2.0` (Microsoft identity platform, "OpenID Connect on
/// the Microsoft identity platform": the discovery document). Sends no secret.
pub async fn resolve_domain(http: &reqwest::Client, login_base_url: &str, domain: &str) -> Result<String, GraphError> {
    let url = format!("{login_base_url}/{domain}/v2.0/.well-known/openid-configuration");
    let res = http.get(&url).send().await.map_err(|e| {
        let code = if e.is_timeout() {
            ErrorCode::Timeout
        } else {
            ErrorCode::Network
        };
        GraphError::new(code, "could not reach the login endpoint", &json!({}))
    })?;
    let status = res.status().as_u16();
    if !res.status().is_success() {
        let err: Option<TokenError> = res.json().await.ok();
        let aadsts = err
            .as_ref()
            .and_then(|e| e.error_codes.as_ref())
            .and_then(|c| c.first().copied());
        let reason = match aadsts {
            Some(c) => format!(
                "AADSTS{c}: no Entra tenant has the domain {domain}: check the spelling, or enter the tenant id"
            ),
            None => format!(
                "Entra could not look up the domain {domain} ({status}): check the spelling, or enter the tenant id"
            ),
        };
        let code = if (500..600).contains(&status) {
            ErrorCode::GraphUnavailable
        } else {
            ErrorCode::AuthFailed
        };
        return Err(GraphError::new(
            code,
            "the tenant's domain could not be resolved",
            &json!({"http_status": status, "reason": reason}),
        ));
    }
    let doc: Option<Discovery> = res.json().await.ok();
    let issuer_id = doc
        .as_ref()
        .and_then(|d| d.issuer.as_deref())
        .and_then(|i| i.strip_prefix(login_base_url))
        .and_then(|rest| rest.trim_start_matches('/').split('/').next())
        .map(str::to_lowercase)
        .filter(|id| crate::tenants::is_guid(id));
    let endpoint_agrees = |id: &str| {
        doc.as_ref()
            .and_then(|d| d.token_endpoint.as_deref())
            .is_none_or(|t| t.to_lowercase().contains(id))
    };
    match issuer_id {
        Some(id) if endpoint_agrees(&id) => Ok(id),
        _ => Err(GraphError::new(
            ErrorCode::AuthFailed,
            "the login endpoint's discovery document names no tenant id",
            &json!({"http_status": status, "reason": format!("the discovery document of {domain} names no tenant id: enter the tenant id instead")}),
        )),
    }
}
