//! Detection: what a server tells the model that the user would not want it to.
//!
//! A malicious or compromised MCP server can smuggle instructions to the model through its
//! tool list (names, descriptions, input schemas), its prompts and resources, the
//! `instructions` of `initialize`, and the results of its tool calls. This module finds them.
//! It is pure: it reads JSON values and returns [`Finding`]s; deciding what to do with them
//! (withhold a tool, warn, record) belongs to the pipeline.
//!
//! # What is scanned
//!
//! - [`scan_tool`] / [`scan_tools`]: every string of a tool definition — `name`, `title`,
//!   `description`, and in `inputSchema`/`outputSchema` (recursively, 32 levels) every
//!   `description`, `title`, `default`, `enum`, `examples`, `const` and property name;
//!   `annotations.title`. Keys that hold no prose (`type`, `format`, `pattern`, `$schema`,
//!   `$ref`, `required`, `icons`, `mimeType`) are skipped.
//! - [`scan_prompt`] (name, title, description, arguments), [`scan_resource`] (name, title,
//!   description, uri), [`scan_instructions`] (the `initialize` instructions).
//! - [`scan_result`]: a `tools/call` result — `content[].text`, embedded resource text,
//!   `structuredContent`, and any other string but binary `blob`/`data` — plus secrets
//!   ([`crate::secrets::scan`]).
//!
//! # What is found ([`Kind`])
//!
//! Hidden text: Unicode tag characters (decoded and shown), runs of variation selectors that
//! encode bytes, zero-width and other invisible format characters, bidi embedding/override/
//! isolate controls ([`Kind::HiddenUnicode`]); ANSI and other terminal escapes — concealed text,
//! cursor movement and erasing, OSC 8 hyperlinks, OSC 52 clipboard writes — and overwriting
//! controls such as a bare carriage return or backspace ([`Kind::AnsiEscape`]); runs of at least
//! 64 spaces or 8 line breaks with text after them ([`Kind::WhitespacePadding`]). Legitimate uses
//! are left alone: emoji ZWJ sequences and flag tag sequences, one variation selector after an
//! emoji or ideograph, ZWJ/ZWNJ between letters of scripts that need them, a leading BOM,
//! left-to-right/right-to-left marks.
//!
//! Phrases, by rules each with a stable name reported as [`Finding::rule`]: pseudo-tags and
//! imperatives addressed to the model ([`Kind::ModelDirective`]), "ignore previous
//! instructions" and text addressed to an AI ([`Kind::InjectedInstruction`]), forged
//! conversation turns and chat-template or protocol tokens ([`Kind::ForgedTurn`]), keeping
//! things from the user ([`Kind::Concealment`]), reading credential files or asking for
//! secrets ([`Kind::CredentialAccess`]), instructions about other tools
//! ([`Kind::CrossToolInstruction`]), sending data to hard-coded addresses
//! ([`Kind::Exfiltration`]), claims meant to win tool selection
//! ([`Kind::PreferenceManipulation`]), errors that ask for secrets ([`Kind::FakeError`]).
//! Phrase rules run on the sanitized text, so hidden characters cannot split a keyword and the
//! hidden text itself is read; text with look-alike Cyrillic or Greek letters inside Latin
//! words or fullwidth letters (and, in descriptions, leetspeak or sentences written as
//! identifiers) is read a second time folded to plain letters; in a description, words spelled
//! letter by letter (`s.e.n.d`) are read joined, and base64, percent-encoded or hex-escaped text
//! that decodes to prose is read decoded (a phrase found there is itself a directive).
//! A definition that stacks directives of two different rules is withheld.
//!
//! # Severity
//!
//! Each rule has a severity for descriptions and one for results ([`Severity`]); words that
//! are ordinary in honest descriptions ("IMPORTANT: paths must be absolute", "Use this tool
//! when…", "Provide your API key") give nothing or [`Severity::Info`]. Then, per scanned item:
//!
//! - a directive (model directive, injected instruction, forged turn, concealment, tag
//!   characters) together with a payload (credential access, exfiltration, cross-tool
//!   instruction) raises both to [`Severity::Block`];
//! - credential access together with exfiltration raises both to [`Severity::Block`];
//! - so do, among flagged findings, a cross-tool instruction with exfiltration or credential
//!   access, a context harvest with exfiltration, and padding or terminal escapes with any
//!   payload; a flagged credential access inside an `inputSchema` is [`Severity::Block`] on
//!   its own (the value would go to the server);
//! - an instruction about a tool of the same server ([`scan_tools`]) is only [`Severity::Info`];
//! - a phrase between quotation marks, or inside a quotation presented as an example ("such
//!   as \"…\""), is mentioned, not said: only [`Severity::Info`], and it escalates nothing.
//!
//! In tool results, rules that can only give [`Severity::Info`] run only on strings where
//! something else was found (that is when they can escalate it), to keep large results fast.
//!
//! # Names, pins and clean copies
//!
//! [`skeleton`], [`compare_names`] and [`near_duplicate`] recognise a tool name imitating
//! another (confusable characters, typos; plural and version variants are only
//! [`NameRelation::Variant`]); [`references_tools`] finds another server's tool names in a
//! description (cross-server shadowing); [`slash_command_collision`] says whether a prompt
//! name passes for one of a client's built-in commands ([`CLIENT_SLASH_COMMANDS`]).
//! [`tool_digest`] pins a tool definition (key order does not matter) so a later change —
//! a rug pull — is seen; [`similarity`] and [`renamed_copy`] recognise a tool removed and added
//! again under another name. [`sanitize`] and [`sanitize_value`] remove or make visible
//! exactly the hidden text the scanner reports.
//!
//! # Limits
//!
//! Each string is scanned on its first 1 MiB (a longer one gets a [`Kind::ScanLimit`] finding);
//! values deeper than 64 levels (32 in schemas) are not visited; an item keeps at most 64
//! findings, the most severe first. Spans always fall on character boundaries. Nothing
//! panics on any input.

