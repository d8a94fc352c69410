//! What the history keeps of a finding: one typed record for everything that is found about a
//! message, a tool or a server — the detector's findings ([`crate::detect`]), pins and
//! identity checks, package checks, collisions between servers, secrets in arguments, the
//! box's refusals.
//!
//! A [`Finding`] is built through its named constructors and written as JSON in one place,
//! [`to_text`] (the store's column, hashed in the chain). The JSON is the one the history has
//! always held: an object with sorted keys, only the fields a kind carries. [`from_text`] reads
//! it back leniently: a kind it does not know is kept as [`FindingKind::Other`], fields it does
//! not know are kept in [`Finding::extra`], so old rows read and write back unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::detect::{self, Kind, Severity};

/// What a finding is about: one of the detector's kinds, or a check beside the detector.
/// Written as its kebab-case name (`tool-changed`, `model-directive`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A new tool with the definition of a pinned tool the server no longer lists.
    RenamedTool,
    /// A pinned tool whose definition changed: withheld.
    ToolChanged,
    /// A tool whose changed definition the user blocked: withheld.
    ToolBlocked,
    /// A tool whose pin could not be checked: withheld.
    PinCheckFailed,
    /// A tool with the name of another server's tool, defined differently.
    Shadowing,
    /// A tool whose name imitates another server's tool.
    Squatting,
    /// A tool description that names another server's tool.
    CrossServerReference,
    /// A server that is not the program first seen under its name.
    ServerChanged,
    /// A client's MCP configuration changed.
    ConfigChange,
    /// The server's box refused an access.
    ContainmentDenial,
    /// A secret in a tool call's arguments.
    SecretInArguments,
    /// A package known to be malicious.
    PackageMalicious,
    /// A package version with a known advisory.
    PackageVulnerable,
    /// A package name that looks like a well-known one.
    PackageTyposquat,
    /// A package that is not pinned to one version.
    PackageUnpinned,
    /// A package that changed since it was trusted.
    PackageChanged,
    /// One of the detector's kinds.
    #[serde(untagged)]
    Detector(Kind),
    /// A kind this version does not know (an older or newer history): kept as written.
    #[serde(untagged)]
    Other(String),
}

impl From<Kind> for FindingKind {
    fn from(kind: Kind) -> Self {
        FindingKind::Detector(kind)
    }
}

impl FindingKind {
    /// The kebab-case name, as written.
    pub fn name(&self) -> String {
        match self {
            FindingKind::Other(name) => name.clone(),
            kind => serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        }
    }
}

/// One finding, as the history keeps it. Every field but `kind` is optional: a kind carries
/// only its own (the constructors say which). The fields are declared in the order of their
/// JSON names, the order of the keys in the JSON the history has always held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Finding {
    /// `containment-denial`: `read`, `write` or `execute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// `package-vulnerable`: the advisory's own severity (`HIGH`, `CVSS:…`, `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory_severity: Option<String>,
    /// `secret-in-arguments`: the secret's kind (`github-token`, `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `tool-changed`, `tool-blocked`: the definition's digest now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// What matched or what changed, for a person (the detector's: an excerpt with hidden
    /// characters escaped, at most 160 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// `package-vulnerable`: the first version that fixes it (`null` when none is known).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    #[ts(type = "string | null")]
    pub fixed: Option<Option<String>>,
    /// `containment-denial`: the grant that would allow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// `package-malicious`, `package-vulnerable`: the advisory's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `package-typosquat`: the well-known name it looks like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imitates: Option<String>,
    pub kind: FindingKind,
    /// The detector's: JSON pointer of the string inside the scanned item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `package-changed` (withheld tools): what runs now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// `package-malicious` (withheld tools): the package's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `containment-denial`: the path refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `tool-changed`: the pinned definition's digest; `package-changed`: the trusted package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    /// `secret-in-arguments`: JSON pointer of the string that holds the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The detector's rule (`unicode-tag-characters`, `do-not-tell-user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// How sure it is (none for `secret-in-arguments`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The detector's: the byte range `[start, end]` of `evidence` in the string at `location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "[number, number]")]
    pub span: Option<[usize; 2]>,
    /// The tool withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// `package-typosquat`: how the name imitates (`confusable`, `scope`, `edit-distance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trick: Option<String>,
    /// Where it was found: `tool <name>`, `prompt <name>`, `result`, `instructions`,
    /// `package <name>`, `server <name>`, `path <path>`, a configuration file.
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// `containment-denial`: why the box refused (`outside-grants`, `hidden`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Fields this version does not know, read from an older or newer history and kept.
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: BTreeMap<String, Value>,
}

