//! Package names that imitate a well-known MCP server's: the same name with look-alike
//! characters, under another scope (or none), or a typo or two away. The well-known names are
//! `known.txt`, shipped inside the program.

use serde::Serialize;

use super::Ecosystem;

/// The curated list (one `ECOSYSTEM NAME` a line, `#` comments).
pub const KNOWN: &str = include_str!("known.txt");

/// How a name imitates a well-known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trick {
    /// The same once look-alike characters, case and separators are folded
    /// (`@modelcontextprotoco1/server-memory`, `mcp-server-fetсh` with a Cyrillic `с`).
    Confusable,
    /// The same words under another scope, or with the scope dropped or flattened into the
    /// name (`@mcp/server-filesystem`, `modelcontextprotocol-server-filesystem`).
    Scope,
    /// One or two typing mistakes away (`@modelcontextprotocl/server-memory`, `mcp-server-fecth`).
    EditDistance,
}

impl Trick {
    pub fn as_str(self) -> &'static str {
        match self {
            Trick::Confusable => "confusable characters",
            Trick::Scope => "scope",
            Trick::EditDistance => "edit distance",
        }
    }
}

/// A likely typosquat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Squat {
    /// The well-known name imitated.
    pub imitates: String,
    pub trick: Trick,
    /// Edits between the folded names (0 for a confusable or scope trick).
    pub distance: usize,
}

/// The well-known names of an ecosystem.
pub fn known(ecosystem: Ecosystem) -> impl Iterator<Item = &'static str> {
    KNOWN
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter(move |(eco, _)| *eco == ecosystem.as_str())
        .map(|(_, name)| name.trim())
}

/// `@scope/base` → (`Some("scope")`, `base`); for an image, the part before the last `/`.
fn split_scope(ecosystem: Ecosystem, name: &str) -> (Option<&str>, &str) {
    match ecosystem {
        Ecosystem::Npm => match name.strip_prefix('@').and_then(|r| r.split_once('/')) {
            Some((scope, base)) => (Some(scope), base),
            None => (None, name),
        },
        Ecosystem::Image => match name.rsplit_once('/') {
            Some((scope, base)) => (Some(scope), base),
            None => (None, name),
        },
        _ => (None, name),
    }
}

/// The name with its scope flattened into it and look-alikes folded:
/// `@modelcontextprotocol/server-memory` → `modelcontextprotocol_server_memory`.
fn flat(name: &str) -> String {
    crate::detect::skeleton(&name.trim_start_matches('@').replace('/', "-"))
}

/// The imitation of a well-known package that `name` most likely is, if any. A well-known
/// name itself, and any name under a well-known npm scope (scopes are owned), give `None`.
pub fn check(ecosystem: Ecosystem, name: &str) -> Option<Squat> {
    let known: Vec<&str> = known(ecosystem).collect();
    let same = |a: &str, b: &str| match ecosystem {
        Ecosystem::PyPi => super::normalize_python_name(a) == super::normalize_python_name(b),
        _ => a.eq_ignore_ascii_case(b),
    };
    if known.iter().any(|k| same(k, name)) {
        return None;
    }
    let (scope, base) = split_scope(ecosystem, name);
    if ecosystem == Ecosystem::Npm
        && scope.is_some()
        && known.iter().any(|k| split_scope(ecosystem, k).0 == scope)
    {
        return None;
    }
    // A base name shared by several known packages (`mcp`, `mcp-server`) or short is generic:
    // the same base under another scope is no sign of imitation.
    let generic = |base: &str| {
        base.len() < 8 || known.iter().filter(|k| split_scope(ecosystem, k).1 == base).count() > 1
    };
    let folded = crate::detect::skeleton(name);
    let flattened = flat(name);
    let mut best: Option<Squat> = None;
    for k in &known {
        let (k_scope, k_base) = split_scope(ecosystem, k);
        let (a, b) = (flat(k), &flattened);
        let distance = strsim::osa_distance(&a, b);
        let (la, lb) = (a.chars().count(), b.chars().count());
        let typo = match distance {
            1 => la >= 6,
            2 => la >= 14 && la.abs_diff(lb) <= 1,
            _ => false,
        };
        let trick = if crate::detect::skeleton(k) == folded {
            Some(Trick::Confusable)
        } else if a == *b {
            Some(Trick::Scope)
        } else if typo {
            Some(Trick::EditDistance)
        } else if scope != k_scope
            && !generic(k_base)
            && crate::detect::skeleton(base) == crate::detect::skeleton(k_base)
        {
            Some(Trick::Scope)
        } else {
            None
        };
        let found = trick.map(|trick| Squat {
            imitates: (*k).to_owned(),
            trick,
            distance: if trick == Trick::EditDistance { distance } else { 0 },
        });
        if let Some(found) = found
            && best.as_ref().is_none_or(|b| found.distance < b.distance)
        {
            best = Some(found);
        }
    }
    best
}

