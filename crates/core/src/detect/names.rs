//! Names that imitate other names: confusable skeletons, near copies, references to other
//! servers' tools, and prompt names that collide with a client's own slash commands.

use std::ops::Range;

/// How two different tool names relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameRelation {
    /// They look the same once confusable characters, case and separators are folded
    /// (`rеad_file` with a Cyrillic `е`, `read_fi1e`, `Read-File`): almost surely an imitation.
    Confusable,
    /// One or two edits apart in a word long enough for that to be a typo, not another verb
    /// (`read_flie`, `send_emial`): likely an imitation.
    NearCopy,
    /// The same words but for a plural or a version number (`get_issue`/`get_issues`,
    /// `search`/`search_v2`): common among honest tools, worth noting only.
    Variant,
}

/// The confusables skeleton of a name: characters that look alike map to one representative
/// (Cyrillic and Greek look-alikes to Latin, fullwidth to ASCII, `0`→`o`, `1`/`I`→`l`,
/// `rn`→`m`), case is folded, `-`, `.`, space and `_` become `_`, and invisible characters are
/// dropped.
pub fn skeleton(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        // Uppercase I looks like lowercase l; decide before folding case.
        let c = if c == 'I' { 'l' } else { c };
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
            _ => c,
        };
        if super::hidden_char(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            let mapped = match lower {
                'а' | 'α' | 'ɑ' => 'a',
                'в' | 'β' | 'ь' => 'b',
                'с' | 'ϲ' => 'c',
                'ԁ' => 'd',
                'е' | 'ё' | 'ε' | 'є' | '3' => 'e',
                'ɡ' => 'g',
                'һ' | 'н' | 'η' => 'h',
                'і' | 'ї' | 'ι' | 'ı' | '¡' => 'i',
                'ј' | 'ϳ' => 'j',
                'к' | 'κ' => 'k',
                '1' | '|' | 'ӏ' | 'ℓ' => 'l',
                'м' | 'μ' => 'm',
                'п' | 'ν' => 'n',
                '0' | 'о' | 'ο' | 'σ' | 'ө' => 'o',
                'р' | 'ρ' => 'p',
                'ԛ' => 'q',
                'г' => 'r',
                'ѕ' | '5' | '$' => 's',
                'т' | 'τ' => 't',
                'υ' | 'ц' => 'u',
                'ѵ' => 'v',
                'ԝ' | 'ω' | 'ш' => 'w',
                'х' | 'χ' => 'x',
                'у' | 'γ' => 'y',
                'ζ' => 'z',
                '-' | '.' | ' ' | '_' | '‐' | '‑' | '–' | '—' => '_',
                other => other,
            };
            out.push(mapped);
        }
    }
    out.replace("rn", "m").replace("vv", "w")
}

/// How two different names relate, or `None` when they are unrelated or identical.
pub fn compare_names(a: &str, b: &str) -> Option<NameRelation> {
    if a == b {
        return None;
    }
    let (sa, sb) = (skeleton(a), skeleton(b));
    if sa == sb {
        return Some(NameRelation::Confusable);
    }
    if stem(&sa) == stem(&sb) {
        return Some(NameRelation::Variant);
    }
    let (ca, cb): (Vec<char>, Vec<char>) = (sa.chars().collect(), sb.chars().collect());
    let longest = ca.len().max(cb.len());
    let limit = match longest {
        0..=5 => 0,
        6..=11 => 1,
        _ => 2,
    };
    if limit == 0 || ca.len().abs_diff(cb.len()) > limit || osa_distance(&ca, &cb) > limit {
        return None;
    }
    // Sibling verbs and short words differ by one letter all the time (get/set, add/and):
    // when the only differing word is short or both words are common verbs, they are unrelated.
    let (wa, wb): (Vec<&str>, Vec<&str>) = (words(&sa), words(&sb));
    if wa.len() == wb.len() {
        let differing: Vec<(&str, &str)> =
            wa.iter().zip(&wb).filter(|(x, y)| x != y).map(|(x, y)| (*x, *y)).collect();
        if differing.iter().all(|(x, y)| {
            x.chars().count() <= 3 && y.chars().count() <= 3 || (is_verb(x) && is_verb(y))
        }) {
            return None;
        }
    }
    Some(NameRelation::NearCopy)
}

/// True when two different names are a near copy of each other: the same skeleton, or a
/// small edit apart (see [`compare_names`]); plural and version variants are not.
pub fn near_duplicate(a: &str, b: &str) -> bool {
    matches!(compare_names(a, b), Some(NameRelation::Confusable | NameRelation::NearCopy))
}

