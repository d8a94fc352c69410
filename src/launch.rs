//! Finding and starting the wrapped server, and ending it cleanly.
//!
//! MCP clients are often GUI apps whose `PATH` lacks `npx`, `uvx` or `node`. Resolution therefore
//! searches `PATH` and then the usual install places, and when nothing is found it says exactly
//! where it looked. A directory found outside `PATH` is put in front of the child's `PATH` so that
//! `#!/usr/bin/env node` scripts keep working.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// A command ready to spawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The directory to prepend to the child's `PATH` when the program was found outside it.
    pub prepend_path: Option<PathBuf>,
}

/// The program could not be found.
#[derive(Debug, thiserror::Error)]
#[error("cannot find the server command `{command}`; searched:\n{}", list(.searched))]
pub struct NotFound {
    pub command: String,
    pub searched: Vec<PathBuf>,
}

fn list(dirs: &[PathBuf]) -> String {
    dirs.iter().map(|d| format!("  {}", d.display())).collect::<Vec<_>>().join("\n")
}

/// Splits a command given as one string (`"npx -y pkg dir"`, as some clients write it) into
/// program and arguments. A single word, or an existing file path with spaces, is left alone.
pub fn split_joined(command: &[OsString]) -> Vec<OsString> {
    let Some(first) = command.first().and_then(|f| f.to_str()) else {
        return command.to_vec();
    };
    if !first.trim().contains(char::is_whitespace) || Path::new(first).exists() {
        return command.to_vec();
    }
    match shell_words::split(first) {
        Ok(words) if !words.is_empty() => {
            words.into_iter().map(OsString::from).chain(command[1..].iter().cloned()).collect()
        }
        _ => command.to_vec(),
    }
}

/// The places searched after `PATH`, most specific first.
pub fn fallback_dirs(home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = home {
        // Node version managers: the newest installed version first.
        for manager in
            [".nvm/versions/node", ".local/share/fnm/node-versions", ".fnm/node-versions"]
        {
            let root = home.join(manager);
            let mut versions: Vec<PathBuf> = std::fs::read_dir(&root)
                .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            versions.sort_by_key(|p| std::cmp::Reverse(version_key(p)));
            for version in versions {
                let bin = version.join("bin");
                let installation = version.join("installation/bin");
                dirs.push(if installation.is_dir() { installation } else { bin });
            }
        }
        for rel in [
            ".volta/bin",
            ".local/bin",
            ".cargo/bin",
            ".bun/bin",
            ".deno/bin",
            ".npm-global/bin",
            ".yarn/bin",
            ".asdf/shims",
            ".local/share/mise/shims",
            ".pyenv/shims",
            ".nix-profile/bin",
        ] {
            dirs.push(home.join(rel));
        }
    }
    for abs in [
        "/opt/homebrew/bin",
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
        "/snap/bin",
        "/nix/var/nix/profiles/default/bin",
        "/opt/local/bin",
    ] {
        dirs.push(PathBuf::from(abs));
    }
    dirs
}

fn version_key(path: &Path) -> Vec<u64> {
    let name = path.file_name().and_then(OsStr::to_str).unwrap_or("");
    name.trim_start_matches('v').split('.').map(|n| n.parse().unwrap_or(0)).collect()
}

/// Resolves `command` (program plus arguments) against `path` (the `PATH` value) and then
/// the fallback directories.
pub fn resolve(
    command: &[OsString],
    path: Option<&OsStr>,
    home: Option<&Path>,
) -> Result<ResolvedCommand, NotFound> {
    let command = split_joined(command);
    let program = command.first().cloned().unwrap_or_default();
    let args = command.get(1..).unwrap_or_default().to_vec();
    let as_path = Path::new(&program);
    if as_path.components().count() > 1 || as_path.is_absolute() {
        // An explicit path is used as given; spawning reports a clear error if it is missing.
        return Ok(ResolvedCommand { program: as_path.to_path_buf(), args, prepend_path: None });
    }
    let path_dirs: Vec<PathBuf> =
        path.map(|p| std::env::split_paths(p).collect()).unwrap_or_default();
    if let Some(found) = path_dirs.iter().map(|d| d.join(&program)).find(|c| is_executable(c)) {
        return Ok(ResolvedCommand { program: found, args, prepend_path: None });
    }
    let fallbacks = fallback_dirs(home);
    for dir in &fallbacks {
        let candidate = dir.join(&program);
        if is_executable(&candidate) {
            return Ok(ResolvedCommand {
                program: candidate,
                args,
                prepend_path: Some(dir.clone()),
            });
        }
    }
    let mut searched = path_dirs;
    searched.extend(fallbacks);
    Err(NotFound { command: program.to_string_lossy().into_owned(), searched })
}

