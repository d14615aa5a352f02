//! The D-Bus wire format (little-endian), only as much as talking to systemd needs:
//! values are built as `Val`, marshalled with their alignment, and read back by
//! signature. A D-Bus type signature is one character per basic type, `a` before an
//! array's element type, `(...)` around a struct's fields and `v` for a variant.

use anyhow::{anyhow, bail, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Byte(u8),
    Bool(bool),
    U32(u32),
    U64(u64),
    I32(i32),
    Str(String),
    Path(String),
    Sig(String),
    /// The element signature (needed when the array is empty), then the elements.
    Array(String, Vec<Val>),
    Struct(Vec<Val>),
    Variant(Box<Val>),
}

impl Val {
    pub fn str(s: &str) -> Val {
        Val::Str(s.to_string())
    }

    pub fn signature(&self) -> String {
        match self {
            Val::Byte(_) => "y".into(),
            Val::Bool(_) => "b".into(),
            Val::U32(_) => "u".into(),
            Val::U64(_) => "t".into(),
            Val::I32(_) => "i".into(),
            Val::Str(_) => "s".into(),
            Val::Path(_) => "o".into(),
            Val::Sig(_) => "g".into(),
            Val::Array(elem, _) => format!("a{elem}"),
            Val::Struct(fields) => {
                let inner: String = fields.iter().map(Val::signature).collect();
                format!("({inner})")
            }
            Val::Variant(_) => "v".into(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) | Val::Path(s) | Val::Sig(s) => Some(s),
            Val::Variant(v) => v.as_str(),
            _ => None,
        }
    }

    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Val::U32(n) => Some(*n),
            Val::Variant(v) => v.as_u32(),
            _ => None,
        }
    }
}

/// Alignment of the first character of a signature.
fn align_of(sig: u8) -> usize {
    match sig {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 4,
    }
}

/// Where one complete type ends in `sig` (its length).
pub fn one_type(sig: &[u8]) -> Result<usize> {
    match sig.first() {
        None => bail!("D-Bus: empty signature"),
        Some(b'a') => Ok(1 + one_type(&sig[1..])?),
        Some(&open @ (b'(' | b'{')) => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut i = 1;
            while sig.get(i) != Some(&close) {
                if i >= sig.len() {
                    bail!("D-Bus: unbalanced signature");
                }
                i += one_type(&sig[i..])?;
            }
            Ok(i + 1)
        }
        Some(_) => Ok(1),
    }
}

/// A message under construction; offsets are from its start, which D-Bus aligns to 8.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, n: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&n.to_le_bytes());
    }

    pub fn put(&mut self, v: &Val) {
        match v {
            Val::Byte(b) => self.buf.push(*b),
            Val::Bool(b) => self.u32(u32::from(*b)),
            Val::U32(n) => self.u32(*n),
            Val::I32(n) => self.u32(*n as u32),
            Val::U64(n) => {
                self.pad(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Val::Str(s) | Val::Path(s) => {
                self.u32(s.len() as u32);
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.push(0);
            }
            Val::Sig(s) => {
                self.buf.push(s.len() as u8);
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.push(0);
            }
            Val::Array(elem, items) => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                // The length counts the elements, not the padding before the first.
                self.pad(align_of(elem.as_bytes().first().copied().unwrap_or(b'y')));
                let start = self.buf.len();
                for i in items {
                    self.put(i);
                }
                let len = (self.buf.len() - start) as u32;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Val::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.put(f);
                }
            }
            Val::Variant(inner) => {
                self.put(&Val::Sig(inner.signature()));
                self.put(inner);
            }
        }
    }
}

