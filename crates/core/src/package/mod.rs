//! What a stdio server entry runs: the package behind `npx -y some-package`, `uvx tool`,
//! `docker run image` or a plain program. Pure: this module reads a command line and compares
//! identities; finding the version that actually runs (the package managers' caches, the image
//! digest, a file's hash) is the program's (`src/package.rs`), which does the I/O.
//!
//! `Identity` is what is pinned (trust on first use, like a tool's definition): a later start
//! whose package resolves to another version or integrity is a change the user reviews.

pub mod osv;
pub mod squat;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// Where a package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// The npm registry (`npx`, `npm exec`, `pnpm dlx`, `bunx`).
    Npm,
    /// PyPI (`uvx`, `uv tool run`, `pipx run`).
    #[serde(rename = "pypi")]
    PyPi,
    /// A container image (`docker run`, `podman run`).
    Image,
    /// A program or script on disk, known by its SHA-256.
    File,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::PyPi => "pypi",
            Ecosystem::Image => "image",
            Ecosystem::File => "file",
        }
    }

    /// The ecosystem's name in OSV records.
    pub fn osv_name(self) -> Option<&'static str> {
        match self {
            Ecosystem::Npm => Some("npm"),
            Ecosystem::PyPi => Some("PyPI"),
            Ecosystem::Image | Ecosystem::File => None,
        }
    }
}

/// The package a server command asks for, read from the command line alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRef {
    pub ecosystem: Ecosystem,
    /// The launcher that fetches and runs it (`npx`, `uvx`, `docker`, …).
    pub launcher: String,
    /// The package's name (`@scope/name` for npm, the normalised project name for PyPI, the
    /// image's repository for images, the file's path for files).
    pub name: String,
    /// The spec as written (`pkg@^1.2`, `pkg==1.0`, `image:tag`); for npm, exactly the word
    /// the launcher was given, which is also what names its cache folder.
    pub spec: String,
    /// The version (or tag, or digest) asked for, if any.
    pub requested: Option<String>,
    /// Whether `requested` names one version for good: an exact npm or PyPI version, or an
    /// image digest. A range, a tag or nothing at all is not a pin.
    pub pinned: bool,
    /// For npm: every `--package` given (what the launcher's cache folder is named after).
    pub specs: Vec<String>,
    /// The cache folder named on the command line (`npx --cache DIR`, `pnpm dlx --cache-dir
    /// DIR`), if any.
    pub cache: Option<String>,
    /// The program as the command names it (a path, or a name looked up in `PATH`).
    pub program: String,
    /// For `pipx run`: the backend `--backend` names (`pip` or `uv`), if any.
    pub backend: Option<String>,
    /// For `pipx run`: whether pipx, when its backend is uv, hands the run to `uv tool run`
    /// (pipx 1.18 and later) rather than making an environment in its own cache. It does not
    /// for `--pypackages` or `--python-args`, nor when it must find the app among the
    /// package's entry points: `--spec`'s project, normalised, is not the app's name, or
    /// without `--spec` the project's name is not written normalised (`PyCowSay`).
    pub uv_run: bool,
}

/// A package as it resolved on this machine: what is pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The spec as written in the command (`pkg@^1.2`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The version that runs (for an image: its digest; for a file: `None`).
    pub resolved: Option<String>,
    /// The content's hash as the ecosystem names it: npm's `integrity` (`sha512-…`), a
    /// wheel's or record's `sha256:…`, an image's `sha256:…` digest, a file's `sha256:…`.
    pub integrity: Option<String>,
    /// Whether the command pins one version (see [`PackageRef::pinned`]).
    pub pinned: bool,
    /// Where the resolution was read from (a lockfile, `docker image inspect`), or why it
    /// could not be.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

impl Identity {
    /// Whether it resolved to something that can be pinned (a version or a hash).
    pub fn is_resolved(&self) -> bool {
        self.resolved.is_some() || self.integrity.is_some()
    }