mod fold;
mod hidden;
mod names;
mod rules;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::text::floor;

pub use names::{
    CLIENT_SLASH_COMMANDS, NameRelation, ToolReference, compare_names, near_duplicate,
    references_tools, skeleton, slash_command_collision,
};

/// How sure a finding is, and so what it is worth doing about it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth recording; ordinary text sometimes looks like this.
    Info,
    /// Suspicious: show it to the user.
    Flag,
    /// An attack beyond reasonable doubt: withhold the tool (or result) from the model.
    Block,
}

impl Severity {
    /// The written name: `info`, `flag`, `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Flag => "flag",
            Severity::Block => "block",
        }
    }
}

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
#[ts(rename = "DetectorKind")]
pub enum Kind {
    /// Invisible Unicode: tag characters, encoded variation selectors, zero-width, bidi controls.
    HiddenUnicode,
    /// Terminal escape sequences and overwriting control characters.
    AnsiEscape,
    /// Whitespace that pushes text out of view.
    WhitespacePadding,
    /// Pseudo-tags and imperatives addressed to the model.
    ModelDirective,
    /// Reading credential files or asking for secrets.
    CredentialAccess,
    /// Instructions about how other tools are to be used.
    CrossToolInstruction,
    /// Keeping something from the user.
    Concealment,
    /// Sending data to a hard-coded address.
    Exfiltration,
    /// Language meant to win tool selection.
    PreferenceManipulation,
    /// Instructions injected into content ("ignore previous instructions", "note to the AI").
    InjectedInstruction,
    /// Forged conversation turns, chat-template or protocol tokens.
    ForgedTurn,
    /// An error message that asks for secrets.
    FakeError,
    /// A secret in a tool result (see [`crate::secrets`]).
    SecretInResult,
    /// Two tools of one server whose names look the same ([`scan_tools`]).
    ConfusableName,
    /// A parameter whose only purpose is to collect the agent's context: the conversation,
    /// the system prompt, earlier tool outputs.
    ContextHarvest,
    /// A prompt named like a client's built-in slash command that carries directives.
    SlashCommandCollision,
    /// A string longer than what is scanned; its tail was not examined.
    ScanLimit,
}

impl Kind {
    /// Directives: what tells the model to act.
    fn is_directive(self) -> bool {
        matches!(
            self,
            Kind::ModelDirective | Kind::InjectedInstruction | Kind::ForgedTurn | Kind::Concealment
        )
    }

    /// Payloads: what the action would do.
    fn is_payload(self) -> bool {
        matches!(
            self,
            Kind::CredentialAccess
                | Kind::Exfiltration
                | Kind::CrossToolInstruction
                | Kind::ContextHarvest
        )
    }
}

