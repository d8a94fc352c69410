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
}