/// The finding for a likely typosquat, as scan and the history report it.
pub fn finding(ecosystem: Ecosystem, name: &str) -> Option<crate::finding::Finding> {
    let squat = check(ecosystem, name)?;
    let trick = serde_json::to_value(squat.trick).ok();
    Some(crate::finding::Finding::package_typosquat(
        name,
        &squat.imitates,
        trick.as_ref().and_then(serde_json::Value::as_str).unwrap_or_default(),
        format!(
            "`{name}` looks like the well-known `{}` ({}{}): check that this is the package you meant",
            squat.imitates,
            squat.trick.as_str(),
            if squat.distance > 0 {
                format!(", {} edit{}", squat.distance, if squat.distance == 1 { "" } else { "s" })
            } else {
                String::new()
            },
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_well_known_name_passes() {
        for eco in [Ecosystem::Npm, Ecosystem::PyPi, Ecosystem::Image] {
            let names: Vec<&str> = known(eco).collect();
            assert!(names.len() > 5, "{eco:?}");
            for name in names {
                assert_eq!(check(eco, name), None, "{name}");
            }
        }
        // PyPI names compare normalised.
        assert_eq!(check(Ecosystem::PyPi, "MCP_Server.Fetch"), None);
    }

    #[test]
    fn names_under_an_owned_scope_and_unrelated_names_pass() {
        assert_eq!(check(Ecosystem::Npm, "@modelcontextprotocol/server-new-thing"), None);
        assert_eq!(check(Ecosystem::Npm, "@acme/mcp"), None, "a generic base name");
        assert_eq!(check(Ecosystem::Npm, "@acme/weather-mcp"), None);
        assert_eq!(check(Ecosystem::Npm, "is-number"), None);
        assert_eq!(check(Ecosystem::PyPi, "mcp-server-gitea"), None);
        assert_eq!(check(Ecosystem::PyPi, "requests"), None);
    }

    fn trick(eco: Ecosystem, name: &str) -> (Trick, String) {
        let squat = check(eco, name).unwrap_or_else(|| panic!("{name} not caught"));
        (squat.trick, squat.imitates)
    }

    #[test]
    fn confusable_characters_are_caught() {
        let memory = "@modelcontextprotocol/server-memory".to_owned();
        assert_eq!(
            trick(Ecosystem::Npm, "@modelcontextprotoco1/server-memory"),
            (Trick::Confusable, memory.clone())
        );
        assert_eq!(
            trick(Ecosystem::Npm, "@rnodelcontextprotocol/server-memory"),
            (Trick::Confusable, memory)
        );
        // Registries take ASCII names only, but a look-alike letter is still caught.
        assert_eq!(trick(Ecosystem::PyPi, "mcp-server-fetсh").0, Trick::Confusable);
        assert_eq!(
            trick(Ecosystem::Npm, "@p1aywright/mcp"),
            (Trick::Confusable, "@playwright/mcp".to_owned())
        );
    }

    #[test]
    fn scope_tricks_are_caught() {
        let fs = "@modelcontextprotocol/server-filesystem".to_owned();
        assert_eq!(trick(Ecosystem::Npm, "@mcp/server-filesystem"), (Trick::Scope, fs.clone()));
        assert_eq!(trick(Ecosystem::Npm, "server-filesystem"), (Trick::Scope, fs.clone()));
        assert_eq!(
            trick(Ecosystem::Npm, "modelcontextprotocol-server-filesystem"),
            (Trick::Scope, fs.clone())
        );
        assert_eq!(
            trick(Ecosystem::Npm, "@modelcontextprotocol-server/filesystem"),
            (Trick::Scope, fs)
        );
        assert_eq!(trick(Ecosystem::Npm, "@upstash-io/context7-mcp").0, Trick::Scope);
        assert_eq!(trick(Ecosystem::Image, "mcpp/github").0, Trick::EditDistance);
        assert_eq!(trick(Ecosystem::Image, "someone/github-mcp-server").0, Trick::Scope);
    }

    #[test]
    fn typos_are_caught() {
        let (t, k) = trick(Ecosystem::Npm, "@modelcontextprotocl/server-memory");
        assert_eq!((t, k.as_str()), (Trick::EditDistance, "@modelcontextprotocol/server-memory"));
        assert_eq!(trick(Ecosystem::PyPi, "mcp-server-fecth").0, Trick::EditDistance);
        assert_eq!(trick(Ecosystem::Npm, "firecrawl-mpc").0, Trick::EditDistance);
        assert_eq!(
            trick(Ecosystem::Npm, "upstash-context7-mpc"),
            (Trick::EditDistance, "@upstash/context7-mcp".to_owned())
        );
        let finding = finding(Ecosystem::Npm, "mcp-remotee").unwrap().to_value();
        assert_eq!(finding["kind"], "package-typosquat");
        assert!(finding["evidence"].as_str().unwrap().contains("`mcp-remote`"), "{finding}");
    }
}