/// Reading values out of a received message.
pub struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], pos: usize) -> Reader<'a> {
        Reader { buf, pos }
    }

    fn align(&mut self, a: usize) {
        self.pos = self.pos.div_ceil(a) * a;
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| anyhow!("D-Bus: truncated message"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32> {
        self.align(4);
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn text(&mut self, len: usize) -> Result<String> {
        let s = self.take(len)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| anyhow!("D-Bus: string is not UTF-8"))
    }

    /// Every value of a body with signature `sig`.
    pub fn all(&mut self, sig: &str) -> Result<Vec<Val>> {
        let mut out = Vec::new();
        let mut s = sig.as_bytes();
        while !s.is_empty() {
            let n = one_type(s)?;
            out.push(self.get(&s[..n])?);
            s = &s[n..];
        }
        Ok(out)
    }

    /// One value of the complete type `sig`.
    pub fn get(&mut self, sig: &[u8]) -> Result<Val> {
        Ok(match sig[0] {
            b'y' => Val::Byte(self.take(1)?[0]),
            b'b' => Val::Bool(self.u32()? != 0),
            b'u' => Val::U32(self.u32()?),
            b'i' => Val::I32(self.u32()? as i32),
            b'n' | b'q' => {
                self.align(2);
                let b = self.take(2)?;
                Val::U32(u32::from(u16::from_le_bytes([b[0], b[1]])))
            }
            b't' | b'x' | b'd' => {
                self.align(8);
                let b = self.take(8)?;
                Val::U64(u64::from_le_bytes(b.try_into()?))
            }
            b's' | b'o' => {
                let len = self.u32()? as usize;
                let t = self.text(len)?;
                if sig[0] == b's' {
                    Val::Str(t)
                } else {
                    Val::Path(t)
                }
            }
            b'g' => {
                let len = usize::from(self.take(1)?[0]);
                Val::Sig(self.text(len)?)
            }
            b'v' => {
                let len = usize::from(self.take(1)?[0]);
                let inner = self.text(len)?;
                if one_type(inner.as_bytes())? != inner.len() {
                    bail!("D-Bus: variant holds more than one type");
                }
                Val::Variant(Box::new(self.get(inner.as_bytes())?))
            }
            b'a' => self.array(&sig[1..])?,
            b'(' | b'{' => {
                self.align(8);
                let fields = std::str::from_utf8(&sig[1..sig.len() - 1])?;
                Val::Struct(self.all(fields)?)
            }
            c => bail!("D-Bus: unsupported type {:?}", c as char),
        })
    }

    fn array(&mut self, elem: &[u8]) -> Result<Val> {
        let len = self.u32()? as usize;
        self.align(align_of(elem[0]));
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| anyhow!("D-Bus: truncated array"))?;
        let mut items = Vec::new();
        while self.pos < end {
            items.push(self.get(elem)?);
        }
        Ok(Val::Array(
            String::from_utf8_lossy(elem).into_owned(),
            items,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let props = Val::Array(
            "(sv)".into(),
            vec![
                Val::Struct(vec![
                    Val::str("PIDs"),
                    Val::Variant(Box::new(Val::Array("u".into(), vec![Val::U32(7)]))),
                ]),
                Val::Struct(vec![
                    Val::str("MemoryLimit"),
                    Val::Variant(Box::new(Val::U64(1 << 26))),
                ]),
                Val::Struct(vec![
                    Val::str("Delegate"),
                    Val::Variant(Box::new(Val::Bool(true))),
                ]),
            ],
        );
        let body = [
            Val::str("x.scope"),
            props,
            Val::Array("(sa(sv))".into(), vec![]),
        ];
        let mut w = Writer::default();
        for v in &body {
            w.put(v);
        }
        let sig: String = body.iter().map(Val::signature).collect();
        assert_eq!(sig, "sa(sv)a(sa(sv))");
        let back = Reader::new(&w.buf, 0).all(&sig).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn wire_bytes() {
        let mut w = Writer::default();
        w.put(&Val::Byte(1));
        w.put(&Val::U64(2));
        assert_eq!(w.buf, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        let mut w = Writer::default();
        w.put(&Val::Array("t".into(), vec![]));
        // The length, then padding to the element's alignment even when empty.
        assert_eq!(w.buf, [0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(Reader::new(&[5, 0, 0, 0, b'a'], 0).all("s").is_err());
        assert!(Reader::new(&[1, b'a', 0], 0).all("v").is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff], 0).all("au").is_err());
        assert!(one_type(b"(su").is_err());
    }
}
