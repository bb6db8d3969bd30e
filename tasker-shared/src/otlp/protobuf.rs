//! The few protobuf wire rules OTLP needs: varints, tags, length-delimited fields and
//! little-endian fixed fields.
//!
//! A nested message's length precedes it, and is known only once the message is written.
//! Instead of a sizing pass over the whole tree (prost computes every nested length once per
//! enclosing level), the writer leaves one byte for the length, writes the message, and
//! widens the gap in the rare case the message is 128 bytes or more. A span's attributes
//! and events are small; only spans and the containers around them move, once each.

/// Wire types used by OTLP.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// A protobuf encoder writing into a reusable buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_buffer(mut buf: Vec<u8>) -> Self {
        buf.clear();
        Self { buf }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn tag(&mut self, field: u32, wire: u32) {
        self.varint(u64::from((field << 3) | wire));
    }

    /// A varint field; proto3 omits the default, 0.
    pub(crate) fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.tag(field, VARINT);
            self.varint(v);
        }
    }

    /// A varint field written even when 0: a oneof member (an `AnyValue`'s int or bool).
    pub(crate) fn varint_always(&mut self, field: u32, v: u64) {
        self.tag(field, VARINT);
        self.varint(v);
    }

    pub(crate) fn fixed64(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.fixed64_always(field, v);
        }
    }

    pub(crate) fn fixed64_always(&mut self, field: u32, v: u64) {
        self.tag(field, FIXED64);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn fixed32(&mut self, field: u32, v: u32) {
        if v != 0 {
            self.tag(field, FIXED32);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A `bytes` or `string` field; empty ones are omitted, as proto3 does.
    pub(crate) fn bytes(&mut self, field: u32, v: &[u8]) {
        if !v.is_empty() {
            self.bytes_always(field, v);
        }
    }

    /// A `string` field written even when empty (a oneof member, a map key).
    pub(crate) fn bytes_always(&mut self, field: u32, v: &[u8]) {
        self.tag(field, LEN);
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    /// A nested message, written by `body`. An empty message is still written, so that a
    /// oneof member or a repeated element is not lost.
    pub(crate) fn message(&mut self, field: u32, body: impl FnOnce(&mut Self)) {
        self.tag(field, LEN);
        let at = self.buf.len();
        self.buf.push(0);
        body(self);
        let len = self.buf.len() - at - 1;
        if len < 0x80 {
            self.buf[at] = len as u8;
            return;
        }
        let mut prefix = [0u8; 10];
        let mut n = 0;
        let mut v = len as u64;
        while v >= 0x80 {
            prefix[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        prefix[n] = v as u8;
        n += 1;
        // The gap holds one byte; make room for the other n - 1 and move the body once (a
        // memmove: `Vec::splice` went through its generic iterator path, a cost that showed
        // in wasm profiles, where every span is longer than 127 bytes).
        let end = self.buf.len();
        self.buf.resize(end + n - 1, 0);
        self.buf.copy_within(at + 1..end, at + n);
        self.buf[at..at + n].copy_from_slice(&prefix[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_the_wire_format() {
        let mut w = Writer::default();
        w.uint(1, 300);
        assert_eq!(w.buf, [0x08, 0xac, 0x02]);
        let mut w = Writer::default();
        w.varint_always(3, -1i64 as u64);
        assert_eq!(
            w.buf.len(),
            11,
            "a negative int64 is a ten-byte varint after its tag"
        );
    }

    #[test]
    fn a_long_nested_message_gets_a_wide_length() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut w = Writer::default();
            w.message(2, |w| w.buf.extend(std::iter::repeat_n(7u8, len)));
            let mut expect = vec![0x12];
            let mut v = len;
            while v >= 0x80 {
                expect.push((v as u8) | 0x80);
                v >>= 7;
            }
            expect.push(v as u8);
            expect.extend(std::iter::repeat_n(7u8, len));
            assert_eq!(w.buf, expect, "length {len}");
        }
    }

    #[test]
    fn defaults_are_omitted_but_oneof_members_are_not() {
        let mut w = Writer::default();
        w.uint(1, 0);
        w.fixed64(2, 0);
        w.bytes(3, b"");
        assert!(w.buf.is_empty());
        w.varint_always(2, 0);
        w.bytes_always(1, b"");
        assert_eq!(w.buf, [0x10, 0x00, 0x0a, 0x00]);
    }
}
