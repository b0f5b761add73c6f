//! A fast path for reading the timed form as `angraph` (and any plain JSON writer) writes it.
//!
//! A recorded 4x4 stream is about 1 MB of JSON with 26,000 hops; through serde_json and the
//! typed visitors the parse was most of `angraph predict`'s time. This scanner reads the same
//! document in one pass over the bytes, straight into [`Event`]s, and gives up (returns `None`)
//! on anything it does not handle exactly as the serde reader would: escapes in a key, an event
//! key or a hop name, an unknown or repeated field, a number that is not a plain non-negative
//! integer in range, an unknown component name, malformed JSON. Then the serde reader runs and
//! reports the problem (or reads what the scanner declined). The header's small objects (mesh,
//! process, labels) go through serde on their own bytes. So the fast path changes no result and
//! no error message; the test below checks it against the serde reader, on the committed streams
//! and on variants of them.

use super::{Event, Hop, MeshHeader, ProcessHeader, StreamLabels};
use angraph_core::component::Component;
use angraph_core::features::EventLoad;

/// The fields of a timed document, before the checks both readers share.
#[derive(Debug, PartialEq)]
pub(super) struct TimedParts {
    pub format: String,
    pub version: u32,
    pub mesh: MeshHeader,
    pub process: ProcessHeader,
    pub time_unit: String,
    pub description: String,
    pub labels: Option<StreamLabels>,
    pub events: Vec<Event>,
}

