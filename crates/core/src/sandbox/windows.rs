//! Windows path semantics as pure functions over text, so that they run (and are tested) on
//! every host; the sandbox uses them when it reads paths as Windows does
//! ([`super::Flavour::Windows`]).
//!
//! The prefix (`C:`, `\\server\share`, `\\?\C:`, `\\?\UNC\…`, `\\.\…`) is parsed by
//! `typed-path`; what Windows then does to a path before a file system sees it is done here:
//!
//! - **Forms.** Absolute (`C:\x`, `\\server\share\x`), drive-relative (`C:x`: relative to the
//!   current folder of drive C:, taken from the base only when the base is on that drive, else
//!   refused), root-relative (`\x`: the root of the base's drive or share), relative. `/` and `\`
//!   are both separators.
//! - **Prefixes.** `\\?\C:\` and `\\.\C:\` are `C:\`; `\\?\UNC\s\h` and `\\.\UNC\s\h` are
//!   `\\s\h`; `\\localhost\C$` (and `127.0.0.1`, `::1`, `.`) is `C:\`. Any other device or
//!   object-manager path (`\\.\pipe\…`, `\\.\PhysicalDrive0`, `\\?\GLOBALROOT\…`,
//!   `\\?\Volume{…}`, `\??\…`) is refused. A share on another computer is kept as a UNC path.
//! - **Names.** `.` and `..` are applied lexically, as Win32 does before any link is followed
//!   (`..` never climbs above the drive or share); in a verbatim path (`\\?\`) they are names
//!   the file system refuses, so they are refused here. Trailing dots and spaces are dropped
//!   (`secret.txt.` is `secret.txt`); a name that is nothing but dots and spaces is refused.
//!   An alternate data stream (`file.txt:s`, `file.txt::$DATA`, `dir:$I30:$INDEX_ALLOCATION`)
//!   names a part of its file: the file is what is assessed, with a note. Reserved device names
//!   (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9` and their superscript-digit
//!   forms, `CONIN$`, `CONOUT$`), with or without an extension, are refused in any position.
//! - **Case.** Names compare as NTFS compares them: each character by its simple uppercase
//!   mapping (a character whose uppercase is several characters, like `ß`, stays itself).
//! - **8.3 short names** (`PROGRA~1`): [`WinPath::short_name`] finds a `~digit` name; the sandbox
//!   refuses a path that still has one once the file system resolved what exists.

use typed_path::{Utf8WindowsComponent, Utf8WindowsPath, Utf8WindowsPrefix};

/// Where an absolute Windows path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// A drive letter, uppercase.
    Drive(char),
    /// A share: `\\server\share`.
    Unc { server: String, share: String },
}

/// An absolute Windows path, normalised: no `.` or `..`, names as Windows stores them (trailing
/// dots and spaces dropped, streams cut off), case kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinPath {
    pub root: Root,
    pub names: Vec<String>,
}

impl WinPath {
    /// Parses a path that must be absolute (a root, a home, a canonical path from the system).
    pub fn absolute(path: &str) -> Result<Self, String> {
        Ok(read(path, None, None)?.path)
    }

    /// Whether this path is `dir` or below it, compared as NTFS compares names.
    pub fn starts_with(&self, dir: &WinPath) -> bool {
        let roots = match (&self.root, &dir.root) {
            (Root::Drive(a), Root::Drive(b)) => a == b,
            (Root::Unc { server: s1, share: h1 }, Root::Unc { server: s2, share: h2 }) => {
                eq_fold(s1, s2) && eq_fold(h1, h2)
            }
            _ => false,
        };
        roots
            && self.names.len() >= dir.names.len()
            && self.names.iter().zip(&dir.names).all(|(a, b)| eq_fold(a, b))
    }

    /// The path as Windows writes it: `C:\a\b`, `\\server\share\a`.
    pub fn display(&self) -> String {
        let mut out = match &self.root {
            Root::Drive(d) => format!("{d}:"),
            Root::Unc { server, share } => format!(r"\\{server}\{share}"),
        };
        if self.names.is_empty() {
            out.push('\\');
        }
        for name in &self.names {
            out.push('\\');
            out.push_str(name);
        }
        out
    }

    /// The first 8.3 short name (`PROGRA~1`: a `~` followed by a digit), if any.
    pub fn short_name(&self) -> Option<&str> {
        self.names.iter().map(String::as_str).find(|n| is_short_name(n))
    }