/// One finding, with enough to explain it to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was found.
    pub kind: Kind,
    /// How sure it is.
    pub severity: Severity,
    /// The rule that found it (stable, e.g. `unicode-tag-characters`, `do-not-tell-user`).
    pub rule: &'static str,
    /// JSON pointer of the string inside the scanned item (`/description`,
    /// `/inputSchema/properties/path/description`, `/content/0/text`; `""` for
    /// [`scan_instructions`]).
    pub location: String,
    /// Byte range in that string, on character boundaries.
    pub span: Range<usize>,
    /// A short excerpt of what was found, with invisible and control characters written as
    /// `\u{…}` escapes and hidden text decoded as `[hidden: …]`.
    pub evidence: String,
}

/// The highest severity among `findings`.
pub fn max_severity(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// Bytes of each string that are scanned.
pub(crate) const STRING_CAP: usize = 1 << 20;
/// Findings kept per item.
pub(crate) const MAX_FINDINGS: usize = 64;
/// How deep values are visited.
const MAX_DEPTH: usize = 64;
/// How deep schemas are visited.
const MAX_SCHEMA_DEPTH: usize = 32;

/// Where a string sits, which sets the rules and severities that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A name or identifier: only hidden text, and stricter.
    Name,
    /// Prose a server uses to describe itself to the model.
    Describe,
    /// Content a tool returned.
    Result,
}

/// Keys whose values are not prose the model reads as instructions.
const SKIP_KEYS: &[&str] = &[
    "type", "format", "pattern", "$schema", "$ref", "$id", "required", "icons", "mimeType", "blob",
    "_meta",
];

/// Builds the trigger automaton that tool lists are scanned with (a DFA over hundreds of
/// literals, tens of milliseconds of CPU), so that a server's first `tools/list` does not wait
/// for it; a second call costs nothing. Each rule's regex is compiled when one of its triggers
/// is first found, and the results' automaton and the secret formats at the first result
/// scanned (on the result scanner's thread, off the relay's path).
pub fn warm_up() {
    rules::warm_up();
}

/// Findings in a tool definition (an element of `tools/list`'s `tools`).
pub fn scan_tool(tool: &Value) -> Vec<Finding> {
    scan_item(tool, Context::Describe, &[])
}

/// Findings for each tool of one server's list, in order. Unlike [`scan_tool`], instructions
/// about a sibling tool (one in the same list) are only [`Severity::Info`], and two tools
/// whose names share a skeleton get a [`Kind::ConfusableName`] finding.
pub fn scan_tools(tools: &[Value]) -> Vec<Vec<Finding>> {
    let names: Vec<&str> =
        tools.iter().filter_map(|t| t.get("name").and_then(Value::as_str)).collect();
    // One skeleton per name: equal skeletons of different names are confusable (linear, not
    // a comparison of every pair).
    let mut by_skeleton: std::collections::HashMap<String, Vec<&str>> =
        std::collections::HashMap::new();
    for name in &names {
        by_skeleton.entry(skeleton(name)).or_default().push(name);
    }
    tools
        .iter()
        .map(|tool| {
            let own = tool.get("name").and_then(Value::as_str).unwrap_or("");
            let mut findings = scan_item(tool, Context::Describe, &names);
            let other =
                by_skeleton.get(&skeleton(own)).and_then(|same| same.iter().find(|n| **n != own));
            if let Some(other) = other {
                findings.push(Finding {
                    kind: Kind::ConfusableName,
                    severity: Severity::Flag,
                    rule: "confusable-sibling-name",
                    location: "/name".into(),
                    span: 0..own.len(),
                    evidence: format!("{} looks like {}", excerpt(own, 60), excerpt(other, 60)),
                });
            }
            findings
        })
        .collect()
}

/// Findings in a prompt definition (an element of `prompts/list`'s `prompts`). A prompt named
/// like a client's built-in slash command ([`slash_command_collision`]) that carries
/// directives, payloads or hidden text (a finding of any severity) is an attempt to hijack the
/// command: a [`Kind::SlashCommandCollision`] finding at [`Severity::Block`], and its other
/// findings are raised to Block with it.
pub fn scan_prompt(prompt: &Value) -> Vec<Finding> {
    let mut out = scan_item(prompt, Context::Describe, &[]);
    let name = prompt.get("name").and_then(Value::as_str).unwrap_or("");
    let carries = |f: &Finding| {
        f.kind.is_directive()
            || f.kind.is_payload()
            || matches!(f.kind, Kind::HiddenUnicode | Kind::AnsiEscape | Kind::WhitespacePadding)
    };
    if out.iter().any(carries)
        && let Some(command) = slash_command_collision(name)
    {
        for f in out.iter_mut().filter(|f| carries(f)) {
            f.severity = Severity::Block;
        }
        out.insert(
            0,
            Finding {
                kind: Kind::SlashCommandCollision,
                severity: Severity::Block,
                rule: "slash-command-with-directives",
                location: "/name".into(),
                span: 0..name.len(),
                evidence: format!(
                    "`{}` passes for the client's /{command} and carries directives",
                    excerpt(name, 60)
                ),
            },
        );
    }
    out
}

