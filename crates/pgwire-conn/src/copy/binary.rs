//! Typed binary COPY: [`BinaryCopyInWriter`] writes rows of [`ToSql`]
//! values in PostgreSQL's binary COPY format (header, tuples, trailer),
//! and [`BinaryCopyOutStream`] reads one back as rows decoded with
//! [`FromSql`], as tokio-postgres's types of the same names do.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::Stream;
use pgwire_proto::types::TypeError;
use pgwire_proto::types::{oid, Encoded};
use pgwire_proto::{ColumnError, Format, FromSql, Oid, ProtocolError, ToSql};

use super::copy_in::CHUNK;
use super::{CopyIn, CopyOut};
use crate::error::{Error, Result};

/// The binary COPY signature, flags (none) and header extension length (0).
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Types whose text form is their binary form, so that a value encoded as
/// text (as text-like Rust values are) may go into a binary COPY as is.
fn text_is_binary(ty: Oid) -> bool {
    matches!(
        ty,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::JSON | oid::UNKNOWN
    )
}

/// Writes rows into a binary `COPY ... FROM STDIN (FORMAT binary)`: each
/// value is encoded for its column's type, given in the order of the
/// COPY's columns.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use pgwire_conn::{types::oid, BinaryCopyInWriter};
/// conn.execute("create temp table t (id int4, name text)", ()).await?;
/// let copy = conn.copy_in("copy t (id, name) from stdin (format binary)").await?;
/// let mut writer = BinaryCopyInWriter::new(copy, &[oid::INT4, oid::TEXT])?;
/// writer.write(&[&1i32, &"one"]).await?;
/// writer.write(&[&2i32, &None::<&str>]).await?;
/// assert_eq!(writer.finish().await?, 2);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BinaryCopyInWriter<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    copy: CopyIn<'c, S>,
    types: Vec<Oid>,
}

