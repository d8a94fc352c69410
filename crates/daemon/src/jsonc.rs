//! A small JSON-with-comments parser that keeps every value's byte span.
//!
//! The MCP clients' configuration files are edited in place by `mcpfw install`: only the bytes
//! of the entries it changes are replaced, so comments, key order, indentation and unknown keys
//! stay exactly as the user (or the client) wrote them, and `mcpfw uninstall` can put the
//! original bytes back. That needs the byte range of each key and value, which a serialising
//! parser (serde_json) does not give. VS Code's `mcp.json` is JSON with comments (`//`,
//! `/* */`) and trailing commas; those are accepted in every file, since reading leniently
//! costs nothing and nothing here writes a comment.
//!
//! Errors carry the line and column (1-based, in characters) of the offending byte. Nesting is
//! capped at [`MAX_DEPTH`] so that hostile input cannot overflow the stack.

use std::ops::Range;

/// The deepest nesting accepted.
pub const MAX_DEPTH: usize = 128;

/// A parsed value and the bytes it spans in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Object(Vec<Member>),
    Array(Vec<Node>),
    String(String),
    Number,
    Bool(bool),
    Null,
}

/// One `"key": value` of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

/// Why a text is not JSON (with comments), and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Node {
    /// The member `key` of an object (the last one, as JSON parsers read duplicates).
    pub fn member(&self, key: &str) -> Option<&Member> {
        match &self.kind {
            Kind::Object(members) => members.iter().rev().find(|m| m.key == key),
            _ => None,
        }
    }

    /// The value of member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.member(key).map(|m| &m.value)
    }

    /// The value at a path of object keys.
    pub fn at<S: AsRef<str>>(&self, path: &[S]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key.as_ref()))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn members(&self) -> &[Member] {
        match &self.kind {
            Kind::Object(members) => members,
            _ => &[],
        }
    }

    /// This node as a `serde_json::Value` (numbers read from `source`, the text it was parsed
    /// from).
    pub fn to_value(&self, source: &str) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Object(members) => Value::Object(
                members.iter().map(|m| (m.key.clone(), m.value.to_value(source))).collect(),
            ),
            Kind::Array(items) => Value::Array(items.iter().map(|i| i.to_value(source)).collect()),
            Kind::String(s) => Value::String(s.clone()),
            Kind::Number => source
                .get(self.span.clone())
                .and_then(|n| serde_json::from_str(n).ok())
                .unwrap_or(Value::Null),
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Null => Value::Null,
        }
    }
}

/// Whether two JSON values are the same value: objects compared by their members whatever
/// their order, numbers by what they mean (`1`, `1.0` and `1e0` are the same number), so that a
/// file re-serialized by its program (re-indented, keys reordered, escapes changed) still holds
/// the same entries.
pub fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same_value(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same_value(v, w))
        }
        (Value::Number(a), Value::Number(b)) => {
            a == b || (a.as_f64().is_some() && a.as_f64() == b.as_f64())
        }
        _ => a == b,
    }
}

/// The value of a text that holds one JSON (with comments) value, or `None` when it does not
/// parse.
pub fn value_of(text: &str) -> Option<serde_json::Value> {
    parse(text).ok().map(|node| node.to_value(text))
}