    /// Whether the path is on a share of another computer.
    pub fn is_remote(&self) -> bool {
        matches!(self.root, Root::Unc { .. })
    }

    fn pop(&mut self) {
        self.names.pop();
    }
}

impl std::fmt::Display for WinPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// One path argument read as Windows reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The absolute, normalised path.
    pub path: WinPath,
    /// Where the path stood before its first `..` (None without `..`).
    pub before_dotdot: Option<WinPath>,
    /// What Windows changed that an agent may have used to hide something.
    pub notes: Vec<String>,
}

/// Reads `path` as Windows does, relative to `base` (the server's folder) and with `~` as
/// `home`. Refuses what Windows would not open as a file, or what cannot be decided here.
pub fn read(path: &str, base: Option<&WinPath>, home: Option<&WinPath>) -> Result<Reading, String> {
    let mut notes = Vec::new();
    // `~` and `~\…`: the home folder.
    let (start, rest): (Option<WinPath>, &str) =
        if path == "~" || path.starts_with("~/") || path.starts_with("~\\") {
            let home = home.ok_or("the path starts with ~ but the home folder is unknown")?.clone();
            (Some(home), &path[1..])
        } else {
            if path.starts_with('~') {
                notes.push(format!(
                    "`{}` is read as a relative name, not as another user's home",
                    path.split(['/', '\\']).next().unwrap_or(path)
                ));
            }
            (None, path)
        };
    // An NT object-manager path, which Win32 passes through untouched.
    if rest.starts_with(r"\??\") || rest.starts_with("/??/") {
        return Err(format!("`{path}` is a Windows object-manager path (\\??\\), not a file path"));
    }
    let parsed = Utf8WindowsPath::new(rest);
    let mut comps = parsed.components().peekable();
    let mut verbatim = false;
    let mut current = match (start, comps.peek().copied()) {
        (Some(home), _) => home,
        (None, Some(Utf8WindowsComponent::Prefix(prefix))) => {
            comps.next();
            let has_root = matches!(comps.peek(), Some(Utf8WindowsComponent::RootDir));
            verbatim = prefix.kind().is_verbatim();
            match prefix.kind() {
                Utf8WindowsPrefix::Disk(d) if !has_root => {
                    let drive = d.to_ascii_uppercase();
                    match base {
                        Some(b) if b.root == Root::Drive(drive) => b.clone(),
                        _ => {
                            return Err(format!(
                                "`{path}` is relative to the current folder of drive {drive}:, \
                                 which MCP Firewall cannot know"
                            ));
                        }
                    }
                }
                Utf8WindowsPrefix::Disk(d) | Utf8WindowsPrefix::VerbatimDisk(d) => {
                    WinPath { root: Root::Drive(d.to_ascii_uppercase()), names: Vec::new() }
                }
                Utf8WindowsPrefix::UNC(server, share)
                | Utf8WindowsPrefix::VerbatimUNC(server, share) => unc(path, server, share)?,
                Utf8WindowsPrefix::DeviceNS(device) => device_path(path, device, &mut comps)?,
                Utf8WindowsPrefix::Verbatim(what) => {
                    return Err(format!(
                        "`{path}` names `{what}` in the Windows object namespace (\\\\?\\), not a \
                         drive or a share"
                    ));
                }
            }
        }
        (None, Some(Utf8WindowsComponent::RootDir)) => {
            let base = base.ok_or_else(|| {
                format!("`{path}` is relative to the current drive and there is no base folder")
            })?;
            WinPath { root: base.root.clone(), names: Vec::new() }
        }
        (None, _) => {
            base.ok_or("the path is relative and there is no base folder or root")?.clone()
        }
    };
    let mut before_dotdot = None;
    for comp in comps {
        match comp {
            Utf8WindowsComponent::Prefix(_) | Utf8WindowsComponent::RootDir => {}
            Utf8WindowsComponent::CurDir if !verbatim => {}
            Utf8WindowsComponent::ParentDir if !verbatim => {
                before_dotdot.get_or_insert_with(|| current.clone());
                current.pop();
            }
            Utf8WindowsComponent::CurDir | Utf8WindowsComponent::ParentDir => {
                return Err(format!(
                    "`{path}` is a verbatim path (\\\\?\\) with `.` or `..`, which Windows passes \
                     to the file system as a name"
                ));
            }
            Utf8WindowsComponent::Normal(raw) => {
                let name = file_name(path, raw, verbatim, &mut notes)?;
                if name == ".." && !verbatim {
                    before_dotdot.get_or_insert_with(|| current.clone());
                    current.pop();
                } else if name != "." {
                    current.names.push(name);
                }
            }
        }
    }
    Ok(Reading { path: current, before_dotdot, notes })
}

