//! Just enough of the protobuf wire format to write an ONNX model: varints, length-delimited
//! fields and fixed32 floats. The ONNX graph writer is the only user, so no schema crate.

/// One protobuf message being written, field by field, in the order called.
#[derive(Default)]
pub(super) struct Message(Vec<u8>);

const VARINT: u32 = 0;
const LENGTH_DELIMITED: u32 = 2;
const FIXED32: u32 = 5;

impl Message {
    pub(super) fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, field: u32, wire_type: u32) {
        self.raw_varint(u64::from((field << 3) | wire_type));
    }

    fn raw_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    /// An `int64`/`int32`/enum field (negative numbers take ten bytes, as protobuf says).
    pub(super) fn int(&mut self, field: u32, value: i64) -> &mut Self {
        self.key(field, VARINT);
        self.raw_varint(value as u64);
        self
    }

    pub(super) fn float(&mut self, field: u32, value: f32) -> &mut Self {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(super) fn bytes(&mut self, field: u32, value: &[u8]) -> &mut Self {
        self.key(field, LENGTH_DELIMITED);
        self.raw_varint(value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }

    pub(super) fn string(&mut self, field: u32, value: &str) -> &mut Self {
        self.bytes(field, value.as_bytes())
    }

    pub(super) fn message(&mut self, field: u32, value: &Message) -> &mut Self {
        self.bytes(field, &value.0)
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn fields_are_encoded_as_the_protobuf_spec_examples() {
        // The spec's examples: field 1 = 150 is 08 96 01; field 2 = "testing" is 12 07 74 65 73 74 69 6e 67.
        let mut m = Message::new();
        m.int(1, 150).string(2, "testing");
        assert_eq!(m.into_bytes(), [0x08, 0x96, 0x01, 0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']);
        let mut negative = Message::new();
        negative.int(3, -1);
        assert_eq!(negative.into_bytes(), [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        let mut float = Message::new();
        float.float(2, 1.0);
        assert_eq!(float.into_bytes(), [0x15, 0x00, 0x00, 0x80, 0x3f]);
    }
}
