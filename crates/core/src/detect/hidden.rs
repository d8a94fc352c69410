//! Text hidden from people: invisible and format characters, terminal escape sequences and
//! whitespace padding, found ([`scan`]) and made harmless ([`sanitize_mapped`]).
//!
//! Both walk the same classification ([`Scanner`]), so what is reported is exactly what the
//! sanitizer removes or makes visible.

use std::ops::Range;

use super::{Context, Finding, Kind, Severity, excerpt};

/// A run of horizontal whitespace at least this long, followed by more text, is padding.
pub(super) const PAD_SPACES: usize = 64;
/// A whitespace run with at least this many line breaks, followed by more text, is padding.
pub(super) const PAD_NEWLINES: usize = 8;
/// In tool results (logs, pretty-printed JSON) the thresholds are higher.
const RESULT_PAD_SPACES: usize = 256;
const RESULT_PAD_NEWLINES: usize = 40;
/// The longest escape sequence followed; an unterminated one ends here.
const MAX_ESCAPE: usize = 4096;

/// What a piece of hidden text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    /// Unicode tag characters (U+E0000–E007F), which spell ASCII invisibly.
    Tags,
    /// Two or more variation selectors in a row, which can encode bytes.
    Selectors,
    /// Bidirectional embedding, override or isolate controls.
    Bidi,
    /// Zero-width and other invisible format characters, `count` of them in a row.
    Invisible { count: usize },
    /// A terminal escape sequence.
    Escape(Escape),
    /// A C0/C1 control character other than tab and line breaks.
    Control { overwrites: bool },
    /// A whitespace run long enough to push the text after it out of view.
    Padding { newlines: usize, longest: usize },
}

/// The effect of a terminal escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escape {
    /// SGR colours and styles.
    Style,
    /// SGR 8 (concealed text) or moving the cursor / erasing, which can hide or overwrite text.
    Conceal,
    /// OSC 8, a hyperlink whose visible text differs from its target.
    Hyperlink,
    /// OSC 52, writing the clipboard.
    Clipboard,
    /// Any other sequence (window title, DCS, single-character escapes).
    Other,
}

/// One piece of hidden text in a string: its byte range and, where it has one, what it says.
pub(super) struct Found {
    pub piece: Piece,
    pub span: Range<usize>,
    /// Text that tag characters or variation selectors spell.
    pub decoded: Option<String>,
}

/// True when `s` may hold hidden text; false means [`scan`] finds nothing (the fast path).
pub(super) fn may_hide(s: &str) -> bool {
    let b = s.as_bytes();
    // Branch-free per 64-byte chunk so that the compiler vectorises it.
    let odd = |c: u8| (c >= 0x7f) | ((c < 0x20) & (c != b'\n') & (c != b'\t'));
    b.chunks(64).any(|chunk| chunk.iter().fold(false, |acc, &c| acc | odd(c))) || may_pad(b)
}

/// True when `b` has a run of spaces or line breaks that could reach the padding thresholds.
fn may_pad(b: &[u8]) -> bool {
    use memchr::memmem::{Finder, find};
    // Built once: most strings are short, and building a searcher cost more than the search.
    static SPACES: std::sync::LazyLock<Finder<'static>> =
        std::sync::LazyLock::new(|| Finder::new(b"        "));
    if SPACES.find(b).is_some()
        || memchr::memchr(b'\t', b).is_some()
            && (find(b, b"\t\t\t\t").is_some()
                || find(b, b" \t").is_some()
                || find(b, b"\t ").is_some())
    {
        return true;
    }
    // Line breaks with only whitespace between them, PAD_NEWLINES in a row.
    let mut run = 0;
    let mut previous: Option<usize> = None;
    for at in memchr::memchr_iter(b'\n', b) {
        let blank = previous.is_some_and(|p| b[p + 1..at].iter().all(u8::is_ascii_whitespace));
        run = if blank { run + 1 } else { 1 };
        if run >= PAD_NEWLINES {
            return true;
        }
        previous = Some(at);
    }
    false
}