/// Line and column (1-based; the column counts characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Parses a whole document: one value, surrounded only by whitespace and comments (a UTF-8
/// byte order mark is skipped).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut parser = Parser { text, bytes: text.as_bytes(), pos: start };
    parser.skip_trivia()?;
    let node = parser.value(0)?;
    parser.skip_trivia()?;
    if parser.pos < parser.bytes.len() {
        return Err(parser.error_at(parser.pos, "unexpected text after the end of the document"));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error_at(&self, offset: usize, message: impl Into<String>) -> SyntaxError {
        let (line, column) = line_column(self.text, offset);
        SyntaxError { line, column, message: message.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') => match self.bytes.get(self.pos + 1) {
                    Some(b'/') => {
                        while self.peek().is_some_and(|b| b != b'\n') {
                            self.pos += 1;
                        }
                    }
                    Some(b'*') => {
                        let open = self.pos;
                        match self.text[self.pos + 2..].find("*/") {
                            Some(end) => self.pos += 2 + end + 2,
                            None => return Err(self.error_at(open, "unterminated comment")),
                        }
                    }
                    _ => return Err(self.error_at(self.pos, "unexpected `/`")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(self.error_at(self.pos, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let start = self.pos;
        let kind = match self.peek() {
            None => {
                return Err(self.error_at(start, "unexpected end of the file: a value is missing"));
            }
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => {
                let rest = &self.bytes[start..];
                let (kind, len) = if rest.starts_with(b"true") {
                    (Kind::Bool(true), 4)
                } else if rest.starts_with(b"false") {
                    (Kind::Bool(false), 5)
                } else if rest.starts_with(b"null") {
                    (Kind::Null, 4)
                } else {
                    return Err(
                        self.error_at(start, format!("expected a value, found {}", self.found()))
                    );
                };
                self.pos += len;
                kind
            }
        };
        Ok(Node { span: start..self.pos, kind })
    }

    /// The character at the current position, for messages.
    fn found(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) if c.is_control() => format!("{:?}", c),
            Some(c) => format!("`{c}`"),
            None => "the end of the file".to_owned(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Kind::Object(members));
                }
                Some(b'"') => {}
                None => {
                    return Err(self.error_at(open, "this object is never closed (missing `}`)"));
                }
                Some(_) => {
                    return Err(self.error_at(
                        self.pos,
                        format!("expected a key in double quotes or `}}`, found {}", self.found()),
                    ));
                }
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = key_start..self.pos;
            self.skip_trivia()?;
            if self.peek() != Some(b':') {
                return Err(self.error_at(
                    self.pos,
                    format!("expected `:` after the key, found {}", self.found()),
                ));
            }
            self.pos += 1;
            self.skip_trivia()?;
            let value = self.value(depth + 1)?;
            members.push(Member { key, key_span, value });
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                None => {
                    return Err(self.error_at(open, "this object is never closed (missing `}`)"));
                }
                Some(_) => {
                    return Err(self.error_at(
                        self.pos,
                        format!("expected `,` or `}}`, found {} (a missing comma?)", self.found()),
                    ));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Kind::Array(items));
                }
                None => return Err(self.error_at(open, "this array is never closed (missing `]`)")),
                Some(_) => {}
            }
            items.push(self.value(depth + 1)?);
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                None => return Err(self.error_at(open, "this array is never closed (missing `]`)")),
                Some(_) => {
                    return Err(self.error_at(
                        self.pos,
                        format!("expected `,` or `]`, found {} (a missing comma?)", self.found()),
                    ));
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // The run ends at an ASCII byte, so it is whole characters.
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escape = self.pos;
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let unit = self.hex4(escape)?;
                            let c = if (0xD800..0xDC00).contains(&unit)
                                && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
                            {
                                self.pos += 2;
                                let low = self.hex4(escape)?;
                                let code = 0x10000
                                    + ((unit - 0xD800) << 10)
                                    + (low.wrapping_sub(0xDC00) & 0x3FF);
                                char::from_u32(code)
                            } else {
                                char::from_u32(unit)
                            };
                            out.push(c.unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        _ => return Err(self.error_at(escape, "invalid escape in a string")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                None => {
                    return Err(self.error_at(open, "this string is never closed (missing `\"`)"));
                }
                Some(_) => {
                    return Err(self.error_at(
                        self.pos,
                        "a control character (e.g. a line break) inside a string",
                    ));
                }
            }
        }
    }

    fn hex4(&mut self, escape: usize) -> Result<u32, SyntaxError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                self.error_at(escape, "invalid \\u escape (four hex digits expected)")
            })?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error_at(escape, "invalid \\u escape"))
    }

    fn number(&mut self) -> Result<Kind, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos > s
        };
        if !digits(self) {
            return Err(self.error_at(start, "invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error_at(start, "invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error_at(start, "invalid number"));
            }
        }
        Ok(Kind::Number)
    }
}

/// A configuration file's text is not JSON (or TOML, or YAML): the file, line and column say where.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}; the file was left untouched, fix it and try again", file = .file.display(), line = .error.line, column = .error.column, message = .error.message)]
pub struct MalformedConfig {
    pub file: std::path::PathBuf,
    pub error: SyntaxError,
}

