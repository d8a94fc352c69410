//! What policy.toml says about a server's box (`[servers.NAME.sandbox]`), and how the box's
//! facts are named in the history. OS-neutral: the mechanisms that draw the box are in the
//! `mcpfw` program (`src/contain/`, Linux); the profile they apply is built from these settings.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The method name of containment facts in the history.
pub const HISTORY_METHOD: &str = "firewall/containment";

/// The method name of a denial by the box in the history: a server's result or error named a
/// permission error for a path its box does not grant.
pub const DENIAL_METHOD: &str = "firewall/containment-denial";

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

/// What a running server's box grants, as the shim drew it (absolute, canonical paths): what a
/// permission error's path is compared with to tell whether the box refused it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Read (and execute): system folders, the runtime, `read` grants.
    pub read: Vec<PathBuf>,
    /// Read and write: roots, caches, the private temp folder, devices, `write` grants.
    pub write: Vec<PathBuf>,
    /// Hidden even inside a grant: MCP Firewall's folders, sensitive locations.
    pub hidden: Vec<PathBuf>,
}

/// The access a refused operation needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// Why the box's profile does not give a path the access it needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// A location the box hides even inside a grant.
    Hidden,
    /// Nothing grants it.
    OutsideGrants,
    /// Granted for reading only, and the operation wrote.
    ReadOnly,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Hidden => "hidden",
            Refusal::OutsideGrants => "outside-grants",
            Refusal::ReadOnly => "read-only",
        }
    }

    /// The reason in words, for the history.
    pub fn words(self) -> &'static str {
        match self {
            Refusal::Hidden => {
                "the box hides it (MCP Firewall's own folders and sensitive locations stay hidden \
                 even inside a grant)"
            }
            Refusal::OutsideGrants => "nothing in the box's profile grants it",
            Refusal::ReadOnly => "the box grants it for reading only",
        }
    }
}

/// A permission error a server reported for a path its box does not grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub path: PathBuf,
    /// What to grant so that the operation works from the next start: the path itself for
    /// reading; its folder for writing (creating a file, or the temporary file many servers
    /// write and rename, needs the folder's rights, and a file that does not exist yet cannot
    /// be granted).
    pub grant: PathBuf,
    pub access: Access,
    pub refusal: Refusal,
    /// The error as the server worded it (at most a line, 200 characters).
    pub error: String,
}

/// At most this many denials are taken from one message.
const MAX_DENIALS: usize = 4;
/// How much text around a permission error is searched for its path.
const WINDOW: usize = 240;

/// Operations (Node's `syscall, 'path'`, coreutils' wording) that change the filesystem.
const WRITE_OPERATIONS: &[&str] = &[
    "mkdir",
    "rmdir",
    "unlink",
    "rename",
    "write",
    "copyfile",
    "cp",
    "symlink",
    "link",
    "chmod",
    "chown",
    "utime",
    "truncate",
    "mkdtemp",
    "cannot create",
    "cannot remove",
    "cannot touch",
    "cannot move",
];

impl Grants {
    /// Whether (and why) the box refuses `access` to `path` (`None`: it grants it, so a
    /// permission error there is the file's own, not the box's). `access` `None`: whichever
    /// access the profile lacks (read when the path is not readable, otherwise write).
    pub fn refusal(&self, path: &Path, access: Option<Access>) -> Option<(Access, Refusal)> {
        let under = |list: &[PathBuf]| list.iter().any(|g| path.starts_with(g));
        if under(&self.hidden) {
            return Some((access.unwrap_or(Access::Read), Refusal::Hidden));
        }
        let (readable, writable) = (under(&self.read) || under(&self.write), under(&self.write));
        match access {
            _ if writable => None,
            Some(Access::Write) | None if readable => Some((Access::Write, Refusal::ReadOnly)),
            Some(Access::Read) if readable => None,
            access => Some((access.unwrap_or(Access::Read), Refusal::OutsideGrants)),
        }
    }

