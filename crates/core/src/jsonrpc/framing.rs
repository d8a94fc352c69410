//! Splits a byte stream into lines with a hard size limit.
//!
//! A line longer than the limit is not buffered: its bytes are skipped until the next newline,
//! keeping only a short head and tail so that the request id can often still be recovered and the
//! sender told which request was refused.

use std::io::{self, BufRead, BufReader, Read};

use super::decode::Id;

/// How much of the start and end of an oversized line is kept to recover its id.
const KEEP: usize = 512;

/// A line buffer larger than this is released when no more input is waiting.
const RELEASE_ABOVE: usize = 256 * 1024;

/// One line read from a stream, without its `\n`.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole line within the size limit.
    Line(&'a [u8]),
    /// A line over the limit: it was skipped, and only its length and edges are known.
    Oversized {
        /// Total length of the line in bytes, without the newline.
        len: u64,
        /// The first bytes of the line.
        head: Vec<u8>,
        /// The last bytes of the line.
        tail: Vec<u8>,
    },
}

/// Reads newline-delimited frames of at most `limit` bytes from any reader.
pub struct LineReader<R> {
    inner: BufReader<R>,
    line: Vec<u8>,
    limit: usize,
}

impl<R: Read> LineReader<R> {
    /// Wraps `reader`; lines longer than `limit` bytes are reported as [`Frame::Oversized`].
    pub fn new(reader: R, limit: usize) -> Self {
        Self { inner: BufReader::with_capacity(64 * 1024, reader), line: Vec::new(), limit }
    }

    /// True when more input is already buffered, so a writer may delay its flush.
    pub fn has_buffered(&self) -> bool {
        !self.inner.buffer().is_empty()
    }

    /// The next frame, or `None` at end of input. A last line without a newline counts as a line.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        self.line.clear();
        // A large line's buffer is kept while more input waits (a run of large results reuses
        // it), and released when the stream goes quiet: twenty idle servers should not each
        // hold the largest message they ever sent.
        if self.line.capacity() > RELEASE_ABOVE && self.inner.buffer().is_empty() {
            self.line = Vec::new();
        }
        // Bytes of the current line seen so far, including those skipped when oversized.
        let mut len: u64 = 0;
        let mut oversized: Option<(Vec<u8>, Vec<u8>)> = None;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if len == 0 {
                    return Ok(None);
                }
                break;
            }
            let (chunk, found_newline) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            len += chunk.len() as u64;
            match &mut oversized {
                None if self.line.len() + chunk.len() <= self.limit => {
                    self.line.extend_from_slice(chunk)
                }
                None => {
                    let mut head = std::mem::take(&mut self.line);
                    head.extend_from_slice(&chunk[..chunk.len().min(KEEP)]);
                    head.truncate(KEEP);
                    let mut tail = Vec::with_capacity(KEEP);
                    keep_tail(&mut tail, chunk);
                    oversized = Some((head, tail));
                    self.line = Vec::new(); // release the large buffer
                }
                Some((_, tail)) => keep_tail(tail, chunk),
            }
            let used = chunk.len() + usize::from(found_newline);
            self.inner.consume(used);
            if found_newline {
                break;
            }
        }
        Ok(Some(match oversized {
            None => Frame::Line(&self.line),
            Some((head, tail)) => Frame::Oversized { len, head, tail },
        }))
    }
}

fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8]) {
    tail.extend_from_slice(&chunk[chunk.len().saturating_sub(KEEP)..]);
    if tail.len() > KEEP {
        tail.drain(..tail.len() - KEEP);
    }
}

/// Finds the top-level `id` of a JSON-RPC object from only its first and last bytes.
///
/// It accepts just two unambiguous shapes: `{"jsonrpc":"2.0","id":7,...` at the very start (ids
/// placed first) and `...,"id":7}` at the very end (the TypeScript SDK's order). A nested `"id"`
/// can match neither, so the answer is either right or `None`.
pub fn recover_id(head: &[u8], tail: &[u8]) -> Option<Id> {
    // The id is echoed in the error the sender gets, so it must be valid JSON itself: the
    // line was never parsed, and a token such as `"\ud80x"` or `1e+` would make that error
    // unreadable (found by fuzzing).
    from_head(head)
        .or_else(|| from_tail(tail))
        .filter(|id| serde_json::from_str::<&serde_json::value::RawValue>(id.as_raw()).is_ok())
}

fn from_head(head: &[u8]) -> Option<Id> {
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // The head may end inside a multi-byte character; a valid prefix is enough.
        std::str::from_utf8(&head[..std::str::from_utf8(head).err()?.valid_up_to()]).ok()
    })?;
    let mut rest = text.trim_start().strip_prefix('{')?;
    // Walk top-level members while their values are scalars.
    loop {
        rest = rest.trim_start();
        let (key, after_key) = scan_string(rest)?;
        rest = after_key.trim_start().strip_prefix(':')?.trim_start();
        let (value, after_value) = scan_scalar(rest)?;
        if key == "\"id\"" {
            return Id::from_raw(value);
        }
        rest = after_value.trim_start().strip_prefix(',')?;
    }
}

fn from_tail(tail: &[u8]) -> Option<Id> {
    let text = std::str::from_utf8(tail).ok()?;
    let body = text.trim_end().strip_suffix('}')?.trim_end();
    // The value is a number or an escape-free string that ends the object.
    let value_start = if let Some(unquoted) = body.strip_suffix('"') {
        unquoted.rfind('"')?
    } else {
        // Where the trailing digits begin: always a character boundary, whatever precedes them.
        body.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-').len()
    };
    let value = &body[value_start..];
    let before = body[..value_start].trim_end().strip_suffix(':')?.trim_end();
    let before = before.strip_suffix("\"id\"")?.trim_end();
    if !before.ends_with(',') || value.contains('\\') {
        return None;
    }
    Id::from_raw(value)
}