    /// SHA-256 (hex) of what is compared between starts: ecosystem, name, version, integrity.
    /// The spec and the source are not part of it: asking for `pkg@1.2.3` instead of `pkg` is
    /// not a change when the same thing runs.
    pub fn digest(&self) -> String {
        let key =
            serde_json::json!([self.ecosystem.as_str(), self.name, self.resolved, self.integrity]);
        hex::encode(Sha256::digest(key.to_string().as_bytes()))
    }

    /// `name@version (integrity…)`, for messages.
    pub fn label(&self) -> String {
        let mut out = self.name.clone();
        if let Some(v) = &self.resolved {
            out.push('@');
            out.push_str(v);
        }
        if let Some(i) = &self.integrity
            && self.resolved.as_deref() != Some(i.as_str())
        {
            let short: String = i.chars().take(19).collect();
            out.push_str(&format!(" ({short}…)"));
        }
        out
    }
}

/// The program's file name without a Windows suffix (`npx.cmd` → `npx`).
fn program_name(program: &str) -> &str {
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    base.strip_suffix(".cmd")
        .or_else(|| base.strip_suffix(".exe"))
        .or_else(|| base.strip_suffix(".ps1"))
        .unwrap_or(base)
}

/// What a server command runs, when it is a package launcher; `None` for any other program
/// (its identity is its file hash, which the program computes).
pub fn parse_command(program: &str, args: &[String]) -> Option<PackageRef> {
    let name = program_name(program);
    let package = match name {
        "npx" => npm_exec("npx", args),
        "npm" => match args.first().map(String::as_str) {
            Some("exec" | "x") => npm_exec("npm exec", &args[1..]),
            _ => None,
        },
        "pnpm" => match args.first().map(String::as_str) {
            Some("dlx") => npm_exec("pnpm dlx", &args[1..]),
            _ => None,
        },
        "pnpx" => npm_exec("pnpm dlx", args),
        "bunx" => npm_exec("bunx", args),
        "bun" => match args.first().map(String::as_str) {
            Some("x") => npm_exec("bunx", &args[1..]),
            _ => None,
        },
        "uvx" => python_run("uvx", args),
        "uv" => match (args.first().map(String::as_str), args.get(1).map(String::as_str)) {
            (Some("tool"), Some("run")) => python_run("uv tool run", &args[2..]),
            (Some("x"), _) => python_run("uvx", &args[1..]),
            _ => None,
        },
        "pipx" => match args.first().map(String::as_str) {
            Some("run") => python_run("pipx run", &args[1..]),
            _ => None,
        },
        "docker" | "podman" => match args.first().map(String::as_str) {
            Some("run") => container_run(name, &args[1..]),
            Some("container") if args.get(1).is_some_and(|a| a == "run") => {
                container_run(name, &args[2..])
            }
            _ => None,
        },
        _ => None,
    }?;
    Some(PackageRef { program: program.to_owned(), ..package })
}

/// An option's value: `--opt=value` or `--opt value` (advancing `i`).
fn take_value(args: &[String], i: &mut usize, word: &str) -> Option<String> {
    if let Some((_, value)) = word.split_once('=') {
        return Some(value.to_owned());
    }
    *i += 1;
    args.get(*i).cloned()
}

