//! Known advisories, offline: OSV records (<https://ossf.github.io/osv-schema/>) matched
//! against the version a server's package resolved to. npm versions compare as SemVer, PyPI
//! versions as PEP 440. A record whose id starts with `MAL-` (OpenSSF's malicious packages)
//! marks a package that must not run at all.

use std::cmp::Ordering;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Ecosystem;
use crate::finding::Finding;

/// Imported advisory data older than this is said to be stale.
pub const STALE_AFTER_DAYS: u64 = 7;

/// The parts of an OSV record that matching and reporting read.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// Kept only for its `severity` (GitHub's advisories say `CRITICAL`, `HIGH`, `MODERATE`,
    /// `LOW` there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<AffectedPackage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AffectedPackage {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<RangeEvent>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RangeEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// The ecosystem an OSV `affected.package.ecosystem` names, for the two that are read
/// (`npm`, `PyPI`; a suffix such as `npm:…` is ignored).
pub fn ecosystem_of(osv: &str) -> Option<Ecosystem> {
    match osv.split(':').next()? {
        "npm" => Some(Ecosystem::Npm),
        "PyPI" => Some(Ecosystem::PyPi),
        _ => None,
    }
}

/// The name as it is looked up: PyPI names normalised, npm names as they are.
pub fn lookup_name(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::PyPi => super::normalize_python_name(name),
        _ => name.to_owned(),
    }
}

impl Record {
    /// Whether it is a known-malicious package record (OpenSSF's `MAL-` ids).
    pub fn is_malicious(&self) -> bool {
        self.id.starts_with("MAL-")
    }

    /// The (ecosystem, name) pairs it affects, of the ecosystems that are read.
    pub fn packages(&self) -> Vec<(Ecosystem, String)> {
        let mut out: Vec<(Ecosystem, String)> = self
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .filter_map(|p| Some((ecosystem_of(&p.ecosystem)?, p.name.clone())))
            .map(|(e, n)| (e, lookup_name(e, &n)))
            .collect();
        out.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        out.dedup();
        out
    }

    /// The record reduced to what matching `ecosystem`/`name` needs (what is stored).
    pub fn trimmed_for(&self, ecosystem: Ecosystem, name: &str) -> Record {
        let mut record = self.clone();
        record.affected.retain(|a| {
            a.package.as_ref().is_some_and(|p| {
                ecosystem_of(&p.ecosystem) == Some(ecosystem)
                    && lookup_name(ecosystem, &p.name) == name
            })
        });
        record.database_specific = self
            .database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .map(|s| serde_json::json!({ "severity": s }));
        record
    }

    /// How severe, in words: GitHub's rating when there is one, else the first score given.
    pub fn severity_label(&self) -> String {
        if let Some(s) =
            self.database_specific.as_ref().and_then(|d| d.get("severity")).and_then(Value::as_str)
        {
            return s.to_ascii_lowercase();
        }
        match self.severity.first() {
            Some(s) => s.score.clone(),
            None if self.is_malicious() => "critical".to_owned(),
            None => "unknown".to_owned(),
        }
    }

    /// Whether `version` of `ecosystem`/`name` is affected, and the version that fixes it.
    /// `None` for `version` (it could not be resolved) matches only a malicious-package record
    /// (the name alone is reason enough not to run it).
    pub fn affects(&self, ecosystem: Ecosystem, name: &str, version: Option<&str>) -> Option<Hit> {
        if self.withdrawn.is_some() {
            return None;
        }
        let name = lookup_name(ecosystem, name);
        let mut hit = None;
        for affected in &self.affected {
            let Some(package) = &affected.package else { continue };
            if ecosystem_of(&package.ecosystem) != Some(ecosystem)
                || lookup_name(ecosystem, &package.name) != name
            {
                continue;
            }
            let Some(version) = version else {
                if self.is_malicious() {
                    hit = Some(None);
                }
                continue;
            };
            if affected
                .versions
                .iter()
                .any(|v| compare(ecosystem, v, version) == Some(Ordering::Equal))
            {
                hit = Some(None);
            }
            for range in &affected.ranges {
                if !matches!(range.kind.as_str(), "SEMVER" | "ECOSYSTEM") {
                    continue;
                }
                if let Some(fixed) = in_range(ecosystem, &range.events, version) {
                    hit = Some(fixed.or(hit.flatten()));
                }
            }
        }
        hit.map(|fixed| Hit {
            id: self.id.clone(),
            summary: self.summary.clone(),
            aliases: self.aliases.clone(),
            severity: self.severity_label(),
            fixed,
            malicious: self.is_malicious(),
        })
    }
}

