//! The path sandbox: does a path argument of a tool call stay inside a server's allowed roots,
//! and does it touch a sensitive location?
//!
//! [`PathSandbox::assess`] turns the raw string an agent sent into a [`PathAssessment`]. It reads
//! the file system (to resolve symlinks) but never writes to it.
//!
//! # What is normalised
//!
//! In this order:
//!
//! 1. **Limits.** A NUL byte (raw or percent-encoded as `%00`) or a path longer than
//!    [`MAX_PATH_BYTES`] (raw, or once made absolute) is an error. So is an empty path.
//! 2. **`file:` URLs.** `file:///p`, `file://localhost/p` and `file:/p` become `/p`; a query or
//!    fragment is cut off; `file://other-host/…` is an error.
//! 3. **Percent-encoding**, repeatedly until stable (`%252e` → `%2e` → `.`), at most
//!    [`MAX_DECODE_ROUNDS`] rounds (more is an error); a result that is not UTF-8 is an error.
//! 4. **Backslashes** are separators (`..\..\etc` is `../../etc`).
//! 5. **`~` and `~/…`** become the home folder (an error when the home is unknown). `~name` is
//!    not another user's home; it stays a relative name.
//! 6. **Relative paths** are joined to the `base` given to `assess`, else to the first root.
//! 7. **Repeated slashes and `.` segments** are dropped.
//! 8. **Symlinks and `..`.** The longest existing prefix is resolved with
//!    [`std::fs::canonicalize`] (so `..` after a symlink climbs from the link's *target*, as the
//!    kernel does); the non-existing rest is appended lexically. A dangling symlink is followed
//!    by hand (a write through it would create its target), up to [`MAX_SYMLINK_HOPS`] hops.
//!
//! Because a server may apply `..` lexically *before* resolving symlinks (as Node's
//! `path.resolve` + `realpath` do), a path with `..` is also resolved that way; and because a
//! server may not decode anything, a path that uses `%`, `\` or `file:` is also resolved
//! literally (only `~` and the base applied). The path is inside the roots only when *every*
//! reading is inside (component-wise containment, never a string prefix: root `/x/allowed`
//! does not contain `/x/allowed-evil` nor `/x/allowedX`), and it is as sensitive as the most
//! sensitive reading. The lexically normalised path *before* symlink resolution is checked for
//! sensitivity as well, so a symlink `/work/keys -> ~/.ssh` is caught either way.
//!
//! Not handled: Unicode look-alikes, case-insensitive file systems on macOS, and a symlink
//! swapped between this check and the server's use of the path (TOCTOU).
//!
//! # Windows
//!
//! On Windows ([`Flavour::Windows`], the host's flavour there) a path is read as Windows reads
//! it, by the pure functions of [`windows`] (drives, shares, verbatim and device prefixes,
//! drive- and root-relative forms, both separators, trailing dots and spaces, streams, device
//! names, names compared without case as NTFS does). Limits, `file:` URLs, percent-decoding,
//! `~` and the literal reading are as above; then:
//!
//! - `..` is applied lexically (Win32 does so before any link is followed), so there is one
//!   system reading; links and junctions of the existing prefix are resolved with
//!   [`std::fs::canonicalize`], a dangling link followed by hand, as above.
//! - A share on another computer (`\\server\share`) is refused unless it is inside a root: it
//!   is not even opened, since Windows would send the user's sign-in to that computer.
//! - An 8.3 short name (`PROGRA~1`) left once the file system resolved what exists is refused:
//!   which long name it stands for cannot be known.
//! - Containment and the sensitive locations compare names without case.
//!
//! The Windows flavour can be built on any host ([`PathSandbox::with_flavour`]); off Windows it
//! does not use the file system (nothing exists, no link is followed, a short name is refused),
//! which is how its decisions are tested on Linux.
//!
//! # What is sensitive
//!
//! Matched component by component (a `*` ends a component pattern: `cron*`). "Home" patterns
//! apply below the given home (as given and canonicalised) and below every conventional home:
//! `/root`, `/home/*`, `/Users/*` (and `C:\Users\*`), `/var/root`. System patterns also match below `/private`
//! (macOS's `/etc` → `/private/etc`). When several match, the order is
//! Firewall > Credential > McpConfig > Persistence. The full table is [`SENSITIVE_LOCATIONS`].
//!
//! - **Credential** — home: `.ssh` (keys, config, `authorized_keys`), `.aws`, `.config/gcloud`,
//!   `.azure`, `.kube/config`, `.docker/config.json`, `.netrc`, `.git-credentials`,
//!   `.config/git/credentials`, `.npmrc`, `.pypirc`, `.gnupg`, `.password-store`, `.config/op`,
//!   `.local/share/keyrings`, `Library/Keychains`, `.pki/nssdb`, `.config/gh/hosts.yml`,
//!   `.cargo/credentials(.toml)`, `.vault-token`, `.terraform.d/credentials.tfrc.json`,
//!   `.claude/.credentials.json`; browser profiles: Chrome, Chromium, Firefox, Brave, Edge (Linux
//!   `.config/…`, `.mozilla`, snap and flatpak; macOS `Library/Application Support/…`), Safari
//!   (`Library/Safari`, `Library/Cookies`, `Library/Containers/com.apple.Safari`). System:
//!   `/etc/shadow(-)`, `/etc/gshadow(-)`, `/etc/master.passwd`, `/etc/sudoers`,
//!   `/etc/sudoers.d`, `/etc/ssh/ssh_host_*`, `/etc/krb5.keytab`, `/Library/Keychains`.
//!   Windows, home: Credential Manager and DPAPI (`AppData\Roaming\Microsoft\Credentials`,
//!   `…\Protect`, `…\Crypto`, `…\Vault`, `AppData\Local\Microsoft\Credentials` and `…\Vault`),
//!   `AppData\Roaming\gcloud`, `AppData\Roaming\GitHub CLI\hosts.yml`, browser profiles
//!   (`AppData\Local\Google\Chrome*`, `…\Chromium`, `…\Microsoft\Edge*`, `…\BraveSoftware`,
//!   `AppData\Roaming\Mozilla\Firefox`); system: `Windows\System32\config` (the SAM and
//!   SECURITY hives), `ProgramData\ssh\administrators_authorized_keys` and `ssh_host_*`.
//! - **McpConfig** — home: `.config/Claude/claude_desktop_config.json`,
//!   `Library/Application Support/Claude/claude_desktop_config.json`, `.claude.json`, `.claude`,
//!   `.config/Code*/User/mcp.json`, `.config/VSCodium/User/mcp.json` (and the macOS
//!   `Library/Application Support/…` equivalents), `.codeium/windsurf/mcp_config.json`,
//!   `.gemini/settings.json`, `.codex/config.toml`, and on Windows
//!   `AppData\Roaming\Claude\claude_desktop_config.json`, `AppData\Roaming\Code*\User\mcp.json`,
//!   `AppData\Roaming\VSCodium\User\mcp.json`. Anywhere: `.mcp.json`, `.cursor/mcp.json`,
//!   `.vscode/mcp.json`, `.claude/settings.json`, `.claude/settings.local.json`,
//!   `.gemini/settings.json`.
//! - **Persistence** — home: `.bashrc`, `.bash_profile`, `.bash_login`, `.bash_logout`,
//!   `.profile`, `.zshrc`, `.zprofile`, `.zshenv`, `.zlogin`, `.zlogout`, `.config/fish`,
//!   `.xprofile`, `.xsessionrc`, `.xinitrc`, `.pam_environment`, `.config/environment.d`,
//!   `.config/autostart`, `.config/systemd/user`, `Library/LaunchAgents`. System: `/etc/cron*`,
//!   `/etc/anacrontab`, `/var/spool/cron`, `/var/at/tabs`, `/usr/lib/cron/tabs`,
//!   `/Library/LaunchAgents`, `/Library/LaunchDaemons`, `/etc/systemd`, `/etc/init.d`,
//!   `/etc/rc.local`, `/etc/xdg/autostart`, `/etc/profile`, `/etc/profile.d`,
//!   `/etc/bash.bashrc`, `/etc/bashrc`, `/etc/zshrc`, `/etc/zprofile`, `/etc/zshenv`,
//!   `/etc/zlogin`, `/etc/zsh`, `/etc/environment`, `/etc/ld.so.preload`. Windows, home: the
//!   Startup folder (`AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup`),
//!   PowerShell's profiles and modules (`Documents\WindowsPowerShell`, `Documents\PowerShell`,
//!   also below `OneDrive*`); system: the all-users Startup folder (`ProgramData\…\Startup`),
//!   scheduled tasks (`Windows\System32\Tasks`, `Windows\Tasks`), the all-users PowerShell
//!   profiles. Anywhere: `.git/hooks`,
//!   `.git/config` (its `core.fsmonitor` and `core.pager` run programs when git reads the
//!   repository).
//! - **Firewall** — the folders given to [`PathSandbox::new`] (config, data, logs, runtime).
//!
//! [`PathAssessment::encloses`] separately reports a directory *above* a sensitive location
//! (`/`, `/home`, the home folder, `~/.config`…): listing or searching it recursively reaches
//! the location. "Anywhere" patterns never count for it.

pub mod windows;

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Component, Path, PathBuf};

use windows::WinPath;

/// The longest path accepted, in bytes (Linux's `PATH_MAX`), raw or once made absolute.
pub const MAX_PATH_BYTES: usize = 4096;
/// How many rounds of percent-decoding are undone before the path is refused.
pub const MAX_DECODE_ROUNDS: usize = 4;
/// How many dangling symlinks are followed by hand before the path is refused (as `ELOOP`).
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Why a location is sensitive. Each maps to a default decision in the policy engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sensitivity {
    /// Secrets: SSH keys and config, cloud and package-registry credentials, GnuPG, password
    /// stores, keychains, browser profiles, `/etc/shadow`, `/etc/sudoers`.
    Credential,
    /// Files that run code later: shell start-up files, crontabs, autostart and service folders.
    Persistence,
    /// MCP clients' configuration (which servers run, and with which arguments).
    McpConfig,
    /// MCP Firewall's own folders.
    Firewall,
}

impl Sensitivity {
    /// The name used in serialised form (`"mcp-config"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credential => "credential",
            Self::Persistence => "persistence",
            Self::McpConfig => "mcp-config",
            Self::Firewall => "firewall",
        }
    }

    /// Precedence when several kinds match: lower wins.
    fn rank(self) -> u8 {
        match self {
            Self::Firewall => 0,
            Self::Credential => 1,
            Self::McpConfig => 2,
            Self::Persistence => 3,
        }
    }

    /// The more important of two.
    fn most_important(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(x), Some(y)) => Some(if y.rank() < x.rank() { y } else { x }),
            (x, None) => x,
            (None, y) => y,
        }
    }
}