/// Findings in a resource or resource template definition.
pub fn scan_resource(resource: &Value) -> Vec<Finding> {
    scan_item(resource, Context::Describe, &[])
}

/// Findings in the `instructions` string a server returns from `initialize`.
pub fn scan_instructions(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut mentioned = Vec::new();
    scan_string(text, "", Context::Describe, &[], &mut out, &mut mentioned);
    // The `instructions` of `initialize` are addressed to the model by design ("These
    // instructions are written for an LLM"): saying so is not an injection there.
    let mut kept = Vec::with_capacity(out.len());
    let mut kept_mentioned = Vec::new();
    for (i, f) in out.into_iter().enumerate() {
        if f.rule != "addressed-to-ai" {
            if mentioned.contains(&i) {
                kept_mentioned.push(kept.len());
            }
            kept.push(f);
        }
    }
    finish(kept, Context::Describe, &kept_mentioned)
}

/// Findings in the `result` of a `tools/call`, secrets included.
pub fn scan_result(result: &Value) -> Vec<Finding> {
    let (mut out, mentioned) = scan_item_raw(result, Context::Result, &[]);
    // A vendor's documented sample key is not reported (it is still redacted from the history).
    for s in crate::secrets::scan(result).into_iter().filter(|s| !s.documented) {
        let len = result.pointer(&s.pointer).and_then(Value::as_str).map_or(0, str::len);
        out.push(Finding {
            kind: Kind::SecretInResult,
            severity: Severity::Flag,
            rule: s.kind,
            location: s.pointer,
            span: 0..len,
            evidence: format!("a {}", s.kind),
        });
    }
    finish(out, Context::Result, &mentioned)
}

fn scan_item(value: &Value, ctx: Context, siblings: &[&str]) -> Vec<Finding> {
    let (out, mentioned) = scan_item_raw(value, ctx, siblings);
    finish(out, ctx, &mentioned)
}

/// The findings of an item before escalation, and the indices of those that are mentioned
/// (quoted), not said.
fn scan_item_raw(value: &Value, ctx: Context, siblings: &[&str]) -> (Vec<Finding>, Vec<usize>) {
    let mut walker =
        Walker { out: Vec::new(), mentioned: Vec::new(), pointer: String::new(), siblings, ctx };
    walker.walk(value, None, 0, false);
    (walker.out, walker.mentioned)
}

struct Walker<'a> {
    out: Vec<Finding>,
    /// Indices in `out` of phrases mentioned (quoted), not said.
    mentioned: Vec<usize>,
    pointer: String,
    siblings: &'a [&'a str],
    ctx: Context,
}

impl Walker<'_> {
    fn walk(&mut self, v: &Value, key: Option<&str>, depth: usize, in_schema: bool) {
        if depth > if in_schema { MAX_SCHEMA_DEPTH } else { MAX_DEPTH } {
            return;
        }
        match v {
            Value::String(s) => {
                let ctx = match (self.ctx, key) {
                    (Context::Describe, Some("name" | "uri" | "uriTemplate")) if !in_schema => {
                        Context::Name
                    }
                    (ctx, _) => ctx,
                };
                scan_string(
                    s,
                    &self.pointer,
                    ctx,
                    self.siblings,
                    &mut self.out,
                    &mut self.mentioned,
                );
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = self.pointer.len();
                    let _ = write!(self.pointer, "/{i}");
                    self.walk(item, key, depth + 1, in_schema);
                    self.pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                let binary = map.contains_key("mimeType")
                    || map
                        .get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t == "image" || t == "audio");
                for (k, item) in map {
                    if SKIP_KEYS.contains(&k.as_str()) && !item.is_object() {
                        continue;
                    }
                    if binary && k == "data" {
                        continue;
                    }
                    let len = self.pointer.len();
                    self.pointer.push('/');
                    push_escaped(&mut self.pointer, k);
                    let schema = in_schema || k == "inputSchema" || k == "outputSchema";
                    if key == Some("properties") && in_schema {
                        // A property name is shown to the model too.
                        scan_string(
                            k,
                            &self.pointer,
                            Context::Name,
                            self.siblings,
                            &mut self.out,
                            &mut self.mentioned,
                        );
                        names::scan_parameter(k, item, &self.pointer, &mut self.out);
                    }
                    self.walk(item, Some(k), depth + 1, schema);
                    self.pointer.truncate(len);
                }
            }
            _ => {}
        }
    }
}