struct Scan<'a> {
    /// The document (sliced at `"` bytes only, which are always character boundaries).
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// Skip whitespace and consume `c`.
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// After whitespace: `Some(true)` on `close` (consumed), `Some(false)` on `,` (consumed).
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match *self.b.get(self.i)? {
            b',' => {
                self.i += 1;
                Some(false)
            }
            c if c == close => {
                self.i += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// A string without escapes or control characters, borrowed.
    fn plain_str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' => return None,
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let s = self.text.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    /// A JSON integer without sign, fraction or exponent (`0` or no leading zero), in `u64`.
    fn uint(&mut self) -> Option<u64> {
        self.ws();
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
            self.i += 1;
        }
        let digits = self.i - start;
        if digits == 0 || (digits > 1 && self.b[start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.i) {
            return None;
        }
        Some(v)
    }

    /// Skip one JSON value: it ends at a `,` or a closing bracket outside any string and
    /// container (well-formedness is left to serde, which reads the slice).
    fn skip_value(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let start = self.i;
        let mut depth = 0usize;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    loop {
                        match *self.b.get(self.i)? {
                            b'\\' => self.i += 2,
                            b'"' => break,
                            _ => self.i += 1,
                        }
                    }
                    self.i += 1;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' if depth == 0 => break,
                b'}' | b']' => {
                    depth -= 1;
                    self.i += 1;
                }
                b',' if depth == 0 => break,
                _ => self.i += 1,
            }
        }
        Some(&self.b[start..self.i])
    }

    /// `[name, enter, leave]`.
    fn hop(&mut self) -> Option<Hop> {
        self.eat(b'[')?;
        let component = Component::parse(self.plain_str()?).ok()?;
        self.eat(b',')?;
        let enter_ps = self.uint()?;
        self.eat(b',')?;
        let leave_ps = self.uint()?;
        self.eat(b']')?;
        Some(Hop {
            component,
            enter_ps,
            leave_ps,
        })
    }

    fn event(&mut self) -> Option<Event> {
        self.eat(b'{')?;
        let (mut key, mut words, mut fires, mut hops) = (None, None, None, None);
        if self.eat(b'}').is_none() {
            loop {
                let name = self.plain_str()?;
                self.eat(b':')?;
                match name {
                    "key" if key.is_none() => key = Some(self.plain_str()?.to_string()),
                    "words" if words.is_none() => words = Some(u16::try_from(self.uint()?).ok()?),
                    "fires" if fires.is_none() => fires = Some(u16::try_from(self.uint()?).ok()?),
                    "hops" if hops.is_none() => {
                        let mut v = Vec::new();
                        self.eat(b'[')?;
                        if self.eat(b']').is_none() {
                            loop {
                                v.push(self.hop()?);
                                if self.next_or_close(b']')? {
                                    break;
                                }
                            }
                        }
                        hops = Some(v);
                    }
                    _ => return None,
                }
                if self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        Some(Event {
            key: key?,
            load: EventLoad {
                words: words.unwrap_or(0),
                fires: fires.unwrap_or(0),
            },
            hops: hops?,
        })
    }

    fn events(&mut self) -> Option<Vec<Event>> {
        let mut v = Vec::new();
        self.eat(b'[')?;
        if self.eat(b']').is_none() {
            loop {
                v.push(self.event()?);
                if self.next_or_close(b']')? {
                    break;
                }
            }
        }
        Some(v)
    }
}

/// Read a timed document, or `None` where the serde reader must decide.
pub(super) fn parse_timed(text: &str) -> Option<TimedParts> {
    let mut s = Scan {
        text,
        b: text.as_bytes(),
        i: 0,
    };
    let (mut format, mut version, mut mesh, mut process) = (None, None, None, None);
    let (mut time_unit, mut description, mut labels, mut events) = (None, None, None, None);
    s.eat(b'{')?;
    if s.eat(b'}').is_none() {
        loop {
            let name = s.plain_str()?;
            s.eat(b':')?;
            match name {
                "format" if format.is_none() => format = Some(s.plain_str()?.to_string()),
                "version" if version.is_none() => version = Some(u32::try_from(s.uint()?).ok()?),
                "mesh" if mesh.is_none() => {
                    mesh = Some(serde_json::from_slice::<MeshHeader>(s.skip_value()?).ok()?)
                }
                "process" if process.is_none() => {
                    process = Some(serde_json::from_slice::<ProcessHeader>(s.skip_value()?).ok()?)
                }
                "time_unit" if time_unit.is_none() => time_unit = Some(s.plain_str()?.to_string()),
                "description" if description.is_none() => {
                    description = Some(s.plain_str()?.to_string())
                }
                "labels" if labels.is_none() => {
                    labels =
                        Some(serde_json::from_slice::<Option<StreamLabels>>(s.skip_value()?).ok()?)
                }
                "events" if events.is_none() => events = Some(s.events()?),
                _ => return None,
            }
            if s.next_or_close(b'}')? {
                break;
            }
        }
    }
    s.ws();
    if s.i != s.b.len() {
        return None;
    }
    Some(TimedParts {
        format: format?,
        version: version?,
        mesh: mesh?,
        process: process?,
        time_unit: time_unit?,
        description: description.unwrap_or_default(),
        labels: labels.unwrap_or(None),
        events: events?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Stream;
    use super::*;

    fn committed(name: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::read_to_string(root.join("data/streams").join(name)).unwrap()
    }

    /// The fast path agrees with the serde reader wherever it answers, and declines the rest.
    #[test]
    fn agrees_with_the_serde_reader() {
        let text = committed("digits_4x4_sample0.timed.json");
        let fast = Stream::parse(&text, "f").unwrap();
        let slow = Stream::parse_serde(&text, "f").unwrap();
        assert_eq!(fast, slow);
        assert!(
            parse_timed(&text).is_some(),
            "the committed stream takes the fast path"
        );
        let variants: Vec<(String, bool)> = vec![
            // Declined (the serde reader decides): escapes, unknown / repeated fields, numbers
            // that are not plain integers, unknown names, trailing text.
            (
                text.replacen("\"Injector\"", "\"\\u0049njector\"", 1),
                false,
            ),
            (
                text.replacen("\"words\": 1,", "\"words\": 1, \"extra\": 0,", 1),
                false,
            ),
            (
                text.replacen("\"words\": 1,", "\"words\": 1, \"words\": 1,", 1),
                false,
            ),
            (text.replacen(", 600]", ", 600.0]", 1), false),
            (text.replacen(", 600]", ", 0600]", 1), false),
            (text.replacen(", 600]", ", 6e2]", 1), false),
            (text.replacen(", 600]", ", -600]", 1), false),
            (text.replacen("\"Injector\"", "\"Injectr\"", 1), false),
            (
                text.replacen("\"words\": 1,", "\"words\": 70000,", 1),
                false,
            ),
            (format!("{text} x"), false),
            (
                text.replacen("\"version\": 2", "\"version\": 2, \"version\": 2", 1),
                false,
            ),
            // Answered: whitespace, field order, absent optional fields.
            (
                text.replace("], [", "],\r\n\t [").replace("\": ", "\" :\t"),
                true,
            ),
            (text.replacen("\"words\": 1, \"fires\": 0, ", "", 1), true),
            (
                text.replacen(
                    "\"format\": \"angraph-timed-stream\", \"version\": 2,",
                    "\"version\": 2, \"format\": \"angraph-timed-stream\",",
                    1,
                ),
                true,
            ),
        ];
        for (i, (v, answered)) in variants.iter().enumerate() {
            assert_eq!(parse_timed(v).is_some(), *answered, "variant {i}");
            let (a, b) = (Stream::parse(v, "f"), Stream::parse_serde(v, "f"));
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "variant {i}"),
                (Err(a), Err(b)) => assert_eq!(format!("{a:#}"), format!("{b:#}"), "variant {i}"),
                (a, b) => panic!("variant {i}: {:?} vs {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
}