impl std::fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`PathSandbox::assess`] found out about one path argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathAssessment {
    /// The string as the agent sent it.
    pub raw: String,
    /// The fully resolved absolute path (after decoding, `~`, `..`, and symlinks of the existing
    /// prefix); None if it could not be resolved (then `error` says why).
    pub resolved: Option<PathBuf>,
    /// Whether `resolved` exists (false when it could not be checked, e.g. no permission).
    pub exists: bool,
    /// True when the resolved path is inside one of the roots (false when there are no roots).
    /// Also false when another reading of the path (lexical `..` before symlinks, or the raw
    /// string without decoding) lands outside.
    pub inside_roots: bool,
    /// The most important sensitive location the path is at or below, in any reading.
    pub sensitivity: Option<Sensitivity>,
    /// The most important sensitive location *below* the path: it is a directory above one
    /// (`/`, the home folder, `~/.config`), so a recursive listing or search would reach it.
    pub encloses: Option<Sensitivity>,
    /// e.g. "the path leaves /work through a symlink", "the path uses %2e%2e to climb out".
    pub notes: Vec<String>,
    /// The path starts inside a root and climbs out of every root with `..` (in any spelling:
    /// plain, percent-encoded, with backslashes). A path that was outside to begin with is not
    /// climbing out; it is only outside.
    pub climbs_out: bool,
    /// Why the path was refused or could not be resolved.
    pub error: Option<String>,
}

impl PathAssessment {
    /// Keeps the more important sensitivity of each kind.
    fn merge(&mut self, at: Option<Sensitivity>, above: Option<Sensitivity>) {
        self.sensitivity = Sensitivity::most_important(self.sensitivity, at);
        self.encloses = Sensitivity::most_important(self.encloses, above);
    }

    fn failed(raw: &str, error: impl Into<String>) -> Self {
        Self { error: Some(error.into()), ..Self::begun(raw, Vec::new()) }
    }

    /// An assessment of `raw` before anything is known of it but `notes`.
    fn begun(raw: &str, notes: Vec<String>) -> Self {
        Self {
            raw: raw.to_owned(),
            resolved: None,
            exists: false,
            inside_roots: false,
            sensitivity: None,
            encloses: None,
            notes,
            climbs_out: false,
            error: None,
        }
    }
}

/// Where a sensitive pattern is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Below a home folder (the given one, and every conventional one).
    Home,
    /// Below `/` (and `/private` on macOS).
    System,
    /// At any depth: the pattern's components appear consecutively anywhere in the path.
    Anywhere,
}

/// Every sensitive location, most important first: `(kind, anchor, components separated by /)`.
/// A component ending in `*` matches any component starting with what precedes the `*`.
pub const SENSITIVE_LOCATIONS: &[(Sensitivity, Anchor, &str)] = {
    use Anchor::{Anywhere, Home, System};
    use Sensitivity::{Credential, McpConfig, Persistence};
    &[
        // Credentials.
        (Credential, Home, ".ssh"),
        (Credential, Home, ".aws"),
        (Credential, Home, ".config/gcloud"),
        (Credential, Home, ".azure"),
        (Credential, Home, ".kube/config"),
        (Credential, Home, ".docker/config.json"),
        (Credential, Home, ".netrc"),
        (Credential, Home, ".git-credentials"),
        (Credential, Home, ".config/git/credentials"),
        (Credential, Home, ".npmrc"),
        (Credential, Home, ".pypirc"),
        (Credential, Home, ".gnupg"),
        (Credential, Home, ".password-store"),
        (Credential, Home, ".config/op"),
        (Credential, Home, ".local/share/keyrings"),
        (Credential, Home, "Library/Keychains"),
        (Credential, Home, ".pki/nssdb"),
        (Credential, Home, ".config/gh/hosts.yml"),
        (Credential, Home, ".cargo/credentials"),
        (Credential, Home, ".cargo/credentials.toml"),
        (Credential, Home, ".vault-token"),
        (Credential, Home, ".terraform.d/credentials.tfrc.json"),
        (Credential, Home, ".claude/.credentials.json"),
        // Windows: Credential Manager, DPAPI master keys, certificates' private keys.
        (Credential, Home, "AppData/Roaming/Microsoft/Credentials"),
        (Credential, Home, "AppData/Local/Microsoft/Credentials"),
        (Credential, Home, "AppData/Roaming/Microsoft/Protect"),
        (Credential, Home, "AppData/Roaming/Microsoft/Crypto"),
        (Credential, Home, "AppData/Roaming/Microsoft/Vault"),
        (Credential, Home, "AppData/Local/Microsoft/Vault"),
        (Credential, Home, "AppData/Roaming/gcloud"),
        (Credential, Home, "AppData/Roaming/GitHub CLI/hosts.yml"),
        // Browser profiles, Linux.
        (Credential, Home, ".config/google-chrome*"),
        (Credential, Home, ".config/chromium"),
        (Credential, Home, ".mozilla"),
        (Credential, Home, ".config/BraveSoftware"),
        (Credential, Home, ".config/microsoft-edge*"),
        (Credential, Home, "snap/firefox/common/.mozilla"),
        (Credential, Home, "snap/chromium/common/chromium"),
        (Credential, Home, ".var/app/org.mozilla.firefox/.mozilla"),
        (Credential, Home, ".var/app/com.google.Chrome/config/google-chrome"),
        (Credential, Home, ".var/app/org.chromium.Chromium/config/chromium"),
        (Credential, Home, ".var/app/com.brave.Browser/config/BraveSoftware"),
        // Browser profiles, macOS.
        (Credential, Home, "Library/Application Support/Google/Chrome*"),
        (Credential, Home, "Library/Application Support/Chromium"),
        (Credential, Home, "Library/Application Support/Firefox"),
        (Credential, Home, "Library/Application Support/BraveSoftware"),
        (Credential, Home, "Library/Application Support/Microsoft Edge*"),
        (Credential, Home, "Library/Safari"),
        (Credential, Home, "Library/Cookies"),
        (Credential, Home, "Library/Containers/com.apple.Safari"),
        // Browser profiles, Windows.
        (Credential, Home, "AppData/Local/Google/Chrome*"),
        (Credential, Home, "AppData/Local/Chromium"),
        (Credential, Home, "AppData/Local/Microsoft/Edge*"),
        (Credential, Home, "AppData/Local/BraveSoftware"),
        (Credential, Home, "AppData/Roaming/Mozilla/Firefox"),
        // System.
        (Credential, System, "etc/shadow"),
        (Credential, System, "etc/shadow-"),
        (Credential, System, "etc/gshadow"),
        (Credential, System, "etc/gshadow-"),
        (Credential, System, "etc/master.passwd"),
        (Credential, System, "etc/sudoers"),
        (Credential, System, "etc/sudoers.d"),
        (Credential, System, "etc/ssh/ssh_host_*"),
        (Credential, System, "etc/krb5.keytab"),
        (Credential, System, "Library/Keychains"),
        // Windows: the registry hives with the password hashes, OpenSSH's keys.
        (Credential, System, "Windows/System32/config"),
        (Credential, System, "ProgramData/ssh/administrators_authorized_keys"),
        (Credential, System, "ProgramData/ssh/ssh_host_*"),
        // MCP clients' configuration.
        (McpConfig, Home, ".config/Claude/claude_desktop_config.json"),
        (McpConfig, Home, "Library/Application Support/Claude/claude_desktop_config.json"),
        (McpConfig, Home, ".claude.json"),
        (McpConfig, Home, ".claude"),
        (McpConfig, Home, ".config/Code*/User/mcp.json"),
        (McpConfig, Home, ".config/VSCodium/User/mcp.json"),
        (McpConfig, Home, "Library/Application Support/Code*/User/mcp.json"),
        (McpConfig, Home, "Library/Application Support/VSCodium/User/mcp.json"),
        (McpConfig, Home, ".codeium/windsurf/mcp_config.json"),
        (McpConfig, Home, ".codex/config.toml"),
        (McpConfig, Home, "AppData/Roaming/Claude/claude_desktop_config.json"),
        (McpConfig, Home, "AppData/Roaming/Code*/User/mcp.json"),
        (McpConfig, Home, "AppData/Roaming/VSCodium/User/mcp.json"),
        (McpConfig, Anywhere, ".mcp.json"),
        (McpConfig, Anywhere, ".cursor/mcp.json"),
        (McpConfig, Anywhere, ".vscode/mcp.json"),
        (McpConfig, Anywhere, ".claude/settings.json"),
        (McpConfig, Anywhere, ".claude/settings.local.json"),
        (McpConfig, Anywhere, ".gemini/settings.json"),
        // Persistence.
        (Persistence, Home, ".bashrc"),
        (Persistence, Home, ".bash_profile"),
        (Persistence, Home, ".bash_login"),
        (Persistence, Home, ".bash_logout"),
        (Persistence, Home, ".profile"),
        (Persistence, Home, ".zshrc"),
        (Persistence, Home, ".zprofile"),
        (Persistence, Home, ".zshenv"),
        (Persistence, Home, ".zlogin"),
        (Persistence, Home, ".zlogout"),
        (Persistence, Home, ".config/fish"),
        (Persistence, Home, ".xprofile"),
        (Persistence, Home, ".xsessionrc"),
        (Persistence, Home, ".xinitrc"),
        (Persistence, Home, ".pam_environment"),
        (Persistence, Home, ".config/environment.d"),
        (Persistence, Home, ".config/autostart"),
        (Persistence, Home, ".config/systemd/user"),
        (Persistence, Home, "Library/LaunchAgents"),
        // Windows: the user's Startup folder, PowerShell's profiles and the modules it loads
        // (Documents may be moved into OneDrive).
        (Persistence, Home, "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup"),
        (Persistence, Home, "Documents/WindowsPowerShell"),
        (Persistence, Home, "Documents/PowerShell"),
        (Persistence, Home, "OneDrive*/Documents/WindowsPowerShell"),
        (Persistence, Home, "OneDrive*/Documents/PowerShell"),
        (Persistence, System, "etc/cron*"),
        (Persistence, System, "etc/anacrontab"),
        (Persistence, System, "var/spool/cron"),
        (Persistence, System, "var/at/tabs"),
        (Persistence, System, "usr/lib/cron/tabs"),
        (Persistence, System, "Library/LaunchAgents"),
        (Persistence, System, "Library/LaunchDaemons"),
        (Persistence, System, "etc/systemd"),
        (Persistence, System, "etc/init.d"),
        (Persistence, System, "etc/rc.local"),
        (Persistence, System, "etc/xdg/autostart"),
        (Persistence, System, "etc/profile"),
        (Persistence, System, "etc/profile.d"),
        (Persistence, System, "etc/bash.bashrc"),
        (Persistence, System, "etc/bashrc"),
        (Persistence, System, "etc/zshrc"),
        (Persistence, System, "etc/zprofile"),
        (Persistence, System, "etc/zshenv"),
        (Persistence, System, "etc/zlogin"),
        (Persistence, System, "etc/zsh"),
        (Persistence, System, "etc/environment"),
        (Persistence, System, "etc/ld.so.preload"),
        // Windows: every user's Startup folder, scheduled tasks, every user's PowerShell
        // profiles.
        (Persistence, System, "ProgramData/Microsoft/Windows/Start Menu/Programs/Startup"),
        (Persistence, System, "Windows/System32/Tasks"),
        (Persistence, System, "Windows/Tasks"),
        (Persistence, System, "Windows/System32/WindowsPowerShell/v1.0/profile.ps1"),
        (
            Persistence,
            System,
            "Windows/System32/WindowsPowerShell/v1.0/Microsoft.PowerShell_profile.ps1",
        ),
        (Persistence, System, "Program Files/PowerShell/7/profile.ps1"),
        (Persistence, System, "Program Files/PowerShell/7/Microsoft.PowerShell_profile.ps1"),
        (Persistence, Anywhere, ".git/hooks"),
        // `core.fsmonitor`, `core.pager`, `core.hooksPath`: git runs what they name.
        (Persistence, Anywhere, ".git/config"),
    ]
};

