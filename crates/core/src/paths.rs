//! Every filesystem location MCP Firewall uses, in one place.
//!
//! The locations come from `directories` (XDG on Linux, the platform conventions elsewhere). When
//! `MCPFW_HOME` is set, all of them move below that folder, so tests and users can run isolated
//! instances side by side. Nothing else in the crate invents a path.

use std::path::{Path, PathBuf};

/// The environment variable that moves every path below one folder.
pub const HOME_ENV: &str = "MCPFW_HOME";

/// The name of the daemon's socket in the runtime folder.
pub const SOCKET_NAME: &str = "mcpfw.sock";

/// The folders of one MCP Firewall instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `policy.toml` and other files the user edits.
    pub config: PathBuf,
    /// The database and other state the program owns.
    pub data: PathBuf,
    /// Log files.
    pub logs: PathBuf,
    /// Sockets and other per-login runtime files.
    pub runtime: PathBuf,
}

impl Paths {
    /// The paths for this process: below `$MCPFW_HOME` when set, else the platform's defaults.
    pub fn from_env() -> Result<Self, PathsError> {
        match std::env::var_os(HOME_ENV) {
            Some(home) if !home.is_empty() => Ok(Self::under(Path::new(&home))),
            _ => Self::platform(),
        }
    }

    /// Every path below one folder (what `MCPFW_HOME` selects).
    pub fn under(home: &Path) -> Self {
        Self {
            config: home.join("config"),
            data: home.join("data"),
            logs: home.join("logs"),
            runtime: home.join("run"),
        }
    }

    /// The platform's conventional locations, from `directories`.
    pub fn platform() -> Result<Self, PathsError> {
        let dirs =
            directories::ProjectDirs::from("dev", "mcpfw", "mcpfw").ok_or(PathsError::NoHome)?;
        let data = dirs.data_local_dir().to_path_buf();
        let logs =
            dirs.state_dir().map(|state| state.join("logs")).unwrap_or_else(|| data.join("logs"));
        let runtime = dirs.runtime_dir().map(Path::to_path_buf).unwrap_or_else(|| data.join("run"));
        Ok(Self { config: dirs.config_dir().to_path_buf(), data, logs, runtime })
    }

    /// Where else a daemon the user started with the default paths may have its socket, for a
    /// process whose client dropped part of its environment (MCP's Python SDK starts servers
    /// with only HOME, PATH, USER and a few more, so `XDG_RUNTIME_DIR` and `MCPFW_HOME` are
    /// gone): the runtime folder without `XDG_RUNTIME_DIR` (below the data folder) and with the
    /// usual one (`/run/user/<uid>`, Linux). Empty when `MCPFW_HOME` is set: an instance moved
    /// there never talks to another. The caller uses only sockets owned by this user.
    pub fn default_sockets(&self) -> Vec<PathBuf> {
        if std::env::var_os(HOME_ENV).is_some_and(|h| !h.is_empty()) {
            return Vec::new();
        }
        let Ok(platform) = Self::platform() else { return Vec::new() };
        #[allow(unused_mut)]
        let mut out = vec![platform.data.join("run").join(SOCKET_NAME)];
        #[cfg(target_os = "linux")]
        out.push(
            PathBuf::from(format!("/run/user/{}", crate::platform::euid()))
                .join("mcpfw")
                .join(SOCKET_NAME),
        );
        out.retain(|p| *p != self.runtime.join(SOCKET_NAME));
        out.dedup();
        out
    }

    /// Creates a folder (and its parents) readable by the current user only.
    pub fn ensure(dir: &Path) -> Result<(), PathsError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        crate::platform::private::dir(&mut builder);
        builder.create(dir).map_err(|source| PathsError::Create { dir: dir.to_path_buf(), source })
    }
}

/// Why MCP Firewall's folders cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error(
        "cannot find your home directory to place MCP Firewall's files; set MCPFW_HOME to a folder"
    )]
    NoHome,
    #[error("cannot create the folder {}: {source}", dir.display())]
    Create { dir: PathBuf, source: std::io::Error },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_moves_every_path_below_it() {
        let home = Path::new("/tmp/fw-home");
        let paths = Paths::under(home);
        for dir in [&paths.config, &paths.data, &paths.logs, &paths.runtime] {
            assert!(dir.starts_with(home), "{} escapes MCPFW_HOME", dir.display());
        }
        let all = [&paths.config, &paths.data, &paths.logs, &paths.runtime];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b, "two roles share one folder");
            }
        }
    }
}
