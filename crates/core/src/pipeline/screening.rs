//! Screening what servers send (see [`crate::screen`]): tool lists against their pins, the
//! detector and the other servers' tools; other lists and `initialize` instructions for hidden
//! text and poisoning; tool results for hidden text (at once) and injected text (in the
//! background). It runs after the policy has ruled, on server messages only: what it finds is
//! recorded with the decision, and what it withholds never reaches the client. A boxed server's
//! error that names a permission error for a path its box does not grant becomes a
//! containment-denial record (the message itself goes on unchanged).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::containment::Grants;
use crate::finding::Finding;
use crate::record::{DecidedBy, Event, EventKind, ResultStatus};
use crate::session::{Direction, Inspection, Kind};

use super::Pipeline;
use super::effects::{Effect, IdentityCheck};

/// The screening stage's own state.
pub(super) struct Screening {
    /// Scans tool results for injected text off the relay's critical path.
    pub scanner: crate::screen::ResultScanner,
    /// Other servers' tools (server, name, definition), for shadowing and squatting.
    pub neighbours: Vec<(String, String, String)>,
    /// The program that runs the server, and its script when the program is an interpreter:
    /// part of the server's identity, checked once per connection.
    pub identity: Option<(PathBuf, Option<PathBuf>)>,
    pub identity_checked: AtomicBool,
    /// What the server's box grants (a boxed server only).
    pub grants: Option<Arc<Grants>>,
    /// Tool lists the detector found clean before, not read again.
    pub clean_lists: crate::clean_lists::CleanLists,
}

/// What screening a server's message decided.
#[derive(Debug, Default)]
pub(super) struct Screened {
    /// The message to send instead (tools withheld, hidden text removed).
    pub line: Option<Vec<u8>>,
    pub findings: Vec<Finding>,
    pub reason: Option<String>,
    /// Record before forwarding (something was withheld).
    pub durable: bool,
    /// Queue the message for the background result scan.
    pub scan_later: bool,
    /// Containment-denial records: the server's box refused a path its error names.
    pub denials: Vec<Event>,
}

impl Pipeline {
    /// The detector's verdicts on a listed tool list, or, for a list it found clean before
    /// (the same tools from the same build of the detector), that they are clean.
    fn screen_tools(&self, tools: &[(String, String)]) -> Vec<crate::screen::ToolVerdict> {
        use crate::clean_lists::CleanLists;
        let key = CleanLists::key(tools);
        if self.screening.clean_lists.contains(&key) {
            return tools
                .iter()
                .map(|(name, _)| crate::screen::ToolVerdict {
                    name: name.clone(),
                    blocked: None,
                    findings: Vec::new(),
                    hidden: false,
                })
                .collect();
        }
        let verdicts = crate::screen::screen_tools(tools);
        if verdicts.iter().all(|v| v.blocked.is_none() && v.findings.is_empty() && !v.hidden) {
            self.screening.clean_lists.remember(key);
        }
        verdicts
    }