impl<'c, S> BinaryCopyInWriter<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// A writer for `copy` (a COPY in binary format) whose columns have
    /// `types`. Writes the header. An error if the COPY is not binary or
    /// has another number of columns (the COPY is then rolled back).
    pub fn new(mut copy: CopyIn<'c, S>, types: &[Oid]) -> Result<Self> {
        if copy.format() != Format::Binary {
            return Err(Error::InvalidInput(
                "BinaryCopyInWriter needs a COPY ... (FORMAT binary)".into(),
            ));
        }
        if copy.column_formats().len() != types.len() {
            return Err(Error::InvalidInput(format!(
                "the COPY has {} columns, and {} types were given",
                copy.column_formats().len(),
                types.len()
            )));
        }
        copy.buffer().extend_from_slice(HEADER);
        Ok(BinaryCopyInWriter {
            copy,
            types: types.to_vec(),
        })
    }

    /// Encodes one row (a value per column, `None` for NULL) and queues it;
    /// data goes out in messages of 64 KiB. A value that does not fit its
    /// column is an [`Error::Encode`] naming it, and nothing of the row is
    /// queued (the writer may go on).
    pub async fn write(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<()> {
        self.encode(values)?;
        self.copy.push_if_full().await
    }

    fn encode(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<()> {
        if values.len() != self.types.len() {
            return Err(Error::InvalidInput(format!(
                "a row of {} values for a COPY of {} columns",
                values.len(),
                self.types.len()
            )));
        }
        let buf = self.copy.buffer();
        let start = buf.len();
        // At most 1,664 columns in a table: the count fits.
        buf.put_i16(values.len() as i16);
        for (index, (value, &ty)) in values.iter().zip(&self.types).enumerate() {
            let at = buf.len();
            buf.put_i32(0);
            let encoded = value.to_sql(ty, buf);
            let failed = match encoded {
                Ok(Encoded::Null) => {
                    buf[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                Ok(Encoded::Binary) => None,
                Ok(Encoded::Text) if text_is_binary(ty) => None,
                Ok(Encoded::Text) => Some(TypeError::Invalid {
                    pg_type: ty,
                    reason: format!(
                        "{value:?} has no binary encoding for this type, which a binary COPY needs"
                    ),
                }),
                Err(e) => Some(e),
            };
            let len = i32::try_from(buf.len() - at - 4).ok();
            match (failed, len) {
                (None, Some(len)) => buf[at..at + 4].copy_from_slice(&len.to_be_bytes()),
                (failed, _) => {
                    buf.truncate(start);
                    let source = failed.unwrap_or(TypeError::OutOfRange {
                        pg_type: ty,
                        rust_type: "a value over 2 GiB",
                    });
                    return Err(Error::Encode { index, source });
                }
            }
        }
        Ok(())
    }

    /// Writes the trailer and ends the COPY: the number of rows copied.
    pub async fn finish(mut self) -> Result<u64> {
        self.copy.buffer().put_i16(-1);
        self.copy.finish().await
    }

    /// Rolls the COPY back (see [`CopyIn::abort`]).
    pub async fn abort(self, reason: &str) -> Result<()> {
        self.copy.abort(reason).await
    }
}

impl<S> CopyIn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends the buffer once it holds a message's worth.
    pub(crate) async fn push_if_full(&mut self) -> Result<()> {
        if self.buffer().len() >= CHUNK {
            std::future::poll_fn(|cx| self.poll_push(cx)).await?;
        }
        Ok(())
    }
}

/// One row of a binary COPY, as [`BinaryCopyOutStream`] yields it: a slice
/// of the received data and where each value lies in it.
#[derive(Debug, Clone)]
pub struct BinaryCopyOutRow {
    data: Bytes,
    /// Start and length of each value (length -1: NULL).
    fields: Vec<(u32, i32)>,
    types: Arc<[Oid]>,
}

impl BinaryCopyOutRow {
    /// The number of values.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True for a row of no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Value `index` decoded as `T` (an `Option` for a column with NULLs).
    pub fn try_get<'a, T: FromSql<'a>>(&'a self, index: usize) -> Result<T> {
        let len = self.fields.len();
        let (&(start, size), &ty) = self
            .fields
            .get(index)
            .zip(self.types.get(index))
            .ok_or(ColumnError::OutOfRange { index, len })?;
        let decoded = match usize::try_from(size) {
            Err(_) => T::from_null(ty),
            Ok(size) => {
                let start = start as usize;
                T::from_sql(ty, Format::Binary, &self.data[start..start + size])
            }
        };
        decoded.map_err(|source| {
            Error::Column(ColumnError::Decode {
                index,
                column: format!("${}", index + 1),
                source,
            })
        })
    }
}

/// The rows of a binary `COPY ... TO STDOUT (FORMAT binary)`, decoded for
/// the given column types; a malformed stream is a typed error.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use futures_util::TryStreamExt;
/// use pgwire_conn::{types::oid, BinaryCopyOutStream};
/// let copy = conn.copy_out("copy (select g, g::text from generate_series(1, 3) g) to stdout (format binary)").await?;
/// let rows: Vec<_> = BinaryCopyOutStream::new(copy, &[oid::INT4, oid::TEXT])?.try_collect().await?;
/// assert_eq!(rows[2].try_get::<i32>(0)?, 3);
/// assert_eq!(rows[2].try_get::<&str>(1)?, "3");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BinaryCopyOutStream<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    copy: CopyOut<'c, S>,
    types: Arc<[Oid]>,
    /// Received data not yet parsed.
    rest: Bytes,
    header: bool,
    trailer: bool,
}

fn malformed(reason: &'static str) -> Error {
    Error::Protocol(ProtocolError::Malformed {
        message: "binary COPY data",
        reason,
    })
}

impl<'c, S> BinaryCopyOutStream<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Rows of `copy` (a COPY in binary format) whose columns have `types`.
    pub fn new(copy: CopyOut<'c, S>, types: &[Oid]) -> Result<Self> {
        if copy.format() != Format::Binary {
            return Err(Error::InvalidInput(
                "BinaryCopyOutStream needs a COPY ... (FORMAT binary)".into(),
            ));
        }
        if copy.column_formats().len() != types.len() {
            return Err(Error::InvalidInput(format!(
                "the COPY has {} columns, and {} types were given",
                copy.column_formats().len(),
                types.len()
            )));
        }
        Ok(BinaryCopyOutStream {
            copy,
            types: types.into(),
            rest: Bytes::new(),
            header: false,
            trailer: false,
        })
    }

    /// The number of rows copied, once the stream has ended.
    pub fn rows(&self) -> Option<u64> {
        self.copy.rows()
    }

    /// The next whole row in `rest`, if there is one.
    fn parse(&mut self) -> Result<Option<BinaryCopyOutRow>> {
        if !self.header {
            if self.rest.len() < HEADER.len() {
                return Ok(None);
            }
            if &self.rest[..11] != b"PGCOPY\n\xff\r\n\0" {
                return Err(malformed("no binary COPY signature"));
            }
            let mut r = &self.rest[11..];
            let _flags = r.get_u32();
            let extension = r.get_u32() as usize;
            if self.rest.len() < HEADER.len() + extension {
                return Ok(None);
            }
            self.rest.advance(HEADER.len() + extension);
            self.header = true;
        }
        let data = &self.rest[..];
        let Some(count) = data.get(..2) else {
            return Ok(None);
        };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            self.trailer = true;
            self.rest.advance(2);
            return Ok(None);
        }
        if usize::try_from(count).ok() != Some(self.types.len()) {
            return Err(malformed(
                "a tuple's column count differs from the types given",
            ));
        }
        let mut fields = Vec::with_capacity(self.types.len());
        let mut at = 2usize;
        for _ in 0..count {
            let Some(len) = data.get(at..at + 4) else {
                return Ok(None);
            };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            at += 4;
            match usize::try_from(len) {
                Ok(n) => {
                    if data.len() < at + n {
                        return Ok(None);
                    }
                    let start = u32::try_from(at).map_err(|_| malformed("a tuple over 4 GiB"))?;
                    fields.push((start, len));
                    at += n;
                }
                Err(_) if len == -1 => fields.push((0, -1)),
                Err(_) => return Err(malformed("a negative value length")),
            }
        }
        let row = self.rest.split_to(at);
        Ok(Some(BinaryCopyOutRow {
            data: row,
            fields,
            types: Arc::clone(&self.types),
        }))
    }
}

impl<S> Stream for BinaryCopyOutStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<BinaryCopyOutRow>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if !this.trailer {
                match this.parse() {
                    Ok(Some(row)) => return Poll::Ready(Some(Ok(row))),
                    Ok(None) => {}
                    Err(e) => {
                        this.trailer = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
            match ready!(Pin::new(&mut this.copy).poll_next(cx)) {
                Some(Ok(chunk)) if this.trailer => {
                    if !chunk.is_empty() {
                        return Poll::Ready(Some(Err(malformed("data after the trailer"))));
                    }
                }
                Some(Ok(chunk)) if this.rest.is_empty() => this.rest = chunk,
                Some(Ok(chunk)) => {
                    // A tuple split across messages: join the pieces.
                    let mut joined = BytesMut::with_capacity(this.rest.len() + chunk.len());
                    joined.extend_from_slice(&this.rest);
                    joined.extend_from_slice(&chunk);
                    this.rest = joined.freeze();
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None if !this.trailer && this.copy.rows().is_some() => {
                    return Poll::Ready(Some(Err(malformed("the data ended without a trailer"))));
                }
                None => return Poll::Ready(None),
            }
        }
    }
}