/// `npx`, `npm exec`, `pnpm dlx`, `bunx`: the package is `--package`'s value (repeatable;
/// the first is the command's), else the first word that is not an option.
fn npm_exec(launcher: &str, args: &[String]) -> Option<PackageRef> {
    // npm's options that take a value, among those seen in MCP configurations.
    const VALUED: &[&str] = &[
        "--package",
        "-p",
        "--cache",
        "--cache-dir",
        "--registry",
        "--userconfig",
        "--call",
        "-c",
        "--prefix",
        "--workspace",
        "-w",
        "--loglevel",
        "--node-options",
        "--script-shell",
        "--allow-scripts",
    ];
    let mut packages = Vec::new();
    let mut positional = None;
    let mut cache = None;
    let mut i = 0;
    while i < args.len() {
        let word = args[i].as_str();
        if word == "--" {
            positional = args.get(i + 1).cloned();
            break;
        }
        if word.starts_with('-') && word.len() > 1 {
            let option = word.split('=').next().unwrap_or(word);
            if VALUED.contains(&option) {
                let value = take_value(args, &mut i, word);
                match option {
                    "--package" | "-p" => packages.extend(value),
                    // npm's `--cache`, pnpm's `--cache-dir`.
                    "--cache" | "--cache-dir" => cache = value,
                    "--call" | "-c" if packages.is_empty() => return None, // a shell line
                    _ => {}
                }
            }
            i += 1;
            continue;
        }
        positional = Some(word.to_owned());
        break;
    }
    let spec = match packages.first() {
        Some(first) => first.clone(),
        None => {
            let word = positional?;
            packages.push(word.clone());
            word
        }
    };
    let (name, requested) = split_npm_spec(&spec)?;
    let pinned = requested.as_deref().is_some_and(|r| semver::Version::parse(r).is_ok());
    Some(PackageRef {
        ecosystem: Ecosystem::Npm,
        launcher: launcher.to_owned(),
        name,
        spec,
        requested,
        pinned,
        specs: packages,
        cache,
        program: String::new(),
        backend: None,
        uv_run: false,
    })
}

/// `@scope/name@range` → (`@scope/name`, `Some(range)`); a path, URL or git spec → `None`.
pub fn split_npm_spec(spec: &str) -> Option<(String, Option<String>)> {
    if spec.is_empty()
        || spec.starts_with(['.', '/', '~'])
        || spec.contains("://")
        || spec.starts_with("git+")
        || spec.starts_with("github:")
        || spec.starts_with("file:")
        || spec.starts_with("npm:")
    {
        return None;
    }
    let (scope, rest) = match spec.strip_prefix('@') {
        Some(rest) => {
            let (scope, rest) = rest.split_once('/')?;
            (Some(scope), rest)
        }
        None => (None, spec),
    };
    let (base, requested) = match rest.split_once('@') {
        Some((base, version)) if !version.is_empty() => (base, Some(version.to_owned())),
        Some((base, _)) => (base, None),
        None => (rest, None),
    };
    if base.is_empty() || base.contains('/') || base.contains(char::is_whitespace) {
        return None;
    }
    let name = match scope {
        Some(scope) if !scope.is_empty() => format!("@{scope}/{base}"),
        Some(_) => return None,
        None => base.to_owned(),
    };
    Some((name, requested))
}