fn is_executable(path: &Path) -> bool {
    mcpfw_core::platform::private::executable(path)
}

/// A name for the server when the user gave none: the package or program it runs.
pub fn default_server_name(command: &[OsString]) -> String {
    let command = split_joined(command);
    let runners =
        ["npx", "uvx", "node", "python", "python3", "deno", "bun", "bunx", "pnpm", "uv", "docker"];
    let base = |s: &OsStr| {
        Path::new(s).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
    };
    let program = command.first().map(|p| base(p)).unwrap_or_default();
    if runners.contains(&program.as_str()) {
        let skip = ["run", "exec", "dlx", "x", "-m"];
        if let Some(arg) = command[1..]
            .iter()
            .filter_map(|a| a.to_str())
            .find(|a| !a.starts_with('-') && !skip.contains(a))
        {
            // `@scope/name@1.2` → `name`
            let name = arg.rsplit('/').next().unwrap_or(arg);
            let name = name.split('@').find(|s| !s.is_empty()).unwrap_or(name);
            return name.trim_end_matches(".js").trim_end_matches(".py").to_owned();
        }
    }
    if program.is_empty() { "server".to_owned() } else { program }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn joined_command_string_is_split() {
        assert_eq!(
            split_joined(&os(&["npx -y @scope/pkg '/my dir'"])),
            os(&["npx", "-y", "@scope/pkg", "/my dir"])
        );
        assert_eq!(split_joined(&os(&["node", "a b"])), os(&["node", "a b"]));
        assert_eq!(split_joined(&os(&["node"])), os(&["node"]));
    }

    #[test]
    fn finds_programs_outside_path_and_says_where_it_looked() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join(".nvm/versions/node/v22.1.0/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(home.path().join(".nvm/versions/node/v9.0.0/bin")).unwrap();
        let npx = bin.join("mcpfw-test-npx");
        std::fs::write(&npx, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&npx, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let resolved = resolve(
            &os(&["mcpfw-test-npx", "-y", "x"]),
            Some(OsStr::new("/nonexistent")),
            Some(home.path()),
        )
        .unwrap();
        assert_eq!(resolved.program, npx);
        assert_eq!(resolved.prepend_path.as_deref(), Some(bin.as_path()));
        assert_eq!(resolved.args, os(&["-y", "x"]));

        let err = resolve(
            &os(&["no-such-mcp-server"]),
            Some(OsStr::new("/nonexistent")),
            Some(home.path()),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no-such-mcp-server") && text.contains("/nonexistent"), "{text}");
        assert!(
            text.contains(".nvm/versions/node/v22.1.0/bin") && text.contains("/usr/local/bin"),
            "{text}"
        );
        let v22 = text.find("v22.1.0").unwrap();
        assert!(v22 < text.find("v9.0.0").unwrap(), "newest node first:\n{text}");
    }

    #[test]
    fn names_servers_after_their_package() {
        assert_eq!(
            default_server_name(&os(&[
                "npx",
                "-y",
                "@modelcontextprotocol/server-filesystem",
                "/w"
            ])),
            "server-filesystem"
        );
        assert_eq!(default_server_name(&os(&["uvx", "mcp-server-git@1.2"])), "mcp-server-git");
        assert_eq!(default_server_name(&os(&["/usr/bin/my-server", "--x"])), "my-server");
        assert_eq!(default_server_name(&os(&["npx -y @scope/thing"])), "thing");
    }
}
