//! Settings that must not reach logs.

/// A setting that must not reach logs: the JWT secret, and URLs that may carry a password.
/// Its `Debug` shows a URL without its password and anything else not at all, so printing a
/// `Config` (`{config:?}`) leaks neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(pub String);

impl std::str::FromStr for Sensitive {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `scheme://user:password@host/…` → `scheme://user:***@host/…`; no URL → `***`.
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return f.write_str("\"***\"");
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                write!(f, "\"{scheme}://{user}:***@{host}{path}\"")
            }
            None => write!(f, "\"{scheme}://{authority}{path}\""),
        }
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn debug_output_hides_the_secret_and_url_passwords() {
        let mut config = Config::for_tests(
            "postgres://app:hunter2@db.internal:5432/switchboard".to_owned(),
            Some("redis://:redispass@cache:6379/0".to_owned()),
            "prefix".to_owned(),
        );
        config.jwt_secret = Some(Sensitive("jwt-very-secret".to_owned()));
        let printed = format!("{config:?}");
        for secret in ["hunter2", "redispass", "jwt-very-secret"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("postgres://app:***@db.internal:5432/switchboard"));
        assert!(printed.contains("redis://:***@cache:6379/0"));
        // The values themselves are intact.
        assert_eq!(config.jwt_secret().0, "jwt-very-secret");
        assert_eq!(
            config.database_url(),
            "postgres://app:hunter2@db.internal:5432/switchboard"
        );
    }
}