/// Why one entry of a client's file is left as it is, said in that entry's note (`left
/// unprotected: …`, `not pinned: …`); the file's other entries are still edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("it has no command")]
    NoCommand,
    #[error("its command is not a string")]
    CommandNotString,
    #[error("its command is empty")]
    EmptyCommand,
    #[error("its args are not a list of strings")]
    ArgsNotStrings,
    #[error("the entry's args changed while it was edited")]
    ArgsChanged,
    #[error("its address is not a string")]
    AddressNotString,
    #[error("its address uses variables only the client can expand")]
    AddressHasVariables,
    #[error("its http_headers are not a table")]
    HeadersNotTable,
    #[error("its headers are not an object")]
    HeadersNotObject,
    #[error("it is not a table")]
    NotATable,
    #[error("the path of mcpfw is not UTF-8")]
    ProgramNotUtf8,
    #[error("it was edited since mcpfw install wrote it")]
    EditedSinceInstall,
    #[error("the package is not in the entry's args")]
    PackageNotInArgs,
    #[error("no HTTP proxy to route it through")]
    NoProxy,
    #[error("the package is not an item of the entry's args of its own")]
    PackageNotOwnArg,
    #[error("its layout is not one MCP Firewall can edit safely (edit it by hand)")]
    UnsafeLayout,
    #[error("its address {0:?} is not an http(s) URL")]
    NotHttp(String),
    /// `{0}` launches packages install does not pin.
    #[error("{0} specs are not pinned by install")]
    LauncherNotPinned(String),
    /// The client does not take remote entries from this file, or they are not routed yet.
    #[error("{0}")]
    RemoteNotRouted(&'static str),
    /// The proxy's registry refused the route (the whole chain of causes).
    #[error("the HTTP proxy refused the route: {0}")]
    RouteRefused(String),
    /// The entry's text is not JSON.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// The version a package runs now cannot be told (see `install::Pinner`).
    #[error("{0}")]
    Version(String),
}

/// `text` with each span replaced (spans do not overlap).
pub(crate) fn apply(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(span, _)| span.start);
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|(_, t)| t.len()).sum::<usize>());
    let mut at = 0;
    for (span, replacement) in edits {
        if span.start < at || span.end > text.len() {
            continue; // overlapping: never produced by the callers, never a panic
        }
        out.push_str(&text[at..span.start]);
        out.push_str(&replacement);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_exactly_each_key_and_value_with_comments_around() {
        let text = "// servers\n{\n  \"servers\": { /* one */ \"a\": {\"command\": \"x\\\"y\", \"n\": -1.5e3,},\n  },\n}\n";
        let doc = parse(text).unwrap();
        let a = doc.at(&["servers", "a"]).unwrap();
        assert_eq!(&text[a.span.clone()], "{\"command\": \"x\\\"y\", \"n\": -1.5e3,}");
        let command = a.member("command").unwrap();
        assert_eq!(&text[command.key_span.clone()], "\"command\"");
        assert_eq!(command.value.as_str(), Some("x\"y"));
        assert_eq!(a.to_value(text)["n"], serde_json::json!(-1500.0));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3), "{e}");
        assert!(e.message.contains("missing comma"), "{e}");
        let e = parse("{\"a\": [1, 2}").unwrap_err();
        assert_eq!((e.line, e.column), (1, 12), "{e}");
        assert!(parse("{\"a\": \"é\u{1}\"}").unwrap_err().message.contains("control character"));
        assert!(parse("").is_err());
        assert!(parse("{} x").is_err());
        assert!(parse("/* open").is_err());
        assert!(parse("\"\\u12").is_err());
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
    }

    #[test]
    fn no_cut_or_damaged_document_makes_it_panic() {
        let text = "\u{feff}// c\n{\"a\": [1, -2.5e+3, true, false, null, \"\\u00e9\\ud83d\\ude00\\n\"],\n /* b */ \"é\": {\"x\": {},},}";
        assert!(parse(text).is_ok());
        let boundaries = (0..=text.len()).filter(|i| text.is_char_boundary(*i));
        for cut in boundaries {
            let _ = parse(&text[..cut]);
            for junk in ["\"", "\\", "/", "*", "{", "]", ",", "\u{1}", "é"] {
                let mut damaged = text.to_owned();
                damaged.insert_str(cut, junk);
                if let Err(e) = parse(&damaged) {
                    assert!(e.line >= 1 && e.column >= 1);
                }
            }
        }
    }

    #[test]
    fn strings_decode_escapes_and_surrogate_pairs() {
        let doc = parse(r#"["\ud83d\ude00 \u00e9\n", "\ud800"]"#).unwrap();
        let Kind::Array(items) = &doc.kind else { panic!() };
        assert_eq!(items[0].as_str(), Some("😀 é\n"));
        assert_eq!(items[1].as_str(), Some("\u{FFFD}"));
    }
}
