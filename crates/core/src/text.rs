//! Small string helpers shared by the modules that cap what they scan or store.

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
pub fn floor(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

/// Whether `c` is drawn as nothing though it changes what text means or how it is shown:
/// zero-width characters, bidirectional controls, the soft hyphen and Unicode tag characters.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

/// `text` safe to print on a terminal: control characters (other than newline and tab) and
/// invisible ones are shown as `\u{…}` escapes instead of acting on the terminal or hiding.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_invisible(c);
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An error and every error beneath it (its [`source`](std::error::Error::source) chain),
/// joined with `: ` — what `anyhow` shows with `{:#}`, for typed errors. A cause whose words
/// the message already ends with (an error that names its source in its own message) is not
/// said twice.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let words = source.to_string();
        if !text.ends_with(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        next = source.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_splits_a_character() {
        assert_eq!(floor("héllo", 2), "h");
        assert_eq!(floor("héllo", 3), "hé");
        assert_eq!(floor("abc", 10), "abc");
        assert_eq!(floor("", 0), "");
    }

    #[test]
    fn terminal_controls_and_hidden_characters_are_shown_not_obeyed() {
        assert_eq!(visible("plain\nline"), "plain\nline");
        assert_eq!(
            visible("a\u{1b}[2Jb\u{9b}c\u{202e}d\u{e0041}"),
            "a\\u{1b}[2Jb\\u{9b}c\\u{202e}d\\u{e0041}"
        );
    }

    #[test]
    fn an_error_chain_names_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot open the history")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&error), "cannot open the history: disk full");

        #[derive(Debug, thiserror::Error)]
        #[error("cannot talk to MCP Firewall: {0}")]
        struct Inline(#[from] std::io::Error);
        let error = Inline(std::io::Error::other("refused"));
        assert_eq!(error_chain(&error), "cannot talk to MCP Firewall: refused");
    }
}