/// Splits off one JSON string token (quotes included), without unescaping.
fn scan_string(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((&s[..=i], &s[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// Splits off one scalar JSON value (string, number, literal); `None` for objects and arrays.
fn scan_scalar(s: &str) -> Option<(&str, &str)> {
    if s.starts_with('"') {
        return scan_string(s);
    }
    let end = s.find([',', '}', ' ', '\t', '\r', '\n'])?;
    let token = &s[..end];
    (!token.is_empty() && !token.starts_with(['{', '['])).then_some((token, &s[end..]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tail_ending_in_a_wide_character_recovers_no_id_and_does_not_panic() {
        // Found by the fuzzer: a multi-byte character right before the final `}`.
        assert_eq!(super::from_tail("x\u{e0041}}".as_bytes()), None);
        assert_eq!(super::from_tail(",\"id\":\u{e0041}7}".as_bytes()), None);
        assert_eq!(
            super::from_tail(b",\"id\": 42}").map(|id| id.as_raw().to_owned()),
            Some("42".to_owned())
        );
    }

    use super::*;

    fn frames(input: &[u8], limit: usize) -> Vec<String> {
        let mut reader = LineReader::new(input, limit);
        let mut out = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            out.push(match frame {
                Frame::Line(line) => String::from_utf8_lossy(line).into_owned(),
                Frame::Oversized { len, .. } => format!("<oversized {len}>"),
            });
        }
        out
    }

    /// Found by fuzzing: an id with an invalid escape or a malformed number, recovered from an
    /// oversized line, was echoed as invalid JSON.
    #[test]
    fn a_recovered_id_is_valid_json_or_nothing() {
        assert_eq!(recover_id(br#"{"jsonrpc":"2.0","id":"\ud80progre","#, b""), None);
        assert_eq!(recover_id(br#"{"id":1e+,"method":"x""#, b""), None);
        assert_eq!(recover_id(br#"{"id":"ok","#, b"").unwrap().as_raw(), r#""ok""#);
        assert_eq!(recover_id(b"", br#","id":-12}"#).unwrap().as_raw(), "-12");
    }

    #[test]
    fn splits_lines_and_keeps_bytes() {
        assert_eq!(frames(b"a\nbc\r\n\nlast", 10), ["a", "bc\r", "", "last"]);
    }

    #[test]
    fn oversized_line_is_skipped_and_the_stream_goes_on() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(frames(&input, 100), ["<oversized 1000>", "ok"]);
    }

    #[test]
    fn oversized_across_many_buffer_fills_keeps_memory_bounded() {
        let mut input = b"{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"x\",\"params\":\"".to_vec();
        input.extend(std::iter::repeat_n(b'a', 300_000));
        input.extend_from_slice(b"\"}\nnext\n");
        let mut reader = LineReader::new(&input[..], 1024);
        match reader.next_frame().unwrap().unwrap() {
            Frame::Oversized { len, head, tail } => {
                assert_eq!(len as usize, input.len() - "\nnext\n".len());
                assert!(head.len() <= KEEP && tail.len() <= KEEP);
                assert_eq!(recover_id(&head, &tail).unwrap().as_raw(), "42");
            }
            other => panic!("expected oversized, got {other:?}"),
        }
        assert!(reader.line.capacity() <= 64 * 1024, "the big line was not released");
        assert_eq!(reader.next_frame().unwrap(), Some(Frame::Line(b"next")));
    }

    #[test]
    fn a_large_line_is_not_kept_once_the_stream_is_quiet() {
        let big = vec![b'a'; 1 << 20];
        // Two large lines arrive back to back, then a small one after a pause.
        let (pipe, mut writer) = std::io::pipe().unwrap();
        let mut reader = LineReader::new(pipe, 4 << 20);
        let sender = std::thread::spawn({
            let big = big.clone();
            move || {
                use std::io::Write;
                let mut both = big.clone();
                both.push(b'\n');
                both.extend_from_slice(&big);
                both.push(b'\n');
                writer.write_all(&both).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
                writer.write_all(b"small\n").unwrap();
            }
        });
        assert_eq!(reader.next_frame().unwrap(), Some(Frame::Line(&big[..])));
        assert_eq!(reader.next_frame().unwrap(), Some(Frame::Line(&big[..])));
        assert_eq!(reader.next_frame().unwrap(), Some(Frame::Line(&b"small"[..])));
        sender.join().unwrap();
        assert!(reader.line.capacity() <= RELEASE_ABOVE, "the large buffer was kept");
    }

    #[test]
    fn recovers_ids_only_from_unambiguous_shapes() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (r#"{"jsonrpc":"2.0","id":7,"method":"x"#, "", Some("7")),
            (r#"{ "jsonrpc": "2.0", "id": "a-1", "#, "", Some("\"a-1\"")),
            (
                r#"{"method":"tools/call","params":{"#,
                r#"aaa"}},"jsonrpc":"2.0","id":12}"#,
                Some("12"),
            ),
            (r#"{"method":"x","params":{"id":5,"#, r#"aaa","id":9}}"#, None),
            (r#"{"params":{"id":5}"#, r#"aaaa"}"#, None),
            (r#"[{"id":1}"#, "", None),
            ("", r#"x,"id":"q\"z"}"#, None),
        ];
        for (head, tail, want) in cases {
            let got = recover_id(head.as_bytes(), tail.as_bytes());
            assert_eq!(got.as_ref().map(Id::as_raw), *want, "head={head} tail={tail}");
        }
    }
}