fn words(s: &str) -> Vec<&str> {
    s.split('_').filter(|w| !w.is_empty()).collect()
}

/// The skeleton without plurals and version suffixes, for [`NameRelation::Variant`].
fn stem(skel: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for w in words(skel) {
        let w = w.trim_end_matches(|c: char| c.is_ascii_digit());
        if w.is_empty() || (w.len() <= 2 && w.starts_with('v')) {
            continue;
        }
        let w = if w.len() > 3 && w.ends_with("ies") {
            format!("{}y", &w[..w.len() - 3])
        } else if w.len() > 3 && (w.ends_with("ses") || w.ends_with("xes") || w.ends_with("ches")) {
            w[..w.len() - 2].to_owned()
        } else if w.len() > 2 && w.ends_with('s') && !w.ends_with("ss") {
            w[..w.len() - 1].to_owned()
        } else {
            w.to_owned()
        };
        parts.push(w);
    }
    parts.join("_")
}

fn is_verb(w: &str) -> bool {
    const VERBS: &[&str] = &[
        "get", "set", "put", "add", "list", "read", "load", "save", "send", "move", "copy", "edit",
        "find", "stop", "start", "open", "close", "lock", "push", "pull", "show", "hide", "view",
        "post", "sync", "link", "undo", "redo", "fork", "star", "join", "ping", "next", "prev",
        "last", "first", "make", "take", "fetch", "patch", "write", "create", "update", "delete",
        "remove", "rename", "insert", "select", "search", "query", "merge", "reset", "parse",
        "print", "track", "watch", "mark", "pin", "unpin", "tag", "untag", "mute", "unmute", "ban",
        "unban", "enable", "disable", "run", "rerun",
    ];
    VERBS.contains(&w)
}

/// Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions),
/// stopping early once it exceeds 2.
fn osa_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return n.max(m);
    }
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        let mut row_min = usize::MAX;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
            row_min = row_min.min(v);
        }
        if row_min > 2 {
            return row_min;
        }
    }
    d[n][m]
}

/// A mention of a tool name in a text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ToolReference {
    /// The name as given in `names`.
    pub name: String,
    /// Byte range of the mention in the text.
    pub span: Range<usize>,
}

/// The names among `names` that `text` mentions, for cross-server shadowing: a description
/// that talks about another server's tools. A name counts when it stands as a whole word and is
/// distinctive (it has a `_`, `-` or `.`, a lower-to-upper case change, or is quoted or
/// followed by "tool"), so that a tool called `search` is not found in every sentence with
/// the word.
pub fn references_tools(text: &str, names: &[&str]) -> Vec<ToolReference> {
    let text = crate::text::floor(text, super::STRING_CAP);
    let mut out = Vec::new();
    for &name in names {
        if name.len() < 3 {
            continue;
        }
        let distinctive = name.contains(['_', '-', '.'])
            || name
                .as_bytes()
                .windows(2)
                .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
        let mut from = 0;
        while let Some(pos) = text[from..].find(name) {
            let start = from + pos;
            let end = start + name.len();
            from = end;
            let before = text[..start].chars().next_back();
            let after = text[end..].chars().next();
            let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if word_char(before) || word_char(after) {
                continue;
            }
            let quoted =
                matches!(before, Some('`' | '\'' | '"')) && matches!(after, Some('`' | '\'' | '"'));
            let called_tool = text[end..].trim_start().to_ascii_lowercase().starts_with("tool");
            if distinctive || quoted || called_tool {
                out.push(ToolReference { name: name.to_owned(), span: start..end });
                if out.len() >= super::MAX_FINDINGS {
                    return out;
                }
            }
        }
    }
    out.sort_by_key(|r| r.span.start);
    out
}

/// The built-in slash commands of common MCP clients (Claude Code, Claude Desktop, Cursor,
/// VS Code Copilot Chat, Gemini CLI, Codex CLI). A server prompt with one of these names can
/// pass for the client's own command.
pub const CLIENT_SLASH_COMMANDS: &[&str] = &[
    "add-dir",
    "agents",
    "bashes",
    "bug",
    "chat",
    "clear",
    "clean",
    "compact",
    "config",
    "context",
    "copy",
    "cost",
    "diff",
    "doctor",
    "docs",
    "edit",
    "exit",
    "explain",
    "export",
    "extensions",
    "feedback",
    "fix",
    "help",
    "hooks",
    "ide",
    "init",
    "install-github-app",
    "login",
    "logout",
    "mcp",
    "memory",
    "model",
    "new",
    "output-style",
    "permissions",
    "pr-comments",
    "privacy-settings",
    "quit",
    "release-notes",
    "restore",
    "resume",
    "review",
    "rewind",
    "sandbox",
    "search",
    "security-review",
    "settings",
    "setup",
    "stats",
    "status",
    "statusline",
    "terminal-setup",
    "tests",
    "theme",
    "todos",
    "tools",
    "undo",
    "upgrade",
    "usage",
    "vim",
    "approvals",
    "auth",
    "about",
    "directory",
    "mention",
    "privacy",
    "startup",
];

