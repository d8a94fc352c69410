//! The organisation policy: one bundle, signed by the organisation, that every machine enforces
//! as a floor under its own `policy.toml` (docs/teams.md).
//!
//! A bundle is TOML with the syntax of policy.toml's matching sections, plus its version and
//! validity, and comes with a detached minisign signature (`.minisig`, Ed25519) checked against a
//! pinned public key:
//!
//! ```toml
//! version = 7                      # a whole number; a machine never goes back to a lower one
//! issued = "2026-12-01T00:00:00Z"  # RFC 3339
//! expires = "2027-03-01T00:00:00Z"
//!
//! [settings]
//! approval_timeout_max_s = 300     # no machine waits longer for a person
//! unattended = "deny"              # an ask nobody can answer is refused on every machine
//!
//! [egress]
//! allow_hosts = ["api.github.com"] # added to every machine's egress allow-list
//!
//! [sandbox]
//! mode = "enforce"                 # the weakest box a machine may give a server
//!
//! [[rules]]
//! id = "no-shell"
//! category = ["exec"]
//! action = "deny"                  # deny or ask: a floor no local rule or approval loosens
//! reason = "commands are not run by agents here"
//! ```
//!
//! Pure: verifying and reading a bundle needs no network or filesystem; fetching and caching
//! are the daemon's (`mcpfw_daemon::org`).

use serde::{Deserialize, Serialize};

use super::file::{Action, Egress, PolicyError, PolicyFile, RuleSpec, Unattended};
use crate::containment::Mode;

/// Why a bundle (or the key that should check it) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error(
        "the organisation public key `{0}` is not a minisign public key (the `RW…` line of \
         the organisation's minisign.pub): fix `[organisation] public_key` or MCPFW_ORG_KEY"
    )]
    Key(String),
    #[error("the organisation policy's signature cannot be read: {0}")]
    SignatureFormat(String),
    #[error(
        "the organisation policy's signature does not match (key {key_id}): {reason}; the bundle \
         was changed after signing or signed by another key, so it is refused"
    )]
    Signature { key_id: String, reason: String },
    #[error("the organisation policy is not valid: {0}")]
    Format(PolicyError),
    #[error("the organisation policy is not valid: {0}")]
    Invalid(String),
}

/// `[settings]` of a bundle: bounds on the machines' own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFloor {
    /// The longest a call may wait for a person, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_max_s: Option<u64>,
    /// `deny`: an ask nobody can answer is refused whatever `[settings] unattended` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unattended: Option<Unattended>,
}

/// `[sandbox]` of a bundle: the containment every server gets at least.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxFloor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// A bundle as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub version: u64,
    pub issued: String,
    pub expires: String,
    #[serde(default)]
    pub settings: SettingsFloor,
    #[serde(default)]
    pub egress: Egress,
    #[serde(default)]
    pub sandbox: SandboxFloor,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A bundle whose signature was checked, with what it was checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub bundle: Bundle,
    /// Milliseconds since the Unix epoch.
    pub issued_ms: u64,
    pub expires_ms: u64,
    /// The signing key's id, as minisign prints it (16 hex digits).
    pub key_id: String,
    /// Where it came from (a URL or a path), for messages.
    pub source: String,
}

/// The key id of a minisign public key (`RW…`), as minisign prints it.
pub fn key_id(public_key: &str) -> Result<String, OrgError> {
    use base64::Engine as _;
    let bad = || OrgError::Key(abbreviate(public_key));
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(public_key.trim()).map_err(|_| bad())?;
    if bytes.len() != 42 || &bytes[..2] != b"Ed" {
        return Err(bad());
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[2..10]);
    Ok(format!("{:016X}", u64::from_le_bytes(id)))
}

fn abbreviate(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > 60 {
        text.chars().take(60).collect::<String>() + "…"
    } else {
        text.to_owned()
    }
}

impl Organisation {
    /// Checks `signature` (a `.minisig` file's text) over `bundle` with `public_key` (the
    /// base64 `RW…` key), then reads and checks the bundle. Expiry is not judged here
    /// ([`Organisation::expired`]): an expired bundle is still the last good one.
    pub fn verify(
        bundle: &[u8],
        signature: &str,
        public_key: &str,
        source: &str,
    ) -> Result<Self, OrgError> {
        let key_id = key_id(public_key)?;
        let key = minisign_verify::PublicKey::from_base64(public_key.trim())
            .map_err(|_| OrgError::Key(abbreviate(public_key)))?;
        let sig = minisign_verify::Signature::decode(signature)
            .map_err(|e| OrgError::SignatureFormat(e.to_string()))?;
        key.verify(bundle, &sig, false)
            .map_err(|e| OrgError::Signature { key_id: key_id.clone(), reason: e.to_string() })?;
        let text = std::str::from_utf8(bundle)
            .map_err(|_| OrgError::Invalid("the bundle is not UTF-8 text".into()))?;
        let bundle = Self::parse(text, source)?;
        let issued_ms = rfc3339_ms("issued", &bundle.issued)?;
        let expires_ms = rfc3339_ms("expires", &bundle.expires)?;
        if expires_ms <= issued_ms {
            return Err(OrgError::Invalid(format!(
                "it expires ({}) before it is issued ({})",
                bundle.expires, bundle.issued
            )));
        }
        Ok(Self { bundle, issued_ms, expires_ms, key_id, source: source.to_owned() })
    }

