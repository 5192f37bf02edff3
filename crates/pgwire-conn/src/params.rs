//! Parameter lists: positional (`$1`, `$2`, ...) or named (`:name`).
//!
//! Values always travel as bind parameters; SQL text is never spliced.

use pgwire_proto::ToSql;

/// A list of parameter values, positional or named.
///
/// Implemented for `()` (no parameters), tuples of up to 12 values, arrays,
/// slices and vectors of `&(dyn ToSql + Sync)`, and [`Named`].
///
/// ```
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use pgwire_conn::named;
/// conn.fetch("select $1::int4 + $2::int4", (1, 2)).await?;
/// conn.fetch("select :a::text || :b::text || :a::text", named! { a: "x", b: "y" }).await?;
/// # Ok(()) }
/// ```
pub trait Params {
    /// The number of values.
    fn count(&self) -> usize;
    /// Value `i`.
    fn value(&self, i: usize) -> Option<&(dyn ToSql + Sync)>;
    /// The name of value `i` when the list is named.
    fn name(&self, _i: usize) -> Option<&str> {
        None
    }
    /// True for named lists (`:name` placeholders).
    fn is_named(&self) -> bool {
        false
    }
}

impl Params for () {
    fn count(&self) -> usize {
        0
    }
    fn value(&self, _i: usize) -> Option<&(dyn ToSql + Sync)> {
        None
    }
}

impl<P: Params + ?Sized> Params for &P {
    fn count(&self) -> usize {
        (**self).count()
    }
    fn value(&self, i: usize) -> Option<&(dyn ToSql + Sync)> {
        (**self).value(i)
    }
    fn name(&self, i: usize) -> Option<&str> {
        (**self).name(i)
    }
    fn is_named(&self) -> bool {
        (**self).is_named()
    }
}

impl Params for [&(dyn ToSql + Sync)] {
    fn count(&self) -> usize {
        self.len()
    }
    fn value(&self, i: usize) -> Option<&(dyn ToSql + Sync)> {
        self.get(i).copied()
    }
}

impl<const N: usize> Params for [&(dyn ToSql + Sync); N] {
    fn count(&self) -> usize {
        N
    }
    fn value(&self, i: usize) -> Option<&(dyn ToSql + Sync)> {
        self.get(i).copied()
    }
}

impl Params for Vec<&(dyn ToSql + Sync)> {
    fn count(&self) -> usize {
        self.len()
    }
    fn value(&self, i: usize) -> Option<&(dyn ToSql + Sync)> {
        self.get(i).copied()
    }
}

macro_rules! tuple_params {
    ($n:expr; $($idx:tt $t:ident),+) => {
        impl<$($t: ToSql + Sync),+> Params for ($($t,)+) {
            fn count(&self) -> usize {
                $n
            }
            fn value(&self, i: usize) -> Option<&(dyn ToSql + Sync)> {
                match i {
                    $($idx => Some(&self.$idx),)+
                    _ => None,
                }
            }
        }
    };
}

tuple_params!(1; 0 A);
tuple_params!(2; 0 A, 1 B);
tuple_params!(3; 0 A, 1 B, 2 C);
tuple_params!(4; 0 A, 1 B, 2 C, 3 D);
tuple_params!(5; 0 A, 1 B, 2 C, 3 D, 4 E);
tuple_params!(6; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple_params!(7; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple_params!(8; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);
tuple_params!(9; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I);
tuple_params!(10; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J);
tuple_params!(11; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K);
tuple_params!(12; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L);

/// Values for `:name` placeholders. Build it with [`named!`](crate::named)
/// or from a slice of `(name, value)` pairs.
///
/// A placeholder is a `:` followed by an identifier (letters, digits, `_`
/// and `$`, not starting with a digit or `$`; any non-ASCII character
/// counts as a letter), outside strings, quoted identifiers, dollar quotes
/// and comments, and not part of `::` or `:=`. Each distinct name becomes
/// one `$n`, up to 65,535 of them.
///
/// A `:` glued to the character before it (a letter, digit, `_`, `$` or
/// non-ASCII character) is not a placeholder and stays as written:
/// `a[lo:hi]` is an array slice, and in `limit:n`, `a:b`, `$:b` or `$yd:C`
/// a `$n` would join the token before it (`limit$1` is one identifier,
/// `$$1` opens a dollar quote), so the statement would mean something else.
/// Write `limit :n` for a placeholder there; a value given for a name that
/// is left alone is a [`ParamError::UnusedValue`](crate::ParamError::UnusedValue).
#[derive(Debug, Clone, Copy)]
pub struct Named<'a>(pub &'a [(&'a str, &'a (dyn ToSql + Sync))]);

impl Params for Named<'_> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn value(&self, i: usize) -> Option<&(dyn ToSql + Sync)> {
        self.0.get(i).map(|(_, v)| *v)
    }
    fn name(&self, i: usize) -> Option<&str> {
        self.0.get(i).map(|(n, _)| *n)
    }
    fn is_named(&self) -> bool {
        true
    }
}

/// Builds [`Named`] parameters: `named! { id: 42, name: "x" }`.
///
/// The placeholders are `:id` and `:name` written apart from the token
/// before them (`limit :n`, not `limit:n`, which is left alone); see
/// [`Named`] for the rules.
#[macro_export]
macro_rules! named {
    ($($name:ident : $value:expr),* $(,)?) => {
        $crate::Named(&[$((stringify!($name), &$value as &(dyn $crate::ToSql + Sync))),*])
    };
}