    /// The permission errors with a path in `text` that the box explains (see [`Self::refusal`]).
    /// `writes`: the call changes things (its category), so an error that does not name its
    /// operation is taken as a write.
    pub fn denials(&self, text: &str, writes: bool) -> Vec<Denial> {
        let mut out: Vec<Denial> = Vec::new();
        for error in permission_errors(text) {
            let access = if error.writes || writes { Some(Access::Write) } else { None };
            let Some((access, refusal)) = self.refusal(&error.path, access) else { continue };
            if out.len() < MAX_DENIALS && !out.iter().any(|d| d.path == error.path) {
                let grant = match (access, error.path.parent()) {
                    (Access::Write, Some(folder)) if folder != Path::new("/") => {
                        folder.to_path_buf()
                    }
                    _ => error.path.clone(),
                };
                out.push(Denial { path: error.path, grant, access, refusal, error: error.line });
            }
        }
        out
    }
}

/// One permission error found in a server's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionError {
    /// The path it names, made absolute and lexically normal (no `.` or `..`).
    pub path: PathBuf,
    /// The operation it names changes the filesystem.
    pub writes: bool,
    /// The line it is on (at most 200 characters).
    pub line: String,
}

/// The permission errors in `text` that name an absolute path: `EACCES: permission denied,
/// open '/p'` (Node), `[Errno 13] Permission denied: '/p'` (Python), `open /p: permission
/// denied` (Go), `cat: /p: Permission denied` (coreutils), and the same with EPERM or
/// "operation not permitted". The path is the first absolute one after the marker on its line,
/// else the last one before it. Pure: nothing is looked up on the disk.
pub fn permission_errors(text: &str) -> Vec<PermissionError> {
    const MARKERS: &[&str] = &["permission denied", "operation not permitted", "eacces", "eperm"];
    let mut found: Vec<PermissionError> = Vec::new();
    // Cheap refusal first: most results name no permission error.
    let lower = text.to_ascii_lowercase();
    if !MARKERS.iter().any(|m| lower.contains(m)) {
        return found;
    }
    let mut at = 0;
    while found.len() < MAX_DENIALS * 2 {
        let Some((start, marker)) = MARKERS
            .iter()
            .filter_map(|m| lower[at..].find(m).map(|i| (at + i, *m)))
            .min_by_key(|(i, _)| *i)
        else {
            break;
        };
        let end = start + marker.len();
        at = end;
        // Whole words only (`eperm` is not `epermission`).
        let word = |i: Option<u8>| i.is_some_and(|b| b.is_ascii_alphanumeric());
        if word(lower.as_bytes().get(end).copied())
            || word(start.checked_sub(1).map(|i| lower.as_bytes()[i]))
        {
            continue;
        }
        let line_start =
            text[..start].rfind('\n').map_or(0, |i| i + 1).max(floor(text, start, WINDOW));
        let line_end =
            text[end..].find('\n').map_or(text.len(), |i| end + i).min(ceil(text, end, WINDOW));
        let after = &text[end..line_end];
        let before = &text[line_start..start];
        let (path, op_text) = match first_path(after) {
            Some((path, offset)) => (Some(path), &after[..offset]),
            None => match last_path(before) {
                Some((path, offset)) => (Some(path), &before[..offset]),
                None => (None, ""),
            },
        };
        let Some(path) = path else { continue };
        let Some(path) = normal(&path) else { continue };
        let line_text = &text[line_start..line_end];
        let op_lower = format!("{} {}", op_text.to_ascii_lowercase(), before.to_ascii_lowercase());
        let writes = WRITE_OPERATIONS.iter().any(|w| {
            op_lower.match_indices(w).any(|(i, _)| {
                let b = op_lower.as_bytes();
                !word(i.checked_sub(1).map(|j| b[j])) && !word(b.get(i + w.len()).copied())
            })
        });
        if !found.iter().any(|f| f.path == path) {
            found.push(PermissionError {
                path,
                writes,
                line: line_text.trim().chars().take(200).collect(),
            });
        }
    }
    found
}

/// The largest char boundary at or after `i - window`.
fn floor(text: &str, i: usize, window: usize) -> usize {
    let mut j = i.saturating_sub(window);
    while !text.is_char_boundary(j) {
        j += 1;
    }
    j
}

