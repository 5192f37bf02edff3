//! Encoding of frontend (client to server) messages, straight into the output
//! buffer. Each function appends one whole message; none of them allocates
//! beyond growing `buf`.

use bytes::{BufMut, BytesMut};

use crate::error::Error;
use crate::row::Format;

/// Protocol version 3.0, as sent in the StartupMessage by default.
pub const PROTOCOL_VERSION: i32 = 3 << 16;
/// The magic "version" of an SSLRequest.
pub const SSL_REQUEST_CODE: i32 = 80_877_103;
/// The magic "version" of a CancelRequest.
pub const CANCEL_REQUEST_CODE: i32 = 80_877_102;

/// Writes a message whose body `body` produces, patching the length in after.
fn message(
    buf: &mut BytesMut,
    tag: Option<u8>,
    body: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
) -> Result<(), Error> {
    let start = buf.len();
    // Tag and length placeholder in one write: each `put` is a call with
    // its own capacity check.
    match tag {
        Some(tag) => buf.put_slice(&[tag, 0, 0, 0, 0]),
        None => buf.put_slice(&[0; 4]),
    }
    let len_at = buf.len() - 4;
    if let Err(e) = body(buf) {
        // Leave nothing half-written behind.
        buf.truncate(start);
        return Err(e);
    }
    let len = buf.len() - len_at;
    let len = i32::try_from(len)
        .map_err(|_| Error::InvalidInput(format!("message of {len} bytes is too long")))?;
    buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Appends a NUL-terminated string, refusing one with an inner NUL (it would
/// cut the string short on the server and desynchronize the stream).
fn cstr(buf: &mut BytesMut, s: &str, what: &str) -> Result<(), Error> {
    if s.as_bytes().contains(&0) {
        return Err(Error::InvalidInput(format!("{what} contains a NUL byte")));
    }
    if !s.is_empty() {
        buf.put_slice(s.as_bytes());
    }
    // The unnamed statement's and portal's names are empty: one byte.
    buf.put_u8(0);
    Ok(())
}

/// `StartupMessage` asking for protocol `version`, with the given
/// parameters (`user` must be among them).
pub fn startup<'a>(
    buf: &mut BytesMut,
    version: crate::ProtocolVersion,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), Error> {
    message(buf, None, |buf| {
        buf.put_i32(version.code());
        for (k, v) in params {
            cstr(buf, k, "a startup parameter name")?;
            cstr(buf, v, "a startup parameter value")?;
        }
        buf.put_u8(0);
        Ok(())
    })
}

/// `SSLRequest`.
pub fn ssl_request(buf: &mut BytesMut) {
    buf.put_i32(8);
    buf.put_i32(SSL_REQUEST_CODE);
}

/// `CancelRequest`, sent on a new connection to cancel the query running on
/// the backend `key` names, with its whole secret key (4 bytes under
/// protocol 3.0, up to 256 under 3.2).
pub fn cancel_request(buf: &mut BytesMut, key: &crate::BackendKey) {
    let secret = key.secret_key();
    // BackendKey keeps the secret within 256 bytes, so this cannot overflow.
    let len = i32::try_from(12 + secret.len()).unwrap_or(i32::MAX);
    buf.put_i32(len);
    buf.put_i32(CANCEL_REQUEST_CODE);
    buf.put_i32(key.process_id);
    buf.put_slice(secret);
}

/// `PasswordMessage` carrying a cleartext or MD5 password (NUL-terminated).
pub fn password(buf: &mut BytesMut, password: &[u8]) -> Result<(), Error> {
    if password.contains(&0) {
        return Err(Error::InvalidInput(
            "the password contains a NUL byte".into(),
        ));
    }
    message(buf, Some(b'p'), |buf| {
        buf.put_slice(password);
        buf.put_u8(0);
        Ok(())
    })
}

/// `SASLInitialResponse`.
pub fn sasl_initial_response(
    buf: &mut BytesMut,
    mechanism: &str,
    data: &[u8],
) -> Result<(), Error> {
    message(buf, Some(b'p'), |buf| {
        cstr(buf, mechanism, "the SASL mechanism")?;
        let len = i32::try_from(data.len())
            .map_err(|_| Error::InvalidInput("SASL data too long".into()))?;
        buf.put_i32(len);
        buf.put_slice(data);
        Ok(())
    })
}

/// `SASLResponse`.
pub fn sasl_response(buf: &mut BytesMut, data: &[u8]) -> Result<(), Error> {
    message(buf, Some(b'p'), |buf| {
        buf.put_slice(data);
        Ok(())
    })
}

/// `Query` (the simple query protocol).
pub fn query(buf: &mut BytesMut, sql: &str) -> Result<(), Error> {
    message(buf, Some(b'Q'), |buf| cstr(buf, sql, "the SQL text"))
}

/// `Terminate`.
pub fn terminate(buf: &mut BytesMut) {
    buf.put_u8(b'X');
    buf.put_i32(4);
}

/// The most COPY data one `CopyData` message carries (PostgreSQL takes
/// messages of up to 1 GiB; longer data is split).
pub const MAX_COPY_DATA: usize = 256 * 1024 * 1024;

/// `CopyData`: `data` in messages of at most [`MAX_COPY_DATA`] bytes (none
/// for empty data).
pub fn copy_data(buf: &mut BytesMut, data: &[u8]) {
    for chunk in data.chunks(MAX_COPY_DATA) {
        buf.reserve(5 + chunk.len());
        buf.put_u8(b'd');
        // At most MAX_COPY_DATA + 4, which fits.
        buf.put_u32((chunk.len() + 4) as u32);
        buf.extend_from_slice(chunk);
    }
}

/// `CopyDone`: the end of the COPY data.
pub fn copy_done(buf: &mut BytesMut) {
    buf.put_u8(b'c');
    buf.put_i32(4);
}

/// `CopyFail`: ends a `COPY ... FROM STDIN` with an error; the server rolls
/// the COPY back.
pub fn copy_fail(buf: &mut BytesMut, reason: &str) -> Result<(), Error> {
    message(buf, Some(b'f'), |buf| {
        cstr(buf, reason, "the CopyFail reason")
    })
}

/// `Parse`: prepares `sql` as statement `name` ("" for the unnamed one), with
/// declared parameter types (0 lets the server infer one).
pub fn parse(buf: &mut BytesMut, name: &str, sql: &str, param_types: &[u32]) -> Result<(), Error> {
    let count = param_count(param_types.len())?;
    message(buf, Some(b'P'), |buf| {
        cstr(buf, name, "the statement name")?;
        cstr(buf, sql, "the SQL text")?;
        buf.put_u16(count);
        for &oid in param_types {
            buf.put_u32(oid);
        }
        Ok(())
    })
}

/// A parameter count as Parse and Bind carry it. PostgreSQL reads it as an
/// unsigned 16-bit number, so 65,535 is the limit, not `i16::MAX`.
fn param_count(count: usize) -> Result<u16, Error> {
    u16::try_from(count).map_err(|_| {
        Error::InvalidInput(format!(
            "{count} parameters given; PostgreSQL allows at most {}",
            u16::MAX
        ))
    })
}

/// `Bind`: creates `portal` from `statement` with `param_count` values.
///
/// `encode(i, buf)` appends parameter `i`'s bytes (without length) and
/// returns its format, or `None` for NULL (having appended nothing). Format
/// codes and lengths are patched in afterwards, so values are encoded
/// straight into the output buffer without an intermediate copy.
pub fn bind(
    buf: &mut BytesMut,
    portal: &str,
    statement: &str,
    param_count: usize,
    mut encode: impl FnMut(usize, &mut BytesMut) -> Result<Option<Format>, Error>,
    result_formats: &[Format],
) -> Result<(), Error> {
    let count = self::param_count(param_count)?;
    let result_count = i16::try_from(result_formats.len())
        .map_err(|_| Error::InvalidInput("too many result columns".into()))?;
    message(buf, Some(b'B'), |buf| {
        cstr(buf, portal, "the portal name")?;
        cstr(buf, statement, "the statement name")?;
        buf.put_u16(count);
        let formats_at = buf.len();
        buf.put_bytes(0, param_count * 2);
        buf.put_u16(count);
        for i in 0..param_count {
            let len_at = buf.len();
            buf.put_slice(&[0; 4]);
            let start = buf.len();
            let (format, len) = match encode(i, buf)? {
                None => {
                    buf.truncate(start);
                    (0i16, -1i32)
                }
                Some(format) => {
                    let len = i32::try_from(buf.len() - start).map_err(|_| {
                        Error::InvalidInput(format!("parameter ${} is larger than 2 GiB", i + 1))
                    })?;
                    (format_code(format), len)
                }
            };
            buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            let at = formats_at + i * 2;
            buf[at..at + 2].copy_from_slice(&format.to_be_bytes());
        }
        match result_formats {
            // One format for every column (binary, in unnamed mode): the
            // count and the code in one write.
            [only] => {
                let [f0, f1] = format_code(*only).to_be_bytes();
                buf.put_slice(&[0, 1, f0, f1]);
            }
            all => {
                buf.put_i16(result_count);
                for &f in all {
                    buf.put_i16(format_code(f));
                }
            }
        }
        Ok(())
    })
}

fn format_code(format: Format) -> i16 {
    match format {
        Format::Text => 0,
        Format::Binary => 1,
    }
}

/// What `Describe` and `Close` refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A prepared statement.
    Statement,
    /// A portal.
    Portal,
}