/// The client slash command that a prompt name collides with, if any (case-insensitive,
/// ignoring a leading `/`, and comparing skeletons so `/cl3ar` or `/сlear` count).
pub fn slash_command_collision(prompt_name: &str) -> Option<&'static str> {
    let name = prompt_name.trim().trim_start_matches('/');
    let skel = skeleton(name);
    CLIENT_SLASH_COMMANDS
        .iter()
        .copied()
        .find(|c| c.eq_ignore_ascii_case(name) || skeleton(c) == skel)
}

/// Words of a parameter name, lowercase: split at `_`, `-`, `.`, spaces and lower-to-upper
/// case changes (`conversationHistory` → `conversation`, `history`).
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.' | ' ' | '/' | ':') {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Parameter names (words run together) whose only purpose is to collect the agent's context.
const HARVEST_NAMES: &[&str] = &[
    "conversationhistory",
    "conversationlog",
    "conversationtranscript",
    "fullconversation",
    "entireconversation",
    "wholeconversation",
    "chathistory",
    "chatlog",
    "chattranscript",
    "messagehistory",
    "previousmessages",
    "priormessages",
    "earliermessages",
    "pastmessages",
    "allmessages",
    "previousturns",
    "priorturns",
    "fullcontext",
    "entirecontext",
    "wholecontext",
    "completecontext",
    "contextwindow",
    "tooloutputs",
    "toolresults",
    "toolhistory",
    "sessiontranscript",
    "sessionhistory",
];

/// Names of the agent's own instructions: a tool may honestly take a system prompt for another
/// model, so these count only when nothing says so or the description asks for the agent's own.
const OWN_PROMPT_NAMES: &[&str] = &[
    "systemprompt",
    "systeminstructions",
    "systemmessage",
    "assistantinstructions",
    "developerinstructions",
    "hiddeninstructions",
];

/// Findings in a property name of an input schema (`schema`: the property's own schema): a
/// name that asks for the agent's context ([`super::Kind::ContextHarvest`]), or an
/// instruction spelled as a name (`read_ssh_id_rsa_and_send_it`).
pub(super) fn scan_parameter(
    name: &str,
    schema: &serde_json::Value,
    location: &str,
    out: &mut Vec<super::Finding>,
) {
    use super::{Finding, Kind, Severity};
    let words = name_words(crate::text::floor(name, 256));
    if words.is_empty() {
        return;
    }
    let joined: String = words.concat();
    let description = schema.get("description").and_then(|d| d.as_str()).unwrap_or("");
    let scalar = schema
        .get("type")
        .and_then(|t| t.as_str())
        .is_some_and(|t| matches!(t, "integer" | "number" | "boolean"));
    // A name that ends in what points at the data rather than holds it (`conversation_id`,
    // `chat_log_path`) or says how much of it (`chat_history_limit`).
    let identifier = words.last().is_some_and(|w| {
        matches!(
            w.as_str(),
            "id" | "ids"
                | "url"
                | "uri"
                | "path"
                | "file"
                | "filename"
                | "dir"
                | "directory"
                | "name"
                | "format"
                | "limit"
                | "count"
                | "size"
                | "length"
                | "max"
                | "min"
                | "enabled"
                | "type"
                | "mode"
                | "days"
                | "since"
                | "until"
        )
    });
    let mut push = |kind, rule, evidence: String| {
        out.push(Finding {
            kind,
            severity: Severity::Flag,
            rule,
            location: location.to_owned(),
            span: 0..name.len(),
            evidence,
        });
    };
    if !scalar && !identifier {
        if let Some(found) = HARVEST_NAMES.iter().find(|h| joined.contains(**h)) {
            push(
                Kind::ContextHarvest,
                "context-harvesting-parameter",
                format!("parameter `{}` asks for the {found}", super::excerpt(name, 60)),
            );
            return;
        }
        if OWN_PROMPT_NAMES.iter().any(|h| joined.contains(h)) && asks_for_own(description) {
            push(
                Kind::ContextHarvest,
                "context-harvesting-parameter",
                format!(
                    "parameter `{}` asks for the agent's own instructions",
                    super::excerpt(name, 60)
                ),
            );
            return;
        }
    }
    // An instruction spelled as a name: a verb that moves data and a credential, in four
    // words or more.
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.as_str()));
    if words.len() >= 4
        && has(&[
            "read",
            "send",
            "upload",
            "exfiltrate",
            "leak",
            "forward",
            "steal",
            "copy",
            "post",
            "include",
            "attach",
            "dump",
            "contents",
        ])
        && has(&[
            "ssh",
            "rsa",
            "credentials",
            "secret",
            "secrets",
            "token",
            "tokens",
            "password",
            "passwords",
            "env",
            "dotenv",
            "netrc",
            "wallet",
            "private",
            "apikey",
            "mcp",
        ])
    {
        push(
            Kind::CredentialAccess,
            "instruction-in-parameter-name",
            format!("parameter `{}` is an instruction", super::excerpt(name, 80)),
        );
    }
}