/// Every piece of hidden text in `s`.
pub(super) fn pieces(s: &str) -> Vec<Found> {
    let mut out = Vec::new();
    if !may_hide(s) {
        return out;
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        while let Some(chunk) = b.get(i..i + 16)
            && plain_ascii(chunk)
        {
            i += 16;
        }
        let Some(&c) = b.get(i) else { break };
        if c < 0x80 {
            if (0x21..0x7f).contains(&c)
                || (c == b' ' && b.get(i + 1).is_none_or(|n| !n.is_ascii_whitespace()))
            {
                i += 1;
                continue;
            }
            if c == 0x1b {
                let (end, esc) = escape_at(b, i + 1);
                out.push(Found { piece: Piece::Escape(esc), span: i..end, decoded: None });
                i = end;
                continue;
            }
            if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
                let (end, newlines, longest) = whitespace_run(s, i);
                let followed = s[end..].chars().next().is_some_and(|c| !c.is_whitespace());
                if followed && (newlines >= PAD_NEWLINES || longest >= PAD_SPACES) {
                    out.push(Found {
                        piece: Piece::Padding { newlines, longest },
                        span: i..end,
                        decoded: None,
                    });
                    i = end;
                    continue;
                }
                // A carriage return that is not part of CRLF moves the cursor back over the line.
                for (cr, _) in s[i..end].match_indices('\r') {
                    let at = i + cr;
                    if !s[at + 1..].starts_with('\n') {
                        out.push(Found {
                            piece: Piece::Control { overwrites: true },
                            span: at..at + 1,
                            decoded: None,
                        });
                    }
                }
                i = end.max(i + 1);
                continue;
            }
            if c < 0x20 || c == 0x7f {
                out.push(Found {
                    piece: Piece::Control { overwrites: c == 0x08 },
                    span: i..i + 1,
                    decoded: None,
                });
            }
            i += 1;
            continue;
        }
        if let Some(len) = plain_multibyte(b, i) {
            i += len;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        let len = ch.len_utf8();
        let cp = ch as u32;
        // C1 controls: CSI and OSC have single-character forms.
        if (0x80..=0x9f).contains(&cp) {
            let (end, piece) = match cp {
                0x9b => {
                    let (end, esc) = csi(b, i + len);
                    (end, Piece::Escape(esc))
                }
                0x9d => {
                    let (end, esc) = osc(b, i + len);
                    (end, Piece::Escape(esc))
                }
                _ => (i + len, Piece::Control { overwrites: false }),
            };
            out.push(Found { piece, span: i..end, decoded: None });
            i = end;
            continue;
        }
        match invisible(cp) {
            None => {
                if is_unicode_space(ch) {
                    let (end, newlines, longest) = whitespace_run(s, i);
                    let followed = s[end..].chars().next().is_some_and(|c| !c.is_whitespace());
                    if followed && (newlines >= PAD_NEWLINES || longest >= PAD_SPACES) {
                        out.push(Found {
                            piece: Piece::Padding { newlines, longest },
                            span: i..end,
                            decoded: None,
                        });
                    }
                    i = end.max(i + len);
                } else {
                    i += len;
                }
            }
            Some(class) => {
                let end = run_end(s, i, class);
                if let Some(found) = judge(s, i..end, class) {
                    out.push(found);
                }
                i = end;
            }
        }
    }
    out
}

/// True when every byte of `chunk` takes the first branch of [`pieces`]: printable ASCII, or a
/// space followed by a printable character (checked 16 bytes at a time, without branches per
/// byte; a space at the end is left to the careful path, which sees what follows it).
fn plain_ascii(chunk: &[u8]) -> bool {
    let printable = chunk.iter().fold(true, |ok, &c| ok & (0x20..0x7f).contains(&c));
    let doubled = chunk.windows(2).fold(false, |any, w| any | ((w[0] == b' ') & (w[1] == b' ')));
    printable && !doubled && chunk.last() != Some(&b' ')
}

/// The length of the character starting at `b[i]` (a UTF-8 lead byte) when its first bytes
/// show that it is none of the characters [`pieces`] looks at (C1 controls, invisible, format
/// and bidi characters, variation selectors, tags, Unicode spaces), so that text in other
/// scripts is skipped without decoding it. Those characters all start with one of the lead
/// bytes below (U+3000–U+3FFF only for U+3000 and U+3164).
fn plain_multibyte(b: &[u8], i: usize) -> Option<usize> {
    let lead = b[i];
    let len = match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return None,
    };
    let maybe = match lead {
        0xC2 | 0xCD | 0xE1 | 0xE2 | 0xEF | 0xF0 | 0xF3 => true,
        0xE3 => matches!(b.get(i + 1), Some(0x80 | 0x85)),
        _ => false,
    };
    (!maybe).then_some(len)
}

/// Classes of invisible characters; a run is consecutive characters of one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Tag,
    Selector,
    Bidi,
    Invisible,
}

