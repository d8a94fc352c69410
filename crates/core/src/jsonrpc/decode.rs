//! A borrowed, validated view of one JSON-RPC 2.0 message (or batch).
//!
//! The view is computed from the raw line and never re-serialised: forwarding uses the original
//! bytes. Fields other than the envelope are left as raw JSON for later stages to parse on demand.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A request id exactly as it was written on the wire (`7`, `"abc"`), so that the reply can
/// carry the same bytes and correlation never confuses `7` with `"7"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id(Box<str>);

impl Id {
    /// Accepts the raw JSON of a valid id: a string or an integer-like number.
    pub fn from_raw(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let valid = match raw.as_bytes().first()? {
            b'"' => raw.len() >= 2 && raw.ends_with('"'),
            b'-' | b'0'..=b'9' => raw.bytes().all(|b| b.is_ascii_digit() || b"-+.eE".contains(&b)),
            _ => false,
        };
        valid.then(|| Self(raw.into()))
    }

    /// The id's JSON text.
    pub fn as_raw(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One JSON-RPC message, borrowing from the line it was read from.
#[derive(Debug)]
pub enum Message<'a> {
    /// A call that expects a response with the same id.
    Request { id: Id, method: Cow<'a, str>, params: Option<&'a RawValue> },
    /// A one-way message.
    Notification { method: Cow<'a, str>, params: Option<&'a RawValue> },
    /// The answer to a request. `id` is `None` only for an error about an unreadable request.
    Response { id: Option<Id>, result: Option<&'a RawValue>, error: Option<&'a RawValue> },
}

impl Message<'_> {
    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request { method, .. } | Message::Notification { method, .. } => Some(method),
            Message::Response { .. } => None,
        }
    }

    /// The id of a request or response.
    pub fn id(&self) -> Option<&Id> {
        match self {
            Message::Request { id, .. } => Some(id),
            Message::Response { id, .. } => id.as_ref(),
            Message::Notification { .. } => None,
        }
    }
}

/// A decoded line: one message, or a JSON-RPC batch (protocol 2025-03-26 only, still relayed).
#[derive(Debug)]
pub enum Decoded<'a> {
    Single(Message<'a>),
    Batch(Vec<Message<'a>>),
}

/// Why a line is not a valid JSON-RPC message. Each maps to the JSON-RPC error the sender gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the message is not valid UTF-8 (byte {valid_up_to} is not)")]
    InvalidUtf8 { valid_up_to: usize, id: Option<Id> },
    #[error("the message is not valid JSON: {detail}")]
    Parse { detail: String },
    #[error("a JSON-RPC message must be an object or a batch of objects")]
    NotAnObject,
    #[error("an empty batch is not a valid JSON-RPC message")]
    EmptyBatch,
    #[error("the message nests deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("invalid JSON-RPC message: {reason}")]
    Invalid { reason: String, id: Option<Id> },
}

impl DecodeError {
    /// The id of the offending request, when it could be read.
    pub fn id(&self) -> Option<&Id> {
        match self {
            DecodeError::InvalidUtf8 { id, .. } | DecodeError::Invalid { id, .. } => id.as_ref(),
            _ => None,
        }
    }
}

/// The envelope fields, borrowed; every other member is skipped (but still syntax-checked).
/// Duplicate envelope keys are rejected by serde, which closes a parser-differential trick.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// `Some(raw)` whenever the key is present, including `"id": null` (which `Option` would hide).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The deepest nesting of arrays and objects accepted. Real MCP messages (JSON Schemas included)
/// stay far below it; later stages parse members with serde_json, whose limit is the same.
pub const MAX_DEPTH: usize = 128;