/// Conventional home folders besides the given one: `*` is one user's name.
const CONVENTIONAL_HOMES: &[&str] = &["root", "home/*", "Users/*", "var/root", "private/var/root"];

/// How path arguments are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// As Linux and macOS read them: `/` separates, names are bytes, symlinks and `..` as the
    /// kernel resolves them.
    Posix,
    /// As Windows reads them ([`windows`]): drives, shares, both separators, names compared
    /// without case, trailing dots and spaces dropped, streams, devices refused.
    Windows,
}

impl Flavour {
    /// The host's.
    pub const HOST: Self = if cfg!(windows) { Self::Windows } else { Self::Posix };
}

/// Decides whether path arguments stay inside a server's allowed roots and whether they touch
/// sensitive locations. Cheap to share: build one per server and reuse it.
#[derive(Debug, Clone)]
pub struct PathSandbox {
    flavour: Flavour,
    /// Whether links are resolved with the file system (the Windows flavour on Windows).
    use_fs: bool,
    /// Canonical roots (a root that does not exist is resolved as far as it exists).
    roots: Vec<PathBuf>,
    /// Roots as given, lexically normalised (for notes: "leaves /work through a symlink").
    given_roots: Vec<PathBuf>,
    /// The home folder as given, lexically normalised (what `~` expands to).
    home: Option<PathBuf>,
    /// The home folder's forms (as given, canonical), as components.
    home_forms: Vec<Vec<OsString>>,
    /// MCP Firewall's folders in both forms (as given, canonical), as components.
    firewall: Vec<Vec<OsString>>,
    /// The Windows flavour's forms of the same: canonical roots, given roots, home.
    win_roots: Vec<WinPath>,
    win_given_roots: Vec<WinPath>,
    win_home: Option<WinPath>,
}

impl PathSandbox {
    /// `roots`: the server's allowed folders (canonicalized here; a root that does not exist is
    /// kept normalized). `home`: the user's home (for `~` and the sensitive list).
    /// `firewall_dirs`: MCP Firewall's own folders. Relative paths among them are taken from the
    /// current directory.
    pub fn new(roots: &[PathBuf], home: Option<PathBuf>, firewall_dirs: &[PathBuf]) -> Self {
        Self::with_flavour(Flavour::HOST, roots, home, firewall_dirs)
    }

    /// [`PathSandbox::new`] reading paths as `flavour` says. The Windows flavour on another host
    /// reads paths without the file system: nothing exists, no link is followed, and an 8.3
    /// short name is refused.
    pub fn with_flavour(
        flavour: Flavour,
        roots: &[PathBuf],
        home: Option<PathBuf>,
        firewall_dirs: &[PathBuf],
    ) -> Self {
        if flavour == Flavour::Windows {
            return Self::new_windows(flavour == Flavour::HOST, roots, home, firewall_dirs);
        }
        let cwd = std::env::current_dir().ok();
        let absolute = |p: &Path| -> Option<PathBuf> {
            if p.as_os_str().is_empty() {
                None
            } else if p.is_absolute() {
                Some(lexical(p))
            } else {
                cwd.as_ref().map(|cwd| lexical(&cwd.join(p)))
            }
        };
        let canonical = |p: &Path| resolve(p).map_or_else(|_| p.to_path_buf(), |r| r.path);

        let mut sandbox = Self::empty(flavour);
        for root in roots.iter().filter_map(|r| absolute(r)) {
            push_unique(&mut sandbox.roots, canonical(&root));
            push_unique(&mut sandbox.given_roots, root);
        }
        if let Some(home) = home.as_deref().and_then(absolute) {
            let mut forms = vec![home.clone()];
            push_unique(&mut forms, canonical(&home));
            sandbox.home_forms = forms.iter().map(|f| normal_components(f)).collect();
            sandbox.home = Some(home);
        }
        for dir in firewall_dirs.iter().filter_map(|d| absolute(d)) {
            push_unique(&mut sandbox.firewall, normal_components(&canonical(&dir)));
            push_unique(&mut sandbox.firewall, normal_components(&dir));
        }
        sandbox
    }

    fn empty(flavour: Flavour) -> Self {
        Self {
            flavour,
            use_fs: true,
            roots: Vec::new(),
            given_roots: Vec::new(),
            home: None,
            home_forms: Vec::new(),
            firewall: Vec::new(),
            win_roots: Vec::new(),
            win_given_roots: Vec::new(),
            win_home: None,
        }
    }

    /// The Windows flavour: every folder read as Windows reads it (a relative one from the
    /// current folder when that is a Windows path), canonical forms from the file system on
    /// Windows. A folder that cannot be read so is left out (fewer roots: more is outside).
    fn new_windows(
        use_fs: bool,
        roots: &[PathBuf],
        home: Option<PathBuf>,
        firewall_dirs: &[PathBuf],
    ) -> Self {
        let cwd = std::env::current_dir()
            .ok()
            .and_then(|c| c.to_str().and_then(|c| WinPath::absolute(c).ok()));
        let absolute = |p: &Path| -> Option<WinPath> {
            let text = p.to_str().filter(|t| !t.is_empty())?;
            windows::read(text, cwd.as_ref(), None).ok().map(|r| r.path)
        };
        let canonical =
            |p: &WinPath| resolve_windows(use_fs, p).map_or_else(|_| p.clone(), |(path, _)| path);
        let names = |p: &WinPath| p.names.iter().map(OsString::from).collect::<Vec<_>>();
        let host = |p: &WinPath| PathBuf::from(p.display());

        let mut sandbox = Self::empty(Flavour::Windows);
        sandbox.use_fs = use_fs;
        for root in roots.iter().filter_map(|r| absolute(r)) {
            let canon = canonical(&root);
            push_unique(&mut sandbox.roots, host(&canon));
            push_unique(&mut sandbox.win_roots, canon);
            push_unique(&mut sandbox.given_roots, host(&root));
            push_unique(&mut sandbox.win_given_roots, root);
        }
        if let Some(home) = home.as_deref().and_then(absolute) {
            push_unique(&mut sandbox.home_forms, names(&home));
            push_unique(&mut sandbox.home_forms, names(&canonical(&home)));
            sandbox.home = Some(host(&home));
            sandbox.win_home = Some(home);
        }
        for dir in firewall_dirs.iter().filter_map(|d| absolute(d)) {
            push_unique(&mut sandbox.firewall, names(&canonical(&dir)));
            push_unique(&mut sandbox.firewall, names(&dir));
        }
        sandbox
    }

    /// How this sandbox reads paths.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The canonical roots.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The home folder `~` expands to, if known.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// Whether an absolute, resolved path is inside one of the roots (component-wise).
    pub fn is_inside(&self, resolved: &Path) -> bool {
        match self.flavour {
            Flavour::Posix => self.roots.iter().any(|root| resolved.starts_with(root)),
            Flavour::Windows => resolved
                .to_str()
                .and_then(|p| WinPath::absolute(p).ok())
                .is_some_and(|p| self.win_inside(&p)),
        }
    }

    /// The sensitivity of an absolute, normalised path (no `..`) taken as it is — no symlinks
    /// resolved — and of what it encloses: `(at or below, above)`.
    pub fn classify(&self, path: &Path) -> (Option<Sensitivity>, Option<Sensitivity>) {
        if self.flavour == Flavour::Windows {
            return match path.to_str().map(WinPath::absolute) {
                Some(Ok(p)) => self.classify_win(&p),
                _ => (None, None),
            };
        }
        let comps: Vec<&OsStr> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        self.classify_components(&comps)
    }

    /// Resolves `raw` relative to `base` (the server's working directory or first root) and
    /// assesses it.
    pub fn assess(&self, raw: &str, base: Option<&Path>) -> PathAssessment {
        let assessed = match self.flavour {
            Flavour::Posix => self.assess_inner(raw, base),
            Flavour::Windows => self.assess_windows(raw, base),
        };
        match assessed {
            Ok(assessment) => assessment,
            Err(error) => PathAssessment::failed(raw, error),
        }
    }