/// One record that affects a package's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub id: String,
    pub summary: String,
    pub aliases: Vec<String>,
    pub severity: String,
    /// The first version that fixes it, when the record says.
    pub fixed: Option<String>,
    pub malicious: bool,
}

impl Hit {
    /// The finding scan reports and the history records.
    pub fn finding(&self, package: &str, version: Option<&str>) -> Finding {
        let at = version.map_or_else(|| package.to_owned(), |v| format!("{package}@{v}"));
        if self.malicious {
            return Finding::package_malicious(
                package,
                &self.id,
                format!("`{at}` is a known-malicious package ({}: {})", self.id, self.summary),
            );
        }
        let fix = match &self.fixed {
            Some(f) => format!("; fixed in {f}"),
            None => "; no fixed version is known".to_owned(),
        };
        let aliases = if self.aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.aliases.join(", "))
        };
        Finding::package_vulnerable(
            package,
            &self.id,
            &self.severity,
            self.fixed.as_deref(),
            format!(
                "`{at}` has a known advisory: {}{aliases}, {}: {}{fix}",
                self.id, self.severity, self.summary
            ),
        )
    }
}

/// `a` compared with `b` in the ecosystem's version order; `None` when either does not parse.
/// OSV's `introduced: "0"` is below every version.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Option<Ordering> {
    match (a, b) {
        ("0", "0") => return Some(Ordering::Equal),
        ("0", _) => return Some(Ordering::Less),
        (_, "0") => return Some(Ordering::Greater),
        _ => {}
    }
    match ecosystem {
        Ecosystem::Npm => {
            let a = semver::Version::parse(a.trim_start_matches('v')).ok()?;
            let b = semver::Version::parse(b.trim_start_matches('v')).ok()?;
            Some(a.cmp(&b))
        }
        Ecosystem::PyPi => {
            let a = pep440_rs::Version::from_str(a).ok()?;
            let b = pep440_rs::Version::from_str(b).ok()?;
            Some(a.cmp(&b))
        }
        _ => None,
    }
}

/// OSV's range evaluation: the events sorted by version; the version is affected when the
/// last event at or below it introduced (or, for `last_affected`, does not lie below it).
/// Returns `Some(fixed)` when affected, with the first `fixed` above the version.
fn in_range(ecosystem: Ecosystem, events: &[RangeEvent], version: &str) -> Option<Option<String>> {
    let key = |e: &RangeEvent| {
        e.introduced.clone().or(e.fixed.clone()).or(e.last_affected.clone()).or(e.limit.clone())
    };
    let mut sorted: Vec<(&RangeEvent, String)> =
        events.iter().filter_map(|e| Some((e, key(e)?))).collect();
    // A version that does not parse sorts last, and never matches below.
    sorted.sort_by(|a, b| compare(ecosystem, &a.1, &b.1).unwrap_or(Ordering::Greater));
    let mut affected = false;
    for (event, at) in &sorted {
        let order = compare(ecosystem, version, at)?;
        let ends = (event.fixed.is_some() || event.limit.is_some()) && order != Ordering::Less
            || event.last_affected.is_some() && order == Ordering::Greater;
        if event.introduced.is_some() && order != Ordering::Less {
            affected = true;
        } else if ends {
            affected = false;
        }
    }
    if !affected {
        return None;
    }
    let fixed = sorted
        .iter()
        .filter_map(|(e, _)| e.fixed.as_deref())
        .find(|f| compare(ecosystem, f, version) == Some(Ordering::Greater))
        .map(str::to_owned);
    Some(fixed)
}