    /// Reads a bundle's text (no signature check) and checks its rules the way the engine will.
    pub fn parse(text: &str, source: &str) -> Result<Bundle, OrgError> {
        let bundle: Bundle = toml::from_str(text).map_err(|e| {
            let (line, column) = super::file::line_column(text, e.span().map_or(0, |s| s.start));
            OrgError::Format(PolicyError {
                file: source.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            })
        })?;
        let as_policy = PolicyFile {
            egress: bundle.egress.clone(),
            rules: bundle.rules.clone(),
            ..PolicyFile::default()
        };
        as_policy.validate(text, source).map_err(OrgError::Format)?;
        for (i, rule) in bundle.rules.iter().enumerate() {
            let name = rule.id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            if rule.action == Action::Allow || !rule.lift.is_empty() {
                return Err(OrgError::Invalid(format!(
                    "rule {name}: an organisation rule denies or asks (it sets a floor); \
                     allowing, and lifting guards, is left to each machine's policy.toml"
                )));
            }
        }
        if let Some(max) = bundle.settings.approval_timeout_max_s
            && !super::file::TIMEOUT_RANGE.contains(&max)
        {
            return Err(OrgError::Invalid(format!(
                "settings.approval_timeout_max_s {}",
                super::file::timeout_message(max).trim_start_matches("approval_timeout_s ")
            )));
        }
        Ok(bundle)
    }

    pub fn version(&self) -> u64 {
        self.bundle.version
    }

    /// Whether its validity ended before `now_ms`.
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_ms
    }

    /// How the organisation policy is named in reasons: `the organisation policy (version 7)`.
    pub fn name(&self) -> String {
        format!("the organisation policy (version {})", self.bundle.version)
    }

    /// The box a server gets: `local`, unless the organisation requires a stronger one, with
    /// the message that says a weaker local setting is refused.
    pub fn sandbox_mode(&self, server: &str, local: Mode) -> (Mode, Option<String>) {
        match self.bundle.sandbox.mode {
            Some(floor) if strength(floor) > strength(local) => (
                floor,
                Some(format!(
                    "policy.toml's `[servers.{server}.sandbox] mode = \"{}\"` is refused: {} \
                     requires at least `{}`, so the server runs with `{}`",
                    local.as_str(),
                    self.name(),
                    floor.as_str(),
                    floor.as_str()
                )),
            ),
            _ => (local, None),
        }
    }

    /// An approval timeout bounded by `approval_timeout_max_s`, with a message when it was cut.
    pub fn approval_timeout(&self, secs: u64) -> (u64, Option<String>) {
        match self.bundle.settings.approval_timeout_max_s {
            Some(max) if secs > max => (
                max,
                Some(format!(
                    "the approval timeout of {secs} s is refused: {} allows at most {max} s",
                    self.name()
                )),
            ),
            _ => (secs, None),
        }
    }
}

/// Off < Enforce < Require.
fn strength(mode: Mode) -> u8 {
    match mode {
        Mode::Off => 0,
        Mode::Enforce => 1,
        Mode::Require => 2,
    }
}

fn rfc3339_ms(field: &str, text: &str) -> Result<u64, OrgError> {
    let time = humantime::parse_rfc3339_weak(text).map_err(|e| {
        OrgError::Invalid(format!(
            "`{field} = \"{text}\"` is not an RFC 3339 time such as 2027-01-31T00:00:00Z ({e})"
        ))
    })?;
    let ms = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| OrgError::Invalid(format!("`{field}` is before 1970")))?
        .as_millis();
    u64::try_from(ms).map_err(|_| OrgError::Invalid(format!("`{field}` is too far away")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_bundle_parses_and_allow_rules_are_refused() {
        let example = crate::policy::file::tests::doc_example(include_str!("org.rs"));
        let b = Organisation::parse(&example, "example").unwrap();
        assert_eq!((b.version, b.rules.len()), (7, 1));
        assert_eq!(b.sandbox.mode, Some(Mode::Enforce));
        let allow = "version = 1\nissued = \"2026-01-01T00:00:00Z\"\nexpires = \"2027-01-01T00:00:00Z\"\n\
                     [[rules]]\nid = \"x\"\naction = \"allow\"\n";
        let e = Organisation::parse(allow, "b").unwrap_err();
        assert!(e.to_string().contains("denies or asks"), "{e}");
        let e = Organisation::parse("version = 1\nissued = 3\n", "b").unwrap_err();
        assert!(e.to_string().contains("b:2:"), "{e}");
    }

    #[test]
    fn a_bad_key_names_the_setting_to_fix() {
        let e = key_id("not a key").unwrap_err();
        assert!(e.to_string().contains("[organisation] public_key"), "{e}");
        // A real minisign public key (from minisign's documentation).
        assert_eq!(
            key_id("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3").unwrap(),
            "E7620F1842B4E81F"
        );
    }

    #[test]
    fn the_sandbox_floor_only_raises() {
        let b = Organisation::parse(
            "version = 2\nissued = \"2026-01-01T00:00:00Z\"\nexpires = \"2027-01-01T00:00:00Z\"\n\
             [sandbox]\nmode = \"enforce\"\n[settings]\napproval_timeout_max_s = 60\n",
            "b",
        )
        .unwrap();
        let org = Organisation {
            bundle: b,
            issued_ms: 0,
            expires_ms: 1,
            key_id: "K".into(),
            source: "s".into(),
        };
        let (mode, why) = org.sandbox_mode("files", Mode::Off);
        assert_eq!(mode, Mode::Enforce);
        assert!(why.unwrap().contains("organisation policy (version 2) requires at least"));
        assert_eq!(org.sandbox_mode("files", Mode::Require), (Mode::Require, None));
        assert_eq!(org.approval_timeout(600).0, 60);
        assert_eq!(org.approval_timeout(30), (30, None));
    }
}
