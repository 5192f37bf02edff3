//! MD5 password authentication (`AuthenticationMD5Password`).
//!
//! PostgreSQL stores `md5(password || user)` and challenges the client with a
//! random 4-byte salt; the client answers with the salted hash of that stored
//! value so the cleartext password never crosses the wire. MD5 is obsolete as a
//! hash, but the server still offers this method, so the client must speak it.

use ::md5::{Digest, Md5};

/// Computes the answer to `AuthenticationMD5Password`.
///
/// Returns `"md5" + hex(md5(hex(md5(password || user)) || salt))`: always 35
/// ASCII characters, lowercase hex. The caller sends it, NUL-terminated, in a
/// `PasswordMessage`.
///
/// `user` is the user name from the startup message (not a SASL name), and
/// both arguments are taken as raw bytes because the server hashes bytes,
/// whatever the client encoding.
#[must_use]
pub fn md5_password(user: &[u8], password: &[u8], salt: [u8; 4]) -> String {
    let mut inner = Md5::new();
    inner.update(password);
    inner.update(user);
    // The server stores and salts the *hex text* of the inner digest, not the
    // raw digest bytes, so the second round must hash the hex string.
    let inner_hex = to_hex(&inner.finalize());

    let mut outer = Md5::new();
    outer.update(inner_hex.as_bytes());
    outer.update(salt);

    let mut out = String::with_capacity(35);
    out.push_str("md5");
    out.push_str(&to_hex(&outer.finalize()));
    out
}

/// Lowercase hex encoding; the server compares the text case-sensitively.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values were computed independently with Python's hashlib:
    //   i = md5(password + user).hexdigest().encode()
    //   "md5" + md5(i + salt).hexdigest()

    #[test]
    fn known_vector() {
        assert_eq!(
            md5_password(b"postgres", b"password", [1, 2, 3, 4]),
            "md598511ceaec347a656f032c7f2a16ef17"
        );
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(
            md5_password(b"", b"", [0, 0, 0, 0]),
            "md591b86670dcd47857d222fa05653500aa"
        );
    }

    #[test]
    fn non_ascii_and_non_utf8_bytes() {
        assert_eq!(
            md5_password(b"al\xc3\xafce", b"p\xffss", [0xde, 0xad, 0xbe, 0xef]),
            "md52286be5281832ec654716a02e21f68fb"
        );
    }

    #[test]
    fn shape() {
        let s = md5_password(b"u", b"p", [9, 8, 7, 6]);
        assert_eq!(s.len(), 35);
        assert!(s.starts_with("md5"));
        assert!(s[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn salt_matters() {
        assert_ne!(
            md5_password(b"u", b"p", [0, 0, 0, 0]),
            md5_password(b"u", b"p", [0, 0, 0, 1])
        );
    }
}