/// `uvx`, `uv tool run`, `pipx run`: the package is `--from`'s (`--spec`'s) value, else the
/// first word that is not an option.
fn python_run(launcher: &str, args: &[String]) -> Option<PackageRef> {
    const VALUED: &[&str] = &[
        "--from",
        "--spec",
        "--with",
        "-w",
        "--with-editable",
        "--with-requirements",
        "--python",
        "-p",
        "--index",
        "--index-url",
        "-i",
        "--extra-index-url",
        "--default-index",
        "--find-links",
        "-f",
        "--constraints",
        "--overrides",
        "--cache-dir",
        "--directory",
        "--project",
        "--env-file",
        "--pip-args",
        "--exclude-newer",
        "--resolution",
        "--prerelease",
        "--index-strategy",
        "--keyring-provider",
        "--config-file",
        "--color",
        "--refresh-package",
        "--reinstall-package",
        "--upgrade-package",
        "-P",
        // pipx's.
        "--backend",
        "--python-args",
        "--cooldown",
        "--fetch-python",
    ];
    let mut from = None;
    let mut positional = None;
    let mut backend = None;
    let mut uv_run = true;
    let mut i = 0;
    while i < args.len() {
        let word = args[i].as_str();
        if word == "--" {
            positional = args.get(i + 1).cloned();
            break;
        }
        if word.starts_with('-') && word.len() > 1 {
            let option = word.split('=').next().unwrap_or(word);
            if VALUED.contains(&option) {
                let value = take_value(args, &mut i, word);
                match option {
                    "--from" | "--spec" => from = value,
                    "--backend" => backend = value,
                    "--python-args" => uv_run &= value.is_none_or(|v| v.trim().is_empty()),
                    _ => {}
                }
            } else if option == "--pypackages" {
                uv_run = false;
            }
            i += 1;
            continue;
        }
        positional = Some(word.to_owned());
        break;
    }
    // pipx hands the run to uv only when the app's name is known before installing.
    let project = |spec: &str| {
        let spec = spec.trim();
        let end = spec
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(spec.len());
        spec[..end].to_owned()
    };
    uv_run &= match (&from, &positional) {
        (Some(spec), Some(app)) => normalize_python_name(&project(spec)) == *app,
        (None, Some(app)) => normalize_python_name(&project(app)) == project(app),
        (_, None) => false,
    };
    let spec = from.or(positional)?;
    let (name, requested, pinned) = split_python_spec(&spec)?;
    let pipx = launcher == "pipx run";
    Some(PackageRef {
        ecosystem: Ecosystem::PyPi,
        launcher: launcher.to_owned(),
        name,
        spec: spec.clone(),
        requested,
        pinned,
        specs: vec![spec],
        cache: None,
        program: String::new(),
        backend: backend.filter(|_| pipx),
        uv_run: uv_run && pipx,
    })
}

/// `name[extra]==1.0` / `name@1.0` / `name>=1` → (normalised name, the version part, pinned).
pub fn split_python_spec(spec: &str) -> Option<(String, Option<String>, bool)> {
    let spec = spec.trim();
    if spec.is_empty()
        || spec.contains("://")
        || spec.starts_with(['.', '/', '~'])
        || spec.starts_with("git+")
    {
        return None;
    }
    let end = spec.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
    let (base, rest) = match end {
        Some(end) => spec.split_at(end),
        None => (spec, ""),
    };
    if base.is_empty() {
        return None;
    }
    // Extras are not part of the name.
    let rest = match rest.strip_prefix('[') {
        Some(after) => &after[after.find(']')? + 1..],
        None => rest,
    };
    let rest = rest.trim();
    let (requested, pinned) = if let Some(v) = rest.strip_prefix("==") {
        let v = v.trim();
        (Some(v.to_owned()), !v.is_empty() && !v.contains(['*', ',', ';']))
    } else if let Some(v) = rest.strip_prefix('@') {
        let v = v.trim();
        // `uvx pkg@latest` asks for the newest release: not a pin.
        (Some(v.to_owned()), !v.is_empty() && v != "latest" && !v.contains(['*', ',']))
    } else if rest.is_empty() {
        (None, false)
    } else {
        (Some(rest.to_owned()), false)
    };
    Some((normalize_python_name(base), requested, pinned))
}