    pub(super) fn screen(
        &self,
        inspection: &Inspection,
        line: &[u8],
        effects: &mut Vec<Effect>,
    ) -> Screened {
        use crate::screen;
        let mut out = Screened::default();
        if inspection.direction == Direction::ServerToClient
            && let Some(grants) = &self.screening.grants
        {
            out.denials = self.box_denials(grants, inspection, line);
        }
        if inspection.direction != Direction::ServerToClient || inspection.kind != Kind::Result {
            return out;
        }
        if matches!(inspection.method.as_deref(), Some("initialize" | "server/discover")) {
            effects.extend(self.identity_check(line, inspection));
        }
        match inspection.method.as_deref() {
            Some("tools/list") => {
                let Some(tools) = &inspection.tools_listed else { return out };
                self.recorder.tools_listed(&self.server, tools);
                let pinned =
                    self.gate.vet(&self.server, self.recorder.as_ref(), tools, &mut out.findings);
                let mut names: Vec<String> = pinned.iter().map(|(n, _)| n.clone()).collect();
                out.findings.extend(pinned.into_iter().map(|(_, f)| f));
                let mut hidden = false;
                out.findings.extend(screen::shadowing(tools, &self.screening.neighbours));
                let verdicts = self.screen_tools(tools);
                for (verdict, (_, definition)) in verdicts.into_iter().zip(tools.iter()) {
                    self.gate.detected(&verdict, definition, &mut names);
                    out.findings.extend(verdict.findings);
                    hidden |= verdict.hidden;
                }
                if let Some(approver) = &self.approver {
                    self.gate.notices(&approver.socket, &self.server, &names, effects);
                }
                if !names.is_empty() {
                    out.reason = Some(format!("withheld {}", names.join(", ")));
                    out.durable = true;
                } else if !out.findings.is_empty() {
                    out.reason = Some("the tool list has findings".to_owned());
                }
                if !names.is_empty() || hidden {
                    out.line = Some(rewrite_list(line, "tools", &names));
                }
            }
            Some("tools/call") => {
                if !screen::may_hide_text(line) {
                    out.scan_later = true;
                    return out;
                }
                let Ok(value) = serde_json::from_slice::<Value>(line) else {
                    return out;
                };
                let findings = value
                    .get("result")
                    .map(|r| screen::recorded(&crate::detect::scan_result(r), "result"))
                    .unwrap_or_default();
                if findings.iter().any(Finding::is_injection) {
                    self.flow.injected(&inspection.tool);
                }
                out.line = screen::sanitized_line(value);
                if !findings.is_empty() {
                    out.reason = Some("the result carries text aimed at the model".to_owned());
                }
                out.findings = findings;
            }
            Some(method @ ("prompts/list" | "resources/list" | "initialize")) => {
                if method == "initialize"
                    && memchr::memmem::find(line, b"\"instructions\"").is_none()
                    && !screen::may_hide_text(line)
                {
                    return out; // nothing in it is read by the model as prose
                }
                let Ok(mut value) = serde_json::from_slice::<Value>(line) else {
                    return out;
                };
                let result = value.get("result").cloned().unwrap_or_default();
                let (key, scan): (&str, fn(&Value) -> Vec<crate::detect::Finding>) = match method {
                    "prompts/list" => ("prompts", crate::detect::scan_prompt),
                    "resources/list" => ("resources", crate::detect::scan_resource),
                    _ => ("", |_| Vec::new()),
                };
                let mut names = Vec::new();
                if let Some(items) = result.get(key).and_then(|v| v.as_array()) {
                    for item in items {
                        let name = item["name"].as_str().unwrap_or("?");
                        let findings = scan(item);
                        if key == "prompts"
                            && let Some(command) = crate::detect::slash_command_collision(name)
                        {
                            out.findings.push(Finding::slash_command_collision(name, command));
                        }
                        if findings.iter().any(|f| f.severity == crate::detect::Severity::Block) {
                            names.push(name.to_owned());
                        }
                        out.findings.extend(screen::recorded(&findings, &format!("{key} {name}")));
                    }
                }
                // Poisoned `initialize` instructions are replaced by a notice: the model never
                // reads them, and the client still gets a well-formed result.
                let mut instructions_withheld = false;
                if let Some(result) = value.get_mut("result") {
                    let (findings, withheld) = screen::screen_instructions(result);
                    out.findings.extend(findings);
                    instructions_withheld = withheld;
                }
                if !names.is_empty() {
                    out.reason = Some(format!("withheld {}", names.join(", ")));
                    out.durable = true;
                    out.line = Some(rewrite_list(line, key, &names));
                } else if instructions_withheld {
                    out.reason = Some("withheld the server's instructions".to_owned());
                    out.durable = true;
                    crate::detect::sanitize_value(&mut value);
                    out.line = Some(serde_json::to_vec(&value).unwrap_or_default());
                } else {
                    out.line = screen::sanitized_line(value);
                }
                if out.reason.is_none() && !out.findings.is_empty() {
                    out.reason = Some(format!("the {method} result has findings"));
                }
            }
            _ => {}
        }
        out
    }