    fn assess_inner(&self, raw: &str, base: Option<&Path>) -> Result<PathAssessment, String> {
        let mut notes = Vec::new();
        // The primary reading: everything decoded.
        let decoded = checked_decode(raw, &mut notes)?;
        let backslashes = decoded.contains('\\');
        let slashed = if backslashes {
            notes.push("the path uses backslashes, read as separators".into());
            Cow::Owned(decoded.replace('\\', "/"))
        } else {
            decoded
        };
        let primary = self.absolute(&slashed, base, &mut notes)?;

        // The literal reading, for a server that decodes nothing.
        let literal = if raw.contains(['%', '\\']) || starts_with_ignore_case(raw, "file:") {
            self.absolute(raw, base, &mut Vec::new()).ok()
        } else {
            None
        };

        let mut result = PathAssessment::begun(raw, notes);

        // Sensitivity of the lexical path, before any symlink is resolved.
        let primary_lexical = lexical(&primary);
        let (at, above) = self.classify(&primary_lexical);
        result.sensitivity = at;
        result.encloses = above;

        let physical = match resolve(&primary) {
            Ok(r) => r,
            Err(error) => {
                result.error = Some(error);
                return Ok(result);
            }
        };
        let mut inside = self.is_inside(&physical.path);
        if physical.path != primary_lexical {
            let (at, above) = self.classify(&physical.path);
            if let Some(kind) = at
                && result.sensitivity.is_none()
            {
                result.notes.push(format!(
                    "the path reaches {} ({kind}) through a symlink",
                    physical.path.display()
                ));
            }
            result.merge(at, above);
        }

        // `..` applied lexically before symlinks, as `path.resolve` + `realpath` do.
        let has_dotdot = primary.components().any(|c| c == Component::ParentDir);
        if has_dotdot {
            if !self.in_any_root_form(&primary_lexical) {
                result.notes.push(dotdot_note(raw, backslashes, &self.describe_roots()));
                // Where the path stood before its first `..`.
                let before: PathBuf =
                    primary.components().take_while(|c| *c != Component::ParentDir).collect();
                result.climbs_out = self.in_any_root_form(&lexical(&before));
            }
            match resolve(&primary_lexical) {
                Ok(other) if other.path != physical.path => {
                    result.notes.push(format!(
                        "`..` after a symlink: the system resolves the path to {}, a lexical \
                         resolver to {}",
                        physical.path.display(),
                        other.path.display()
                    ));
                    inside &= self.is_inside(&other.path);
                    let (at, above) = self.classify(&other.path);
                    result.merge(at, above);
                }
                Ok(_) => {}
                Err(error) => {
                    result.notes.push(format!("read with `..` applied first: {error}"));
                    inside = false;
                }
            }
        }

        // The literal reading.
        if let Some(literal) = literal.filter(|l| *l != primary) {
            let literal_lexical = lexical(&literal);
            let (at, above) = self.classify(&literal_lexical);
            result.merge(at, above);
            let mut readings = vec![resolve(&literal)];
            if literal.components().any(|c| c == Component::ParentDir) {
                readings.push(resolve(&literal_lexical));
            }
            for reading in readings {
                match reading {
                    Ok(r) => {
                        let (at, above) = self.classify(&r.path);
                        result.merge(at, above);
                        if inside && !self.is_inside(&r.path) {
                            result.notes.push(format!(
                                "read literally (without decoding), the path is {}, outside {}",
                                r.path.display(),
                                self.describe_roots()
                            ));
                            inside = false;
                        }
                    }
                    Err(error) => {
                        result.notes.push(format!("read literally: {error}"));
                        inside = false;
                    }
                }
            }
        }

        // The symlink escape note (CVE-2025-53109).
        if !self.is_inside(&physical.path)
            && let Some(root) = self
                .given_roots
                .iter()
                .chain(&self.roots)
                .find(|root| primary_lexical.starts_with(root))
        {
            result.notes.push(format!(
                "the path leaves {} through a symlink (to {})",
                root.display(),
                physical.path.display()
            ));
        }

        result.inside_roots = inside;
        result.exists = physical.exists;
        result.resolved = Some(physical.path);
        Ok(result)
    }

    /// Makes a decoded, `/`-separated path absolute: `~`, then the base.
    fn absolute(
        &self,
        path: &str,
        base: Option<&Path>,
        notes: &mut Vec<String>,
    ) -> Result<PathBuf, String> {
        let joined = if path == "~" || path.starts_with("~/") {
            let home = self
                .home
                .as_ref()
                .ok_or("the path starts with ~ but the home folder is unknown")?;
            let rest = path[1..].trim_start_matches('/');
            if rest.is_empty() { home.clone() } else { home.join(rest) }
        } else if path.starts_with('/') {
            PathBuf::from(path)
        } else {
            if path.starts_with('~') {
                notes.push(format!(
                    "`{}` is read as a relative name, not as another user's home",
                    path.split('/').next().unwrap_or(path)
                ));
            }
            let base = base
                .or_else(|| self.given_roots.first().map(PathBuf::as_path))
                .ok_or("the path is relative and there is no base folder or root")?;
            if !base.is_absolute() {
                return Err(format!("the base folder {} is not absolute", base.display()));
            }
            base.join(path)
        };
        if joined.as_os_str().len() > MAX_PATH_BYTES {
            return Err(format!("the absolute path is longer than {MAX_PATH_BYTES} bytes"));
        }
        // Drops repeated slashes and `.`; keeps `..`.
        Ok(joined.components().collect())
    }

    /// [`PathSandbox::assess`] for the Windows flavour. `..` is applied lexically (Win32 does so
    /// before any link is followed), so one reading is the system's; the raw string without
    /// decoding is the other, as in the POSIX flavour.
    fn assess_windows(&self, raw: &str, base: Option<&Path>) -> Result<PathAssessment, String> {
        let mut notes = Vec::new();
        let decoded = checked_decode(raw, &mut notes)?;
        let base = match base.or_else(|| self.given_roots.first().map(PathBuf::as_path)) {
            Some(b) => Some(
                b.to_str()
                    .and_then(|t| WinPath::absolute(t).ok())
                    .ok_or_else(|| format!("the base folder {} is not absolute", b.display()))?,
            ),
            None => None,
        };
        let home = self.win_home.as_ref();
        let primary = windows::read(url_drive(&decoded), base.as_ref(), home)?;
        notes.extend(primary.notes.iter().cloned());
        if primary.path.display().len() > MAX_PATH_BYTES {
            return Err(format!("the absolute path is longer than {MAX_PATH_BYTES} bytes"));
        }
        // A share on another computer is not opened (not even here: Windows would send the
        // user's sign-in to it) unless it is one of the roots.
        if primary.path.is_remote() && !self.in_any_root_form_win(&primary.path) {
            return Err(format!(
                "the path is on a share of another computer ({}): opening it would send your \
                 Windows sign-in to that computer",
                primary.path
            ));
        }
        let literal = if raw.contains('%') || starts_with_ignore_case(raw, "file:") {
            windows::read(raw, base.as_ref(), home).ok().filter(|l| l.path != primary.path)
        } else {
            None
        };

        let mut result = PathAssessment::begun(raw, notes);
        let (at, above) = self.classify_win(&primary.path);
        result.merge(at, above);

        let (physical, exists) = match resolve_windows(self.use_fs, &primary.path) {
            Ok(r) => r,
            Err(error) => {
                result.error = Some(error);
                return Ok(result);
            }
        };
        if let Some(short) = physical.short_name() {
            return Err(format!(
                "`{short}` looks like an 8.3 short name, and the file system did not resolve it \
                 (it does not exist): which long name it stands for cannot be known"
            ));
        }
        let mut inside = self.win_inside(&physical);
        if physical != primary.path {
            let (at, above) = self.classify_win(&physical);
            if let Some(kind) = at
                && result.sensitivity.is_none()
            {
                result.notes.push(format!("the path reaches {physical} ({kind}) through a link"));
            }
            result.merge(at, above);
        }

        if let Some(before) = &primary.before_dotdot
            && !self.in_any_root_form_win(&primary.path)
        {
            result.notes.push(dotdot_note(raw, false, &self.describe_roots()));
            result.climbs_out = self.in_any_root_form_win(before);
        }

        if let Some(literal) = literal {
            let (at, above) = self.classify_win(&literal.path);
            result.merge(at, above);
            match resolve_windows(self.use_fs, &literal.path) {
                Ok((r, _)) => {
                    let (at, above) = self.classify_win(&r);
                    result.merge(at, above);
                    if inside && !self.win_inside(&r) {
                        result.notes.push(format!(
                            "read literally (without decoding), the path is {r}, outside {}",
                            self.describe_roots()
                        ));
                        inside = false;
                    }
                }
                Err(error) => {
                    result.notes.push(format!("read literally: {error}"));
                    inside = false;
                }
            }
        }

        if !inside
            && let Some(root) = self
                .win_given_roots
                .iter()
                .chain(&self.win_roots)
                .find(|root| primary.path.starts_with(root))
        {
            result.notes.push(format!("the path leaves {root} through a link (to {physical})"));
        }

        result.inside_roots = inside;
        result.exists = exists;
        result.resolved = Some(PathBuf::from(physical.display()));
        Ok(result)
    }

    fn win_inside(&self, path: &WinPath) -> bool {
        self.win_roots.iter().any(|root| path.starts_with(root))
    }

    fn in_any_root_form_win(&self, path: &WinPath) -> bool {
        self.win_roots.iter().chain(&self.win_given_roots).any(|root| path.starts_with(root))
    }

    fn classify_win(&self, path: &WinPath) -> (Option<Sensitivity>, Option<Sensitivity>) {
        let comps: Vec<&OsStr> = path.names.iter().map(OsStr::new).collect();
        self.classify_components(&comps)
    }

    fn in_any_root_form(&self, path: &Path) -> bool {
        self.roots.iter().chain(&self.given_roots).any(|root| path.starts_with(root))
    }

    fn describe_roots(&self) -> String {
        match self.given_roots.as_slice() {
            [] => "the allowed folders (there are none)".into(),
            [one] => one.display().to_string(),
            _ => "the allowed folders".into(),
        }
    }

    fn classify_components(&self, comps: &[&OsStr]) -> (Option<Sensitivity>, Option<Sensitivity>) {
        let mut at = None;
        let mut above = None;

        let fold = self.flavour == Flavour::Windows;
        for dir in &self.firewall {
            let mut dir_comps = dir.iter();
            let mut matched = true;
            for comp in comps {
                match dir_comps.next() {
                    Some(d) if same_name(fold, d, comp) => {}
                    Some(_) => {
                        matched = false;
                        break;
                    }
                    None => break,
                }
            }
            if matched {
                if dir_comps.next().is_some() {
                    above = Some(Sensitivity::Firewall);
                } else {
                    return (Some(Sensitivity::Firewall), None);
                }
            }
        }

        // Where the path stands relative to each home folder: below it (the rest's start), or
        // above it.
        let mut rests: [usize; 8] = [0; 8];
        let mut n_rests = 0;
        let mut above_home = false;
        let mut note_home = |m: Match| match m {
            Match::At(i) => {
                if n_rests < rests.len() {
                    rests[n_rests] = i;
                    n_rests += 1;
                }
            }
            Match::Above => above_home = true,
            Match::No => {}
        };
        for form in &self.home_forms {
            note_home(match_parts(form.iter().map(|f| Part::Os(f.as_os_str())), comps, fold));
        }
        for pattern in CONVENTIONAL_HOMES {
            note_home(match_parts(pattern.split('/').map(Part::Glob), comps, fold));
        }
        let rests = &rests[..n_rests];
        // macOS: `/etc` is `/private/etc`, `/var` is `/private/var`.
        let system: &[&OsStr] = match comps {
            [first, second, ..]
                if *first == "private" && (*second == "etc" || *second == "var") =>
            {
                &comps[1..]
            }
            _ => comps,
        };

        for &(kind, anchor, pattern) in SENSITIVE_LOCATIONS {
            if at.is_some() && above.is_some() {
                break;
            }
            let parts = || pattern.split('/').map(Part::Glob);
            let (hit, encl) = match anchor {
                Anchor::Home => {
                    let mut hit = false;
                    let mut encl = above_home;
                    for &start in rests {
                        match match_parts(parts(), &comps[start..], fold) {
                            Match::At(_) => hit = true,
                            Match::Above => encl = true,
                            Match::No => {}
                        }
                    }
                    (hit, encl)
                }
                Anchor::System => match match_parts(parts(), system, fold) {
                    Match::At(_) => (true, false),
                    Match::Above => (false, true),
                    Match::No => (false, false),
                },
                Anchor::Anywhere => {
                    let hit = (0..comps.len())
                        .any(|i| matches!(match_parts(parts(), &comps[i..], fold), Match::At(_)));
                    (hit, false)
                }
            };
            if hit && at.is_none() {
                at = Some(kind);
            }
            if encl && above.is_none() {
                above = Some(kind);
            }
        }
        (at, above)
    }
}

