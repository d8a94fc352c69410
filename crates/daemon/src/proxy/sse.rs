//! Server-sent events, split without losing a byte.
//!
//! A streamed MCP response is a sequence of events; each is forwarded as the bytes that arrived
//! (or, when the pipeline rewrites its message, with only its `data` replaced). The splitter
//! therefore keeps each event's raw bytes next to the fields it parsed. Line ends may be `\n`,
//! `\r\n` or `\r`, as the SSE format allows; an event ends at an empty line.

/// One event: its bytes as received (with the empty line that ended it) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub raw: Vec<u8>,
    /// The `data` lines joined with `\n`, if there was any.
    pub data: Option<Vec<u8>>,
    pub id: Option<String>,
    pub event: Option<String>,
}

impl SseEvent {
    /// The same event with its data replaced by `data` (one line of JSON); `id`, `event` and
    /// `retry` fields are kept in their order.
    pub fn with_data(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        let mut wrote_data = false;
        for line in lines(&self.raw) {
            if line.is_empty() {
                continue;
            }
            if field_name(line) == b"data" {
                if !wrote_data {
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(data);
                    out.push(b'\n');
                    wrote_data = true;
                }
            } else {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
        if !wrote_data {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(data);
            out.push(b'\n');
        }
        out.push(b'\n');
        out
    }
}

/// One `message` event carrying a JSON-RPC message (a line of JSON).
pub fn message_event(message: &[u8]) -> bytes::Bytes {
    let mut out = Vec::with_capacity(message.len() + 24);
    out.extend_from_slice(b"event: message\ndata: ");
    out.extend_from_slice(message);
    out.extend_from_slice(b"\n\n");
    bytes::Bytes::from(out)
}

/// An event grew beyond the limit before it ended.
#[derive(Debug, thiserror::Error)]
#[error("a streamed event exceeds {limit} bytes")]
pub struct TooLarge {
    pub limit: usize,
}

/// Splits a byte stream into events.
#[derive(Debug)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Where the next line to parse starts.
    line_start: usize,
    data: Option<Vec<u8>>,
    id: Option<String>,
    event: Option<String>,
    limit: usize,
}

impl Splitter {
    /// Refuses events larger than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { buf: Vec::new(), line_start: 0, data: None, id: None, event: None, limit }
    }

    /// Takes the next chunk of the stream; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut event_start = 0;
        loop {
            let rest = &self.buf[self.line_start..];
            let Some(i) = memchr::memchr2(b'\n', b'\r', rest) else { break };
            let mut next = self.line_start + i + 1;
            if rest[i] == b'\r' {
                match rest.get(i + 1) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => break, // a `\r\n` may be split across chunks: wait for the next one
                }
            }
            let line_end = self.line_start + i;
            if line_end == self.line_start {
                events.push(SseEvent {
                    raw: self.buf[event_start..next].to_vec(),
                    data: self.data.take(),
                    id: self.id.take(),
                    event: self.event.take(),
                });
                event_start = next;
            } else {
                let line = self.buf[self.line_start..line_end].to_vec();
                self.field(&line);
            }
            self.line_start = next;
        }
        self.buf.drain(..event_start);
        self.line_start -= event_start;
        if self.buf.len() > self.limit {
            return Err(TooLarge { limit: self.limit });
        }
        Ok(events)
    }

    fn field(&mut self, line: &[u8]) {
        let name = field_name(line);
        let mut value = &line[name.len()..];
        if let Some(rest) = value.strip_prefix(b":") {
            value = rest.strip_prefix(b" ").unwrap_or(rest);
        }
        match name {
            b"" => {} // a comment
            b"data" => match &mut self.data {
                Some(data) => {
                    data.push(b'\n');
                    data.extend_from_slice(value);
                }
                None => self.data = Some(value.to_vec()),
            },
            b"id" => self.id = Some(String::from_utf8_lossy(value).into_owned()),
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
    }

    /// Bytes of an event that had not ended when the stream did (the format says to drop it).
    pub fn unfinished(&self) -> usize {
        self.buf.len()
    }
}

/// The field name of a line: everything before the first colon.
fn field_name(line: &[u8]) -> &[u8] {
    match memchr::memchr(b':', line) {
        Some(i) => &line[..i],
        None => line,
    }
}

/// The lines of a complete event, without their line ends.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let i = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
        let line = &rest[..i];
        let mut next = (i + 1).min(rest.len());
        if rest.get(i) == Some(&b'\r') && rest.get(i + 1) == Some(&b'\n') {
            next += 1;
        }
        rest = &rest[next..];
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut splitter = Splitter::new(1 << 20);
        chunks.iter().flat_map(|c| splitter.push(c).unwrap()).collect()
    }

    #[test]
    fn events_keep_their_bytes_across_any_chunking() {
        let stream: &[u8] = b"id: 1\r\ndata:\r\n\r\nevent: message\ndata: {\"a\":1}\n\n: ping\r\rdata: x\ndata: y\n\n";
        let whole = split_all(&[stream]);
        assert_eq!(whole.len(), 4);
        assert_eq!(whole.iter().flat_map(|e| e.raw.clone()).collect::<Vec<_>>(), stream);
        assert_eq!(whole[0].id.as_deref(), Some("1"));
        assert_eq!(whole[0].data.as_deref(), Some(&b""[..]));
        assert_eq!(whole[1].data.as_deref(), Some(&br#"{"a":1}"#[..]));
        assert_eq!(whole[1].event.as_deref(), Some("message"));
        assert_eq!(whole[2].data, None);
        assert_eq!(whole[3].data.as_deref(), Some(&b"x\ny"[..]));
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(split_all(&[a, b]), whole, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(split_all(&bytewise), whole);
    }

    #[test]
    fn rewriting_keeps_the_other_fields() {
        let events = split_all(&[b"event: message\nid: 7\ndata: {\"old\":1}\n\n"]);
        let out = events[0].with_data(br#"{"new":2}"#);
        assert_eq!(out, b"event: message\nid: 7\ndata: {\"new\":2}\n\n");
    }

    #[test]
    fn an_endless_event_is_refused() {
        let mut splitter = Splitter::new(16);
        assert!(splitter.push(b"data: 0123456789").is_ok());
        assert!(splitter.push(b"0123456789").is_err());
    }
}