fn push_escaped(pointer: &mut String, key: &str) {
    for ch in key.chars() {
        match ch {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Hidden text and phrase rules in one string; the indices of phrases that are mentioned
/// (quoted), not said, are added to `mentioned`.
fn scan_string(
    s: &str,
    location: &str,
    ctx: Context,
    siblings: &[&str],
    out: &mut Vec<Finding>,
    mentioned: &mut Vec<usize>,
) {
    if s.is_empty() || out.len() >= MAX_FINDINGS * 4 {
        return;
    }
    let capped = floor(s, STRING_CAP);
    if capped.len() < s.len() {
        out.push(Finding {
            kind: Kind::ScanLimit,
            severity: if ctx == Context::Result { Severity::Info } else { Severity::Flag },
            rule: "string-too-long",
            location: location.to_owned(),
            span: capped.len()..s.len(),
            evidence: format!("{} bytes, scanned the first {}", s.len(), capped.len()),
        });
    }
    let before = out.len();
    // One pass finds the hidden text, for the findings and for the sanitized copy the phrase
    // rules read.
    let found = hidden::pieces(capped);
    hidden::scan(capped, &found, location, ctx, out);
    if ctx == Context::Name {
        return;
    }
    let mapped = hidden::sanitize_found(capped, found);
    let text = mapped.as_ref().map_or(capped, |(clean, _)| clean.as_str());
    // In results, rules that can only give Info matter when something else in the string is
    // suspicious (they may then escalate it); skipping them otherwise keeps large results fast.
    let mut found = rules::hits(
        text,
        ctx,
        if ctx == Context::Result { Severity::Flag } else { Severity::Info },
    );
    if ctx == Context::Result && (!found.is_empty() || out.len() > before) {
        found = rules::hits(text, ctx, Severity::Info);
    }
    // Look-alike letters, fullwidth forms, leetspeak and sentences written as identifiers are
    // read again folded to plain letters; what only the folded copy shows is added, with its
    // span in the original.
    if let Some((folded, map)) = fold::fold(text, ctx == Context::Describe) {
        // In results, as in their first pass, only the rules that can flag.
        let min = if ctx == Context::Result { Severity::Flag } else { Severity::Info };
        for mut hit in rules::hits(&folded, ctx, min) {
            hit.span = map[hit.span.start]..map[hit.span.end];
            let seen = found.iter().any(|h| {
                std::ptr::eq(h.rule, hit.rule)
                    && h.span.start < hit.span.end
                    && hit.span.start < h.span.end
            });
            if !seen && hit.span.start < hit.span.end {
                found.push(hit);
            }
        }
    }
    // Words a server spells out letter by letter in its own description (`s.e.n.d`) are read
    // joined; what only the joined copy shows is added, with its span in the original.
    if ctx == Context::Describe
        && let Some((joined, map)) = fold::join_spelled(text)
    {
        for mut hit in rules::hits(&joined, ctx, Severity::Info) {
            hit.span = map[hit.span.start]..map[hit.span.end];
            let seen = found.iter().any(|h| std::ptr::eq(h.rule, hit.rule));
            if !seen && hit.span.start < hit.span.end {
                found.push(hit);
            }
        }
    }
    // Text a server encodes in base64, percent-encoding or hex escapes in its own description
    // is read decoded; an encoded phrase the rules know is itself a directive (hidden from the
    // user, meant for the model).
    if ctx == Context::Describe {
        let encoded =
            fold::base64_runs(text).into_iter().map(|(run, prose)| (run, prose, "base64")).chain(
                fold::escaped_runs(text).into_iter().map(|(run, prose)| (run, prose, "escaped")),
            );
        for (run, prose, how) in encoded {
            let span = match &mapped {
                Some((_, map)) => hidden::map_back(map, run.clone()),
                None => run.clone(),
            };
            let hits = rules::hits(&prose, ctx, Severity::Info);
            if !hits.is_empty() {
                out.push(Finding {
                    kind: Kind::ModelDirective,
                    severity: Severity::Flag,
                    rule: if how == "base64" {
                        "base64-encoded-instructions"
                    } else {
                        "escaped-instructions"
                    },
                    location: location.to_owned(),
                    span: span.clone(),
                    evidence: format!("[{how}: {}]", excerpt(&prose, 160)),
                });
            }
            for hit in hits {
                let Some(severity) = hit.rule.describe else { continue };
                let span = span.clone();
                out.push(Finding {
                    kind: hit.rule.kind,
                    severity,
                    rule: hit.rule.name,
                    location: location.to_owned(),
                    span,
                    evidence: format!("[{how}: {}]", excerpt(&prose[hit.span], 160)),
                });
            }
        }
    }
    for hit in found {
        let rule = hit.rule;
        let Some(mut severity) = (if ctx == Context::Result { rule.result } else { rule.describe })
        else {
            continue;
        };
        if hit.tool.as_deref().is_some_and(|t| siblings.iter().any(|s| s.eq_ignore_ascii_case(t))) {
            severity = Severity::Info;
        }
        // A quoted phrase is mentioned, not said ("reports phrases like 'ignore previous
        // instructions'").
        if rule.kind != Kind::ForgedTurn && quoted(text, &hit.span) {
            severity = Severity::Info;
            mentioned.push(out.len());
        }
        let evidence = excerpt(&text[hit.span.clone()], 160);
        let span = match &mapped {
            Some((_, map)) => hidden::map_back(map, hit.span),
            None => hit.span,
        };
        out.push(Finding {
            kind: rule.kind,
            severity,
            rule: rule.name,
            location: location.to_owned(),
            span,
            evidence,
        });
    }
}

/// True when `span` of `text` sits between quotation marks: right between them, or inside a
/// quotation that the words before it present as an example ("text such as \"ignore previous
/// instructions and …\"").
fn quoted(text: &str, span: &Range<usize>) -> bool {
    let before = text[..span.start].chars().next_back();
    let after = text[span.end..].trim_start_matches(['.', ',', '!', '?']).chars().next();
    (matches!(before, Some('"' | '\'' | '`' | '“' | '‘' | '«'))
        && matches!(after, Some('"' | '\'' | '`' | '”' | '’' | '»')))
        || quoted_example(text, span)
}

/// `span` inside a quotation on its line (opened at most 120 bytes before, closed at most 200
/// after) that follows a word presenting an example: "such as", "like", "e.g.", "phrases".
fn quoted_example(text: &str, span: &Range<usize>) -> bool {
    let line = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let head = &text[floor(text, span.start.saturating_sub(120)).len().max(line)..span.start];
    let Some((at, open)) =
        head.char_indices().rev().find(|(_, c)| matches!(c, '"' | '“' | '«' | '`' | '‘' | '\''))
    else {
        return false;
    };
    let close = match open {
        '“' => '”',
        '«' => '»',
        '‘' => '’',
        c => c,
    };
    if head[at + open.len_utf8()..].contains(close) {
        return false;
    }
    let tail = &text[span.end..floor(text, span.end + 200).len().max(span.end)];
    if !tail.split('\n').next().unwrap_or("").contains(close) {
        return false;
    }
    let intro = head[..at].trim_end().to_ascii_lowercase();
    [
        "such as",
        "like",
        "e.g.",
        "e.g.,",
        "for example",
        "for example,",
        "for instance",
        "phrase",
        "phrases",
        "sentence",
        "text",
        "string",
        "strings",
        "pattern",
        "patterns",
        "wording",
        "words",
        "says",
        "reads",
        "containing",
        "contains",
        "quote",
        "quotes",
    ]
    .iter()
    .any(|w| {
        intro.strip_suffix(w).is_some_and(|rest| !rest.ends_with(|c: char| c.is_alphanumeric()))
    })
}

/// Escalation, de-duplication and the cap, for the findings of one item. The findings at the
/// indices `mentioned` (phrases quoted, not said) are kept as they are and escalate nothing.
fn finish(out: Vec<Finding>, ctx: Context, mentioned: &[usize]) -> Vec<Finding> {
    let (mut out, quotes): (Vec<Finding>, Vec<Finding>) = if mentioned.is_empty() {
        (out, Vec::new())
    } else {
        let (said, quoted): (Vec<_>, Vec<_>) =
            out.into_iter().enumerate().partition(|(i, _)| !mentioned.contains(i));
        (said.into_iter().map(|(_, f)| f).collect(), quoted.into_iter().map(|(_, f)| f).collect())
    };
    let directive = out.iter().any(|f| f.kind.is_directive() || f.rule == "unicode-tag-characters");
    let payload = out.iter().any(|f| f.kind.is_payload());
    let credential = out.iter().any(|f| f.kind == Kind::CredentialAccess);
    let exfiltration = out.iter().any(|f| f.kind == Kind::Exfiltration);
    // An instruction about another tool that also sends data out (a shadowing tool adding a
    // hidden recipient to another server's e-mail tool), both suspicious on their own.
    let flagged = |kind: Kind| out.iter().any(|f| f.kind == kind && f.severity >= Severity::Flag);
    // An instruction about another tool that also sends data out or reaches for a credential
    // (a shadowing tool adding a hidden recipient to another server's e-mail tool, or the
    // repository's `.env` to another tool's pull requests), both suspicious on their own.
    let shadow_exfil = flagged(Kind::CrossToolInstruction)
        && (flagged(Kind::Exfiltration) || flagged(Kind::CredentialAccess));
    // The conversation asked for and sent to an address.
    let context_exfil = flagged(Kind::ContextHarvest) && flagged(Kind::Exfiltration);
    // Text pushed out of view by padding or terminal escapes that carries a payload: the hiding
    // is a directive's concealment.
    let hidden = out.iter().any(|f| {
        matches!(f.kind, Kind::WhitespacePadding | Kind::AnsiEscape) && f.severity >= Severity::Flag
    });
    // Directives of two different rules in what a server says about itself (an override tag and
    // an order to ignore the user, a priority claim and a policy set aside): a definition that
    // stacks them is written to steer the model, not to describe a tool.
    let stacked = ctx == Context::Describe && {
        let mut rules = out
            .iter()
            .filter(|f| f.kind.is_directive() && f.severity >= Severity::Flag)
            .map(|f| f.rule);
        rules.next().is_some_and(|first| rules.any(|r| r != first))
    };
    for f in &mut out {
        if (directive && payload && (f.kind.is_directive() || f.kind.is_payload()))
            || (stacked && f.kind.is_directive() && f.severity >= Severity::Flag)
            || (hidden && f.severity >= Severity::Flag && f.kind.is_payload())
            || (credential
                && exfiltration
                && matches!(f.kind, Kind::CredentialAccess | Kind::Exfiltration))
            || (shadow_exfil
                && f.severity >= Severity::Flag
                && matches!(
                    f.kind,
                    Kind::CrossToolInstruction | Kind::Exfiltration | Kind::CredentialAccess
                ))
            || (context_exfil
                && f.severity >= Severity::Flag
                && matches!(f.kind, Kind::ContextHarvest | Kind::Exfiltration))
            // A send to an address in a schema's value or label (an enum value, a default, a
            // title): no value or label of an honest schema sends anything anywhere.
            || (f.kind == Kind::Exfiltration
                && f.severity >= Severity::Flag
                && f.location.starts_with("/inputSchema/")
                && (f.location.contains("/enum/")
                    || f.location.ends_with("/default")
                    || f.location.ends_with("/title")
                    || f.location.ends_with("/const")))
            // A credential read in an input schema: the value goes to the server itself.
            || (f.kind == Kind::CredentialAccess
                && f.severity >= Severity::Flag
                && f.location.starts_with("/inputSchema/"))
        {
            f.severity = Severity::Block;
        }
    }
    out.extend(quotes);
    // Overlapping findings of one kind in one string: keep the most severe.
    out.sort_by(|a, b| {
        (b.kind == Kind::ScanLimit)
            .cmp(&(a.kind == Kind::ScanLimit))
            .then(b.severity.cmp(&a.severity))
            .then(a.location.cmp(&b.location))
            .then(a.span.start.cmp(&b.span.start))
    });
    let mut kept: Vec<Finding> = Vec::with_capacity(out.len().min(MAX_FINDINGS));
    for f in out {
        let dup = kept.iter().any(|k| {
            k.kind == f.kind
                && k.location == f.location
                && k.span.start < f.span.end.max(f.span.start + 1)
                && f.span.start < k.span.end.max(k.span.start + 1)
        });
        if !dup {
            kept.push(f);
            if kept.len() == MAX_FINDINGS {
                break;
            }
        }
    }
    kept.sort_by(|a, b| a.location.cmp(&b.location).then(a.span.start.cmp(&b.span.start)));
    kept
}

/// At most `max` characters of `s`, with invisible and control characters written as
/// `\u{…}` escapes, so an excerpt can be shown on a terminal or a web page as is.
fn excerpt(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c == '\n' {
            out.push_str("\\n");
        } else if c.is_control() || hidden_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// True for the invisible and format characters the scanner knows.
fn hidden_char(c: char) -> bool {
    hidden::is_invisible(c)
}

/// `text` with hidden text removed or made visible: terminal escapes and control characters
/// (other than tab and line breaks; a bare carriage return becomes a line break) removed,
/// tag characters and encoded variation selectors replaced by `[hidden: <decoded text>]`,
/// zero-width, format and bidi controls removed (except where the scanner deems them
/// legitimate), padding collapsed to one space or one blank line. Borrowed when there is
/// nothing to change.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    let Some((mut clean, _)) = hidden::sanitize_mapped(text) else {
        return Cow::Borrowed(text);
    };
    // Removing hidden characters can join what they kept apart: two short runs of spaces
    // around a bidi control become one long run (padding) once it is gone. So sanitize again
    // until nothing changes; removal never creates new hidden characters, so this ends fast
    // (the bound is only a guard).
    for _ in 0..8 {
        match hidden::sanitize_mapped(&clean) {
            Some((again, _)) => clean = again,
            None => break,
        }
    }
    Cow::Owned(clean)
}

/// [`sanitize`]s every string of `value` in place (object keys too); true if anything changed.
pub fn sanitize_value(value: &mut Value) -> bool {
    fn go(v: &mut Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match v {
            Value::String(s) => {
                if let Cow::Owned(clean) = sanitize(s) {
                    *s = clean;
                    true
                } else {
                    false
                }
            }
            Value::Array(items) => {
                items.iter_mut().fold(false, |changed, item| go(item, depth + 1) | changed)
            }
            Value::Object(map) => {
                let dirty: Vec<String> =
                    map.keys().filter(|k| matches!(sanitize(k), Cow::Owned(_))).cloned().collect();
                let mut changed = !dirty.is_empty();
                for k in dirty {
                    if let Some(item) = map.remove(&k) {
                        map.insert(sanitize(&k).into_owned(), item);
                    }
                }
                for item in map.values_mut() {
                    changed |= go(item, depth + 1);
                }
                changed
            }
            _ => false,
        }
    }
    go(value, 0)
}

/// The pin of a tool definition: the hex SHA-256 of its canonical JSON (object keys sorted,
/// no whitespace), so the same definition with keys in another order has the same digest and
/// any change to a name, description or schema changes it (rug-pull detection).
pub fn tool_digest(tool: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(tool, &mut canonical, 0);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(v: &Value, out: &mut String, depth: usize) {
    if depth > 128 {
        out.push_str("null");
        return;
    }
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out, depth + 1);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out, depth + 1);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// How alike two tool definitions are apart from their names, from 0 (nothing shared) to 1
/// (the same words in descriptions, titles and schema): the Jaccard index of their sets of
/// lowercase words and input property names.
pub fn similarity(a_tool: &Value, b_tool: &Value) -> f64 {
    let (a, b) = (content_words(a_tool), content_words(b_tool));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.intersection(&b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// True when `b_tool` looks like `a_tool` removed and added again under another name: the
/// names differ and the rest is the same or nearly ([`similarity`] ≥ 0.85 over at least five
/// words).
pub fn renamed_copy(a_tool: &Value, b_tool: &Value) -> bool {
    let name = |t: &Value| t.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
    if name(a_tool) == name(b_tool) {
        return false;
    }
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(map) = t.as_object_mut() {
            map.remove("name");
        }
        tool_digest(&t)
    };
    if strip(a_tool) == strip(b_tool) {
        return true;
    }
    let words = content_words(a_tool).len().min(content_words(b_tool).len());
    words >= 5 && similarity(a_tool, b_tool) >= 0.85
}

fn content_words(tool: &Value) -> std::collections::BTreeSet<String> {
    fn go(
        v: &Value,
        key: Option<&str>,
        depth: usize,
        out: &mut std::collections::BTreeSet<String>,
    ) {
        if depth > MAX_SCHEMA_DEPTH || out.len() > 10_000 {
            return;
        }
        match v {
            Value::String(s) if key != Some("name") || depth > 1 => {
                for w in floor(s, 64 * 1024)
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    out.insert(w.to_lowercase());
                }
            }
            Value::Array(items) => items.iter().for_each(|i| go(i, key, depth + 1, out)),
            Value::Object(map) => {
                for (k, item) in map {
                    if key == Some("properties") {
                        out.insert(format!("property:{k}"));
                    }
                    go(item, Some(k), depth + 1, out);
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    go(tool, None, 0, &mut out);
    out
}

#[cfg(test)]
mod tests;