/// The smallest char boundary at or before `i + window`.
fn ceil(text: &str, i: usize, window: usize) -> usize {
    let mut j = (i + window).min(text.len());
    while !text.is_char_boundary(j) {
        j -= 1;
    }
    j
}

/// Where each absolute path in `text` starts and what it is: quoted (`'…'`, `"…"`, `` `…` ``,
/// to the closing quote) or bare (to a space, `:` or `,`).
fn paths_in(text: &str) -> Vec<(String, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'\'' | b'"' | b'`') && bytes.get(i + 1) == Some(&b'/') {
            if let Some(close) = text[i + 1..].find(b as char) {
                out.push((text[i + 1..i + 1 + close].to_owned(), i));
                i += close + 2;
                continue;
            }
        } else if b == b'/' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'(' | b'=')) {
            let end = text[i..]
                .find(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | ')' | ';'))
                .map_or(text.len(), |e| i + e);
            out.push((text[i..end].to_owned(), i));
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

fn first_path(text: &str) -> Option<(String, usize)> {
    paths_in(text).into_iter().next()
}

fn last_path(text: &str) -> Option<(String, usize)> {
    paths_in(text).into_iter().last()
}

/// `path` without `.` and `..` (lexically: nothing is looked up); `None` when not absolute.
fn normal(path: &str) -> Option<PathBuf> {
    let path = Path::new(path);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> Grants {
        Grants {
            read: vec!["/usr".into(), "/srv/docs".into()],
            write: vec!["/work/root".into(), "/tmp/box".into()],
            hidden: vec!["/home/me/.ssh".into()],
        }
    }

    #[test]
    fn node_python_go_and_coreutils_errors_give_their_path() {
        let cases = [
            ("Error: EACCES: permission denied, open '/x/y.txt'", "/x/y.txt", false),
            ("EPERM: operation not permitted, mkdir '/x/new'", "/x/new", true),
            ("[Errno 13] Permission denied: '/x/a b.txt'", "/x/a b.txt", false),
            ("open /x/go.txt: permission denied", "/x/go.txt", false),
            ("cat: /x/c.txt: Permission denied", "/x/c.txt", false),
            ("mkdir: cannot create directory '/x/d': Permission denied", "/x/d", true),
            ("EACCES: permission denied, rename '/x/e' -> '/work/root/e'", "/x/e", true),
            ("EACCES: permission denied, open '/x/../y/./z'", "/y/z", false),
        ];
        for (text, path, writes) in cases {
            let found = permission_errors(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].path, Path::new(path), "{text}");
            assert_eq!(found[0].writes, writes, "{text}");
        }
    }

    #[test]
    fn text_without_a_permission_error_or_a_path_gives_nothing() {
        for text in [
            "Permission denied (os error 13)",
            "EACCES: permission denied, open 'relative.txt'",
            "the epermission of /x is fine",
            "read /x/y: no such file or directory",
            "",
        ] {
            assert!(permission_errors(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn the_box_explains_only_what_it_does_not_grant() {
        let g = grants();
        let d = |text: &str, writes: bool| {
            g.denials(text, writes).into_iter().map(|d| (d.access, d.refusal)).collect::<Vec<_>>()
        };
        assert_eq!(
            d("EACCES: permission denied, open '/x/y'", false),
            [(Access::Read, Refusal::OutsideGrants)]
        );
        assert_eq!(
            d("EACCES: permission denied, open '/x/y'", true),
            [(Access::Write, Refusal::OutsideGrants)]
        );
        // Readable: the open that failed wrote.
        assert_eq!(
            d("EACCES: permission denied, open '/srv/docs/a'", false),
            [(Access::Write, Refusal::ReadOnly)]
        );
        assert_eq!(
            d("EACCES: permission denied, open '/home/me/.ssh/id_rsa'", false),
            [(Access::Read, Refusal::Hidden)]
        );
        // Granted for writing: the file's own permissions, not the box.
        assert!(d("EACCES: permission denied, open '/work/root/locked'", true).is_empty());
        assert!(d("EACCES: permission denied, open '/work/rootless/x'", false).len() == 1);
    }
}