/// PEP 503's normalised project name: lowercase, runs of `-`, `_`, `.` as one `-`.
pub fn normalize_python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `docker run` / `podman run`: the image is the first word that is not an option.
fn container_run(launcher: &str, args: &[String]) -> Option<PackageRef> {
    // `docker run`'s options that take a value (the flags are everything else).
    const VALUED: &[&str] = &[
        "-e",
        "--env",
        "--env-file",
        "-v",
        "--volume",
        "--mount",
        "--name",
        "--network",
        "--net",
        "-p",
        "--publish",
        "-w",
        "--workdir",
        "-u",
        "--user",
        "--entrypoint",
        "--platform",
        "-l",
        "--label",
        "--label-file",
        "-h",
        "--hostname",
        "--cpus",
        "-m",
        "--memory",
        "--memory-swap",
        "--pull",
        "--add-host",
        "--dns",
        "--cap-add",
        "--cap-drop",
        "--security-opt",
        "--device",
        "--tmpfs",
        "--ulimit",
        "--log-driver",
        "--log-opt",
        "--restart",
        "--stop-signal",
        "--stop-timeout",
        "--cidfile",
        "--ipc",
        "--pid",
        "--uts",
        "--runtime",
        "--shm-size",
        "--group-add",
        "--expose",
        "--health-cmd",
        "--volumes-from",
        "--userns",
        "--cgroupns",
        "--attach",
        "-a",
    ];
    let mut i = 0;
    let mut image = None;
    while i < args.len() {
        let word = args[i].as_str();
        if word.starts_with('-') && word.len() > 1 {
            let option = word.split('=').next().unwrap_or(word);
            if VALUED.contains(&option) && !word.contains('=') {
                i += 1;
            }
            i += 1;
            continue;
        }
        image = Some(word.to_owned());
        break;
    }
    let spec = image?;
    let (name, requested, pinned) = split_image(&spec)?;
    Some(PackageRef {
        ecosystem: Ecosystem::Image,
        launcher: launcher.to_owned(),
        name,
        spec: spec.clone(),
        requested,
        pinned,
        specs: vec![spec],
        cache: None,
        program: String::new(),
        backend: None,
        uv_run: false,
    })
}

/// `repo[:tag][@sha256:…]` → (repository, tag or digest, pinned by digest).
pub fn split_image(spec: &str) -> Option<(String, Option<String>, bool)> {
    if spec.is_empty() || spec.contains(char::is_whitespace) {
        return None;
    }
    if let Some((repo, digest)) = spec.split_once('@') {
        let repo = repo_without_tag(repo);
        return Some((repo.to_owned(), Some(digest.to_owned()), digest.starts_with("sha256:")));
    }
    let repo = repo_without_tag(spec);
    let tag = spec.get(repo.len() + 1..).map(str::to_owned);
    Some((repo.to_owned(), tag, false))
}

/// The repository part of `host:port/repo:tag` (a `:` after the last `/` starts the tag).
fn repo_without_tag(spec: &str) -> &str {
    let slash = spec.rfind('/').map_or(0, |s| s + 1);
    match spec[slash..].find(':') {
        Some(colon) => &spec[..slash + colon],
        None => spec,
    }
}

/// The folder below npm's `_npx` cache that `npx`/`npm exec` installs `specs` into: the first
/// 16 hex digits of the SHA-512 of the specs, sorted, one per line (npm's `libnpmexec`).
pub fn npx_cache_key(specs: &[String]) -> String {
    let mut sorted: Vec<&str> = specs.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let digest = Sha512::digest(sorted.join("\n").as_bytes());
    hex::encode(digest)[..16].to_owned()
}

/// How an identity seen now relates to the one pinned for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "trust")]
pub enum PackageTrust {
    /// Nothing was pinned for this server; this identity is now.
    New,
    /// The pinned identity.
    Pinned,
    /// Another version or content than the one pinned: the server's tools are withheld until
    /// the user trusts it.
    Changed { pinned: Identity, now: Identity, digest: String },
    /// A change the user chose to keep withheld.
    Blocked { pinned: Identity, now: Identity, digest: String },
    /// The package could not be resolved to a version or hash: nothing to pin or compare.
    Unresolved,
}

/// Why a tool of server `server` is withheld when its package changed (`pinned` → `now`).
pub fn withheld_reason(server: &str, tool: &str, pinned: &str, now: &str, blocked: bool) -> String {
    if blocked {
        return format!(
            "MCP Firewall withholds tool `{tool}`: the package behind server `{server}` is {now}, \
             a change from {pinned} that you kept blocked (`mcpfw tools package {server}`)"
        );
    }
    format!(
        "MCP Firewall withholds tool `{tool}`: the package behind server `{server}` changed since \
         it was first trusted ({pinned} → {now}). Review it with `mcpfw tools package {server}`, \
         then `mcpfw tools trust {server} --package` or `mcpfw tools block {server} --package`."
    )
}