/// `fixed: null` is a value (no fixed version is known), not an absent field: `None` is
/// absent, `Some(None)` is `null`.
mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Option<String>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_ref().and_then(Option::as_deref).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

impl Finding {
    /// A finding of `kind` with no field but its kind.
    pub fn new(kind: impl Into<FindingKind>) -> Self {
        Self {
            access: None,
            advisory_severity: None,
            detail: None,
            digest: None,
            evidence: None,
            fixed: None,
            grant: None,
            id: None,
            imitates: None,
            kind: kind.into(),
            location: None,
            now: None,
            package: None,
            path: None,
            pinned: None,
            pointer: None,
            rule: None,
            severity: None,
            span: None,
            tool: None,
            trick: None,
            place: None,
            why: None,
            extra: BTreeMap::new(),
        }
    }

    /// A finding at `severity` found at `place`, explained by `evidence`.
    pub fn at(
        kind: impl Into<FindingKind>,
        severity: Severity,
        place: impl Into<String>,
        evidence: impl Into<String>,
    ) -> Self {
        Self {
            severity: Some(severity),
            place: Some(place.into()),
            evidence: Some(evidence.into()),
            ..Self::new(kind)
        }
    }

    /// A withheld tool's finding (at [`Severity::Block`]).
    fn withheld(kind: FindingKind, tool: &str) -> Self {
        Self { severity: Some(Severity::Block), tool: Some(tool.to_owned()), ..Self::new(kind) }
    }

    /// A detector finding in the string at `location` of what is at `place` (`tool <name>`,
    /// `result`, `instructions`).
    pub fn detected(f: &detect::Finding, place: &str) -> Self {
        Self {
            rule: Some(f.rule.to_owned()),
            location: Some(f.location.clone()),
            span: Some([f.span.start, f.span.end]),
            ..Self::at(f.kind, f.severity, place, f.evidence.clone())
        }
    }

    /// `prompt <name>` is named like the client's built-in slash command `command`.
    pub fn slash_command_collision(prompt: &str, command: &str) -> Self {
        Self::at(Kind::SlashCommandCollision, Severity::Flag, format!("prompt {prompt}"), command)
    }

    /// A new tool `name` has the definition of `from`, a pinned tool no longer listed.
    pub fn renamed_tool(name: &str, from: &str) -> Self {
        Self::at(
            FindingKind::RenamedTool,
            Severity::Flag,
            format!("tool {name}"),
            format!(
                "`{name}` is new, but has the definition of `{from}`, a tool you trusted that \
                 this server no longer lists"
            ),
        )
    }

    /// Tool `tool` is withheld: its definition (`digest`) differs from its pin (`pinned`).
    pub fn tool_changed(tool: &str, pinned: &str, digest: &str) -> Self {
        Self {
            pinned: Some(pinned.to_owned()),
            digest: Some(digest.to_owned()),
            ..Self::withheld(FindingKind::ToolChanged, tool)
        }
    }

    /// Tool `tool` is withheld: the user blocked its definition `digest`.
    pub fn tool_blocked(tool: &str, digest: &str) -> Self {
        Self { digest: Some(digest.to_owned()), ..Self::withheld(FindingKind::ToolBlocked, tool) }
    }

    /// Tool `tool` is withheld: its pin could not be checked.
    pub fn pin_check_failed(tool: &str) -> Self {
        Self::withheld(FindingKind::PinCheckFailed, tool)
    }

    /// Tool `tool` is withheld: its server's package `package` is known to be malicious.
    pub fn package_malicious_tool(tool: &str, package: &str) -> Self {
        Self {
            package: Some(package.to_owned()),
            ..Self::withheld(FindingKind::PackageMalicious, tool)
        }
    }

    /// Tool `tool` is withheld: its server's package changed from `pinned` to `now`.
    pub fn package_changed_tool(tool: &str, pinned: &str, now: &str) -> Self {
        Self {
            pinned: Some(pinned.to_owned()),
            now: Some(now.to_owned()),
            ..Self::withheld(FindingKind::PackageChanged, tool)
        }
    }

