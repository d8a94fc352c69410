//! The data flow of each client session, as the daemon keeps it: what the calls under every
//! server of one client process took in (the first private read and the first outside
//! content). In memory only, and bounded: at most [`MAX_SESSIONS`] sessions, each holding two
//! entries; a session is forgotten when its client process is gone or after an idle hour.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{ClientSession, Intake, Origin, SessionTaint};

/// The most client sessions remembered at once.
pub const MAX_SESSIONS: usize = 1024;

/// How long a session with no report and no question is kept.
pub const IDLE: Duration = Duration::from_secs(3600);

/// The most fragments remembered per session.
pub const MAX_FRAGMENTS: usize = 4096;

/// The shortest line (in characters, trimmed) that counts as a distinctive fragment.
pub const MIN_FRAGMENT: usize = 24;

/// The most fragments taken from one text.
const FRAGMENTS_PER_TEXT: usize = 512;

#[derive(Debug)]
struct Entry {
    private: Option<(Intake, Instant)>,
    external: Option<(Intake, Instant)>,
    fragments: HashMap<String, (Intake, Instant)>,
    seen: Instant,
}

/// Hashes (SHA-256, first 128 bits, hex) of the distinctive fragments of every string in
/// `value`: each line of at least [`MIN_FRAGMENT`] characters once trimmed (a key's base64
/// lines, a token, a sentence of a private document). Bounded: at most 512, from the first
/// 10 000 strings and 1 MiB of each.
pub fn fragments(value: &serde_json::Value) -> Vec<String> {
    use sha2::{Digest, Sha256};
    fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>, depth: usize) {
        if out.len() >= 10_000 || depth > 64 {
            return;
        }
        match v {
            serde_json::Value::String(s) => out.push(crate::text::floor(s, 1 << 20)),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out, depth + 1)),
            serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, out, depth + 1)),
            _ => {}
        }
    }
    let mut strings = Vec::new();
    walk(value, &mut strings, 0);
    let mut out: Vec<String> = Vec::new();
    for line in strings.iter().flat_map(|s| s.lines()) {
        let line = line.trim();
        if line.chars().count() < MIN_FRAGMENT {
            continue;
        }
        let hash = hex::encode(&Sha256::digest(line.as_bytes())[..16]);
        if !out.contains(&hash) {
            out.push(hash);
        }
        if out.len() >= FRAGMENTS_PER_TEXT {
            break;
        }
    }
    out
}

/// Every client session's flow state.
#[derive(Debug, Default)]
pub struct SessionFlows {
    sessions: HashMap<ClientSession, Entry>,
}

impl SessionFlows {
    /// Remembers what a call of `client`'s session took in (the first of each kind stays).
    /// `alive` tells whether a session's client process still runs (used to make room).
    pub fn took(
        &mut self,
        client: ClientSession,
        private: Option<Intake>,
        external: Option<Intake>,
        fragments: Vec<String>,
        now: Instant,
        alive: impl Fn(&ClientSession) -> bool,
    ) {
        if private.is_none() && external.is_none() {
            return;
        }
        if !self.sessions.contains_key(&client) && self.sessions.len() >= MAX_SESSIONS {
            self.prune(now, &alive);
            if self.sessions.len() >= MAX_SESSIONS
                && let Some(oldest) =
                    self.sessions.iter().min_by_key(|(_, e)| e.seen).map(|(c, _)| *c)
            {
                self.sessions.remove(&oldest);
            }
        }
        let entry = self.sessions.entry(client).or_insert(Entry {
            private: None,
            external: None,
            fragments: HashMap::new(),
            seen: now,
        });
        entry.seen = now;
        if let Some(intake) = &private {
            for hash in fragments.into_iter().take(FRAGMENTS_PER_TEXT) {
                if entry.fragments.len() >= MAX_FRAGMENTS {
                    break;
                }
                entry.fragments.entry(hash).or_insert_with(|| (intake.clone(), now));
            }
        }
        if entry.private.is_none() {
            entry.private = private.map(|i| (i, now));
        }
        if entry.external.is_none() {
            entry.external = external.map(|i| (i, now));
        }
    }

    /// What `client`'s session took in, with how long ago. A session whose client process is
    /// gone (`alive` says no) or that was idle for an hour is forgotten first.
    pub fn taint(
        &mut self,
        client: &ClientSession,
        fragments: &[String],
        now: Instant,
        alive: impl Fn(&ClientSession) -> bool,
    ) -> SessionTaint {
        let stale = self.sessions.get(client).is_some_and(|e| now.duration_since(e.seen) > IDLE);
        if stale || !alive(client) {
            self.sessions.remove(client);
            return SessionTaint::default();
        }
        let Some(entry) = self.sessions.get_mut(client) else {
            return SessionTaint::default();
        };
        entry.seen = now;
        let origin = |kept: &Option<(Intake, Instant)>| {
            kept.as_ref().map(|(intake, at)| Origin {
                intake: intake.clone(),
                ago_ms: now.duration_since(*at).as_millis() as u64,
            })
        };
        let carried = fragments.iter().find_map(|h| entry.fragments.get(h)).cloned();
        SessionTaint {
            private: origin(&entry.private),
            external: origin(&entry.external),
            carried: origin(&carried),
        }
    }