/// Decodes one line. The bytes are not modified; the result borrows from them.
pub fn decode(line: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    // serde_json skips unknown members without a depth limit, so check nesting first.
    if nesting_depth_exceeds(line, MAX_DEPTH) {
        return Err(DecodeError::TooDeep { max: MAX_DEPTH });
    }
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(e) => {
            // Tell the sender which request it was if the rest of the line is readable.
            let lossy = String::from_utf8_lossy(line);
            let id = serde_json::from_str::<Envelope>(&lossy)
                .ok()
                .and_then(|env| env.id.and_then(|raw| Id::from_raw(raw.get())));
            return Err(DecodeError::InvalidUtf8 { valid_up_to: e.valid_up_to(), id });
        }
    };
    match text.trim_start().as_bytes().first() {
        Some(b'{') => parse_object(text).map(Decoded::Single),
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(json_error)?;
            if items.is_empty() {
                return Err(DecodeError::EmptyBatch);
            }
            let mut messages = Vec::with_capacity(items.len());
            for item in items {
                if !item.get().starts_with('{') {
                    return Err(DecodeError::NotAnObject);
                }
                messages.push(parse_object(item.get())?);
            }
            Ok(Decoded::Batch(messages))
        }
        _ => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => Err(DecodeError::NotAnObject),
            Err(e) => Err(json_error(e)),
        },
    }
}