fn invisible(cp: u32) -> Option<Class> {
    Some(match cp {
        0xE0000..=0xE007F => Class::Tag,
        0xFE00..=0xFE0F | 0xE0100..=0xE01EF => Class::Selector,
        0x202A..=0x202E | 0x2066..=0x2069 => Class::Bidi,
        0x200B..=0x200D
        | 0x2060..=0x2064
        | 0x206A..=0x206F
        | 0xFEFF
        | 0x00AD
        | 0x034F
        | 0x115F
        | 0x1160
        | 0x17B4
        | 0x17B5
        | 0x180B..=0x180E
        | 0x3164
        | 0xFFA0
        | 0xFFF9..=0xFFFB
        | 0x1D173..=0x1D17A
        | 0x1BCA0..=0x1BCA3 => Class::Invisible,
        _ => return None,
    })
}

/// True for the invisible and format characters this module knows.
pub(super) fn is_invisible(c: char) -> bool {
    invisible(c as u32).is_some()
}

fn is_unicode_space(c: char) -> bool {
    matches!(c as u32, 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000)
}

/// The end of the run of `class` characters starting at `start`.
fn run_end(s: &str, start: usize, class: Class) -> usize {
    let mut end = start;
    for ch in s[start..].chars() {
        if invisible(ch as u32) != Some(class) {
            break;
        }
        end += ch.len_utf8();
    }
    end
}

