//! Printing strings read from files (units, notes, names, event keys): [`printable`] is the one
//! helper every such string goes through before it reaches a terminal or an error message, so
//! that terminal escape codes and other control characters are shown escaped, never
//! interpreted, and an overlong string is cut.

use std::borrow::Cow;

/// Longest string [`printable`] shows, in characters (the rest is replaced by `...`).
pub const MAX_PRINTED_CHARS: usize = 80;

/// A string made safe to print ([`printable`]): `Display` shows it as is, `Debug` between
/// double quotes without escaping it a second time; it derefs to `str`.
#[derive(Clone, PartialEq, Eq)]
pub struct Printable<'a>(Cow<'a, str>);

impl Printable<'_> {
    /// The sanitised text as a `String`.
    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl std::ops::Deref for Printable<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Printable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// `s` made safe to print: control characters (ESC, BEL, CR, ..., also C1 and the Unicode
/// bidi overrides) escaped as `\u{..}`, and cut to [`MAX_PRINTED_CHARS`] characters with `...`.
/// Borrowed when `s` needs neither.
pub fn printable(s: &str) -> Printable<'_> {
    Printable(sanitize(s))
}

fn sanitize(s: &str) -> Cow<'_, str> {
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
        assert!(matches!(sanitize("ns"), Cow::Borrowed("ns")));
        assert_eq!(&*printable("n\x1b[31ms"), "n\\u{1b}[31ms");
        assert_eq!(format!("{:?}", printable("n\x1b")), "\"n\\u{1b}\"");
        assert_eq!(&*printable("a\u{202e}b\r"), "a\\u{202e}b\\u{d}");
        let long = "x".repeat(500);
        let p = printable(&long);
        assert_eq!(p.chars().count(), MAX_PRINTED_CHARS + 3);
        assert!(p.ends_with("..."));
    }
}