/// What the age of the advisory data means: `None` when there is none at all.
pub fn age_note(imported_ms: Option<u64>, now_ms: u64) -> (String, bool) {
    let Some(imported) = imported_ms else {
        return (
            "no advisory data: known-vulnerable and malicious packages are not checked \
             (`mcpfw advisories update --from FILE`)"
                .to_owned(),
            true,
        );
    };
    let days = now_ms.saturating_sub(imported) / 86_400_000;
    let stale = days >= STALE_AFTER_DAYS;
    let age = match days {
        0 => "today".to_owned(),
        1 => "1 day ago".to_owned(),
        n => format!("{n} days ago"),
    };
    if stale {
        (
            format!(
                "advisory data imported {age}: stale, newer advisories are missing (`mcpfw advisories update`)"
            ),
            true,
        )
    } else {
        (format!("advisory data imported {age}"), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        serde_json::from_str(json).unwrap()
    }

    /// GitHub's GHSA-xvch-5gv4-984h as OSV carries it, trimmed (tests/fixtures/osv holds it whole).
    const MINIMIST: &str = r#"{"id":"GHSA-xvch-5gv4-984h","modified":"2024-01-01T00:00:00Z",
        "summary":"Prototype Pollution in minimist","aliases":["CVE-2021-44906"],
        "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected":[
          {"package":{"ecosystem":"npm","name":"minimist"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.2.4"}]}]},
          {"package":{"ecosystem":"npm","name":"minimist"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.2.6"}]}]}],
        "database_specific":{"severity":"CRITICAL","cwe_ids":["CWE-1321"]}}"#;

    #[test]
    fn npm_versions_inside_and_outside_the_ranges() {
        let r = record(MINIMIST);
        let hit = r.affects(Ecosystem::Npm, "minimist", Some("1.2.5")).unwrap();
        assert_eq!(
            (hit.severity.as_str(), hit.fixed.as_deref(), hit.malicious),
            ("critical", Some("1.2.6"), false)
        );
        assert_eq!(
            r.affects(Ecosystem::Npm, "minimist", Some("0.0.8")).unwrap().fixed.as_deref(),
            Some("0.2.4")
        );
        for safe in ["1.2.6", "1.2.8", "0.2.4", "0.9.0"] {
            assert_eq!(r.affects(Ecosystem::Npm, "minimist", Some(safe)), None, "{safe}");
        }
        assert_eq!(r.affects(Ecosystem::Npm, "minimist", None), None, "no version, no claim");
        assert_eq!(r.affects(Ecosystem::Npm, "other", Some("1.0.0")), None);
        assert_eq!(r.affects(Ecosystem::PyPi, "minimist", Some("1.0.0")), None);
        let finding = hit.finding("minimist", Some("1.2.5")).to_value();
        assert_eq!(finding["kind"], "package-vulnerable");
        assert!(finding["evidence"].as_str().unwrap().contains("fixed in 1.2.6"), "{finding}");
    }

    #[test]
    fn pypi_versions_compare_as_pep_440_and_last_affected_is_inclusive() {
        // A record in OSV's schema for these cases (not a real advisory).
        let r = record(
            r#"{"id":"PYSEC-0000-1","summary":"s","affected":[{"package":{"ecosystem":"PyPI","name":"Mcp_Server.Example"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"last_affected":"1.4.post1"}]}],"versions":["0.9rc1"]}]}"#,
        );
        let at = |v: &str| r.affects(Ecosystem::PyPi, "mcp-server-example", Some(v)).is_some();
        assert!(at("1.0.0") && at("1.4") && at("1.4.post1") && at("1.2.dev3") && at("0.9rc1"));
        assert!(!at("1.4.post2") && !at("1.10") && !at("0.9"));
    }

    #[test]
    fn a_malicious_package_matches_with_or_without_a_version_unless_withdrawn() {
        let r = record(
            r#"{"id":"MAL-0000-1","summary":"Malicious code in evil (npm)","affected":[{"package":{"ecosystem":"npm","name":"evil"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#,
        );
        assert!(r.affects(Ecosystem::Npm, "evil", None).unwrap().malicious);
        assert!(r.affects(Ecosystem::Npm, "evil", Some("3.1.4")).is_some());
        assert_eq!(
            r.affects(Ecosystem::Npm, "evil", None).unwrap().finding("evil", None).to_value()["kind"],
            "package-malicious"
        );
        let mut withdrawn = r.clone();
        withdrawn.withdrawn = Some("2026-01-01T00:00:00Z".into());
        assert!(withdrawn.affects(Ecosystem::Npm, "evil", None).is_none());
    }

    #[test]
    fn the_age_of_the_data_is_said_and_stale_data_is_called_stale() {
        let day = 86_400_000;
        assert_eq!(
            age_note(Some(10 * day), 10 * day + 5),
            ("advisory data imported today".to_owned(), false)
        );
        let (note, stale) = age_note(Some(day), 9 * day);
        assert!(stale && note.contains("8 days ago") && note.contains("stale"), "{note}");
        assert!(age_note(None, day).1);
    }
}
