//! Rows into Rust values: the [`FromRow`] trait (derived with
//! `#[derive(FromRow)]` under the `derive` feature, implemented for tuples)
//! and [`TypedRowStream`], what `query_as` returns.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use pgwire_proto::types::FromSql;
use pgwire_proto::Row;

use crate::error::{Error, Result};

/// A Rust value read from a whole row: what `fetch_as`, `fetch_one_as`,
/// `fetch_exactly_one_as` and `query_as` return.
///
/// Derive it for a struct with named fields (the `derive` feature): each
/// field is read from the column of its name, `Option<T>` takes NULL, and
/// a missing column, or one that does not convert, is
/// [`Error::FromRow`] naming the column and the field. Tuples read columns
/// by position.
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// use pgwire_conn::FromRow;
///
/// #[derive(FromRow)]
/// struct Address {
///     city: String,
///     #[pgwire(rename = "zip_code")]
///     zip: Option<String>,
/// }
///
/// #[derive(FromRow)]
/// #[pgwire(rename_all = "camelCase")]
/// struct User {
///     user_id: i64,               // column "userId"
///     email: Option<String>,      // NULL is None
///     #[pgwire(flatten)]
///     address: Address,           // columns "city" and "zip_code" of the same row
/// }
///
/// async fn users<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(
///     conn: &pgwire_conn::Connection<S>,
/// ) -> pgwire_conn::Result<Vec<User>> {
///     conn.fetch_as(r#"select id as "userId", email, city, zip_code from users"#, ()).await
/// }
/// ```
///
/// By hand, with [`Row::try_get`]:
///
/// ```
/// use pgwire_conn::{FromRow, Result, Row};
///
/// struct Point { x: f64, y: f64 }
///
/// impl FromRow for Point {
///     fn from_row(row: &Row) -> Result<Self> {
///         Ok(Point { x: row.try_get("x")?, y: row.try_get("y")? })
///     }
/// }
/// ```
pub trait FromRow: Sized {
    /// Reads the value from `row`.
    fn from_row(row: &Row) -> Result<Self>;
}

impl FromRow for Row {
    fn from_row(row: &Row) -> Result<Self> {
        Ok(row.clone())
    }
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        /// Column `i` into element `i`; extra columns are left unread.
        impl<$($t),+> FromRow for ($($t,)+)
        where
            $($t: for<'a> FromSql<'a>,)+
        {
            fn from_row(row: &Row) -> Result<Self> {
                Ok(($(row.try_get::<$t>($i)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// A stream of rows read as `T`s: what `query_as` returns, around the row
/// stream `St` ([`RowStream`](crate::RowStream) or
/// [`PooledRowStream`](crate::PooledRowStream)), which
/// [`into_inner`](Self::into_inner) gives back (for its `row_count`).
///
/// A row that does not convert is an `Err` item; the stream goes on with
/// the next row.
pub struct TypedRowStream<St, T> {
    rows: St,
    // fn() -> T: the stream holds no T, and is Send/Unpin whatever T is.
    _target: PhantomData<fn() -> T>,
}

impl<St, T> TypedRowStream<St, T> {
    pub(crate) fn new(rows: St) -> Self {
        TypedRowStream {
            rows,
            _target: PhantomData,
        }
    }

    /// The row stream underneath.
    pub fn into_inner(self) -> St {
        self.rows
    }

    /// The row stream underneath, for what it offers besides rows.
    pub fn get_mut(&mut self) -> &mut St {
        &mut self.rows
    }
}

impl<St: std::fmt::Debug, T> std::fmt::Debug for TypedRowStream<St, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedRowStream")
            .field("rows", &self.rows)
            .field("target", &std::any::type_name::<T>())
            .finish()
    }
}

impl<St, T> Stream for TypedRowStream<St, T>
where
    St: Stream<Item = Result<Row>> + Unpin,
    T: FromRow,
{
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        Pin::new(&mut self.rows)
            .poll_next(cx)
            .map(|item| item.map(|row| row.and_then(|row| T::from_row(&row))))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }
}

/// Exactly one row of `rows`: [`Error::NoRows`] or [`Error::TooManyRows`]
/// otherwise.
pub(crate) fn exactly_one(rows: Vec<Row>) -> Result<Row> {
    let count = rows.len();
    let mut rows = rows.into_iter();
    match (rows.next(), count) {
        (Some(row), 1) => Ok(row),
        (None, _) => Err(Error::NoRows),
        (Some(_), rows) => Err(Error::TooManyRows { rows }),
    }
}

/// The first column of the one row of `rows`, as a `T`.
pub(crate) fn scalar<T: for<'a> FromSql<'a>>(rows: Vec<Row>) -> Result<T> {
    Ok(exactly_one(rows)?.try_get::<T>(0)?)
}

/// What the derives' generated code uses; not a public API.
#[doc(hidden)]
pub mod __derive {
    use std::marker::PhantomData;

    pub use bytes::BytesMut;
    pub use pgwire_proto::types::{
        enum_from_label, label_to_sql, transparent_to_sql, CompositeFields, CompositeWriter,
        Encoded, FromSql, Oid, ToSql, TypeError, TypeRegistry,
    };
    pub use pgwire_proto::{Format, Row};

    use crate::error::{Error, Result};

    /// Field `field` of `target` from column `column` of `row`.
    #[inline]
    pub fn column<'r, T: FromSql<'r>>(
        row: &'r Row,
        column: &'static str,
        target: &'static str,
        field: &'static str,
    ) -> Result<T> {
        row.try_get::<T>(column).map_err(|source| Error::FromRow {
            target,
            field,
            column: column.to_owned(),
            source: Box::new(source),
        })
    }

    /// The type to read a composite's text field of Rust type `T` as: the
    /// type `T` declares as a parameter if it is `ToSql`, else 0. Chosen by
    /// method resolution (`(&TextType::<T>::new()).text_type()` finds
    /// [`TextTypeOfToSql`] first where it applies).
    #[derive(Debug)]
    pub struct TextType<T>(PhantomData<fn() -> T>);

    impl<T> TextType<T> {
        /// The probe.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            TextType(PhantomData)
        }
    }

    /// `T: ToSql`: its static type.
    pub trait TextTypeOfToSql {
        /// The type.
        fn text_type(&self) -> Oid;
    }

    impl<T: ToSql> TextTypeOfToSql for TextType<T> {
        fn text_type(&self) -> Oid {
            T::static_type()
        }
    }

    /// Any other `T`: 0.
    pub trait TextTypeUnknown {
        /// The type.
        fn text_type(&self) -> Oid;
    }

    impl<T> TextTypeUnknown for &TextType<T> {
        fn text_type(&self) -> Oid {
            0
        }
    }
}
