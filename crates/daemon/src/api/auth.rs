//! Browser sign-in without the approver token in the address bar or the browser's history.
//!
//! `mcpfw dashboard` (holding the approver token) asks `POST /api/v1/login-codes` for a one-time
//! code and opens `/login?code=…`. The code is random (256 bits), works once, and expires after
//! [`CODE_LIFETIME`]; exchanging it sets a session cookie (`HttpOnly; SameSite=Strict;
//! Path=/`) whose value is another random id kept only in this process's memory. Restarting the
//! daemon signs every browser out.
//!
//! Why a cookie is safe here: the API's guard still checks Host (against DNS rebinding) and
//! Origin (absent or our own) on every request, `SameSite=Strict` keeps other sites' requests
//! from carrying it, and every request body must be `application/json`, which a cross-site form
//! cannot send and a cross-site `fetch` cannot send without a CORS preflight that we never
//! answer. Those three together are the defence against cross-site request forgery.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a one-time login code can be exchanged.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a browser session lasts (it also ends when the daemon stops).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// The session cookie's name.
pub const COOKIE: &str = "mcpfw_session";
/// At most this many codes or sessions are kept; the oldest go first.
const MAX_ENTRIES: usize = 64;

/// Login codes and browser sessions, in memory only.
#[derive(Default)]
pub struct Sessions {
    codes: Mutex<HashMap<String, Instant>>,
    sessions: Mutex<HashMap<String, Instant>>,
}

fn insert_bounded(table: &mut HashMap<String, Instant>, key: String, expires: Instant) {
    let now = Instant::now();
    table.retain(|_, until| *until > now);
    while table.len() >= MAX_ENTRIES {
        let Some(oldest) = table.iter().min_by_key(|(_, until)| **until).map(|(k, _)| k.clone())
        else {
            break;
        };
        table.remove(&oldest);
    }
    table.insert(key, expires);
}

impl Sessions {
    /// A new one-time code; `None` when no randomness is available.
    pub fn issue_code(&self) -> Option<String> {
        let code = super::random_hex();
        if code.is_empty() {
            return None;
        }
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        insert_bounded(&mut codes, code.clone(), Instant::now() + CODE_LIFETIME);
        Some(code)
    }

    /// Exchanges a code (once) for a new session id.
    pub fn redeem(&self, code: &str) -> Option<String> {
        let valid = {
            let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
            let found = codes
                .keys()
                .find(|known| {
                    super::super::approval::same_secret(code.as_bytes(), known.as_bytes())
                })
                .cloned();
            found.and_then(|known| codes.remove(&known)).is_some_and(|until| until > Instant::now())
        };
        if !valid {
            return None;
        }
        let session = super::random_hex();
        if session.is_empty() {
            return None;
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        insert_bounded(&mut sessions, session.clone(), Instant::now() + SESSION_LIFETIME);
        Some(session)
    }

    /// Whether `id` is a live session.
    pub fn valid(&self, id: &str) -> bool {
        if id.is_empty() {
            return false;
        }
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.iter().any(|(known, until)| {
            *until > now && super::super::approval::same_secret(id.as_bytes(), known.as_bytes())
        })
    }

    /// Ends a session.
    pub fn end(&self, id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|known, _| known != id);
    }
}

/// The session id in a request's `Cookie` headers, if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_and_gives_a_session() {
        let sessions = Sessions::default();
        let code = sessions.issue_code().unwrap();
        assert_eq!(code.len(), 64);
        let session = sessions.redeem(&code).expect("first use");
        assert!(sessions.valid(&session));
        assert!(sessions.redeem(&code).is_none(), "a code is single use");
        assert!(sessions.redeem("").is_none());
        assert!(!sessions.valid("") && !sessions.valid(&code));
        sessions.end(&session);
        assert!(!sessions.valid(&session));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("cookie", "a=1; mcpfw_session=abc; b=2".parse().unwrap());
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        headers.insert("cookie", "mcpfw_sessionx=1".parse().unwrap());
        assert_eq!(session_cookie(&headers), None);
    }
}
