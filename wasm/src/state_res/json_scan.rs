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
    pub fn new(b: &'a [u8]) -> Self {
        Self { b, pos: 0 }
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
            match self.b.get(i) {
                None => return err("unterminated string", self.pos),
                Some(b'"') => return Ok((i + 1, escaped)),
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(_) => i += 1,
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
            std::str::from_utf8(&self.b[start + 1..end - 1])
                .map(Cow::Borrowed)
                .map_err(|_| format!("string at byte {start} is not UTF-8"))
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