    /// A secret of kind `detail` in the arguments, in the string at `pointer`.
    pub fn secret_in_arguments(detail: &str, pointer: &str) -> Self {
        Self {
            detail: Some(detail.to_owned()),
            pointer: Some(pointer.to_owned()),
            ..Self::new(FindingKind::SecretInArguments)
        }
    }

    /// The server's box refused `access` to `path` (`why`); `grant` would allow it; `error` is
    /// what the server said.
    pub fn containment_denial(
        path: &str,
        grant: &str,
        access: &str,
        why: &str,
        error: &str,
    ) -> Self {
        Self {
            path: Some(path.to_owned()),
            grant: Some(grant.to_owned()),
            access: Some(access.to_owned()),
            why: Some(why.to_owned()),
            ..Self::at(
                FindingKind::ContainmentDenial,
                Severity::Flag,
                format!("path {path}"),
                error,
            )
        }
    }

    /// `package <package>` is a known-malicious package (advisory `id`).
    pub fn package_malicious(package: &str, id: &str, evidence: String) -> Self {
        Self {
            id: Some(id.to_owned()),
            ..Self::at(
                FindingKind::PackageMalicious,
                Severity::Block,
                format!("package {package}"),
                evidence,
            )
        }
    }

    /// `package <package>` has a known advisory `id` (its severity, the first fixed version).
    pub fn package_vulnerable(
        package: &str,
        id: &str,
        advisory_severity: &str,
        fixed: Option<&str>,
        evidence: String,
    ) -> Self {
        Self {
            id: Some(id.to_owned()),
            advisory_severity: Some(advisory_severity.to_owned()),
            fixed: Some(fixed.map(str::to_owned)),
            ..Self::at(
                FindingKind::PackageVulnerable,
                Severity::Flag,
                format!("package {package}"),
                evidence,
            )
        }
    }

    /// `package <package>` looks like the well-known `imitates` (`trick`: how).
    pub fn package_typosquat(package: &str, imitates: &str, trick: &str, evidence: String) -> Self {
        Self {
            imitates: Some(imitates.to_owned()),
            trick: Some(trick.to_owned()),
            ..Self::at(
                FindingKind::PackageTyposquat,
                Severity::Flag,
                format!("package {package}"),
                evidence,
            )
        }
    }

    /// `package <package>` is not pinned to one version.
    pub fn package_unpinned(package: &str, evidence: String) -> Self {
        Self::at(
            FindingKind::PackageUnpinned,
            Severity::Info,
            format!("package {package}"),
            evidence,
        )
    }

    /// `package <package>` changed since it was pinned (as `mcpfw scan` reports it).
    pub fn package_changed(package: &str, evidence: String) -> Self {
        Self::at(
            FindingKind::PackageChanged,
            Severity::Block,
            format!("package {package}"),
            evidence,
        )
    }

    /// Whether it is an instruction aimed at the model (not merely hidden text or a secret).
    pub fn is_injection(&self) -> bool {
        matches!(
            self.kind,
            FindingKind::Detector(
                Kind::ModelDirective
                    | Kind::InjectedInstruction
                    | Kind::ForgedTurn
                    | Kind::FakeError
                    | Kind::Concealment
                    | Kind::Exfiltration
                    | Kind::CredentialAccess
                    | Kind::CrossToolInstruction
            )
        )
    }

    /// As a JSON object with sorted keys.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Findings as the history stores them: a JSON array of objects with sorted keys (`[]` when
/// there are none). The one place findings become text.
pub fn to_text(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "[]".to_owned();
    }
    Value::Array(findings.iter().map(Finding::to_value).collect()).to_string()
}

/// Findings from their stored text, leniently: text that is not a JSON array reads as none,
/// an element that is not an object with a string `kind` is left out, and an element whose
/// fields do not have the types this version expects keeps them all in [`Finding::extra`].
pub fn from_text(text: &str) -> Vec<Finding> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items.into_iter().filter_map(read).collect(),
        _ => Vec::new(),
    }
}

fn read(item: Value) -> Option<Finding> {
    match serde_json::from_value::<Finding>(item.clone()) {
        Ok(finding) => Some(finding),
        Err(_) => {
            let Value::Object(mut fields) = item else { return None };
            let kind = fields.remove("kind").filter(Value::is_string)?;
            let kind: FindingKind = serde_json::from_value(kind).ok()?;
            Some(Finding { extra: fields.into_iter().collect(), ..Finding::new(kind) })
        }
    }
}

#[cfg(test)]
mod tests;