/// `\\server\share`: a share of this computer's drive (`\\localhost\C$`) is the drive.
fn unc(path: &str, server: &str, share: &str) -> Result<WinPath, String> {
    if server.is_empty() || share.is_empty() {
        return Err(format!("`{path}` names a network server without a share"));
    }
    let local = ["localhost", "127.0.0.1", "::1", "[::1]", "."]
        .iter()
        .any(|l| server.eq_ignore_ascii_case(l));
    let drive = match share.as_bytes() {
        [d, b'$'] if d.is_ascii_alphabetic() => Some(char::from(d.to_ascii_uppercase())),
        _ => None,
    };
    Ok(match (local, drive) {
        (true, Some(d)) => WinPath { root: Root::Drive(d), names: Vec::new() },
        _ => WinPath {
            root: Root::Unc { server: server.to_owned(), share: share.to_owned() },
            names: Vec::new(),
        },
    })
}

/// `\\.\…`: a drive (`\\.\C:`) or a share (`\\.\UNC\s\h`) is a file path; anything else is a
/// device.
fn device_path<'a>(
    path: &str,
    device: &str,
    comps: &mut std::iter::Peekable<impl Iterator<Item = Utf8WindowsComponent<'a>>>,
) -> Result<WinPath, String> {
    match device.as_bytes() {
        [d, b':'] if d.is_ascii_alphabetic() => {
            Ok(WinPath { root: Root::Drive(char::from(d.to_ascii_uppercase())), names: Vec::new() })
        }
        _ if device.eq_ignore_ascii_case("UNC") => {
            let mut next = || loop {
                match comps.next() {
                    Some(Utf8WindowsComponent::RootDir) => continue,
                    Some(Utf8WindowsComponent::Normal(n)) => return n,
                    _ => return "",
                }
            };
            let (server, share) = (next(), next());
            unc(path, server, share)
        }
        _ => Err(format!("`{path}` names the Windows device `{device}`, not a file")),
    }
}

/// One name as Windows stores it: the stream cut off, trailing dots and spaces dropped; device
/// names and names made only of dots and spaces refused. In a verbatim path (`\\?\`) Windows
/// drops nothing: a name that is `.` or `..` once its stream is cut off, or that ends in a
/// dot or a space, names something other than what it reads as, and is refused.
fn file_name(
    path: &str,
    raw: &str,
    verbatim: bool,
    notes: &mut Vec<String>,
) -> Result<String, String> {
    let mut name = raw;
    if let Some((file, stream)) = raw.split_once(':') {
        if file.is_empty() {
            return Err(format!("`{path}` names a stream (`{raw}`) without its file"));
        }
        notes.push(format!("`{raw}` names the alternate data stream `{stream}` of `{file}`"));
        name = file;
    }
    if name.contains('/') {
        // Only a verbatim path (`\\?\`) keeps a `/` in a name; no file system takes it.
        return Err(format!("`{path}` is a verbatim path (\\\\?\\) with `/` in a name (`{name}`)"));
    }
    let stripped = name.trim_end_matches(['.', ' ']);
    if verbatim && stripped.len() != name.len() {
        return Err(format!(
            "`{path}` is a verbatim path (\\\\?\\) with a name that is `.` or `..` or ends in a dot \
             or a space (`{raw}`), which Windows passes to the file system as written"
        ));
    }
    if name == "." || name == ".." {
        return Ok(name.to_owned());
    }
    if stripped.is_empty() {
        return Err(format!("`{path}` has a name made only of dots and spaces (`{name}`)"));
    }
    if stripped.len() != name.len() {
        notes.push(format!(
            "Windows drops the trailing dots and spaces of `{name}`: it is `{stripped}`"
        ));
    }
    if let Some(device) = device_name(stripped) {
        return Err(format!("`{path}` names the Windows device {device}, not a file"));
    }
    Ok(stripped.to_owned())
}