/// One component of a pattern.
#[derive(Clone, Copy)]
enum Part<'a> {
    /// Exactly this component.
    Os(&'a OsStr),
    /// Exactly this, or, ending in `*`, any component starting with what precedes it.
    Glob(&'a str),
}

impl Part<'_> {
    /// `fold`: names compared as NTFS compares them (the Windows flavour).
    fn matches(self, comp: &OsStr, fold: bool) -> bool {
        match self {
            Part::Os(os) => same_name(fold, os, comp),
            Part::Glob(glob) => match glob.strip_suffix('*') {
                Some(prefix) if fold => {
                    comp.to_str().is_some_and(|c| windows::starts_with_fold(c, prefix))
                }
                Some(prefix) => comp.as_encoded_bytes().starts_with(prefix.as_bytes()),
                None => same_name(fold, OsStr::new(glob), comp),
            },
        }
    }
}

/// Whether two names are one: bytes, or with `fold` as NTFS compares them.
fn same_name(fold: bool, a: &OsStr, b: &OsStr) -> bool {
    match (fold, a.to_str(), b.to_str()) {
        (true, Some(a), Some(b)) => windows::eq_fold(a, b),
        _ => a == b,
    }
}

/// How a path's components relate to a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The path is at or below the pattern; the number of components the pattern used.
    At(usize),
    /// The path is a strict ancestor of what the pattern names.
    Above,
    No,
}

fn match_parts<'a>(parts: impl Iterator<Item = Part<'a>>, comps: &[&OsStr], fold: bool) -> Match {
    let mut used = 0;
    for part in parts {
        match comps.get(used) {
            None => return Match::Above,
            Some(comp) if part.matches(comp, fold) => used += 1,
            Some(_) => return Match::No,
        }
    }
    Match::At(used)
}

/// The outcome of resolving symlinks.
struct Resolved {
    path: PathBuf,
    exists: bool,
}

/// Resolves the longest existing prefix of an absolute path with `canonicalize` (kernel
/// semantics for `..`), follows a dangling symlink by hand, and appends the rest lexically.
fn resolve(path: &Path) -> Result<Resolved, String> {
    let mut current = Cow::Borrowed(path);
    for _ in 0..=MAX_SYMLINK_HOPS {
        if let Ok(path) = fs::canonicalize(&current) {
            return Ok(Resolved { path, exists: true });
        }
        // The longest prefix that resolves ("/" always does).
        let mut prefix = current.parent();
        let (mut base, rest) = loop {
            let Some(p) = prefix else {
                return Err(format!("cannot resolve any part of {}", current.display()));
            };
            if let Ok(base) = fs::canonicalize(p) {
                let rest = current.strip_prefix(p).map_err(|_| "internal: bad prefix")?;
                break (base, rest);
            }
            prefix = p.parent();
        };
        let mut rest = rest.components();
        if let Some(Component::Normal(name)) = rest.clone().next() {
            let candidate = base.join(name);
            let is_link =
                fs::symlink_metadata(&candidate).is_ok_and(|m| m.file_type().is_symlink());
            if is_link {
                // A dangling (or looping) symlink: follow it by hand.
                let target = fs::read_link(&candidate)
                    .map_err(|e| format!("cannot read the symlink {}: {e}", candidate.display()))?;
                rest.next();
                let mut next = base.join(target);
                let tail = rest.as_path();
                if !tail.as_os_str().is_empty() {
                    next.push(tail);
                }
                current = Cow::Owned(next);
                continue;
            }
        }
        for comp in rest {
            match comp {
                Component::ParentDir => {
                    base.pop();
                }
                Component::Normal(name) => base.push(name),
                _ => {}
            }
        }
        return Ok(Resolved { path: base, exists: false });
    }
    Err(format!("too many levels of symbolic links (more than {MAX_SYMLINK_HOPS})"))
}

/// Resolves links in a Windows path with the file system on Windows (when `use_fs`);
/// elsewhere the path stays as read (nothing exists, no link is followed).
fn resolve_windows(use_fs: bool, path: &WinPath) -> Result<(WinPath, bool), String> {
    #[cfg(windows)]
    if use_fs {
        let r = resolve(Path::new(&path.display()))?;
        let text = r.path.to_str().ok_or("the resolved path is not valid Unicode")?;
        return Ok((WinPath::absolute(text)?, r.exists));
    }
    let _ = use_fs;
    Ok((path.clone(), false))
}

/// A `file:` URL's path names a drive after a slash (`file:///C:/x` gives `/C:/x`): the drive.
fn url_drive(path: &str) -> &str {
    match path.as_bytes() {
        [b'/' | b'\\', d, b':', ..] if d.is_ascii_alphabetic() => &path[1..],
        _ => path,
    }
}

/// `raw` decoded as a server may decode it, after the checks every flavour makes first: not
/// empty, not longer than [`MAX_PATH_BYTES`], no NUL byte (plain or percent-encoded).
fn checked_decode<'a>(raw: &'a str, notes: &mut Vec<String>) -> Result<Cow<'a, str>, String> {
    if raw.is_empty() {
        return Err("the path is empty".into());
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(format!("the path is longer than {MAX_PATH_BYTES} bytes"));
    }
    if raw.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    let decoded = decode(raw, notes)?;
    if decoded.contains('\0') {
        return Err("the path contains a percent-encoded NUL byte (%00)".into());
    }
    Ok(decoded)
}

/// Undoes `file:` URLs and percent-encoding, repeatedly.
fn decode<'a>(raw: &'a str, notes: &mut Vec<String>) -> Result<Cow<'a, str>, String> {
    let mut s = Cow::Borrowed(raw);
    let mut rounds = 0;
    let mut url = false;
    for _ in 0..2 * MAX_DECODE_ROUNDS + 2 {
        if starts_with_ignore_case(&s, "file:") {
            let path = file_url_path(&s)?.to_owned();
            url = true;
            s = Cow::Owned(path);
            continue;
        }
        if !s.contains('%') {
            break;
        }
        let decoded = percent_encoding::percent_decode_str(&s)
            .decode_utf8()
            .map_err(|_| "the path is not valid UTF-8 once percent-decoded")?;
        if decoded == s {
            break;
        }
        rounds += 1;
        if rounds > MAX_DECODE_ROUNDS {
            return Err(format!("the path is percent-encoded more than {MAX_DECODE_ROUNDS} times"));
        }
        s = Cow::Owned(decoded.into_owned());
    }
    if url {
        notes.push("the path is a file: URL".into());
    }
    match rounds {
        0 => {}
        1 => notes.push("the path is percent-encoded".into()),
        n => notes.push(format!("the path is percent-encoded {n} times over")),
    }
    Ok(s)
}

/// The path of a `file:` URL (`s` starts with `file:`, any case).
fn file_url_path(s: &str) -> Result<&str, String> {
    let rest = &s["file:".len()..];
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => {
            let (host, path) = match authority_and_path.find('/') {
                Some(i) => authority_and_path.split_at(i),
                None => (authority_and_path, "/"),
            };
            if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                return Err(format!("the file: URL names another host ({host})"));
            }
            path
        }
        None => rest,
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    Ok(&path[..end])
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The note for a path whose `..` climbs out of the roots.
fn dotdot_note(raw: &str, backslashes: bool, roots: &str) -> String {
    if !raw.contains("..") {
        format!("the path uses percent-encoded `..` (%2e%2e) to climb out of {roots}")
    } else if raw.contains('%') {
        format!("the path uses `..` with percent-encoded separators to climb out of {roots}")
    } else if backslashes {
        format!("the path uses `..` with backslash separators to climb out of {roots}")
    } else {
        format!("the path uses `..` to climb out of {roots}")
    }
}