/// The finding for an unpinned package, if it is one.
pub fn unpinned_finding(package: &Identity) -> Option<crate::finding::Finding> {
    if package.pinned || package.ecosystem == Ecosystem::File {
        return None;
    }
    let fix = match &package.resolved {
        Some(v) if package.ecosystem != Ecosystem::Image => {
            format!(
                "; pin it to the version in use (`{}@{v}`, or `mcpfw install --pin`)",
                package.name
            )
        }
        _ => String::new(),
    };
    Some(crate::finding::Finding::package_unpinned(
        &package.name,
        format!(
            "`{}` asks for {}: whatever the registry serves at each start runs{fix}",
            package
                .requested
                .as_deref()
                .map_or(package.name.clone(), |r| format!("{}@{r}", package.name)),
            match &package.requested {
                Some(r) => format!("`{r}`, not one version"),
                None => "no version".to_owned(),
            },
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn parse(line: &str) -> Option<PackageRef> {
        let w = words(line);
        parse_command(&w[0], &w[1..])
    }

    #[test]
    fn npm_launchers_name_the_package_and_its_spec() {
        let p = parse("npx -y @modelcontextprotocol/server-memory").unwrap();
        assert_eq!(
            (p.ecosystem, p.name.as_str()),
            (Ecosystem::Npm, "@modelcontextprotocol/server-memory")
        );
        assert_eq!((p.requested, p.pinned), (None, false));
        let p = parse("/usr/bin/npx --yes some-server@1.2.3 --port 3").unwrap();
        assert_eq!(
            (p.name.as_str(), p.requested.as_deref(), p.pinned),
            ("some-server", Some("1.2.3"), true)
        );
        let p = parse("npx -y @scope/srv@^1.2 /tmp").unwrap();
        assert_eq!(
            (p.name.as_str(), p.requested.as_deref(), p.pinned),
            ("@scope/srv", Some("^1.2"), false)
        );
        let p = parse("npm exec --yes --package=@a/b@2.0.0 -- b-cmd").unwrap();
        assert_eq!(
            (p.name.as_str(), p.pinned, p.specs.clone()),
            ("@a/b", true, vec!["@a/b@2.0.0".to_owned()])
        );
        let p = parse("npx --cache /tmp/c -y pkg@latest").unwrap();
        assert_eq!(
            (p.cache.as_deref(), p.pinned, p.spec.as_str()),
            (Some("/tmp/c"), false, "pkg@latest")
        );
        assert_eq!(parse("pnpm dlx srv@1.0.0").unwrap().launcher, "pnpm dlx");
        let p = parse("pnpm dlx --cache-dir /tmp/p srv@1.0.0").unwrap();
        assert_eq!((p.cache.as_deref(), p.name.as_str()), (Some("/tmp/p"), "srv"));
        assert_eq!(parse("bunx srv").unwrap().name, "srv");
        assert_eq!(parse("npx.cmd -y srv").unwrap().name, "srv");
        assert!(parse("npx -y ./local").is_none());
        assert!(parse("npm run start").is_none());
        assert!(parse("node server.js").is_none());
    }

    #[test]
    fn python_launchers_normalise_names_and_know_a_pin() {
        let p = parse("uvx mcp-server-time --local-timezone UTC").unwrap();
        assert_eq!(
            (p.ecosystem, p.name.as_str(), p.pinned),
            (Ecosystem::PyPi, "mcp-server-time", false)
        );
        let p = parse("uvx mcp-server-fetch@2025.4.7").unwrap();
        assert_eq!((p.requested.as_deref(), p.pinned), (Some("2025.4.7"), true));
        let p = parse("uv tool run --from Mcp_Server.Git==1.0 mcp-server-git").unwrap();
        assert_eq!((p.name.as_str(), p.pinned), ("mcp-server-git", true));
        let p = parse("pipx run --spec srv[cli]>=2 srv").unwrap();
        assert_eq!(
            (p.name.as_str(), p.requested.as_deref(), p.pinned),
            ("srv", Some(">=2"), false)
        );
        assert!(!parse("uvx srv@latest").unwrap().pinned);
        assert!(parse("uv run server.py").is_none());
    }

    #[test]
    fn pipx_run_knows_its_backend_and_when_it_hands_the_run_to_uv() {
        let p = parse("/opt/bin/pipx run --backend uv pycowsay==0.0.0.2 hi").unwrap();
        assert_eq!(
            (p.name.as_str(), p.program.as_str(), p.backend.as_deref(), p.uv_run),
            ("pycowsay", "/opt/bin/pipx", Some("uv"), true)
        );
        let p = parse("pipx run --backend=pip --spec PyCowSay pycowsay").unwrap();
        assert_eq!(
            (p.name.as_str(), p.backend.as_deref(), p.uv_run),
            ("pycowsay", Some("pip"), true)
        );
        // pipx finds the app among the entry points itself: its own environment.
        assert!(!parse("pipx run --spec PyCowSay PyCowSay").unwrap().uv_run);
        assert!(!parse("pipx run --spec mcp-server-git mcp_server_git").unwrap().uv_run);
        assert!(!parse("pipx run PyCowSay").unwrap().uv_run);
        assert!(!parse("pipx run --pypackages srv").unwrap().uv_run);
        assert!(!parse("pipx run --python-args -X srv").unwrap().uv_run);
        assert!(parse("pipx run --python-args= srv[cli]>=2").unwrap().uv_run);
        let p = parse("uvx --backend uv srv").unwrap();
        assert_eq!((p.backend, p.uv_run), (None, false));
    }

    #[test]
    fn container_runs_name_the_image_and_pin_only_by_digest() {
        let p = parse("docker run -i --rm -e TOKEN -v /a:/b mcp/github").unwrap();
        assert_eq!(
            (p.ecosystem, p.name.as_str(), p.requested, p.pinned),
            (Ecosystem::Image, "mcp/github", None, false)
        );
        let p = parse("podman run -i ghcr.io/x/srv:1.2 --flag").unwrap();
        assert_eq!((p.name.as_str(), p.requested.as_deref()), ("ghcr.io/x/srv", Some("1.2")));
        let p = parse("docker run --rm -i localhost:5000/srv@sha256:abc").unwrap();
        assert_eq!((p.name.as_str(), p.pinned), ("localhost:5000/srv", true));
        assert!(parse("docker ps").is_none());
    }

    #[test]
    fn the_npx_cache_folder_is_named_as_npm_names_it() {
        // npm 11 put `npx -y @modelcontextprotocol/server-memory@2026.8.31` in this folder.
        assert_eq!(
            npx_cache_key(&["@modelcontextprotocol/server-memory@2026.8.31".to_owned()]),
            "c98ccc168155bafa"
        );
    }

    #[test]
    fn the_digest_ignores_the_spec_but_not_the_version() {
        let a = Identity {
            ecosystem: Ecosystem::Npm,
            name: "p".into(),
            requested: None,
            resolved: Some("1.0.0".into()),
            integrity: Some("sha512-x".into()),
            pinned: false,
            source: String::new(),
        };
        let b = Identity { requested: Some("1.0.0".into()), pinned: true, ..a.clone() };
        assert_eq!(a.digest(), b.digest());
        let c = Identity { resolved: Some("1.0.1".into()), ..a.clone() };
        assert_ne!(a.digest(), c.digest());
        assert!(unpinned_finding(&a).is_some() && unpinned_finding(&b).is_none());
    }
}