    /// Forgets sessions whose client is gone or that were idle for an hour.
    pub fn prune(&mut self, now: Instant, alive: impl Fn(&ClientSession) -> bool) {
        self.sessions.retain(|client, e| now.duration_since(e.seen) <= IDLE && alive(client));
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intake(server: &str, tool: &str, what: &str) -> Intake {
        Intake { server: server.into(), tool: tool.into(), what: what.into() }
    }

    const A: ClientSession = ClientSession { pid: 10, start: 5 };
    const B: ClientSession = ClientSession { pid: 11, start: 6 };

    #[test]
    fn a_session_keeps_the_first_of_each_and_says_how_long_ago() {
        let mut flows = SessionFlows::default();
        let t0 = Instant::now();
        flows.took(
            A,
            Some(intake("files", "read_text_file", "read from ~/.ssh/id_rsa")),
            None,
            Vec::new(),
            t0,
            |_| true,
        );
        flows.took(
            A,
            Some(intake("files", "read_text_file", "read from ~/.aws")),
            None,
            Vec::new(),
            t0,
            |_| true,
        );
        flows.took(
            A,
            None,
            Some(intake("web", "fetch", "read https://x.test")),
            Vec::new(),
            t0,
            |_| true,
        );
        let taint = flows.taint(&A, &[], t0 + Duration::from_secs(40), |_| true);
        assert_eq!(
            taint.private.unwrap().describe(),
            "read from ~/.ssh/id_rsa by files.read_text_file 40 s ago"
        );
        assert_eq!(taint.external.unwrap().describe(), "read https://x.test by web.fetch 40 s ago");
        // Another client (or the same pid started again) knows nothing of it.
        assert_eq!(flows.taint(&B, &[], t0, |_| true), SessionTaint::default());
        let reused = ClientSession { start: 99, ..A };
        assert_eq!(flows.taint(&reused, &[], t0, |_| true), SessionTaint::default());
    }

    #[test]
    fn a_fragment_of_private_data_names_where_it_was_read() {
        let key = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW";
        let read = serde_json::json!({"content": [{"type": "text",
            "text": format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{key}\nshort\n")}]});
        let kept = fragments(&read);
        assert_eq!(kept.len(), 2, "the header and the key line; `short` is not distinctive");
        let mut flows = SessionFlows::default();
        let t0 = Instant::now();
        let origin = intake("files", "read_text_file", "read from ~/.ssh/id_rsa");
        flows.took(A, Some(origin), None, kept, t0, |_| true);
        let body = serde_json::json!({"title": "log", "body": format!("see:\n  {key}  \nthanks")});
        let taint = flows.taint(&A, &fragments(&body), t0 + Duration::from_secs(3), |_| true);
        assert_eq!(
            taint.carried.unwrap().describe(),
            "read from ~/.ssh/id_rsa by files.read_text_file 3 s ago"
        );
        let other = serde_json::json!({"body": "an ordinary issue body without the key in it"});
        assert!(flows.taint(&A, &fragments(&other), t0, |_| true).carried.is_none());
        assert!(flows.taint(&B, &fragments(&body), t0, |_| true).carried.is_none());
    }

    #[test]
    fn sessions_are_forgotten_when_their_client_is_gone_or_idle_and_are_capped() {
        let mut flows = SessionFlows::default();
        let t0 = Instant::now();
        let read = || Some(intake("files", "read", "read from ~/.ssh/id_rsa"));
        flows.took(A, read(), None, Vec::new(), t0, |_| true);
        assert_eq!(flows.taint(&A, &[], t0, |_| false), SessionTaint::default(), "client gone");
        assert!(flows.is_empty());
        flows.took(A, read(), None, Vec::new(), t0, |_| true);
        let later = t0 + IDLE + Duration::from_secs(1);
        assert_eq!(flows.taint(&A, &[], later, |_| true), SessionTaint::default(), "idle an hour");
        for pid in 0..(MAX_SESSIONS as u32 + 10) {
            flows.took(ClientSession { pid, start: 1 }, read(), None, Vec::new(), t0, |_| true);
        }
        assert_eq!(flows.len(), MAX_SESSIONS);
    }
}
