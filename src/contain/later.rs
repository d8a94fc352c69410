//! Roots a client announces after its server started. A box cannot grow around a running
//! process, so such roots are kept here (`<data>/roots/<server>.json`, in MCP Firewall's own
//! folder, which every box hides) and granted from the server's next start. They come from the
//! client, which is on the person's side of the firewall, as the roots given at start do.

use std::path::{Path, PathBuf};

use crate::paths::Paths;

/// The most roots kept for one server (the newest win).
const MAX_KEPT: usize = 32;

fn file(paths: &Paths, server: &str) -> PathBuf {
    let name: String = server
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    paths.data.join("roots").join(format!("{name}.json"))
}

/// The roots kept for `server`: existing absolute folders only.
pub fn recall(paths: &Paths, server: &str) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(file(paths, server)) else { return Vec::new() };
    let kept: Vec<PathBuf> = serde_json::from_str(&text).unwrap_or_else(|e| {
        tracing::warn!(server, "the roots kept for this server cannot be read ({e}); ignored");
        Vec::new()
    });
    kept.into_iter().filter(|p| p.is_absolute() && p.is_dir()).collect()
}

/// Adds `roots` to those kept for `server`.
pub fn keep(paths: &Paths, server: &str, roots: &[PathBuf]) -> std::io::Result<()> {
    let path = file(paths, server);
    let mut kept = recall(paths, server);
    for root in roots {
        if root.is_absolute() && !kept.contains(root) {
            kept.push(root.clone());
        }
    }
    let excess = kept.len().saturating_sub(MAX_KEPT);
    kept.drain(..excess);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_vec_pretty(&kept).map_err(std::io::Error::other)?;
    let temp = dir.join(format!(".{}.tmp", std::process::id()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        let mut out = mcpfw_core::platform::private::file(&mut options).open(&temp)?;
        out.write_all(&text)?;
    }
    std::fs::rename(&temp, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_kept_per_server_and_only_existing_folders_come_back() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        keep(&paths, "files", &[a.path().to_path_buf()]).unwrap();
        keep(&paths, "files", &[a.path().to_path_buf(), b.path().to_path_buf()]).unwrap();
        assert_eq!(recall(&paths, "files"), vec![a.path().to_path_buf(), b.path().to_path_buf()]);
        assert!(recall(&paths, "other").is_empty());
        drop(b);
        assert_eq!(recall(&paths, "files"), vec![a.path().to_path_buf()]);
        keep(&paths, "../x", &[a.path().to_path_buf()]).unwrap();
        assert!(paths.data.join("roots/.._x.json").exists());
    }
}