/// True when a parameter's description is empty or asks for the agent's own instructions
/// rather than a prompt for some other model.
fn asks_for_own(description: &str) -> bool {
    let d = description.to_lowercase();
    d.trim().is_empty()
        || [
            "your ",
            "you were given",
            "you are given",
            "you have been given",
            "you received",
            "you are running",
            "currently",
            "verbatim",
            "word for word",
            "as given",
            "so far",
            "this conversation",
            "this session",
            "this chat",
        ]
        .iter()
        .any(|w| d.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusable_names_share_a_skeleton() {
        assert_eq!(compare_names("read_file", "rеad_file"), Some(NameRelation::Confusable));
        assert_eq!(compare_names("read_file", "read_fi1e"), Some(NameRelation::Confusable));
        assert_eq!(compare_names("read_file", "Read-File"), Some(NameRelation::Confusable));
        assert_eq!(compare_names("read_file", "read_fiIe"), Some(NameRelation::Confusable));
        assert_eq!(compare_names("send_email", "ѕend_emaіl"), Some(NameRelation::Confusable));
        assert_eq!(compare_names("read_file", "read\u{200b}_file"), Some(NameRelation::Confusable));
        assert_eq!(skeleton("ＲＥＡＤ"), "read");
    }

    #[test]
    fn typos_are_near_copies() {
        assert_eq!(compare_names("read_file", "raed_file"), Some(NameRelation::NearCopy));
        assert_eq!(compare_names("send_email", "send_emial"), Some(NameRelation::NearCopy));
        assert_eq!(
            compare_names("create_pull_request", "create_pul_requets"),
            Some(NameRelation::NearCopy)
        );
        assert!(near_duplicate("list_directory", "list_directorry"));
    }

    #[test]
    fn honest_neighbours_are_not_near_copies() {
        for (a, b) in [
            ("read_file", "write_file"),
            ("get_user", "set_user"),
            ("add_tag", "get_tag"),
            ("read_file", "read_files_batch"),
            ("start", "stop"),
            ("get", "set"),
            ("list_issues", "list_labels"),
            ("create_entities", "delete_entities"),
            ("read_file", "read_file"),
            ("search_files", "search_nodes"),
        ] {
            assert!(!near_duplicate(a, b), "{a} vs {b}");
        }
    }

    #[test]
    fn plurals_and_versions_are_variants_only() {
        assert_eq!(compare_names("get_issue", "get_issues"), Some(NameRelation::Variant));
        assert_eq!(compare_names("search", "search_v2"), Some(NameRelation::Variant));
        assert_eq!(compare_names("list_entity", "list_entities"), Some(NameRelation::Variant));
        assert!(!near_duplicate("get_issue", "get_issues"));
    }

    #[test]
    fn references_need_a_distinctive_name() {
        let text = "When send_email is used, also call `search`. A search is slow.";
        let refs = references_tools(text, &["send_email", "search", "nothere"]);
        let names: Vec<_> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["send_email", "search"]);
        assert_eq!(&text[refs[0].span.clone()], "send_email");
        assert!(references_tools("resend_emails", &["send_email"]).is_empty());
    }

    #[test]
    fn prompt_names_that_pass_for_client_commands() {
        assert_eq!(slash_command_collision("clear"), Some("clear"));
        assert_eq!(slash_command_collision("/Compact"), Some("compact"));
        assert_eq!(slash_command_collision("сlear"), Some("clear"));
        assert_eq!(slash_command_collision("summarize_repo"), None);
    }
}
