//! What policy.toml says about a server's box (`[servers.NAME.sandbox]`), and how the box's
//! facts are named in the history. OS-neutral: the mechanisms that draw the box are in the
//! `mcpfw` program (`src/contain/`, Linux); the profile they apply is built from these settings.

use serde::{Deserialize, Serialize};

/// The method name of containment facts in the history.
pub const HISTORY_METHOD: &str = "firewall/containment";

/// How firmly a server is boxed (`[servers.NAME.sandbox] mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Box the server with every mechanism the machine has; name what is missing.
    #[default]
    Enforce,
    /// Refuse to start the server when any mechanism is missing.
    Require,
    /// No box (the server runs with all of the user's power); recorded as such.
    Off,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Require => "require",
            Mode::Off => "off",
        }
    }
}

/// `[servers.NAME.sandbox]` in policy.toml: what a person adds to the inferred profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// Extra folders or files the server may read (and execute), `~` allowed.
    #[serde(default)]
    pub read: Vec<String>,
    /// Extra folders or files the server may write.
    #[serde(default)]
    pub write: Vec<String>,
    /// Hosts the server may reach through the egress proxy (globs such as `*.example.com`).
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    #[serde(default)]
    pub mode: Mode,
}

/// Whether a socket peer runs outside every box: in the same user, PID and network namespaces
/// as this process. The daemon refuses a peer that does not (a boxed server that somehow
/// reached its socket); a peer whose namespaces cannot be read is refused too.
pub fn peer_outside_box(pid: Option<i32>) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        let namespace_of = |pid: Option<i32>, kind: &str| {
            std::fs::read_link(match pid {
                Some(pid) => format!("/proc/{pid}/ns/{kind}"),
                None => format!("/proc/self/ns/{kind}"),
            })
        };
        let pid = pid.ok_or("the peer's process is unknown")?;
        for kind in ["user", "pid", "net"] {
            let ours =
                namespace_of(None, kind).map_err(|e| format!("own {kind} namespace: {e}"))?;
            let theirs = namespace_of(Some(pid), kind).map_err(|e| {
                format!("the {kind} namespace of process {pid} cannot be read: {e}")
            })?;
            if ours != theirs {
                return Err(format!(
                    "process {pid} runs in another {kind} namespace (a server's box)"
                ));
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = pid;
    Ok(())
}
