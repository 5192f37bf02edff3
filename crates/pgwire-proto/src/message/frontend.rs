//! Encoding of frontend (client to server) messages, straight into the output
//! buffer. Each function appends one whole message; none of them allocates
//! beyond growing `buf`.

use bytes::{BufMut, BytesMut};

use crate::error::Error;

/// Protocol version 3.0, as sent in the StartupMessage.
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
    if let Some(tag) = tag {
        buf.put_u8(tag);
    }
    let len_at = buf.len();
    buf.put_i32(0);
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
    buf.put_slice(s.as_bytes());
    buf.put_u8(0);
    Ok(())
}

/// `StartupMessage` with the given parameters (`user` must be among them).
pub fn startup<'a>(
    buf: &mut BytesMut,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), Error> {
    message(buf, None, |buf| {
        buf.put_i32(PROTOCOL_VERSION);
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
/// the backend identified by `process_id` and `secret_key`.
pub fn cancel_request(buf: &mut BytesMut, process_id: i32, secret_key: i32) {
    buf.put_i32(16);
    buf.put_i32(CANCEL_REQUEST_CODE);
    buf.put_i32(process_id);
    buf.put_i32(secret_key);
}

/// `PasswordMessage` carrying a cleartext or MD5 password (NUL-terminated).
pub fn password(buf: &mut BytesMut, password: &[u8]) -> Result<(), Error> {
    if password.contains(&0) {
        return Err(Error::InvalidInput("the password contains a NUL byte".into()));
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

/// `CopyFail`: refuses a `COPY ... FROM STDIN` the caller did not arrange for.
pub fn copy_fail(buf: &mut BytesMut, reason: &str) -> Result<(), Error> {
    message(buf, Some(b'f'), |buf| cstr(buf, reason, "the CopyFail reason"))
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
    fn startup_lists_parameters() {
        let mut buf = BytesMut::new();
        startup(&mut buf, [("user", "bob")]).unwrap();
        assert_eq!(&buf[..], b"\0\0\0\x12\0\x03\0\0user\0bob\0\0");
    }
}