/// Lexical normalisation: drops `.` and repeated separators, applies `..` to what precedes it.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::ParentDir => {
                if !out.pop() && !path.has_root() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn normal_components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            _ => None,
        })
        .collect()
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, path: T) {
    if !list.contains(&path) {
        list.push(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::symlink;
    /// Windows has one kind of link per kind of target; these tests link folders (and names
    /// that do not exist yet, which a folder link may name).
    #[cfg(windows)]
    fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) -> std::io::Result<()> {
        std::os::windows::fs::symlink_dir(target, link)
    }

    /// The canonical form of an existing folder (on Windows, not verbatim: `C:\…`).
    fn canonical(dir: &Path) -> PathBuf {
        let canon = fs::canonicalize(dir).unwrap();
        if Flavour::HOST == Flavour::Windows {
            let text = canon.to_str().unwrap();
            return PathBuf::from(WinPath::absolute(text).unwrap().display());
        }
        canon
    }

    /// A scratch tree: `T/allowed` (the root, with `file.txt`), `T/allowed-evil/f`,
    /// `T/allowedX`, `T/home/u` (with `.ssh/id_rsa`, `.aws/credentials`), `T/fw` (firewall).
    struct Tree {
        _dir: tempfile::TempDir,
        t: PathBuf,
        root: PathBuf,
        home: PathBuf,
        fw: PathBuf,
        sandbox: PathSandbox,
    }

    fn tree() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let t = canonical(dir.path());
        let root = t.join("allowed");
        let home = t.join("home/u");
        let fw = t.join("fw");
        for d in [
            root.join("sub/a/b"),
            t.join("allowed-evil"),
            t.join("allowedX"),
            t.join("outside/a/b"),
            home.join(".ssh"),
            home.join(".aws"),
            fw.clone(),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        for f in [
            root.join("file.txt"),
            t.join("allowed-evil/f"),
            home.join(".ssh/id_rsa"),
            home.join(".aws/credentials"),
            home.join(".bashrc"),
            fw.join("policy.toml"),
        ] {
            fs::write(f, "x").unwrap();
        }
        let sandbox = PathSandbox::new(
            std::slice::from_ref(&root),
            Some(home.clone()),
            std::slice::from_ref(&fw),
        );
        Tree { _dir: dir, t, root, home, fw, sandbox }
    }

    impl Tree {
        fn assess(&self, raw: &str) -> PathAssessment {
            self.sandbox.assess(raw, None)
        }
        fn at(&self, rel: &str) -> String {
            format!("{}/{rel}", self.root.display())
        }
        /// An absolute POSIX path as the host reads it: on Windows, on the root's drive.
        fn system(&self, posix: &str) -> PathBuf {
            if Flavour::HOST == Flavour::Posix {
                return PathBuf::from(posix);
            }
            let root = WinPath::absolute(self.root.to_str().unwrap()).unwrap();
            PathBuf::from(windows::read(posix, Some(&root), None).unwrap().path.display())
        }
    }

    fn assert_outside(a: &PathAssessment) {
        assert!(a.error.is_none(), "{a:#?}");
        assert!(!a.inside_roots, "{a:#?}");
    }

    fn has_note(a: &PathAssessment, needle: &str) -> bool {
        a.notes.iter().any(|n| n.contains(needle))
    }

    #[test]
    fn a_file_in_the_root_is_inside() {
        let t = tree();
        let a = t.assess(&t.at("file.txt"));
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("file.txt").as_path()));
        assert!(a.inside_roots && a.exists, "{a:#?}");
        assert_eq!((a.sensitivity, a.encloses, a.error), (None, None, None));
        assert!(a.notes.is_empty(), "{:?}", a.notes);
        // The root itself is inside.
        assert!(t.assess(&t.root.display().to_string()).inside_roots);
    }

    #[test]
    fn repeated_slashes_and_dots_are_dropped() {
        let t = tree();
        let raw = format!("{}//./sub/.//a/../../file.txt", t.root.display());
        let a = t.assess(&raw);
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("file.txt").as_path()));
        assert!(a.inside_roots && a.exists, "{a:#?}");
    }

    #[test]
    fn dotdot_climbs_out() {
        let t = tree();
        let a = t.assess(&t.at("../../../../../../../../etc/passwd"));
        assert_outside(&a);
        assert_eq!(a.resolved, Some(t.system("/etc/passwd")));
        assert!(has_note(&a, "uses `..` to climb out"), "{:?}", a.notes);
        assert!(a.climbs_out, "{a:#?}");
        assert_outside(&t.assess(&t.at("../allowed-evil/f")));
        assert!(t.assess("../../etc/passwd").climbs_out, "relative to the root");
        // Outside to begin with: outside, but not climbing out of anything.
        let a = t.assess("/etc/../etc/passwd");
        assert_outside(&a);
        assert!(!a.climbs_out, "{a:#?}");
        // Climbing within the root is no escape.
        assert!(!t.assess(&t.at("sub/../file.txt")).climbs_out);
    }

    #[test]
    fn percent_encoded_dotdot_climbs_out() {
        let t = tree();
        for raw in ["%2e%2e/x", "%2E%2E/x", "..%2fx", "..%2Fx", "%2e%2e%2fx", "%252e%252e/x"] {
            let a = t.assess(&t.at(raw));
            assert_outside(&a);
            assert!(a.climbs_out, "{raw}");
            assert_eq!(a.resolved.as_deref(), Some(t.t.join("x").as_path()), "{raw}");
        }
        let a = t.assess(&t.at("%2e%2e/x"));
        assert!(has_note(&a, "%2e%2e"), "{:?}", a.notes);
        let a = t.assess(&t.at("%25252e%25252e/x"));
        assert_outside(&a);
        assert!(has_note(&a, "3 times"), "{:?}", a.notes);
        // Encoded five times over: refused.
        let a = t.assess(&t.at("%252525252e/x"));
        assert!(a.error.unwrap().contains("more than 4"));
        // A whole path encoded, slashes included.
        let a = t.assess("%2Fetc%2Fshadow");
        assert_eq!(a.resolved, Some(t.system("/etc/shadow")));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
    }

    #[test]
    fn backslashes_are_separators() {
        let t = tree();
        let a = t.assess(&format!("{}\\..\\x", t.root.display()));
        assert_outside(&a);
        assert_eq!(a.resolved.as_deref(), Some(t.t.join("x").as_path()));
        // On Windows a backslash is the separator, nothing to note.
        assert_eq!(has_note(&a, "backslash"), Flavour::HOST == Flavour::Posix, "{:?}", a.notes);
        let a = t.sandbox.assess("..\\..\\etc", Some(&t.root));
        assert_outside(&a);
        let a = t.assess("sub\\a\\b");
        assert!(a.inside_roots && a.exists, "{a:#?}");
    }

    #[test]
    fn tilde_is_the_home() {
        let t = tree();
        let a = t.assess("~/.ssh/id_rsa");
        assert_eq!(a.resolved.as_deref(), Some(t.home.join(".ssh/id_rsa").as_path()));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
        assert!(a.exists && !a.inside_roots);
        let a = t.assess("~");
        assert_eq!(a.resolved.as_deref(), Some(t.home.as_path()));
        assert_eq!(a.sensitivity, None);
        assert_eq!(a.encloses, Some(Sensitivity::Credential));
        // Encoded tilde.
        assert_eq!(t.assess("%7E/.ssh").sensitivity, Some(Sensitivity::Credential));
        // Without a home, `~` cannot be expanded.
        let bare = PathSandbox::new(&[], None, &[]);
        assert!(bare.assess("~/.ssh", None).error.unwrap().contains("home"));
        // `~name` is a relative name.
        let a = t.assess("~bob/x");
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("~bob/x").as_path()));
        assert!(a.inside_roots && has_note(&a, "relative name"), "{a:#?}");
    }

    #[test]
    fn home_credentials() {
        let t = tree();
        let a = t.assess(&format!("{}/.aws/credentials", t.home.display()));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
        // Conventional homes, whatever the given home.
        for p in [
            "/home/u/.aws/credentials",
            "/root/.ssh/authorized_keys",
            "/Users/someone/Library/Keychains/login.keychain-db",
            "/home/u/.config/google-chrome/Default/Login Data",
            "/home/u/.mozilla/firefox/x.default/logins.json",
            "/Users/u/Library/Application Support/Google/Chrome/Default/Cookies",
            "/home/u/.claude/.credentials.json",
            "/etc/shadow",
            "/etc/sudoers.d/90-cloud",
            "/private/etc/sudoers",
            "/etc/ssh/ssh_host_ed25519_key",
        ] {
            assert_eq!(t.assess(p).sensitivity, Some(Sensitivity::Credential), "{p}");
        }
        // Component-exact.
        for p in [
            "/home/u/.sshx/id_rsa",
            "/home/u/.ssh-backup/id_rsa",
            "/home/u/project/.ssh/id_rsa",
            "/etc/shadowsocks.json",
            "/etc/passwd",
            "/home/u/.kube/cache",
            "/home",
        ] {
            assert_eq!(t.assess(p).sensitivity, None, "{p}");
        }
    }

    #[test]
    fn persistence_locations() {
        let t = tree();
        let a = t.assess("~/.bashrc");
        assert_eq!(a.sensitivity, Some(Sensitivity::Persistence));
        for p in [
            "/home/u/.zshrc",
            "/home/u/.config/fish/config.fish",
            "/home/u/.config/autostart/x.desktop",
            "/home/u/.config/systemd/user/x.service",
            "/Users/u/Library/LaunchAgents/x.plist",
            "/Library/LaunchDaemons/x.plist",
            "/etc/crontab",
            "/etc/cron.d/x",
            "/var/spool/cron/crontabs/root",
            "/etc/systemd/system/x.service",
            "/etc/init.d/x",
            "/work/repo/.git/hooks/pre-commit",
            "/work/repo/.git/config",
        ] {
            assert_eq!(t.assess(p).sensitivity, Some(Sensitivity::Persistence), "{p}");
        }
        assert_eq!(t.assess("/home/u/project/.bashrc").sensitivity, None);
    }

    #[test]
    fn mcp_configs_anywhere() {
        let t = tree();
        for p in [
            t.at(".cursor/mcp.json"),
            "/srv/any/deep/dir/.cursor/mcp.json".into(),
            t.at("x/.mcp.json"),
            t.at(".vscode/mcp.json"),
            t.at(".claude/settings.local.json"),
            "~/.claude.json".into(),
            "~/.claude/settings.json".into(),
            "~/.cursor/mcp.json".into(),
            "~/.config/Claude/claude_desktop_config.json".into(),
            "/Users/u/Library/Application Support/Claude/claude_desktop_config.json".into(),
            "~/.config/Code/User/mcp.json".into(),
            "/Users/u/Library/Application Support/Code/User/mcp.json".into(),
            "~/.codeium/windsurf/mcp_config.json".into(),
        ] {
            assert_eq!(t.assess(&p).sensitivity, Some(Sensitivity::McpConfig), "{p}");
        }
        for p in [t.at("mcp.json"), t.at(".cursor/other.json"), t.at("x.mcp.json")] {
            assert_eq!(t.assess(&p).sensitivity, None, "{p}");
        }
        let a = t.assess(&t.at(".cursor/mcp.json"));
        assert!(a.inside_roots && !a.exists);
    }

    #[test]
    fn firewall_dirs() {
        let t = tree();
        let a = t.assess(&format!("{}/policy.toml", t.fw.display()));
        assert_eq!(a.sensitivity, Some(Sensitivity::Firewall));
        let a = t.assess(&t.fw.display().to_string());
        assert_eq!(a.sensitivity, Some(Sensitivity::Firewall));
        let a = t.assess(&t.t.display().to_string());
        assert_eq!((a.sensitivity, a.encloses), (None, Some(Sensitivity::Firewall)));
        // Firewall wins over other kinds.
        let s = PathSandbox::new(&[], None, &[t.home.join(".ssh")]);
        assert_eq!(s.classify(&t.home.join(".ssh/id_rsa")).0, Some(Sensitivity::Firewall));
    }

    #[test]
    fn firewall_dirs_through_a_symlink() {
        let t = tree();
        symlink(&t.fw, t.root.join("fwlink")).unwrap();
        let a = t.assess(&t.at("fwlink/policy.toml"));
        assert_eq!(a.sensitivity, Some(Sensitivity::Firewall));
        assert_outside(&a);
    }

    #[test]
    fn symlink_out_of_the_root() {
        let t = tree();
        symlink("/etc", t.root.join("link")).unwrap();
        let a = t.assess(&t.at("link/passwd"));
        assert_outside(&a);
        assert_eq!(a.resolved.as_deref(), Some(fs::canonicalize("/etc/passwd").unwrap().as_path()));
        assert!(has_note(&a, "through a symlink"), "{:?}", a.notes);
        let a = t.assess(&t.at("link/shadow"));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
        assert!(has_note(&a, "reaches"), "{:?}", a.notes);
    }

    #[test]
    fn symlink_to_a_sibling_with_the_roots_prefix() {
        let t = tree();
        symlink("../allowed-evil", t.root.join("evil")).unwrap();
        let a = t.assess(&t.at("evil/f"));
        assert_outside(&a);
        assert_eq!(a.resolved.as_deref(), Some(t.t.join("allowed-evil/f").as_path()));
        assert!(a.exists);
    }

    #[test]
    fn prefix_tricks() {
        let t = tree();
        for raw in ["allowed-evil/f", "allowedX", "allowedX/new", "allowed-evil/none"] {
            assert_outside(&t.assess(&format!("{}/{raw}", t.t.display())));
        }
        // Roots that do not exist: same rule, lexically.
        let s = PathSandbox::new(&[PathBuf::from("/nonexistent-mcpfw/x/allowed")], None, &[]);
        assert_eq!(s.roots().len(), 1, "{:?}", s.roots());
        assert!(s.assess("/nonexistent-mcpfw/x/allowed/f", None).inside_roots);
        assert!(!s.assess("/nonexistent-mcpfw/x/allowed-evil/f", None).inside_roots);
        assert!(!s.assess("/nonexistent-mcpfw/x/allowedX", None).inside_roots);
    }

    #[test]
    fn missing_file_inside_the_root() {
        let t = tree();
        let a = t.assess(&t.at("sub/new/deeper/file.txt"));
        assert!(a.inside_roots && !a.exists, "{a:#?}");
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("sub/new/deeper/file.txt").as_path()));
        // A missing segment followed by `..` climbs lexically from there.
        let a = t.assess(&t.at("new/../../x"));
        assert_outside(&a);
        assert_eq!(a.resolved.as_deref(), Some(t.t.join("x").as_path()));
    }

    #[test]
    fn missing_file_under_a_symlink_outside() {
        let t = tree();
        symlink(t.t.join("outside"), t.root.join("out")).unwrap();
        let a = t.assess(&t.at("out/new/file.txt"));
        assert_outside(&a);
        assert!(!a.exists);
        assert_eq!(a.resolved.as_deref(), Some(t.t.join("outside/new/file.txt").as_path()));
    }

    #[test]
    fn dangling_symlink_is_followed() {
        let t = tree();
        // Writing to `root/dangling` would create `T/outside/created`.
        symlink(t.t.join("outside/created"), t.root.join("dangling")).unwrap();
        let a = t.assess(&t.at("dangling"));
        assert_outside(&a);
        assert!(!a.exists);
        assert_eq!(a.resolved.as_deref(), Some(t.t.join("outside/created").as_path()));
        // A relative dangling chain that ends in the home's .ssh.
        symlink("home/u/.ssh/new_key", t.t.join("hop")).unwrap();
        symlink("../hop", t.root.join("chain")).unwrap();
        let a = t.assess(&t.at("chain"));
        assert_outside(&a);
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
    }

    #[test]
    fn symlink_loops_are_errors() {
        let t = tree();
        symlink("loop2", t.root.join("loop1")).unwrap();
        symlink("loop1", t.root.join("loop2")).unwrap();
        let a = t.assess(&t.at("loop1/x"));
        assert!(a.error.unwrap().contains("symbolic links"));
        assert!(!a.inside_roots && a.resolved.is_none());
    }

    #[test]
    fn symlink_into_the_home_is_caught_either_way() {
        let t = tree();
        symlink(t.home.join(".ssh"), t.root.join("keys")).unwrap();
        let a = t.assess(&t.at("keys/id_rsa"));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
        assert_outside(&a);
        // ~/.ssh itself a symlink elsewhere: the lexical path is still `~/.ssh/…`.
        let home2 = t.t.join("home2");
        fs::create_dir_all(&home2).unwrap();
        symlink(t.t.join("outside"), home2.join(".ssh")).unwrap();
        let s = PathSandbox::new(&[], Some(home2), &[]);
        let a = s.assess("~/.ssh/a", None);
        assert_eq!(a.resolved.as_deref(), Some(t.t.join("outside/a").as_path()));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
    }

    #[test]
    fn dotdot_after_a_symlink_is_read_both_ways() {
        let t = tree();
        // The kernel climbs from the target: root/sub/a/b/../.. = root/sub (inside), but a
        // lexical resolver gives T/x (outside).
        symlink("sub/a/b", t.root.join("deep")).unwrap();
        let a = t.assess(&t.at("deep/../../x"));
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("sub/x").as_path()));
        assert_outside(&a);
        assert!(has_note(&a, "after a symlink"), "{:?}", a.notes);
        // And the other way round: lexically inside, physically outside.
        symlink(t.t.join("outside/a/b"), t.root.join("ob")).unwrap();
        let a = t.assess(&t.at("ob/../c"));
        assert_eq!(a.resolved.as_deref(), Some(t.t.join("outside/a/c").as_path()));
        assert_outside(&a);
    }

    #[test]
    fn literal_reading_is_checked_too() {
        let t = tree();
        // A link literally named `%61` escapes for a server that does not decode.
        symlink("/etc", t.root.join("%61")).unwrap();
        let a = t.assess(&t.at("%61/passwd"));
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("a/passwd").as_path()));
        assert_outside(&a);
        assert!(has_note(&a, "read literally"), "{:?}", a.notes);
        // Harmless encodings stay inside.
        let a = t.assess(&t.at("with%20space.txt"));
        assert!(a.inside_roots, "{a:#?}");
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("with space.txt").as_path()));
    }

    #[test]
    fn file_urls() {
        let t = tree();
        for raw in [
            "file:///etc/passwd",
            "FILE:///etc/passwd",
            "file://localhost/etc/passwd",
            "file:/etc/passwd",
            "file:///etc/passwd?x#y",
            "file:///etc%2Fpasswd",
            "file%3A%2F%2F%2Fetc%2Fpasswd",
        ] {
            let a = t.assess(raw);
            assert_outside(&a);
            assert_eq!(a.resolved, Some(t.system("/etc/passwd")), "{raw}");
            assert!(has_note(&a, "file: URL"), "{raw}: {:?}", a.notes);
        }
        let url = match Flavour::HOST {
            Flavour::Posix => format!("file://{}", t.at("file.txt")),
            Flavour::Windows => format!("file:///{}", t.at("file.txt").replace('\\', "/")),
        };
        let a = t.assess(&url);
        assert!(a.inside_roots && a.exists, "{a:#?}");
        assert!(t.assess("file://evil.example/share").error.unwrap().contains("another host"));
    }

    #[test]
    fn nul_bytes_and_overlong_paths_are_errors() {
        let t = tree();
        assert!(t.assess(&t.at("a\0/../../x")).error.unwrap().contains("NUL"));
        assert!(t.assess(&t.at("a%00/x")).error.unwrap().contains("NUL"));
        let long = format!("/{}", "a/".repeat(MAX_PATH_BYTES / 2));
        let a = t.assess(&long);
        assert!(a.error.unwrap().contains("longer"));
        assert!(a.resolved.is_none() && !a.inside_roots);
        let a = t.sandbox.assess(&"b/".repeat(MAX_PATH_BYTES / 2 - 1), Some(&t.root));
        assert!(a.error.unwrap().contains("longer"));
        assert!(t.assess("").error.is_some());
        assert!(t.assess("%ff").error.unwrap().contains("UTF-8"));
    }

    #[test]
    fn relative_paths_use_the_base() {
        let t = tree();
        let a = t.sandbox.assess("file.txt", Some(&t.root));
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("file.txt").as_path()));
        assert!(a.inside_roots && a.exists);
        let a = t.sandbox.assess("./a/b", Some(&t.root.join("sub")));
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("sub/a/b").as_path()));
        // Without a base, the first root.
        let a = t.assess("sub");
        assert_eq!(a.resolved.as_deref(), Some(t.root.join("sub").as_path()));
        // A base outside the root.
        assert_outside(&t.sandbox.assess("f", Some(&t.t.join("allowed-evil"))));
        // No base and no root.
        let bare = PathSandbox::new(&[], None, &[]);
        assert!(bare.assess("x", None).error.unwrap().contains("relative"));
        assert!(bare.assess("x", Some(Path::new("rel"))).error.is_some());
        assert!(!bare.assess("/etc", None).inside_roots);
    }

    #[test]
    fn roots_are_canonicalised() {
        let t = tree();
        symlink(&t.root, t.t.join("rootlink")).unwrap();
        let s = PathSandbox::new(&[t.t.join("rootlink"), t.t.join("gone/x/../y")], None, &[]);
        assert_eq!(s.roots(), [t.root.clone(), t.t.join("gone/y")]);
        let a = s.assess(&format!("{}/rootlink/file.txt", t.t.display()), None);
        assert!(a.inside_roots && a.exists, "{a:#?}");
        assert!(s.assess(&format!("{}/gone/y/z", t.t.display()), None).inside_roots);
        // Root `/` contains everything.
        let all = PathSandbox::new(&[PathBuf::from("/")], None, &[]);
        assert!(all.assess("/etc/passwd", None).inside_roots);
    }

    #[test]
    fn encloses_reports_ancestors() {
        let t = tree();
        for (p, kind) in [
            ("/", Some(Sensitivity::Firewall)),
            ("/etc", Some(Sensitivity::Credential)),
            ("/home", Some(Sensitivity::Credential)),
            ("/home/u/.config", Some(Sensitivity::Credential)),
            ("/home/u/Library/Application Support", Some(Sensitivity::Credential)),
            ("/home/u/.config/Claude", Some(Sensitivity::McpConfig)),
            ("/var/spool", Some(Sensitivity::Persistence)),
            ("/home/u/project", None),
            ("/home/u/.ssh", None),
        ] {
            assert_eq!(t.assess(p).encloses, kind, "{p}");
        }
    }

    /// The Windows flavour on any host: `C:\Users\me\project` is the root, `C:\Users\me` the
    /// home, `%LOCALAPPDATA%\mcpfw` MCP Firewall's folder. (Off Windows, nothing exists.)
    fn windows() -> PathSandbox {
        PathSandbox::new_windows(
            false,
            &[PathBuf::from(r"C:\Users\me\project")],
            Some(PathBuf::from(r"C:\Users\me")),
            &[PathBuf::from(r"C:\Users\me\AppData\Local\mcpfw")],
        )
    }

    #[test]
    fn windows_attacks_a_user_would_recognise() {
        let s = windows();
        let a = s.assess(r"C:\Users\me\project\..\..\me\.ssh\id_rsa", None);
        assert_eq!(a.resolved.as_deref(), Some(Path::new(r"C:\Users\me\.ssh\id_rsa")));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential));
        assert!(a.climbs_out && !a.inside_roots, "{a:#?}");
        assert!(has_note(&a, "uses `..` to climb out of C:\\Users\\me\\project"), "{a:#?}");

        let startup =
            r"\\?\C:\Users\me\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\x.bat";
        let a = s.assess(startup, None);
        assert_eq!(a.sensitivity, Some(Sensitivity::Persistence), "{a:#?}");
        assert!(!a.inside_roots && a.error.is_none(), "{a:#?}");

        // Another case, the other separator, `..`: still out of the root.
        let a = s.assess("c:/USERS/ME/PROJECT/../secret", None);
        assert_eq!(a.resolved.as_deref(), Some(Path::new(r"C:\USERS\ME\secret")));
        assert!(a.climbs_out && !a.inside_roots, "{a:#?}");

        // The same file to Windows: the name without its trailing dot, the file of a stream.
        for (raw, kind) in [
            (r"C:\Users\me\.ssh.\id_rsa", Sensitivity::Credential),
            (r"c:\users\ME\.SSH\authorized_keys:x", Sensitivity::Credential),
            (r"C:\Users\me\.ssh\authorized_keys::$DATA", Sensitivity::Credential),
            (r"~\.aws\credentials. ", Sensitivity::Credential),
            (r"\Users\me\.ssh\id_rsa", Sensitivity::Credential),
            (r"\\localhost\C$\Users\me\.ssh\id_rsa", Sensitivity::Credential),
            ("file:///C:/Users/me/.ssh/id_rsa", Sensitivity::Credential),
            (r"C:\Users\me\project\.git\CONFIG.", Sensitivity::Persistence),
            (r"C:\Users\me\project\.GIT\hooks\pre-commit", Sensitivity::Persistence),
            (r"c:\users\me\appdata\local\MCPFW\policy.toml", Sensitivity::Firewall),
        ] {
            assert_eq!(s.assess(raw, None).sensitivity, Some(kind), "{raw}");
        }

        // A share on another computer is never opened.
        let a = s.assess(r"\\attacker\share\x", None);
        assert!(a.error.unwrap().contains("another computer"));
        assert!(s.assess("//attacker/share/x", None).error.is_some());
        assert!(s.assess("file://attacker/share/x", None).error.is_some());

        // Percent-encoded `..` climbs out too.
        let a = s.assess(r"C:\Users\me\project\%2e%2e\%2e%2e\x", None);
        assert!(a.climbs_out && !a.inside_roots, "{a:#?}");
        assert_eq!(a.resolved.as_deref(), Some(Path::new(r"C:\Users\x")));

        // What cannot be decided is refused.
        for raw in [
            "NUL",
            r"C:\Users\me\project\con.txt",
            r"\\.\pipe\mcpfw",
            r"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Users\me\.ssh\id_rsa",
            "D:notes.txt",
            r"C:\Users\me\project\DOCUME~1\x",
            r"C:\PROGRA~1\x",
            r"\\?\C:\Users\me\project\..\..\x",
        ] {
            let a = s.assess(raw, None);
            assert!(a.error.is_some() && !a.inside_roots, "{raw}: {a:#?}");
        }
    }

    #[test]
    fn windows_paths_inside_the_root_stay_allowed() {
        let s = windows();
        for (raw, want) in [
            (r"C:\Users\me\project\src\main.rs", r"C:\Users\me\project\src\main.rs"),
            (r"c:/users/me/PROJECT/src/main.rs", r"C:\users\me\PROJECT\src\main.rs"),
            (r"src\main.rs", r"C:\Users\me\project\src\main.rs"),
            ("src/lib.rs", r"C:\Users\me\project\src\lib.rs"),
            ("C:README.md", r"C:\Users\me\project\README.md"),
            ("secret.env.", r"C:\Users\me\project\secret.env"),
            ("notes.txt:hidden", r"C:\Users\me\project\notes.txt"),
            (r"docs\..\Cargo.toml", r"C:\Users\me\project\Cargo.toml"),
            (r"\\?\C:\Users\me\project\a b\c", r"C:\Users\me\project\a b\c"),
            ("file:///c:/Users/me/project/x%20y.txt", r"C:\Users\me\project\x y.txt"),
            (r"~\project\x", r"C:\Users\me\project\x"),
            (r"C:\Users\me\project", r"C:\Users\me\project"),
        ] {
            let a = s.assess(raw, None);
            assert!(a.inside_roots && a.error.is_none(), "{raw}: {a:#?}");
            assert_eq!(a.resolved.as_deref(), Some(Path::new(want)), "{raw}");
            assert!(!a.climbs_out && a.sensitivity.is_none(), "{raw}: {a:#?}");
        }
        assert!(has_note(&s.assess("notes.txt:hidden", None), "stream `hidden`"));
        // Root-relative: the base's drive. A relative path takes the base given.
        let a = s.assess(r"\Users\me\project\x", None);
        assert!(a.inside_roots, "{a:#?}");
        let a = s.assess("x", Some(Path::new(r"C:\Users\me\project\sub")));
        assert_eq!(a.resolved.as_deref(), Some(Path::new(r"C:\Users\me\project\sub\x")));
        // Prefix tricks and other drives are outside.
        for raw in [
            r"C:\Users\me\project-evil\x",
            r"C:\Users\me\projectX",
            r"D:\Users\me\project\x",
            r"C:\Users\me\proj",
        ] {
            let a = s.assess(raw, None);
            assert!(!a.inside_roots && a.error.is_none() && !a.climbs_out, "{raw}: {a:#?}");
        }
        // A root on a share the user gave is inside.
        let share = PathSandbox::new_windows(false, &[PathBuf::from(r"\\nas\team")], None, &[]);
        assert!(share.assess(r"\\NAS\Team\doc.txt", None).inside_roots);
        assert!(share.assess(r"\\nas\other\doc.txt", None).error.is_some());
    }

    /// On Windows, with the file system: other case, trailing dots, streams and the verbatim
    /// form name the tree's files.
    #[cfg(windows)]
    #[test]
    fn windows_names_on_a_real_tree() {
        let t = tree();
        let root = t.root.display().to_string();
        for raw in [
            format!(r"{root}\FILE.TXT"),
            format!(r"{root}\file.txt. "),
            format!(r"{root}\file.txt::$DATA"),
            format!(r"\\?\{root}\file.txt"),
            root.to_uppercase() + r"\SUB\A",
        ] {
            let a = t.assess(&raw);
            assert!(a.inside_roots && a.exists && a.error.is_none(), "{raw}: {a:#?}");
        }
        let home = t.home.display().to_string().to_lowercase();
        let a = t.assess(&format!(r"{home}\.SSH\ID_RSA."));
        assert_eq!(a.sensitivity, Some(Sensitivity::Credential), "{a:#?}");
        assert!(a.exists && !a.inside_roots, "{a:#?}");
        let a = t.assess(&format!(r"{root}\sub\..\..\allowed-evil\f"));
        assert!(a.climbs_out && !a.inside_roots && a.exists, "{a:#?}");
    }

    #[test]
    fn windows_persistence_and_credentials() {
        let s = windows();
        for (raw, kind) in [
            (
                r"C:\Users\me\Documents\WindowsPowerShell\Microsoft.PowerShell_profile.ps1",
                Sensitivity::Persistence,
            ),
            (r"C:\Users\me\Documents\PowerShell\profile.ps1", Sensitivity::Persistence),
            (
                r"C:\Users\me\OneDrive - Contoso\Documents\PowerShell\Modules\x\x.psm1",
                Sensitivity::Persistence,
            ),
            (
                r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\StartUp\x.lnk",
                Sensitivity::Persistence,
            ),
            (r"C:\Windows\System32\Tasks\Updater", Sensitivity::Persistence),
            (r"C:\Windows\System32\WindowsPowerShell\v1.0\profile.ps1", Sensitivity::Persistence),
            (r"C:\Users\other\.bashrc", Sensitivity::Persistence),
            (r"C:\Users\me\.ssh\authorized_keys", Sensitivity::Credential),
            (r"C:\ProgramData\ssh\administrators_authorized_keys", Sensitivity::Credential),
            (r"C:\Windows\System32\config\SAM", Sensitivity::Credential),
            (
                r"C:\Users\me\AppData\Local\Google\Chrome\User Data\Default\Login Data",
                Sensitivity::Credential,
            ),
            (
                r"C:\Users\me\AppData\Roaming\Microsoft\Protect\S-1-5-21\key",
                Sensitivity::Credential,
            ),
            (
                r"C:\Users\me\AppData\Roaming\Claude\claude_desktop_config.json",
                Sensitivity::McpConfig,
            ),
            (r"C:\Users\me\AppData\Roaming\Code\User\mcp.json", Sensitivity::McpConfig),
        ] {
            assert_eq!(s.assess(raw, None).sensitivity, Some(kind), "{raw}");
        }
        for raw in [r"C:\Users\me\Documents\notes.txt", r"C:\Users\me\project\profile.ps1"] {
            assert_eq!(s.assess(raw, None).sensitivity, None, "{raw}");
        }
        assert_eq!(s.assess(r"C:\Users\me", None).encloses, Some(Sensitivity::Firewall));
        assert_eq!(s.assess(r"C:\Windows", None).encloses, Some(Sensitivity::Credential));
    }

    #[test]
    fn table_is_ordered_by_importance() {
        let ranks: Vec<u8> = SENSITIVE_LOCATIONS.iter().map(|(k, _, _)| k.rank()).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
        for (_, _, pattern) in SENSITIVE_LOCATIONS {
            assert!(
                !pattern.starts_with('/') && !pattern.ends_with('/') && !pattern.contains("//"),
                "{pattern}"
            );
        }
        assert_eq!(serde_json::to_string(&Sensitivity::McpConfig).unwrap(), "\"mcp-config\"");
        assert_eq!(Sensitivity::Credential.to_string(), "credential");
    }
}
