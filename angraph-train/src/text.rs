//! Printing strings read from files (units, notes, names, event keys): [`printable`] is the one
//! helper every such string goes through before it reaches a terminal or an error message, so
//! that terminal escape codes and other control characters are shown escaped, never
//! interpreted, and an overlong string is cut.

use std::borrow::Cow;

/// Longest string [`printable`] shows, in characters (the rest is replaced by `...`).
pub const MAX_PRINTED_CHARS: usize = 80;

/// `s` made safe to print: control characters (ESC, BEL, CR, ..., also C1 and the Unicode
/// bidi overrides) escaped as `\u{..}`, and cut to [`MAX_PRINTED_CHARS`] characters with `...`.
/// Borrowed when `s` needs neither.
pub fn printable(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    let long = s.chars().nth(MAX_PRINTED_CHARS).is_some();
    if !long && !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(4 * MAX_PRINTED_CHARS));
    for c in s.chars().take(MAX_PRINTED_CHARS) {
        if bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    if long {
        out.push_str("...");
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_cuts() {
        assert!(matches!(printable("ns"), Cow::Borrowed("ns")));
        assert_eq!(printable("n\x1b[31ms"), "n\\u{1b}[31ms");
        assert_eq!(printable("a\u{202e}b\r"), "a\\u{202e}b\\u{d}");
        let long = "x".repeat(500);
        let p = printable(&long);
        assert_eq!(p.chars().count(), MAX_PRINTED_CHARS + 3);
        assert!(p.ends_with("..."));
    }
}