impl Target {
    fn code(self) -> u8 {
        match self {
            Target::Statement => b'S',
            Target::Portal => b'P',
        }
    }
}

/// `Describe` of a statement or portal.
pub fn describe(buf: &mut BytesMut, target: Target, name: &str) -> Result<(), Error> {
    if name.is_empty() {
        // The unnamed portal's, on every request in unnamed mode: whole.
        buf.put_slice(&[b'D', 0, 0, 0, 6, target.code(), 0]);
        return Ok(());
    }
    message(buf, Some(b'D'), |buf| {
        buf.put_u8(target.code());
        cstr(buf, name, "the statement or portal name")
    })
}

/// `Execute` of a portal, returning at most `max_rows` rows (0: all).
pub fn execute(buf: &mut BytesMut, portal: &str, max_rows: u32) -> Result<(), Error> {
    let max_rows = i32::try_from(max_rows).unwrap_or(i32::MAX);
    if portal.is_empty() {
        let [r0, r1, r2, r3] = max_rows.to_be_bytes();
        buf.put_slice(&[b'E', 0, 0, 0, 9, 0, r0, r1, r2, r3]);
        return Ok(());
    }
    message(buf, Some(b'E'), |buf| {
        cstr(buf, portal, "the portal name")?;
        buf.put_i32(max_rows);
        Ok(())
    })
}

