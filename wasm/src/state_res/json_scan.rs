//! A zero-copy reader for the `resolve_state` request. A room's worth of events (tens of
//! thousands, megabytes of JSON) would otherwise become a `serde_json::Value` tree, and its
//! allocations dominate the resolution itself in wasm. The reader only finds value boundaries
//! and borrows strings without escapes; anything it does not read itself (escaped strings,
//! `content`, `rules`) is decoded by serde_json from the exact byte range.

use std::borrow::Cow;
use std::ops::Range;

pub struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, String>;

fn err<T>(what: &str, pos: usize) -> R<T> {
    Err(format!("request is not valid JSON: {what} at byte {pos}"))
}

impl<'a> Reader<'a> {
    /// A reader over `b`, which must be UTF-8 as a whole (checked here once, so that strings
    /// can be borrowed without checking each).
    pub fn new(b: &'a [u8]) -> R<Self> {
        match std::str::from_utf8(b) {
            Ok(_) => Ok(Self { b, pos: 0 }),
            Err(e) => Err(format!("request is not UTF-8: {e}")),
        }
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// Skip whitespace and return the position.
    pub fn skip_ws_pos(&mut self) -> usize {
        self.ws();
        self.pos
    }

    /// The next non-whitespace byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> R<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            err(&format!("expected '{}'", c as char), self.pos)
        }
    }

    /// End (exclusive) of the string starting at `self.pos` (a '"'), and whether it has escapes.
    fn string_end(&self) -> R<(usize, bool)> {
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            match find_quote_or_backslash(self.b, i) {
                None => return err("unterminated string", self.pos),
                Some(j) if self.b[j] == b'"' => return Ok((j + 1, escaped)),
                Some(j) => {
                    escaped = true;
                    i = j + 2;
                }
            }
        }
    }

    pub fn string(&mut self) -> R<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return err("expected a string", self.pos);
        }
        let (end, escaped) = self.string_end()?;
        let start = self.pos;
        self.pos = end;
        if escaped {
            serde_json::from_slice::<String>(&self.b[start..end])
                .map(Cow::Owned)
                .map_err(|e| format!("bad string at byte {start}: {e}"))
        } else {
            // SAFETY: `new` checked that all of `b` is UTF-8, and both ends of this slice are
            // next to an ASCII '"', so they are character boundaries.
            Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(&self.b[start + 1..end - 1]) }))
        }
    }

    /// Skip one value of any kind, returning its byte range (structure only: scalars are not
    /// validated here).
    pub fn skip(&mut self) -> R<Range<usize>> {
        let start = match self.peek() {
            Some(_) => self.pos,
            None => return err("expected a value", self.pos),
        };
        match self.b[start] {
            b'"' => self.pos = self.string_end()?.0,
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.b.get(self.pos) {
                        None => return err("unterminated container", start),
                        Some(b'"') => self.pos = self.string_end()?.0,
                        Some(b'{') | Some(b'[') => {
                            depth += 1;
                            self.pos += 1;
                        }
                        Some(b'}') | Some(b']') => {
                            depth -= 1;
                            self.pos += 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            }
            b'}' | b']' | b',' | b':' => return err("expected a value", start),
            _ => {
                while let Some(c) = self.b.get(self.pos) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.pos += 1;
                }
            }
        }
        Ok(start..self.pos)
    }

    /// Decode the next value with serde_json.
    pub fn value(&mut self) -> R<serde_json::Value> {
        let r = self.skip()?;
        serde_json::from_slice(&self.b[r.clone()]).map_err(|e| format!("bad value at byte {}: {e}", r.start))
    }

    /// An integer, as `Value::as_i64` would read it (anything else is `None`).
    pub fn i64(&mut self) -> R<Option<i64>> {
        let r = self.skip()?;
        Ok(std::str::from_utf8(&self.b[r]).ok().and_then(|s| s.parse::<i64>().ok()))
    }

    /// Iterate an object: `f(reader, key)` must consume the member's value.
    pub fn object(&mut self, mut f: impl FnMut(&mut Self, Cow<'a, str>) -> R<()>) -> R<()> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            self.ws();
            f(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return err("expected ',' or '}'", self.pos),
            }
        }
    }

    /// Iterate an array: `f(reader)` must consume each element.
    pub fn array(&mut self, mut f: impl FnMut(&mut Self) -> R<()>) -> R<()> {
        self.expect(b'[')?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            f(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return err("expected ',' or ']'", self.pos),
            }
        }
    }

    /// After the top-level value: only whitespace may remain.
    pub fn end(&mut self) -> R<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => err("trailing characters", self.pos),
        }
    }
}

/// The first '"' or '\\' at or after `i`, eight bytes at a time.
fn find_quote_or_backslash(b: &[u8], mut i: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let w = u64::from_le_bytes(w);
        let (q, s) = (w ^ (LO * b'"' as u64), w ^ (LO * b'\\' as u64));
        // A zero byte in q or s is a match; the lowest flagged byte is exact.
        let m = (q.wrapping_sub(LO) & !q & HI) | (s.wrapping_sub(LO) & !s & HI);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    (i..b.len()).find(|&j| b[j] == b'"' || b[j] == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_skips() {
        let text =
            br#" {"a": "x\"y", "b": [1, {"c": "]}"}, -2.5e3], "d": null, "e": "\u00e9t\u00e9", "f": 17} "#;
        let mut r = Reader::new(text).unwrap();
        let mut seen = Vec::new();
        r.object(|r, k| {
            match k.as_ref() {
                "a" | "e" => seen.push(format!("{k}={}", r.string()?)),
                "f" => seen.push(format!("f={:?}", r.i64()?)),
                _ => seen.push(format!("{k}~{}", String::from_utf8_lossy(&r.bytes()[r.skip()?]))),
            }
            Ok(())
        })
        .unwrap();
        r.end().unwrap();
        assert_eq!(seen, ["a=x\"y", "b~[1, {\"c\": \"]}\"}, -2.5e3]", "d~null", "e=été", "f=Some(17)"]);
        assert_eq!(find_quote_or_backslash(b"abcdefghijkl\\mn\"", 0), Some(12));
        assert_eq!(find_quote_or_backslash(b"abcdefgh\"", 0), Some(8));
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in [&b"{"[..], b"{\"a\":", b"[1,", b"{\"a\" 1}", b"\"abc", b"{\"a\":[}", b"\xff"] {
            let ok = Reader::new(bad).and_then(|mut r| {
                r.object(|r, _| r.skip().map(|_| ()))?;
                r.end()
            });
            assert!(ok.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
