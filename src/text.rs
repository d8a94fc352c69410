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