/// `Close` of a statement or portal.
pub fn close(buf: &mut BytesMut, target: Target, name: &str) -> Result<(), Error> {
    message(buf, Some(b'C'), |buf| {
        buf.put_u8(target.code());
        cstr(buf, name, "the statement or portal name")
    })
}

/// `Sync`: ends an extended-protocol request; the server answers `ReadyForQuery`.
pub fn sync(buf: &mut BytesMut) {
    buf.put_slice(b"S\0\0\0\x04");
}

/// `Flush`: asks the server to send what it has without ending the request.
pub fn flush(buf: &mut BytesMut) {
    buf.put_u8(b'H');
    buf.put_i32(4);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_framed() {
        let mut buf = BytesMut::new();
        query(&mut buf, "select 1").unwrap();
        assert_eq!(&buf[..], b"Q\0\0\0\x0dselect 1\0");
    }

    #[test]
    fn nul_in_sql_is_refused_and_leaves_nothing() {
        let mut buf = BytesMut::new();
        terminate(&mut buf);
        assert!(matches!(
            query(&mut buf, "select '\0'"),
            Err(Error::InvalidInput(_))
        ));
        assert_eq!(&buf[..], b"X\0\0\0\x04");
    }

    #[test]
    fn bind_patches_formats_and_lengths() {
        let mut buf = BytesMut::new();
        bind(
            &mut buf,
            "",
            "s1",
            3,
            |i, buf| {
                Ok(match i {
                    0 => {
                        buf.put_i32(7);
                        Some(Format::Binary)
                    }
                    1 => None,
                    _ => {
                        buf.put_slice(b"hi");
                        Some(Format::Text)
                    }
                })
            },
            &[Format::Binary],
        )
        .unwrap();
        let expected: &[u8] = b"B\0\0\0\x28\0s1\0\0\x03\0\x01\0\0\0\0\0\x03\0\0\0\x04\0\0\0\x07\xff\xff\xff\xff\0\0\0\x02hi\0\x01\0\x01";
        assert_eq!(&buf[..], expected);
    }

    #[test]
    fn failed_bind_leaves_nothing() {
        let mut buf = BytesMut::new();
        sync(&mut buf);
        let r = bind(
            &mut buf,
            "",
            "",
            1,
            |_, buf| {
                buf.put_slice(b"partial");
                Err(Error::InvalidInput("no".into()))
            },
            &[],
        );
        assert!(r.is_err());
        assert_eq!(&buf[..], b"S\0\0\0\x04");
    }

    #[test]
    fn parse_and_bind_take_up_to_65535_parameters() {
        for n in [32_767usize, 32_768, 40_000, 65_535] {
            let mut buf = BytesMut::new();
            parse(&mut buf, "", "select", &vec![23; n]).unwrap();
            // Tag, length, two empty C strings... "select\0", then the count.
            assert_eq!(&buf[13..15], &u16::try_from(n).unwrap().to_be_bytes());
            assert_eq!(buf.len(), 15 + 4 * n);
            let mut buf = BytesMut::new();
            bind(&mut buf, "", "", n, |_, _| Ok(None), &[]).unwrap();
            let count = u16::try_from(n).unwrap().to_be_bytes();
            // The format codes' count, then (after them) the values' count.
            assert_eq!(&buf[7..9], &count);
            assert_eq!(&buf[9 + 2 * n..11 + 2 * n], &count);
            assert_eq!(buf.len(), 11 + 2 * n + 4 * n + 2);
        }
        let mut buf = BytesMut::new();
        sync(&mut buf);
        let too_many = parse(&mut buf, "", "select", &vec![23; 65_536]);
        assert!(
            matches!(too_many, Err(Error::InvalidInput(_))),
            "{too_many:?}"
        );
        let too_many = bind(&mut buf, "", "", 65_536, |_, _| Ok(None), &[]);
        assert!(
            matches!(too_many, Err(Error::InvalidInput(_))),
            "{too_many:?}"
        );
        assert_eq!(&buf[..], b"S\0\0\0\x04");
    }

    #[test]
    fn startup_lists_parameters() {
        let mut buf = BytesMut::new();
        startup(&mut buf, crate::ProtocolVersion::V3_0, [("user", "bob")]).unwrap();
        assert_eq!(&buf[..], b"\0\0\0\x12\0\x03\0\0user\0bob\0\0");
    }
}