/// Whether a run of invisible characters is hidden text, or a legitimate use: emoji flag tag
/// sequences, one variation selector after an emoji or ideograph, ZWJ/ZWNJ inside words of
/// scripts that need them, a leading byte-order mark.
fn judge(s: &str, span: Range<usize>, class: Class) -> Option<Found> {
    let run = &s[span.clone()];
    let count = run.chars().count();
    let before = s[..span.start].chars().next_back();
    let after = s[span.end..].chars().next();
    match class {
        Class::Tag => {
            let flag = before == Some('\u{1F3F4}')
                && run.ends_with('\u{E007F}')
                && run
                    .chars()
                    .all(|c| matches!(c as u32, 0xE0030..=0xE0039 | 0xE0061..=0xE007A | 0xE007F));
            if flag {
                return None;
            }
            let decoded: String = run
                .chars()
                .filter_map(|c| match c as u32 {
                    cp @ 0xE0020..=0xE007E => char::from_u32(cp - 0xE0000),
                    _ => None,
                })
                .collect();
            Some(Found { piece: Piece::Tags, span, decoded: Some(decoded) })
        }
        Class::Selector => {
            if count == 1 {
                let base_ok = before.is_some_and(|b| {
                    let cp = b as u32;
                    if ch_is_supplement_selector(run) {
                        matches!(cp, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
                    } else {
                        cp >= 0x80 || b.is_ascii_digit() || b == '#' || b == '*'
                    }
                });
                if base_ok {
                    return None;
                }
                return Some(Found { piece: Piece::Invisible { count }, span, decoded: None });
            }
            let bytes: Vec<u8> = run
                .chars()
                .map(|c| match c as u32 {
                    cp @ 0xFE00..=0xFE0F => (cp - 0xFE00) as u8,
                    cp => (cp - 0xE0100 + 16) as u8,
                })
                .collect();
            let decoded = match std::str::from_utf8(&bytes) {
                Ok(text) if text.chars().all(|c| !c.is_control() || c == '\n') => text.to_owned(),
                _ => format!("{} bytes", bytes.len()),
            };
            Some(Found { piece: Piece::Selectors, span, decoded: Some(decoded) })
        }
        Class::Bidi => Some(Found { piece: Piece::Bidi, span, decoded: None }),
        Class::Invisible => {
            if count == 1 {
                let cp = run.chars().next().map_or(0, |c| c as u32);
                let joiner = cp == 0x200C || cp == 0x200D;
                let between_non_ascii =
                    before.is_some_and(|c| !c.is_ascii()) && after.is_some_and(|c| !c.is_ascii());
                if joiner && between_non_ascii {
                    return None;
                }
                if cp == 0xFEFF && span.start == 0 {
                    return None;
                }
            }
            Some(Found { piece: Piece::Invisible { count }, span, decoded: None })
        }
    }
}

fn ch_is_supplement_selector(run: &str) -> bool {
    run.chars().next().is_some_and(|c| c as u32 >= 0xE0100)
}

/// The end of the whitespace run at `start`, its line breaks and its longest horizontal stretch.
fn whitespace_run(s: &str, start: usize) -> (usize, usize, usize) {
    let (mut newlines, mut longest, mut current) = (0, 0, 0);
    let mut end = start;
    for ch in s[start..].chars() {
        match ch {
            '\n' => {
                newlines += 1;
                current = 0;
            }
            // A bare carriage return is sanitized into a line break, so it counts as one.
            '\r' if !s[end + 1..].starts_with('\n') => {
                newlines += 1;
                current = 0;
            }
            '\r' => current = 0,
            c if c == ' ' || c == '\t' || is_unicode_space(c) => {
                current += 1;
                longest = longest.max(current);
            }
            _ => break,
        }
        end += ch.len_utf8();
    }
    (end, newlines, longest)
}

/// The end of an escape sequence whose ESC is just before `i`, and its effect.
fn escape_at(b: &[u8], i: usize) -> (usize, Escape) {
    match b.get(i) {
        Some(b'[') => csi(b, i + 1),
        Some(b']') => osc(b, i + 1),
        Some(b'P' | b'X' | b'^' | b'_') => {
            let (end, _) = string_end(b, i + 1);
            (end, Escape::Other)
        }
        Some(c) if (0x20..0x7f).contains(c) => {
            // ESC, intermediates, one final byte.
            let mut j = i;
            while j < b.len() && (0x20..=0x2f).contains(&b[j]) {
                j += 1;
            }
            (if j < b.len() && (0x30..0x7f).contains(&b[j]) { j + 1 } else { j }, Escape::Other)
        }
        _ => (i, Escape::Other),
    }
}

/// A CSI sequence whose parameters start at `i`.
fn csi(b: &[u8], i: usize) -> (usize, Escape) {
    let limit = b.len().min(i + MAX_ESCAPE);
    let mut j = i;
    while j < limit && (0x20..=0x3f).contains(&b[j]) {
        j += 1;
    }
    if j >= limit || !(0x40..0x7f).contains(&b[j]) {
        return (j, Escape::Other);
    }
    let params = &b[i..j];
    let esc = match b[j] {
        b'm' if params.split(|&c| c == b';' || c == b':').any(|p| p == b"8") => Escape::Conceal,
        b'm' => Escape::Style,
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' | b'G' | b'H' | b'f' | b'J' | b'K' | b'S'
        | b'T' | b'd' | b's' | b'u' | b'P' | b'X' | b'M' | b'L' => Escape::Conceal,
        _ => Escape::Other,
    };
    (j + 1, esc)
}

/// An OSC sequence whose body starts at `i`.
fn osc(b: &[u8], i: usize) -> (usize, Escape) {
    let (end, body_end) = string_end(b, i);
    let body = &b[i..body_end];
    let esc = if body.starts_with(b"8;") {
        Escape::Hyperlink
    } else if body.starts_with(b"52;") {
        Escape::Clipboard
    } else {
        Escape::Other
    };
    (end, esc)
}

/// The end of a control string (terminated by BEL, ESC \ or the C1 ST) and the end of its body.
fn string_end(b: &[u8], i: usize) -> (usize, usize) {
    let limit = b.len().min(i + MAX_ESCAPE);
    let mut j = i;
    while j < limit {
        match b[j] {
            0x07 => return (j + 1, j),
            0x1b if b.get(j + 1) == Some(&b'\\') => return (j + 2, j),
            0xc2 if b.get(j + 1) == Some(&0x9c) => return (j + 2, j),
            _ => j += 1,
        }
    }
    // Unterminated: stop on a char boundary.
    let mut j = j.min(b.len());
    while j < b.len() && (b[j] & 0xc0) == 0x80 {
        j += 1;
    }
    (j, j)
}

/// Findings for the hidden text in `s`, appended to `out`.
pub(super) fn scan(s: &str, found: &[Found], location: &str, ctx: Context, out: &mut Vec<Finding>) {
    for f in found {
        let Some((kind, severity, rule)) = rate(f, ctx) else { continue };
        let evidence = match &f.decoded {
            Some(d) => format!("[hidden: {}]", excerpt(d, 120)),
            None => excerpt(&s[f.span.clone()], 60),
        };
        out.push(Finding {
            kind,
            severity,
            rule,
            location: location.to_owned(),
            span: f.span.clone(),
            evidence,
        });
    }
}

fn rate(f: &Found, ctx: Context) -> Option<(Kind, Severity, &'static str)> {
    use Severity::{Block, Flag, Info};
    let result = ctx == Context::Result;
    let name = ctx == Context::Name;
    Some(match f.piece {
        Piece::Tags => (Kind::HiddenUnicode, Block, "unicode-tag-characters"),
        Piece::Selectors => (Kind::HiddenUnicode, Block, "variation-selector-encoding"),
        Piece::Bidi => (Kind::HiddenUnicode, if name { Block } else { Flag }, "bidi-control"),
        Piece::Invisible { count } if count >= 3 => (Kind::HiddenUnicode, Block, "invisible-run"),
        Piece::Invisible { .. } => (
            Kind::HiddenUnicode,
            if name {
                Block
            } else if result {
                Info
            } else {
                Flag
            },
            "invisible-character",
        ),
        Piece::Escape(Escape::Clipboard) => (Kind::AnsiEscape, Block, "osc52-clipboard"),
        Piece::Escape(Escape::Conceal) => {
            (Kind::AnsiEscape, if result { Flag } else { Block }, "ansi-conceal-or-cursor")
        }
        Piece::Escape(Escape::Hyperlink) => (Kind::AnsiEscape, Flag, "osc8-hyperlink"),
        Piece::Escape(Escape::Style) => {
            (Kind::AnsiEscape, if result { Info } else { Flag }, "ansi-style")
        }
        Piece::Escape(Escape::Other) => {
            (Kind::AnsiEscape, if result { Info } else { Flag }, "terminal-escape")
        }
        Piece::Control { overwrites: true } => {
            (Kind::AnsiEscape, if result { Info } else { Flag }, "overwriting-control")
        }
        Piece::Control { overwrites: false } => (Kind::AnsiEscape, Info, "control-character"),
        Piece::Padding { newlines, longest } => {
            if result {
                if newlines >= RESULT_PAD_NEWLINES || longest >= RESULT_PAD_SPACES {
                    (Kind::WhitespacePadding, Info, "whitespace-padding")
                } else {
                    return None;
                }
            } else {
                (Kind::WhitespacePadding, Flag, "whitespace-padding")
            }
        }
    })
}

/// One stretch of sanitized text: where it is in the output and where it came from.
#[derive(Debug, Clone)]
pub(super) struct Segment {
    pub out: Range<usize>,
    pub orig: Range<usize>,
    /// The output is the original bytes unchanged (so offsets inside map one to one).
    pub verbatim: bool,
}

/// `s` with hidden text removed or made visible, and the map from output to input offsets;
/// `None` when nothing changes.
pub(super) fn sanitize_mapped(s: &str) -> Option<(String, Vec<Segment>)> {
    sanitize_found(s, pieces(s))
}

/// [`sanitize_mapped`] with the [`pieces`] of `s` already found.
pub(super) fn sanitize_found(s: &str, found: Vec<Found>) -> Option<(String, Vec<Segment>)> {
    if found.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(found.len() * 2 + 1);
    let mut at = 0;
    for f in found {
        if f.span.start > at {
            let o = out.len();
            out.push_str(&s[at..f.span.start]);
            map.push(Segment { out: o..out.len(), orig: at..f.span.start, verbatim: true });
        }
        let o = out.len();
        match (&f.piece, &f.decoded) {
            (Piece::Tags | Piece::Selectors, Some(d)) => {
                out.push_str("[hidden: ");
                out.extend(d.chars().filter(|c| !c.is_control()));
                out.push(']');
            }
            (Piece::Padding { newlines, .. }, _) => {
                out.push_str(if *newlines > 0 { "\n\n" } else { " " })
            }
            (Piece::Control { overwrites: true }, _) if &s[f.span.clone()] == "\r" => {
                out.push('\n')
            }
            _ => {}
        }
        map.push(Segment { out: o..out.len(), orig: f.span.clone(), verbatim: false });
        at = f.span.end;
    }
    if at < s.len() {
        let o = out.len();
        out.push_str(&s[at..]);
        map.push(Segment { out: o..out.len(), orig: at..s.len(), verbatim: true });
    }
    Some((out, map))
}

/// The original range of an output range of [`sanitize_mapped`].
pub(super) fn map_back(map: &[Segment], span: Range<usize>) -> Range<usize> {
    let point = |pos: usize, end: bool| -> usize {
        let i = map.partition_point(|seg| if end { seg.out.end < pos } else { seg.out.end <= pos });
        match map.get(i) {
            Some(seg) if seg.verbatim => {
                seg.orig.start + (pos.saturating_sub(seg.out.start)).min(seg.orig.len())
            }
            Some(seg) => {
                if end {
                    seg.orig.end
                } else {
                    seg.orig.start
                }
            }
            None => map.last().map_or(0, |seg| seg.orig.end),
        }
    };
    let start = point(span.start, false);
    let end = point(span.end, true).max(start);
    start..end
}