/// True when brackets nest deeper than `max` (outside strings). One pass, no allocation.
fn nesting_depth_exceeds(line: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while i < line.len() {
        // Jump to the next byte that can change the depth or open a string.
        let Some(offset) =
            line[i..].iter().position(|b| matches!(b, b'"' | b'[' | b'{' | b']' | b'}'))
        else {
            return false;
        };
        i += offset;
        match line[i] {
            b'"' => {
                // Skip the string: find the closing quote that is not escaped.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &line[i..]) {
                        None => return false,
                        // An escape skips the next byte; a line may end right after the
                        // backslash (a truncated string), so never step past the end.
                        Some(j) if line[i + j] == b'\\' => i = (i + j + 2).min(line.len()),
                        Some(j) => {
                            i += j;
                            break;
                        }
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            _ => depth = depth.saturating_sub(1),
        }
        i += 1;
    }
    false
}

fn json_error(e: serde_json::Error) -> DecodeError {
    if e.is_data() {
        DecodeError::Invalid { reason: e.to_string(), id: None }
    } else {
        DecodeError::Parse { detail: e.to_string() }
    }
}

fn parse_object(text: &str) -> Result<Message<'_>, DecodeError> {
    let env: Envelope = serde_json::from_str(text).map_err(json_error)?;
    let raw_id = env.id.map(RawValue::get);
    let id = raw_id.and_then(Id::from_raw);
    let invalid = |reason: &str| DecodeError::Invalid { reason: reason.into(), id: id.clone() };
    if env.jsonrpc.as_deref() != Some("2.0") {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    if raw_id.is_some() && id.is_none() && raw_id != Some("null") {
        return Err(invalid("\"id\" must be a string or a number"));
    }
    match env.method {
        Some(method) => {
            if env.result.is_some() || env.error.is_some() {
                return Err(invalid("a request cannot carry \"result\" or \"error\""));
            }
            if env.params.is_some_and(|p| !p.get().starts_with(['{', '['])) {
                return Err(invalid("\"params\" must be an object or an array"));
            }
            match (raw_id, id.clone()) {
                (None, _) => Ok(Message::Notification { method, params: env.params }),
                (Some(_), Some(id)) => Ok(Message::Request { id, method, params: env.params }),
                (Some(_), None) => Err(invalid("a request's \"id\" cannot be null")),
            }
        }
        None => {
            if raw_id.is_none() {
                return Err(invalid("a message needs a \"method\" or an \"id\""));
            }
            match (env.result, env.error) {
                (Some(_), Some(_)) => Err(invalid("a response cannot carry both result and error")),
                (None, None) => Err(invalid("a response needs \"result\" or \"error\"")),
                (Some(_), None) if id.is_none() => Err(invalid("a result needs an id")),
                (result, error) => Ok(Message::Response { id, result, error }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(line: &str) -> Message<'_> {
        match decode(line.as_bytes()).unwrap() {
            Decoded::Single(m) => m,
            Decoded::Batch(_) => panic!("expected one message"),
        }
    }

    /// Found by fuzzing: a line that ends inside a string right after a backslash made the
    /// depth check step past the end and panic (which ended the relay thread).
    #[test]
    fn a_line_ending_in_an_escape_is_a_parse_error_not_a_panic() {
        let lines: [&[u8]; 4] =
            [br#"{"a":"\"#, br#"{"jsonrpc":"2.0","id":1,"x":"\\\"#, br#""\"#, br#""\\\"#];
        for line in lines {
            assert!(matches!(decode(line), Err(DecodeError::Parse { .. })), "{line:?}");
        }
    }

    #[test]
    fn classifies_each_kind() {
        let req = single(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
        assert!(
            matches!(&req, Message::Request { id, method, .. } if id.as_raw() == "1" && method == "tools/list")
        );
        let note = single(r#"{"method":"notifications/initialized","jsonrpc":"2.0"}"#);
        assert!(matches!(note, Message::Notification { .. }));
        let resp = single(r#"{"result":{},"jsonrpc":"2.0","id":"s-1"}"#);
        assert_eq!(resp.id().unwrap().as_raw(), "\"s-1\"");
        let err = single(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#);
        assert!(matches!(err, Message::Response { id: None, error: Some(_), .. }));
    }

    #[test]
    fn method_with_escapes_is_unescaped() {
        let m = single(r#"{"jsonrpc":"2.0","id":1,"method":"tools\/call"}"#);
        assert_eq!(m.method(), Some("tools/call"));
    }

    #[test]
    fn batches_decode_member_by_member() {
        let line = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]"#;
        match decode(line.as_bytes()).unwrap() {
            Decoded::Batch(items) => assert_eq!(items.len(), 2),
            Decoded::Single(_) => panic!("expected a batch"),
        }
        assert_eq!(decode(b"[]").unwrap_err(), DecodeError::EmptyBatch);
        assert_eq!(decode(b"[1]").unwrap_err(), DecodeError::NotAnObject);
    }

    #[test]
    fn rejects_each_malformed_shape_with_the_id_when_known() {
        let cases: &[(&[u8], &str, Option<&str>)] = &[
            (b"{not json", "Parse", None),
            (b"42", "NotAnObject", None),
            (b"\"str\"", "NotAnObject", None),
            (b"null", "NotAnObject", None),
            (br#"{"id":3,"method":"x"}"#, "Invalid", Some("3")),
            (br#"{"jsonrpc":"1.0","id":3,"method":"x"}"#, "Invalid", Some("3")),
            (br#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#, "Invalid", None),
            (br#"{"jsonrpc":"2.0","id":null,"method":"x"}"#, "Invalid", None),
            (br#"{"jsonrpc":"2.0","id":4,"method":"x","result":1}"#, "Invalid", Some("4")),
            (br#"{"jsonrpc":"2.0","id":4,"method":7}"#, "Invalid", None),
            (br#"{"jsonrpc":"2.0","id":5,"method":"x","params":3}"#, "Invalid", Some("5")),
            (br#"{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}"#, "Invalid", None),
            (br#"{"jsonrpc":"2.0"}"#, "Invalid", None),
            (b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"a\xff\"}", "InvalidUtf8", Some("9")),
        ];
        for (line, kind, id) in cases {
            let err = decode(line).expect_err(&String::from_utf8_lossy(line));
            assert!(
                format!("{err:?}").starts_with(kind),
                "{err:?} for {}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(err.id().map(Id::as_raw), *id, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 100_000;
        let mut line = String::from(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"#);
        line.push_str(&"[".repeat(depth));
        line.push_str(&"]".repeat(depth));
        line.push_str("}}");
        assert_eq!(decode(line.as_bytes()).unwrap_err(), DecodeError::TooDeep { max: MAX_DEPTH });
        // Brackets inside strings do not count.
        let text = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"s":"{}\"[{{"}}}}"#,
            "[{".repeat(500)
        );
        assert!(decode(text.as_bytes()).is_ok());
        let ok = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"a":{}{}}}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(decode(ok.as_bytes()).is_ok());
    }
}
