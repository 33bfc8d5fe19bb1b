//! Access tokens: HS256 JWTs carrying the viewer's identity, decoded once at the edge.

use chrono::Utc;
use entity::enums::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};

use super::viewer::{ContactViewer, UserViewer, Viewer};

/// The claims of a Switchboard token. `sub` is `user:<id>` or `contact:<id>`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The account the token is scoped to.
    pub account: i64,
    /// The user's role in that account (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The contact inbox a widget token is scoped to (contact tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_inbox: Option<i64>,
    pub iat: i64,
    pub exp: i64,
}

/// Why a presented token was refused. The message is safe to show to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
}

/// Signing and verification keys plus the fixed validation policy.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        // Only HS256 is accepted: a token claiming `none` or any other algorithm is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
        }
    }

    fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// A token for a member of an account.
    pub fn issue_user(&self, user: &UserViewer) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            sub: format!("user:{}", user.user_id),
            account: user.account_id,
            role: Some(user.role.to_value()),
            contact_inbox: None,
            iat: now,
            exp: now + self.ttl_secs,
        })
    }

    /// A widget token scoped to one contact inbox.
    pub fn issue_contact(&self, contact: &ContactViewer) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            sub: format!("contact:{}", contact.contact_id),
            account: contact.account_id,
            role: None,
            contact_inbox: Some(contact.contact_inbox_id),
            iat: now,
            exp: now + self.ttl_secs,
        })
    }

    /// Verifies a token and returns the viewer it names.
    pub fn decode(&self, token: &str) -> Result<Viewer, TokenError> {
        self.decode_expiring(token).map(|(viewer, _)| viewer)
    }

    /// Verifies a token and returns the viewer it names and when it expires (Unix seconds),
    /// for connections that outlive a request.
    pub fn decode_expiring(&self, token: &str) -> Result<(Viewer, i64), TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        let exp = claims.exp;
        let (kind, id) = claims.sub.split_once(':').ok_or(TokenError::Invalid)?;
        let id: i64 = id.parse().map_err(|_| TokenError::Invalid)?;
        let viewer = match (kind, claims.role, claims.contact_inbox) {
            ("user", Some(role), None) => Viewer::User(UserViewer {
                user_id: id,
                account_id: claims.account,
                role: Role::try_from_value(&role).map_err(|_| TokenError::Invalid)?,
            }),
            ("contact", None, Some(contact_inbox_id)) => Viewer::Contact(ContactViewer {
                contact_id: id,
                contact_inbox_id,
                account_id: claims.account,
            }),
            _ => return Err(TokenError::Invalid),
        };
        Ok((viewer, exp))
    }
}

/// Extracts the token from an `Authorization: Bearer <jwt>` value (the scheme is case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use base64::Engine;

    fn admin() -> UserViewer {
        UserViewer {
            user_id: 7,
            account_id: 3,
            role: Role::Administrator,
        }
    }

    #[test]
    fn round_trips_user_and_contact_tokens() {
        let keys = JwtKeys::new(b"secret", 60);
        let token = keys.issue_user(&admin()).unwrap();
        assert_eq!(keys.decode(&token).unwrap(), Viewer::User(admin()));
        let contact = ContactViewer {
            contact_id: 9,
            contact_inbox_id: 4,
            account_id: 3,
        };
        let token = keys.issue_contact(&contact).unwrap();
        assert_eq!(keys.decode(&token).unwrap(), Viewer::Contact(contact));
    }

    #[test]
    fn refuses_wrong_key_tampering_expiry_and_alg_none() {
        let keys = JwtKeys::new(b"secret", 60);
        let token = keys.issue_user(&admin()).unwrap();
        assert_eq!(
            JwtKeys::new(b"other", 60).decode(&token),
            Err(TokenError::Invalid)
        );

        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = String::from_utf8(engine.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = engine.encode(
            payload
                .replace("administrator", "agent")
                .replace(":7", ":8"),
        );
        assert_eq!(keys.decode(&parts.join(".")), Err(TokenError::Invalid));

        let none_header = engine.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", engine.encode(payload));
        assert_eq!(keys.decode(&unsigned), Err(TokenError::Invalid));

        let expired = JwtKeys {
            ttl_secs: -120,
            ..JwtKeys::new(b"secret", 60)
        };
        let token = expired.issue_user(&admin()).unwrap();
        assert_eq!(keys.decode(&token), Err(TokenError::Expired));
    }

    #[test]
    fn parses_bearer_values() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
