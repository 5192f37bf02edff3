//! Every decoder: arbitrary bytes as a value of any type OID the registry
//! knows (built-in scalars, arrays, ranges, records, hstore...), in binary
//! and text, through `Value` and the registry. No panic; a value decoded
//! from text prints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgwire_proto::types::TypeRegistry;
use pgwire_proto::Format;

fuzz_target!(|data: &[u8]| {
    let Some((head, raw)) = data.split_first_chunk::<3>() else {
        return;
    };
    // OIDs below 4100 hold every built-in type, its array and its range.
    let oid = u32::from(u16::from_le_bytes([head[0], head[1]])) % 4100;
    let format = if head[2] & 1 == 0 {
        Format::Binary
    } else {
        Format::Text
    };
    let registry = TypeRegistry::new();
    if let Ok(value) = registry.decode(oid, format, raw) {
        let _ = value.to_string();
    }
    let _ = registry.decode_nullable(oid, format, Some(raw));
});