    /// The containment-denial records for a server's error (a JSON-RPC error, or a tool result
    /// with `isError`) that names a permission error for a path the box does not grant. Other
    /// results are not read: a file that merely contains such words is not a denial.
    fn box_denials(&self, grants: &Grants, inspection: &Inspection, line: &[u8]) -> Vec<Event> {
        let error = inspection.kind == Kind::Error
            || (inspection.kind == Kind::Result
                && inspection.result_status == Some(ResultStatus::ToolError));
        let named = |needle: &[u8]| memchr::memmem::find(line, needle).is_some();
        if !error
            || !(named(b"ermission denied")
                || named(b"EACCES")
                || named(b"EPERM")
                || named(b"ot permitted"))
        {
            return Vec::new();
        }
        let Ok(value) = serde_json::from_slice::<Value>(line) else { return Vec::new() };
        let mut text = String::new();
        if let Some(error) = value.get("error") {
            collect_text(error, &mut text);
        }
        if let Some(content) = value.pointer("/result/content") {
            collect_text(content, &mut text);
        }
        let writes = inspection.tool.as_deref().is_some_and(|tool| {
            use crate::classify::Category;
            matches!(
                crate::classify::classify(tool, None, None).category,
                Category::Write | Category::Delete | Category::ConfigChange
            )
        });
        grants
            .denials(&text, writes)
            .into_iter()
            .map(|denial| self.denial_event(inspection, &denial))
            .collect()
    }

    fn denial_event(&self, inspection: &Inspection, denial: &crate::containment::Denial) -> Event {
        use crate::containment::{DENIAL_METHOD, Refusal};
        let (path, access) = (denial.path.display().to_string(), denial.access.as_str());
        let grant = denial.grant.display().to_string();
        let mut event = Event::inspected(&self.server, &self.session_id, inspection, 0);
        event.kind = EventKind::Notification;
        event.method = Some(DENIAL_METHOD.to_owned());
        event.verdict = crate::record::Verdict::Deny;
        event.decided_by = Some(DecidedBy::Guard("sandbox".to_owned()));
        event.latency_us = None;
        event.result_status = None;
        let force = if denial.refusal == Refusal::Hidden { " --force" } else { "" };
        event.reason = Some(format!(
            "the server's box refused {access} access to {path}: {}. The server said: {}. \
             `mcpfw sandbox allow {} --{access} {grant}{force}` grants it from the server's next \
             start",
            denial.refusal.words(),
            denial.error,
            shell_word(&self.server),
        ));
        event.findings = vec![Finding::containment_denial(
            &path,
            &grant,
            access,
            denial.refusal.as_str(),
            &denial.error,
        )];
        event
    }

    /// Once per connection, when the server says who it is: the check of its identity against
    /// the one it was first seen with (carried out off the relay thread: hashing takes a moment).
    fn identity_check(&self, line: &[u8], inspection: &Inspection) -> Option<Effect> {
        let (program, script) = self.screening.identity.clone()?;
        if self.screening.identity_checked.swap(true, Ordering::Relaxed) {
            return None;
        }
        let value: Value = serde_json::from_slice(line).unwrap_or_default();
        let info = value
            .pointer("/result/serverInfo")
            .or_else(|| value.pointer("/result/_meta/io.modelcontextprotocol~1serverInfo"))
            .cloned()
            .unwrap_or_default();
        Some(Effect::CheckIdentity(Box::new(IdentityCheck {
            server: self.server.clone(),
            info,
            program,
            script,
            event: Event::inspected(&self.server, &self.session_id, inspection, 0),
            recorder: self.recorder.clone(),
        })))
    }
}

/// The strings of an error or a result's content, up to 64 KiB.
fn collect_text(value: &Value, out: &mut String) {
    const MAX: usize = 64 << 10;
    match value {
        Value::String(s) if out.len() < MAX => {
            let mut end = s.len().min(MAX - out.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&s[..end]);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

/// `word` as a shell reads it: quoted unless it is plain.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@/:+=".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A list response (`key`: `tools`, `prompts`, `resources`) without the withheld items and
/// with hidden text removed from every string. A response that cannot be re-read is replaced
/// by an empty list: nothing withheld may slip through.
fn rewrite_list(line: &[u8], key: &str, withheld: &[String]) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(line).unwrap_or_default();
    let pointer = format!("/result/{key}");
    if let Some(items) = value.pointer_mut(&pointer).and_then(|t| t.as_array_mut()) {
        items
            .retain(|item| !item["name"].as_str().is_some_and(|n| withheld.iter().any(|w| w == n)));
    } else if let Some(result) = value.get_mut("result") {
        result[key] = Value::Array(Vec::new());
    }
    crate::detect::sanitize_value(&mut value);
    serde_json::to_vec(&value).unwrap_or_default()
}
