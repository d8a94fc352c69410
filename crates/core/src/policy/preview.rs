//! What a person sees before approving: the exact effect of a call, and for deletes, network
//! sends and configuration changes the one fact the second step restates.

use std::path::Path;

use serde_json::Value;

use super::engine::Decision;
use crate::classify::Category;

/// The most files counted under a directory a delete would remove.
const MAX_COUNT: usize = 100_000;
/// The most lines of a diff shown.
const MAX_DIFF_LINES: usize = 60;
/// The largest file diffed.
const MAX_DIFF_BYTES: u64 = 256 * 1024;

/// A preview and, for two-step categories, the fact to confirm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    pub lines: Vec<String>,
    /// Set for deletes, network sends and configuration changes: approving them takes a second,
    /// separate confirmation of this sentence.
    pub confirm: Option<String>,
}

/// Whether a category needs the second step.
pub fn two_step(category: Category) -> bool {
    matches!(category, Category::Delete | Category::NetworkSend | Category::ConfigChange)
}

/// Builds the preview of a call the engine decided to ask about.
pub fn build(tool: &str, server: &str, decision: &Decision, arguments: Option<&Value>) -> Preview {
    let mut lines = Vec::new();
    let mut files_total = 0usize;
    let mut first_path = None;
    for a in &decision.paths {
        let Some(path) = &a.resolved else { continue };
        first_path.get_or_insert_with(|| path.display().to_string());
        match std::fs::symlink_metadata(path) {
            Err(_) => lines.push(format!("{}: does not exist yet", path.display())),
            Ok(meta) if meta.is_dir() => {
                let (count, capped) = count_files(path);
                files_total += count;
                let more = if capped { "at least " } else { "" };
                lines.push(format!("{}: a folder with {more}{count} files", path.display()));
            }
            Ok(meta) => {
                files_total += 1;
                lines.push(format!("{}: exists, {} bytes", path.display(), meta.len()));
                if decision.category != Category::Delete
                    && let Some(new) = new_content(arguments)
                {
                    lines.extend(diff(path, new, meta.len()));
                }
            }
        }
    }
    let classification = decision.classification.as_ref();
    let hosts: Vec<&str> =
        classification.map(|c| c.hosts.iter().map(String::as_str).collect()).unwrap_or_default();
    let payload = arguments.map_or(0, |a| a.to_string().len());
    if !hosts.is_empty() {
        lines.push(format!("sends {payload} bytes of arguments to {}", hosts.join(", ")));
    }
    if let Some(commands) = classification.map(|c| &c.commands).filter(|c| !c.is_empty()) {
        for command in commands.iter().take(3) {
            lines.push(format!("runs: {}", command.value.chars().take(200).collect::<String>()));
        }
    }
    if !decision.secrets.is_empty() {
        let kinds: Vec<&str> = decision.secrets.iter().map(|s| s.kind).collect();
        lines.push(format!("carries secrets: {}", kinds.join(", ")));
    }
    let confirm = two_step(decision.category).then(|| match decision.category {
        Category::Delete => match (&first_path, files_total) {
            (Some(path), n) if n > 1 => format!("Delete {n} files under {path}?"),
            (Some(path), _) => format!("Delete {path}?"),
            (None, _) => format!("Let `{tool}` on {server} delete data?"),
        },
        Category::NetworkSend => {
            let to = if hosts.is_empty() { "the network".to_owned() } else { hosts.join(", ") };
            format!("Send {payload} bytes to {to}?")
        }
        _ => match &first_path {
            Some(path) => format!("Change the configuration in {path}?"),
            None => format!("Let `{tool}` on {server} change configuration?"),
        },
    });
    Preview { lines, confirm }
}

fn count_files(dir: &Path) -> (usize, bool) {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(_) => count += 1,
                Err(_) => {}
            }
            if count >= MAX_COUNT {
                return (count, true);
            }
        }
    }
    (count, false)
}

/// The text a write would put in the file, from the usual argument names.
fn new_content(arguments: Option<&Value>) -> Option<&str> {
    let args = arguments?;
    ["content", "text", "contents", "data"].iter().find_map(|k| args.get(*k)?.as_str())
}

fn diff(path: &Path, new: &str, size: u64) -> Vec<String> {
    if size > MAX_DIFF_BYTES {
        return vec![format!("(the file is larger than {MAX_DIFF_BYTES} bytes; no diff shown)")];
    }
    let Ok(old) = std::fs::read_to_string(path) else {
        return vec!["(the file is not text; no diff shown)".to_owned()];
    };
    let diff = similar::TextDiff::from_lines(old.as_str(), new);
    let text =
        diff.unified_diff().context_radius(2).header("current", "after the call").to_string();
    let mut lines: Vec<String> = text.lines().take(MAX_DIFF_LINES).map(str::to_owned).collect();
    if text.lines().count() > MAX_DIFF_LINES {
        lines.push(format!("… ({} more lines of diff)", text.lines().count() - MAX_DIFF_LINES));
    }
    lines
}
