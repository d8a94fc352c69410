//! The package registries a server's launcher needs while it starts (`npx -y pkg`, `uvx pkg`,
//! `pnpm dlx`, `bunx`, `pipx run`): the registry the user configured, else the public default.
//! The egress proxy lets these through only during the launch phase (see `docs/egress.md`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A host and port a launcher fetches packages from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RegistryHost {
    pub host: String,
    pub port: u16,
}

/// Which package ecosystem a launcher fetches from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Npm,
    Python,
}

/// The ecosystem of the program a server is started with (`npx`, `uvx`, …), if it is a
/// launcher that downloads packages.
pub fn ecosystem(program: &Path, args: &[OsString]) -> Option<Ecosystem> {
    let name = program.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".exe").or(name.strip_suffix(".cmd")).unwrap_or(&name);
    let first = args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
    match name {
        "npx" | "pnpx" | "bunx" => Some(Ecosystem::Npm),
        "npm" | "pnpm" | "yarn" | "bun" if matches!(first.as_str(), "exec" | "dlx" | "x") => {
            Some(Ecosystem::Npm)
        }
        "uvx" | "pipx" => Some(Ecosystem::Python),
        "uv" if matches!(first.as_str(), "tool" | "run") => Some(Ecosystem::Python),
        _ => None,
    }
}

/// Where the user's configuration lives, and the variables in effect (for tests).
pub struct Sources<'a> {
    pub home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// The system configuration folder (`/etc`); `None` reads none.
    pub etc: Option<PathBuf>,
    pub var: &'a dyn Fn(&str) -> Option<String>,
}

impl Sources<'_> {
    /// This process's environment, home and working directory.
    pub fn process() -> Sources<'static> {
        Sources {
            home: std::env::var_os("HOME").map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
            etc: Some(PathBuf::from("/etc")),
            var: &|name| std::env::var(name).ok(),
        }
    }
}

/// The registry hosts a server started as `program args…` needs while it launches; empty when
/// the program is not a package launcher.
pub fn launch_hosts(program: &Path, args: &[OsString], sources: &Sources<'_>) -> Vec<RegistryHost> {
    let urls = match ecosystem(program, args) {
        None => return Vec::new(),
        Some(Ecosystem::Npm) => npm_registries(sources),
        Some(Ecosystem::Python) => python_indexes(sources),
    };
    let mut hosts: Vec<RegistryHost> = urls.iter().filter_map(|u| host_of(u)).collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn host_of(url: &str) -> Option<RegistryHost> {
    let url = url::Url::parse(url.trim()).ok()?;
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    Some(RegistryHost { host, port: url.port_or_known_default()? })
}

/// npm's `registry` (and `@scope:registry`) from the environment and the `.npmrc` files, else
/// the public registry.
fn npm_registries(sources: &Sources<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for name in ["npm_config_registry", "NPM_CONFIG_REGISTRY"] {
        if let Some(url) = (sources.var)(name) {
            urls.push(url);
        }
    }
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(cwd) = &sources.cwd {
        files.push(cwd.join(".npmrc"));
    }
    if let Some(path) =
        (sources.var)("npm_config_userconfig").or((sources.var)("NPM_CONFIG_USERCONFIG"))
    {
        files.push(PathBuf::from(path));
    } else if let Some(home) = &sources.home {
        files.push(home.join(".npmrc"));
    }
    files.extend(sources.etc.as_ref().map(|etc| etc.join("npmrc")));
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with(['#', ';']) {
                continue;
            }
            if let Some((key, value)) = line.split_once('=')
                && (key.trim() == "registry" || key.trim().ends_with(":registry"))
            {
                urls.push(value.trim().trim_matches('"').to_owned());
            }
        }
    }
    if urls.is_empty() {
        urls.push("https://registry.npmjs.org/".to_owned());
    }
    urls
}

/// The Python package indexes uv and pip use, from the environment and pip's configuration
/// files, else PyPI (whose files are served from files.pythonhosted.org).
fn python_indexes(sources: &Sources<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for name in [
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
    ] {
        if let Some(value) = (sources.var)(name) {
            // Several indexes may be given, separated by spaces; `name=url` entries too.
            urls.extend(
                value
                    .split_whitespace()
                    .map(|u| u.rsplit_once('=').map_or(u, |(_, url)| url).to_owned()),
            );
        }
    }
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(path) = (sources.var)("PIP_CONFIG_FILE") {
        files.push(PathBuf::from(path));
    }
    if let Some(home) = &sources.home {
        files.push(home.join(".config/pip/pip.conf"));
        files.push(home.join(".pip/pip.conf"));
    }
    files.extend(sources.etc.as_ref().map(|etc| etc.join("pip.conf")));
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                let key = key.trim();
                if key == "index-url" || key == "extra-index-url" {
                    urls.extend(value.split_whitespace().map(str::to_owned));
                }
            }
        }
    }
    if urls.is_empty() {
        urls.push("https://pypi.org/simple".to_owned());
        urls.push("https://files.pythonhosted.org/".to_owned());
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(program: &str, args: &[&str], sources: &Sources<'_>) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        launch_hosts(Path::new(program), &args, sources)
            .into_iter()
            .map(|h| format!("{}:{}", h.host, h.port))
            .collect()
    }

    #[test]
    fn launchers_get_the_public_registries_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        let sources = Sources { home: Some(dir.path().into()), cwd: None, etc: None, var: &none };
        assert_eq!(hosts("/usr/bin/npx", &["-y", "pkg"], &sources), ["registry.npmjs.org:443"]);
        assert_eq!(hosts("pnpm", &["dlx", "pkg"], &sources), ["registry.npmjs.org:443"]);
        assert_eq!(hosts("bunx", &["pkg"], &sources), ["registry.npmjs.org:443"]);
        assert_eq!(
            hosts("/home/u/.local/bin/uvx", &["mcp-server-time"], &sources),
            ["files.pythonhosted.org:443", "pypi.org:443"]
        );
        assert_eq!(hosts("pipx", &["run", "pkg"], &sources).len(), 2);
        assert!(hosts("node", &["server.js"], &sources).is_empty());
        assert!(hosts("npm", &["start"], &sources).is_empty());
    }

    #[test]
    fn the_configured_registry_replaces_the_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".npmrc"),
            "# company mirror\nregistry=https://npm.corp.example:8443/\n@acme:registry=http://acme.example/npm/\n//npm.corp.example/:_authToken=secret\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join(".config/pip")).unwrap();
        std::fs::write(
            dir.path().join(".config/pip/pip.conf"),
            "[global]\nindex-url = https://pypi.corp.example/simple\n",
        )
        .unwrap();
        let vars = |name: &str| {
            (name == "UV_INDEX_URL").then(|| "https://uv.corp.example/simple".to_owned())
        };
        let sources = Sources { home: Some(dir.path().into()), cwd: None, etc: None, var: &vars };
        assert_eq!(
            hosts("npx", &["-y", "pkg"], &sources),
            ["acme.example:80", "npm.corp.example:8443"]
        );
        assert_eq!(
            hosts("uvx", &["pkg"], &sources),
            ["pypi.corp.example:443", "uv.corp.example:443"]
        );
    }
}