/// The reserved device a name stands for (`nul.txt` is `NUL`), if any.
fn device_name(name: &str) -> Option<String> {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    let reserved = match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        other => {
            let numbered = other.strip_prefix("COM").or_else(|| other.strip_prefix("LPT"));
            numbered.is_some_and(|n| {
                let mut chars = n.chars();
                matches!((chars.next(), chars.next()), (Some('0'..='9' | '¹' | '²' | '³'), None))
            })
        }
    };
    reserved.then_some(upper)
}

/// Whether a name looks like an 8.3 short name: a `~` followed by a digit.
pub fn is_short_name(name: &str) -> bool {
    name.as_bytes().windows(2).any(|w| w[0] == b'~' && w[1].is_ascii_digit())
}

/// A character as NTFS compares it: its simple uppercase mapping.
fn upcase(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Whether two names are the same name to NTFS.
pub fn eq_fold(a: &str, b: &str) -> bool {
    a.chars().map(upcase).eq(b.chars().map(upcase))
}

/// Whether `name` starts with `prefix`, compared as NTFS compares names.
pub fn starts_with_fold(name: &str, prefix: &str) -> bool {
    let mut chars = name.chars().map(upcase);
    prefix.chars().map(upcase).all(|p| chars.next() == Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abs(s: &str) -> WinPath {
        WinPath::absolute(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match read(s, Some(&abs(r"C:\Users\me\project")), None) {
            Err(e) => e,
            Ok(r) => panic!("{s} read as {}", r.path),
        }
    }

    #[test]
    fn drive_letters_separators_and_prefixes_are_one_path() {
        let want = abs(r"C:\Users\me\x");
        for s in [
            r"C:\Users\me\x",
            "c:/Users/me/x",
            r"C:\Users\\me\.\x\",
            r"\\?\C:\Users\me\x",
            r"\\.\C:\Users\me\x",
            r"\\localhost\c$\Users\me\x",
            r"\\127.0.0.1\C$\Users\me\x",
            r"\\?\UNC\localhost\C$\Users\me\x",
            r"C:\Users\me\y\..\x",
            r"C:\..\..\Users\me\x",
        ] {
            assert_eq!(abs(s), want, "{s}");
        }
        assert_eq!(want.display(), r"C:\Users\me\x");
        assert_eq!(abs("d:/").display(), r"D:\");
        let share = abs(r"\\server\share\a");
        assert_eq!(share.display(), r"\\server\share\a");
        assert!(share.is_remote());
        for s in [r"\\?\UNC\server\share\a", r"\\.\UNC\server\share\a", "//server/share/a"] {
            assert_eq!(abs(s), share, "{s}");
        }
    }

    #[test]
    fn relative_forms_take_the_base() {
        let base = abs(r"C:\Users\me\project");
        let r = |s: &str| read(s, Some(&base), None).map(|r| r.path.display());
        assert_eq!(r(r"src\main.rs").unwrap(), r"C:\Users\me\project\src\main.rs");
        assert_eq!(r("C:src").unwrap(), r"C:\Users\me\project\src");
        assert_eq!(r("c:src").unwrap(), r"C:\Users\me\project\src");
        assert_eq!(r(r"\Windows\System32").unwrap(), r"C:\Windows\System32");
        assert!(r("D:src").unwrap_err().contains("drive D:"));
        let share = abs(r"\\server\share\dir");
        assert_eq!(read(r"\x", Some(&share), None).unwrap().path.display(), r"\\server\share\x");
        assert!(read("x", None, None).unwrap_err().contains("no base"));
        assert!(read(r"\x", None, None).unwrap_err().contains("no base"));
        let home = abs(r"C:\Users\me");
        assert_eq!(read(r"~\.ssh", None, Some(&home)).unwrap().path.display(), r"C:\Users\me\.ssh");
        assert_eq!(read("~/.ssh", None, Some(&home)).unwrap().path.display(), r"C:\Users\me\.ssh");
    }

    #[test]
    fn dotdot_is_lexical_and_remembered() {
        let base = abs(r"C:\Users\me\project");
        let r = read(r"..\..\me\.ssh\id_rsa", Some(&base), None).unwrap();
        assert_eq!(r.path.display(), r"C:\Users\me\.ssh\id_rsa");
        assert_eq!(r.before_dotdot, Some(base.clone()));
        assert_eq!(read("a/b", Some(&base), None).unwrap().before_dotdot, None);
        assert!(err(r"\\?\C:\Users\me\..\x").contains("verbatim"));
        assert!(err(r"\\?\C:\Users\me/../x").contains("verbatim"));
        // A `..` behind a stream, and a name with trailing dots, are names in a verbatim path:
        // read as the folder above, or as the name without its dots, they would be another path.
        assert!(err(r"\\?\C:\Users\..::$DATA\me").contains("verbatim"));
        assert!(err(r"\\?\C:\Users\me\project.\x").contains("verbatim"));
        assert!(err(r"\\?\C:\Users\me\project \x").contains("verbatim"));
        assert_eq!(
            read(r"\\?\C:\Users\me\x", None, None).unwrap().path.display(),
            r"C:\Users\me\x"
        );
    }

    #[test]
    fn names_are_what_windows_stores() {
        let base = abs(r"C:\p");
        let r = read("secret.env.", Some(&base), None).unwrap();
        assert_eq!(r.path.display(), r"C:\p\secret.env");
        assert!(r.notes[0].contains("trailing dots"), "{:?}", r.notes);
        assert_eq!(abs(r"C:\a. . \b  ").display(), r"C:\a\b");
        for (s, want, stream) in [
            ("notes.txt:hidden", r"C:\p\notes.txt", "hidden"),
            ("file.txt::$DATA", r"C:\p\file.txt", ":$DATA"),
            (r"dir:$I30:$INDEX_ALLOCATION\x", r"C:\p\dir\x", "$I30:$INDEX_ALLOCATION"),
        ] {
            let r = read(s, Some(&base), None).unwrap();
            assert_eq!(r.path.display(), want, "{s}");
            assert!(r.notes.iter().any(|n| n.contains(stream)), "{s}: {:?}", r.notes);
        }
        assert!(err(":stream").contains("without its file"));
        assert!(err(r"a\...\b").contains("dots and spaces"));
        assert!(err(r"a\ \b").contains("dots and spaces"));
    }

    #[test]
    fn devices_and_object_paths_are_refused() {
        for s in [
            "CON",
            "nul",
            "NUL.txt",
            "aux .log",
            r"C:\Users\me\project\COM1",
            "lpt9.txt",
            "COM¹",
            "conout$",
            r"\\.\pipe\mcpfw",
            r"\\.\PhysicalDrive0",
            r"\\?\GLOBALROOT\Device\HarddiskVolume1\x",
            r"\\?\Volume{01234567-89ab-cdef-0123-456789abcdef}\x",
            r"\??\C:\x",
            r"\\server",
        ] {
            let e = err(s);
            assert!(
                e.contains("device")
                    || e.contains("namespace")
                    || e.contains("object")
                    || e.contains("share"),
                "{s}: {e}"
            );
        }
        // Names that only resemble devices are files.
        for s in ["console.txt", "COM10", "nullable", "auxiliary", "LPT"] {
            assert!(read(s, Some(&abs(r"C:\p")), None).is_ok(), "{s}");
        }
    }

    #[test]
    fn case_is_folded_as_ntfs_does() {
        let root = abs(r"C:\Users\Ärger\Project");
        assert!(abs(r"c:\USERS\ärger\project\x").starts_with(&root));
        assert!(abs(r"C:\Users\ÄRGER\PROJECT").starts_with(&root));
        assert!(!abs(r"C:\Users\Ärger\Project-evil").starts_with(&root));
        assert!(!abs(r"C:\Users\Ärger\ProjectX").starts_with(&root));
        assert!(!abs(r"D:\Users\Ärger\Project").starts_with(&root));
        assert!(!abs(r"\\C\Users\Ärger\Project").starts_with(&root));
        assert!(abs(r"\\SERVER\Share\a").starts_with(&abs(r"\\server\SHARE")));
        // One character to one character: `ß` is not `SS`.
        assert!(eq_fold("straße", "STRAßE"));
        assert!(!eq_fold("straße", "STRASSE"));
        assert!(starts_with_fold("Google Chrome", "google chr"));
        assert!(!starts_with_fold("Goo", "google"));
    }

    #[test]
    fn short_names_are_found() {
        assert_eq!(abs(r"C:\PROGRA~1\x").short_name(), Some("PROGRA~1"));
        assert_eq!(abs(r"C:\Users\me\DOCUME~2").short_name(), Some("DOCUME~2"));
        assert_eq!(abs(r"C:\Users\me\~backup\a~b").short_name(), None);
    }
}
