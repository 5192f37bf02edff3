//! Arrays: `Vec<T>` and `[T]` for one-dimensional arrays, [`Array<T>`] for
//! any number of dimensions and lower bounds, in both formats.
//!
//! Elements are converted by their own type's conversions, with the element
//! type's OID: in the binary format the array header names it; in the text
//! format it comes from the array type (the built-in table in
//! [`element_type`]). So arrays work for every element type that has a
//! [`FromSql`]/[`ToSql`], in this module or not.
//!
//! Decoding needs owned element types (`Vec<String>`, not `Vec<&str>`): a
//! text-format element with escapes has no unescaped copy in the row to
//! borrow from.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use super::registry::{self, TypeKind};
use super::{oid, text, Encoded, FromSql, Oid, ToSql, TypeError, TypeRegistry};
use crate::row::Format;

/// PostgreSQL's limit on the number of dimensions (`MAXDIM`).
pub const MAX_DIMENSIONS: usize = 6;

/// OIDs from here on belong to types created after `initdb` (extensions,
/// user types), whose OIDs differ between databases.
pub(crate) const FIRST_NORMAL_OBJECT_ID: Oid = 16_384;

/// The element type of the built-in array type `array`, as in
/// `pg_type.typelem`; `None` for other types, including arrays of
/// user-defined types, whose OIDs are not fixed.
///
/// ```
/// use pgwire_proto::types::{element_type, oid};
/// assert_eq!(element_type(oid::INT4_ARRAY), Some(oid::INT4));
/// assert_eq!(element_type(1182), Some(1082)); // _date -> date
/// assert_eq!(element_type(oid::INT4), None);
/// ```
pub fn element_type(array: Oid) -> Option<Oid> {
    registry::builtin_element(array)
}

/// The array type of the built-in type `element` (`pg_type.typarray`).
///
/// ```
/// use pgwire_proto::types::{array_type, oid};
/// assert_eq!(array_type(oid::TEXT), Some(oid::TEXT_ARRAY));
/// assert_eq!(array_type(0), None);
/// ```
pub fn array_type(element: Oid) -> Option<Oid> {
    registry::builtin_array(element)
}

/// One dimension of an [`Array`]: its length and the subscript of its first
/// element (1 unless the array was built otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dimension {
    /// The number of elements along this dimension.
    pub len: i32,
    /// The subscript of the first element.
    pub lower_bound: i32,
}

impl Dimension {
    /// A dimension of `len` elements starting at subscript 1, the default.
    pub fn new(len: i32) -> Dimension {
        Dimension {
            len,
            lower_bound: 1,
        }
    }
}

/// A PostgreSQL array of any shape: dimensions with lower bounds, and the
/// elements in row-major order, `None` for NULL.
///
/// A zero-dimensional array (no dims, no elements) is the empty array `{}`.
///
/// ```
/// use pgwire_proto::types::{oid, Array, Dimension, FromSql};
/// use pgwire_proto::Format;
///
/// let a = Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, b"[0:1][1:2]={{1,2},{3,NULL}}").unwrap();
/// assert_eq!(a.dims, vec![Dimension { len: 2, lower_bound: 0 }, Dimension::new(2)]);
/// assert_eq!(a.elements, vec![Some(1), Some(2), Some(3), None]);
/// assert_eq!(a.get(&[1, 1]), Some(&Some(3)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Array<T> {
    /// The dimensions, outermost first; empty for the empty array.
    pub dims: Vec<Dimension>,
    /// The elements in row-major order; as many as the dimensions' lengths
    /// multiply to.
    pub elements: Vec<Option<T>>,
}

impl<T> Default for Array<T> {
    fn default() -> Self {
        Array {
            dims: Vec::new(),
            elements: Vec::new(),
        }
    }
}

impl<T> From<Vec<T>> for Array<T> {
    fn from(elements: Vec<T>) -> Self {
        Array::from_nullable(elements.into_iter().map(Some).collect())
    }
}

impl<T> Array<T> {
    /// Checks that `dims` describe `elements` and builds the array.
    pub fn new(dims: Vec<Dimension>, elements: Vec<Option<T>>) -> Result<Self, TypeError> {
        check_shape(0, &dims, elements.len())?;
        Ok(Array { dims, elements })
    }

    /// A one-dimensional array with lower bound 1 (empty if `elements` is).
    pub fn from_nullable(elements: Vec<Option<T>>) -> Self {
        let dims = match i32::try_from(elements.len()) {
            Ok(0) | Err(_) => Vec::new(),
            Ok(len) => vec![Dimension::new(len)],
        };
        Array { dims, elements }
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.dims.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// True for the empty array.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The element at PostgreSQL subscripts `index` (one per dimension,
    /// counted from each dimension's lower bound); `None` outside the array.
    pub fn get(&self, index: &[i32]) -> Option<&Option<T>> {
        if index.len() != self.dims.len() || index.is_empty() {
            return None;
        }
        let mut flat: usize = 0;
        for (&i, dim) in index.iter().zip(&self.dims) {
            let offset = i64::from(i) - i64::from(dim.lower_bound);
            if offset < 0 || offset >= i64::from(dim.len) {
                return None;
            }
            flat = flat
                .checked_mul(usize::try_from(dim.len).ok()?)?
                .checked_add(usize::try_from(offset).ok()?)?;
        }
        self.elements.get(flat)
    }

    /// Converts each element.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Array<U> {
        Array {
            dims: self.dims,
            elements: self.elements.into_iter().map(|e| e.map(&mut f)).collect(),
        }
    }
}

/// Checks that `dims` is a valid shape for `count` elements.
fn check_shape(ty: Oid, dims: &[Dimension], count: usize) -> Result<(), TypeError> {
    if dims.len() > MAX_DIMENSIONS {
        return Err(TypeError::invalid(
            ty,
            format!(
                "{} dimensions exceed the maximum of {MAX_DIMENSIONS}",
                dims.len()
            ),
        ));
    }
    let mut total: usize = if dims.is_empty() { 0 } else { 1 };
    for dim in dims {
        let len = usize::try_from(dim.len)
            .map_err(|_| TypeError::invalid(ty, format!("negative dimension {}", dim.len)))?;
        if i64::from(dim.lower_bound) + i64::from(dim.len) - 1 > i64::from(i32::MAX) {
            return Err(TypeError::invalid(ty, "array upper bound overflows"));
        }
        total = total
            .checked_mul(len)
            .ok_or_else(|| TypeError::invalid(ty, "array size overflows"))?;
    }
    if total != count {
        return Err(TypeError::invalid(
            ty,
            format!("dimensions describe {total} elements but there are {count}"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading length-prefixed binary data, shared by the container types.

/// A cursor over a binary value that reports truncation as
/// [`TypeError::Invalid`] of type `ty`.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    pub ty: Oid,
    pub rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(ty: Oid, raw: &'a [u8]) -> Self {
        Reader { ty, rest: raw }
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], TypeError> {
        let Some((head, tail)) = self.rest.split_at_checked(n) else {
            return Err(TypeError::invalid(self.ty, "binary value is truncated"));
        };
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TypeError> {
        let bytes = self.bytes(N)?;
        bytes
            .try_into()
            .map_err(|_| TypeError::invalid(self.ty, "binary value is truncated"))
    }

    pub fn u8(&mut self) -> Result<u8, TypeError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn i32(&mut self) -> Result<i32, TypeError> {
        self.array().map(i32::from_be_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, TypeError> {
        self.array().map(u32::from_be_bytes)
    }

    /// A count that the rest of the input must have room for, at
    /// `min_size` bytes per item: guards allocations against forged counts.
    pub fn count(&mut self, min_size: usize, what: &str) -> Result<usize, TypeError> {
        let n = self.i32()?;
        let n = usize::try_from(n)
            .map_err(|_| TypeError::invalid(self.ty, format!("negative {what} count {n}")))?;
        if n.saturating_mul(min_size) > self.rest.len() {
            return Err(TypeError::invalid(
                self.ty,
                format!("{what} count {n} exceeds the value's length"),
            ));
        }
        Ok(n)
    }

    /// A length-prefixed value: `None` for length -1 (NULL).
    pub fn value(&mut self) -> Result<Option<&'a [u8]>, TypeError> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len)
            .map_err(|_| TypeError::invalid(self.ty, format!("invalid length {len}")))?;
        self.bytes(len).map(Some)
    }

    pub fn finish(&self) -> Result<(), TypeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(TypeError::invalid(
                self.ty,
                format!("{} trailing bytes", self.rest.len()),
            ))
        }
    }
}

/// Writes a length-prefixed value encoded by `encode` for type `ty`: returns
/// the format it chose, and leaves `out` as it was unless that is binary or
/// NULL.
pub(super) fn put_binary_value(
    value: &dyn ToSql,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    let at = out.len();
    out.put_i32(0);
    let encoded = match value.to_sql(ty, out) {
        Ok(encoded) => encoded,
        Err(e) => {
            out.truncate(at);
            return Err(e);
        }
    };
    match encoded {
        Encoded::Binary => {
            let len = out.len() - at - 4;
            let Ok(len) = i32::try_from(len) else {
                out.truncate(at);
                return Err(TypeError::invalid(ty, "element longer than 2 GiB"));
            };
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        Encoded::Null => {
            out.truncate(at);
            out.put_i32(-1);
        }
        Encoded::Text => out.truncate(at),
    }
    Ok(encoded)
}

/// The text form of `value` as a parameter of type `ty` (0: unknown), for
/// embedding in a container's text format; `None` for NULL. Values that
/// encode as binary for `ty` are asked for text instead.
pub(super) fn text_of(value: &dyn ToSql, ty: Oid) -> Result<Option<Vec<u8>>, TypeError> {
    let mut buf = BytesMut::new();
    match value.to_sql(ty, &mut buf)? {
        Encoded::Null => Ok(None),
        Encoded::Text => Ok(Some(buf.to_vec())),
        Encoded::Binary => {
            buf.clear();
            match value.to_sql(oid::TEXT, &mut buf) {
                Ok(Encoded::Text) => Ok(Some(buf.to_vec())),
                Ok(Encoded::Null) => Ok(None),
                // A value that is binary even as text (bytea): no text form.
                Ok(Encoded::Binary) | Err(_) => Err(TypeError::invalid(
                    ty,
                    format!("{value:?} has no text form to embed in an array, range or record"),
                )),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Decoding.

/// What the element decoder is given: the element type, the format, and the
/// element's bytes (`None` for NULL).
pub(super) type ElementDecoder<'f, E> =
    dyn FnMut(Oid, Format, Option<&[u8]>) -> Result<E, TypeError> + 'f;

/// The element type to use for the text format of array type `ty`, and
/// whether `ty` is an array type this module decodes at all: built-in array
/// types, and types past the built-in range (user types' arrays, whose
/// element type is not known here: their elements are handed over as
/// `unknown`, which text-like types accept).
fn text_element(ty: Oid) -> Option<Oid> {
    match element_type(ty) {
        Some(element) => Some(element),
        None if ty >= FIRST_NORMAL_OBJECT_ID => Some(oid::UNKNOWN),
        None => None,
    }
}

/// Decodes an array value of type `ty` with at most `max_dims` dimensions,
/// elements by `element`. `R` is the Rust type asked for, named in errors.
///
/// Generic in the element decoder, so that the binary format's loop calls
/// it inlined rather than through a `dyn` pointer once per element.
#[inline]
pub(super) fn decode<R: ?Sized, E, F>(
    ty: Oid,
    format: Format,
    raw: &[u8],
    max_dims: usize,
    element: &mut F,
) -> Result<(Vec<Dimension>, Vec<E>), TypeError>
where
    F: FnMut(Oid, Format, Option<&[u8]>) -> Result<E, TypeError>,
{
    match text_element(ty) {
        Some(elem) => decode_as(ty, elem, format, raw, max_dims, element),
        None => Err(TypeError::wrong_type::<R>(ty)),
    }
}

/// Decodes an array value of type `ty` whose elements are of type `elem`
/// (used by the text format; the binary format names its element type).
#[inline]
pub(super) fn decode_as<E, F>(
    ty: Oid,
    elem: Oid,
    format: Format,
    raw: &[u8],
    max_dims: usize,
    element: &mut F,
) -> Result<(Vec<Dimension>, Vec<E>), TypeError>
where
    F: FnMut(Oid, Format, Option<&[u8]>) -> Result<E, TypeError>,
{
    match format {
        Format::Binary => decode_binary(ty, raw, max_dims, element),
        // The text formats parse far more per element than a call costs:
        // one copy of their code serves every element type.
        Format::Text if matches!(ty, oid::INT2VECTOR | oid::OIDVECTOR) => {
            decode_vector(ty, elem, raw, element)
        }
        Format::Text => decode_text(ty, elem, raw, max_dims, element),
    }
}

fn too_many_dims(ty: Oid, ndim: usize, max_dims: usize) -> TypeError {
    if max_dims == 1 {
        TypeError::invalid(
            ty,
            format!("a {ndim}-dimensional array does not fit a one-dimensional Vec; decode it into an Array"),
        )
    } else {
        TypeError::invalid(
            ty,
            format!("{ndim} dimensions exceed the maximum of {max_dims}"),
        )
    }
}

/// What a binary array's header says: the element type, the shape (on
/// the stack: a one-dimensional `Vec<T>` discards it, and a heap
/// allocation per array value is a cost per row), the element count, and
/// the bytes of the elements.
struct BinaryHeader<'a> {
    elem: Oid,
    shape: [Dimension; MAX_DIMENSIONS],
    ndim: usize,
    total: usize,
    rest: &'a [u8],
}

impl BinaryHeader<'_> {
    fn dims(&self) -> &[Dimension] {
        self.shape.get(..self.ndim).unwrap_or_default()
    }
}

/// Reads and checks a binary array's header: not generic, so that the
/// generic element loop after it stays small enough for the element
/// decoder to be inlined into it.
fn binary_header(ty: Oid, raw: &[u8], max_dims: usize) -> Result<BinaryHeader<'_>, TypeError> {
    let mut r = Reader::new(ty, raw);
    let ndim = r.i32()?;
    let ndim = usize::try_from(ndim)
        .map_err(|_| TypeError::invalid(ty, format!("negative dimension count {ndim}")))?;
    if ndim > MAX_DIMENSIONS.min(max_dims) {
        return Err(too_many_dims(ty, ndim, max_dims.min(MAX_DIMENSIONS)));
    }
    let flags = r.i32()?;
    if flags != 0 && flags != 1 {
        return Err(TypeError::invalid(
            ty,
            format!("invalid array flags {flags}"),
        ));
    }
    let elem = r.u32()?;
    let mut shape = [Dimension::new(0); MAX_DIMENSIONS];
    for slot in shape.iter_mut().take(ndim) {
        let len = r.i32()?;
        let lower_bound = r.i32()?;
        *slot = Dimension { len, lower_bound };
    }
    let mut ndim = ndim;
    let dims = shape.get(..ndim).unwrap_or_default();
    if let Some(d) = dims.iter().find(|d| d.len < 0) {
        return Err(TypeError::invalid(
            ty,
            format!("negative dimension {}", d.len),
        ));
    }
    // Any zero-length dimension makes the array empty.
    if dims.iter().any(|d| d.len == 0) {
        ndim = 0;
    }
    let dims = shape.get(..ndim).unwrap_or_default();
    // Every element takes at least its four-byte length: a count beyond that
    // is forged, and is refused before anything is allocated for it.
    let mut total: usize = usize::from(!dims.is_empty());
    for d in dims {
        let len = usize::try_from(d.len)
            .map_err(|_| TypeError::invalid(ty, format!("negative dimension {}", d.len)))?;
        total = total
            .checked_mul(len)
            .filter(|&n| n <= r.rest.len() / 4)
            .ok_or_else(|| TypeError::invalid(ty, "array dimensions exceed the value's length"))?;
    }
    check_shape(ty, dims, total)?;
    Ok(BinaryHeader {
        elem,
        shape,
        ndim,
        total,
        rest: r.rest,
    })
}

#[inline]
fn decode_binary<E, F>(
    ty: Oid,
    raw: &[u8],
    max_dims: usize,
    element: &mut F,
) -> Result<(Vec<Dimension>, Vec<E>), TypeError>
where
    F: FnMut(Oid, Format, Option<&[u8]>) -> Result<E, TypeError>,
{
    let header = binary_header(ty, raw, max_dims)?;
    let elem = header.elem;
    let mut elements = Vec::with_capacity(header.total);
    // The per-element hot loop, on the slice itself: each step splits off
    // the length and the value, the only checks a forged value needs.
    let mut rest = header.rest;
    for _ in 0..header.total {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(truncated(ty));
        };
        let len = i32::from_be_bytes(*len);
        let value = if len == -1 {
            rest = tail;
            None
        } else {
            let Some((value, tail)) = usize::try_from(len)
                .ok()
                .and_then(|len| tail.split_at_checked(len))
            else {
                return Err(invalid_length(ty, len));
            };
            rest = tail;
            Some(value)
        };
        elements.push(element(elem, Format::Binary, value)?);
    }
    Reader::new(ty, rest).finish()?;
    // A caller of one dimension (`Vec<T>`) keeps only the elements.
    let dims = if max_dims == 1 {
        Vec::new()
    } else {
        header.dims().to_vec()
    };
    Ok((dims, elements))
}

/// Out of line: only forged or corrupt values get here.
#[cold]
fn truncated(ty: Oid) -> TypeError {
    TypeError::invalid(ty, "binary value is truncated")
}

/// A negative length other than -1 (NULL), or one past the value's end.
#[cold]
fn invalid_length(ty: Oid, len: i32) -> TypeError {
    if len < 0 {
        TypeError::invalid(ty, format!("invalid length {len}"))
    } else {
        truncated(ty)
    }
}

/// `int2vector` and `oidvector` text: numbers separated by spaces, lower
/// bound 0.
fn decode_vector<E>(
    ty: Oid,
    elem: Oid,
    raw: &[u8],
    element: &mut ElementDecoder<'_, E>,
) -> Result<(Vec<Dimension>, Vec<E>), TypeError> {
    let mut elements = Vec::new();
    for item in raw.split(|&b| is_space(b)).filter(|s| !s.is_empty()) {
        elements.push(element(elem, Format::Text, Some(item))?);
    }
    let dims = match i32::try_from(elements.len()) {
        Ok(0) => Vec::new(),
        Ok(len) => vec![Dimension {
            len,
            lower_bound: 0,
        }],
        Err(_) => return Err(TypeError::invalid(ty, "too many elements")),
    };
    Ok((dims, elements))
}

/// Whitespace as `array_in` sees it.
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The delimiter between elements of type `elem` (`pg_type.typdelim`): a
/// comma, except for `box`, whose text contains commas.
pub(super) fn delimiter(elem: Oid) -> u8 {
    const BOX: Oid = 603;
    if elem == BOX {
        b';'
    } else {
        b','
    }
}

fn decode_text<E>(
    ty: Oid,
    elem: Oid,
    raw: &[u8],
    max_dims: usize,
    element: &mut ElementDecoder<'_, E>,
) -> Result<(Vec<Dimension>, Vec<E>), TypeError> {
    let mut parser = TextParser {
        ty,
        raw,
        pos: 0,
        delim: delimiter(elem),
        max_dims: max_dims.min(MAX_DIMENSIONS),
        lens: [None; MAX_DIMENSIONS],
        leaf_depth: None,
    };
    let mut elements = Vec::new();
    parser.skip_space();
    let explicit = parser.bounds()?;
    parser.skip_space();
    if parser.peek() != Some(b'{') {
        return Err(parser.error("expected \"{\""));
    }
    parser.level(0, &mut |value: Option<Cow<'_, [u8]>>| {
        elements.push(element(elem, Format::Text, value.as_deref())?);
        Ok(())
    })?;
    parser.skip_space();
    if parser.pos < raw.len() {
        return Err(parser.error("junk after closing \"}\""));
    }
    let mut dims = Vec::new();
    if let (false, Some(leaf)) = (elements.is_empty(), parser.leaf_depth) {
        for len in parser.lens.iter().take(leaf + 1) {
            dims.push(Dimension::new(len.unwrap_or(0)));
        }
    }
    if let Some(explicit) = explicit {
        if explicit.len() != dims.len() || explicit.iter().zip(&dims).any(|(e, d)| e.len != d.len) {
            return Err(TypeError::invalid(
                ty,
                "explicit dimensions do not match the array's contents",
            ));
        }
        dims = explicit;
    }
    check_shape(ty, &dims, elements.len())?;
    Ok((dims, elements))
}

/// The receiver of parsed elements.
type Sink<'s, 'a> = dyn FnMut(Option<Cow<'a, [u8]>>) -> Result<(), TypeError> + 's;

/// A parser for `array_in`'s syntax.
#[derive(Debug)]
struct TextParser<'a> {
    ty: Oid,
    raw: &'a [u8],
    pos: usize,
    delim: u8,
    max_dims: usize,
    /// The length of each nesting level, once seen.
    lens: [Option<i32>; MAX_DIMENSIONS],
    /// The nesting level that holds elements rather than sub-arrays.
    leaf_depth: Option<usize>,
}

impl<'a> TextParser<'a> {
    fn error(&self, what: &str) -> TypeError {
        TypeError::invalid(
            self.ty,
            format!("malformed array at byte {}: {what}", self.pos),
        )
    }

    fn peek(&self) -> Option<u8> {
        self.raw.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn integer(&mut self) -> Result<i32, TypeError> {
        self.skip_space();
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = self.raw.get(start..self.pos).unwrap_or_default();
        let n = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.error("invalid dimension bound"))?;
        self.skip_space();
        Ok(n)
    }

    /// The optional `[lower:upper]...=` prefix.
    fn bounds(&mut self) -> Result<Option<Vec<Dimension>>, TypeError> {
        if self.peek() != Some(b'[') {
            return Ok(None);
        }
        let mut dims = Vec::new();
        while self.eat(b'[') {
            if dims.len() == self.max_dims {
                return Err(too_many_dims(self.ty, dims.len() + 1, self.max_dims));
            }
            let first = self.integer()?;
            let (lower, upper) = if self.eat(b':') {
                (first, self.integer()?)
            } else {
                (1, first)
            };
            if !self.eat(b']') {
                return Err(self.error("expected \"]\""));
            }
            let len = i64::from(upper) - i64::from(lower) + 1;
            let len = i32::try_from(len)
                .ok()
                .filter(|&len| len > 0)
                .ok_or_else(|| self.error("upper bound below lower bound"))?;
            dims.push(Dimension {
                len,
                lower_bound: lower,
            });
            self.skip_space();
        }
        if !self.eat(b'=') {
            return Err(self.error("expected \"=\" after dimensions"));
        }
        Ok(Some(dims))
    }

    /// Parses `{...}` at nesting `depth`; the cursor is on the `{`.
    fn level(&mut self, depth: usize, sink: &mut Sink<'_, 'a>) -> Result<(), TypeError> {
        if depth >= self.max_dims {
            return Err(too_many_dims(self.ty, depth + 1, self.max_dims));
        }
        self.pos += 1;
        self.skip_space();
        let mut count: i32 = 0;
        if !self.eat(b'}') {
            loop {
                self.skip_space();
                if self.peek() == Some(b'{') {
                    if self.leaf_depth.is_some_and(|leaf| leaf <= depth) {
                        return Err(self.error("sub-array where an element was expected"));
                    }
                    self.level(depth + 1, sink)?;
                } else {
                    if self.leaf_depth.is_some_and(|leaf| leaf != depth)
                        || self.lens.get(depth + 1).copied().flatten().is_some()
                    {
                        return Err(self.error("element where a sub-array was expected"));
                    }
                    self.leaf_depth = Some(depth);
                    let value = self.element()?;
                    sink(value)?;
                }
                count = count
                    .checked_add(1)
                    .ok_or_else(|| self.error("too many elements"))?;
                self.skip_space();
                match self.peek() {
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b) if b == self.delim => self.pos += 1,
                    Some(_) => return Err(self.error("expected a delimiter or \"}\"")),
                    None => return Err(self.error("unexpected end of input")),
                }
            }
        }
        match self.lens.get_mut(depth) {
            Some(slot @ None) => *slot = Some(count),
            Some(Some(len)) if *len == count => {}
            _ => return Err(self.error("sub-arrays have different lengths")),
        }
        Ok(())
    }

    /// One element: quoted, or unquoted up to the next delimiter or `}`,
    /// with backslash escapes in both; unquoted `NULL` is NULL.
    fn element(&mut self) -> Result<Option<Cow<'a, [u8]>>, TypeError> {
        let raw = self.raw;
        if self.eat(b'"') {
            let start = self.pos;
            let mut owned: Option<Vec<u8>> = None;
            loop {
                match self.peek() {
                    None => return Err(self.error("unterminated quoted element")),
                    Some(b'"') => {
                        let end = self.pos;
                        self.pos += 1;
                        return Ok(Some(match owned {
                            Some(v) => Cow::Owned(v),
                            None => Cow::Borrowed(raw.get(start..end).unwrap_or_default()),
                        }));
                    }
                    Some(b'\\') => {
                        let buf = owned.get_or_insert_with(|| {
                            raw.get(start..self.pos).unwrap_or_default().to_vec()
                        });
                        self.pos += 1;
                        let Some(b) = self.peek() else {
                            return Err(self.error("unterminated quoted element"));
                        };
                        buf.push(b);
                        self.pos += 1;
                    }
                    Some(b) => {
                        if let Some(buf) = owned.as_mut() {
                            buf.push(b);
                        }
                        self.pos += 1;
                    }
                }
            }
        }
        let start = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        // How many bytes to keep, dropping trailing unescaped whitespace:
        // counted from `start` in `raw` while borrowing, in `owned` once an
        // escape was seen (the two agree when the copy is made).
        let mut kept = 0;
        loop {
            match self.peek() {
                None => return Err(self.error("unexpected end of input")),
                Some(b) if b == self.delim || b == b'}' => break,
                Some(b'{' | b'"') => return Err(self.error("unexpected character in element")),
                Some(b'\\') => {
                    let copied = raw.get(start..self.pos).unwrap_or_default();
                    let buf = owned.get_or_insert_with(|| copied.to_vec());
                    self.pos += 1;
                    let Some(b) = self.peek() else {
                        return Err(self.error("unexpected end of input"));
                    };
                    buf.push(b);
                    kept = buf.len();
                    self.pos += 1;
                }
                Some(b) => {
                    self.pos += 1;
                    if let Some(buf) = owned.as_mut() {
                        buf.push(b);
                        if !is_space(b) {
                            kept = buf.len();
                        }
                    } else if !is_space(b) {
                        kept = self.pos - start;
                    }
                }
            }
        }
        match owned {
            Some(mut buf) => {
                buf.truncate(kept);
                Ok(Some(Cow::Owned(buf)))
            }
            None => {
                let text = raw.get(start..start + kept).unwrap_or_default();
                if text.is_empty() {
                    Err(self.error("empty element"))
                } else if text.eq_ignore_ascii_case(b"NULL") {
                    Ok(None)
                } else {
                    Ok(Some(Cow::Borrowed(text)))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding.

/// Writes an array's text format: `{...}` nested by dimension, with the
/// `[lower:upper]=` prefix when a lower bound is not 1. Elements are quoted
/// where `array_in` needs it.
pub(super) fn write_text<B: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    dims: &[Dimension],
    elements: &[Option<B>],
    delim: u8,
) {
    if elements.is_empty() || dims.is_empty() {
        out.extend_from_slice(b"{}");
        return;
    }
    if dims.iter().any(|d| d.lower_bound != 1) {
        for d in dims {
            let upper = i64::from(d.lower_bound) + i64::from(d.len) - 1;
            out.extend_from_slice(format!("[{}:{upper}]", d.lower_bound).as_bytes());
        }
        out.push(b'=');
    }
    write_level(out, dims, &mut elements.iter(), delim);
}

fn write_level<'e, B: AsRef<[u8]> + 'e>(
    out: &mut Vec<u8>,
    dims: &[Dimension],
    elements: &mut impl Iterator<Item = &'e Option<B>>,
    delim: u8,
) {
    let Some((first, rest)) = dims.split_first() else {
        return;
    };
    out.push(b'{');
    for i in 0..first.len.max(0) {
        if i > 0 {
            out.push(delim);
        }
        if rest.is_empty() {
            match elements.next() {
                Some(Some(element)) => write_element(out, element.as_ref(), delim),
                Some(None) | None => out.extend_from_slice(b"NULL"),
            }
        } else {
            write_level(out, rest, elements, delim);
        }
    }
    out.push(b'}');
}

/// Writes one element, quoted and escaped if `array_in` would otherwise
/// misread it.
fn write_element(out: &mut Vec<u8>, element: &[u8], delim: u8) {
    let quote = element.is_empty()
        || element.eq_ignore_ascii_case(b"NULL")
        || element
            .iter()
            .any(|&b| matches!(b, b'"' | b'\\' | b'{' | b'}') || b == delim || is_space(b));
    if !quote {
        out.extend_from_slice(element);
        return;
    }
    out.push(b'"');
    for &b in element {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The array type to declare for elements of Rust type `T`: the array of
/// `T`'s static type or, when that is not known, of the elements' natural
/// type if they agree; 0 otherwise.
fn natural<'v, T: ToSql + 'v>(elements: impl Iterator<Item = Option<&'v T>>) -> Oid {
    let static_type = T::static_type();
    if static_type != 0 {
        return array_type(static_type).unwrap_or(0);
    }
    let mut found = None;
    for ty in elements.flatten().map(|e| e.natural_type()) {
        match found {
            _ if ty == 0 => {}
            None => found = Some(ty),
            Some(f) if f == ty => {}
            Some(_) => return 0,
        }
    }
    found.and_then(array_type).unwrap_or(0)
}

/// The dimensions of a one-dimensional array of `len` elements.
fn one_dimension(len: usize) -> Result<Vec<Dimension>, TypeError> {
    match i32::try_from(len) {
        Ok(0) => Ok(Vec::new()),
        Ok(len) => Ok(vec![Dimension::new(len)]),
        Err(_) => Err(TypeError::invalid(0, "too many array elements")),
    }
}

/// Encodes an array for a parameter of type `ty`: binary when `ty` (or the
/// natural type `natural` for `ty` 0) is a built-in array type whose
/// elements all encode as binary, text otherwise. `wrong` reports a `ty`
/// that is no array.
fn encode<T: ToSql>(
    dims: &[Dimension],
    elements: &[Option<&T>],
    natural: Oid,
    ty: Oid,
    out: &mut BytesMut,
    wrong: fn(Oid) -> TypeError,
) -> Result<Encoded, TypeError> {
    let target = if ty == 0 { natural } else { ty };
    check_shape(target, dims, elements.len())?;
    let binary_element = match target {
        // Arrays in their binary format, but only with lower bound 0.
        oid::INT2VECTOR | oid::OIDVECTOR => {
            return super::vector::encode_vector(target, dims.len(), elements, out)?
                .ok_or_else(|| wrong(target));
        }
        _ => element_type(target),
    };
    if let Some(elem) = binary_element {
        let start = out.len();
        match encode_binary(dims, elements, elem, out) {
            Ok(true) => return Ok(Encoded::Binary),
            // An element is only expressible as text: so is the array.
            Ok(false) => out.truncate(start),
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        }
        return encode_text(dims, elements, elem, out);
    }
    if target == 0 || target >= FIRST_NORMAL_OBJECT_ID || text::takes_any_text(target) {
        return encode_text(dims, elements, 0, out);
    }
    Err(wrong(target))
}

/// Writes the binary format; `Ok(false)` (with `out` partly written) when an
/// element encoded itself as text.
fn encode_binary<T: ToSql>(
    dims: &[Dimension],
    elements: &[Option<&T>],
    elem: Oid,
    out: &mut BytesMut,
) -> Result<bool, TypeError> {
    let start = out.len();
    let dims = if elements.is_empty() { &[][..] } else { dims };
    // At most MAX_DIMENSIONS, checked by the caller.
    out.put_i32(i32::try_from(dims.len()).unwrap_or(0));
    out.put_i32(0);
    out.put_u32(elem);
    for d in dims {
        out.put_i32(d.len);
        out.put_i32(d.lower_bound);
    }
    let mut has_null = false;
    for element in elements {
        match element {
            None => {
                out.put_i32(-1);
                has_null = true;
            }
            Some(value) => match put_binary_value(*value, elem, out)? {
                Encoded::Binary => {}
                Encoded::Null => has_null = true,
                Encoded::Text if text_is_binary(elem) => {
                    let at = out.len();
                    out.put_i32(0);
                    let encoded = value.to_sql(elem, out)?;
                    let len = i32::try_from(out.len() - at - 4)
                        .map_err(|_| TypeError::invalid(elem, "element longer than 2 GiB"))?;
                    if encoded != Encoded::Text {
                        return Ok(false);
                    }
                    if let Some(prefix) = out.get_mut(at..at + 4) {
                        prefix.copy_from_slice(&len.to_be_bytes());
                    }
                }
                Encoded::Text => return Ok(false),
            },
        }
    }
    if has_null {
        if let Some(flags) = out.get_mut(start + 4..start + 8) {
            flags.copy_from_slice(&1i32.to_be_bytes());
        }
    }
    Ok(true)
}

/// True for types whose binary format is their text: a text-format element
/// of one of them can go into a binary array as it is.
fn text_is_binary(ty: Oid) -> bool {
    matches!(
        ty,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN | oid::JSON
    )
}

/// Writes the text format, each element as text for element type `elem` (0:
/// unknown).
fn encode_text<T: ToSql>(
    dims: &[Dimension],
    elements: &[Option<&T>],
    elem: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    let mut rendered = Vec::with_capacity(elements.len());
    for element in elements {
        rendered.push(match element {
            None => None,
            Some(value) => text_of(*value, elem)?,
        });
    }
    let mut text = Vec::new();
    write_text(&mut text, dims, &rendered, delimiter(elem));
    if text.contains(&0) {
        return Err(TypeError::Nul);
    }
    out.put_slice(&text);
    Ok(Encoded::Text)
}

fn encode_slice<T: ToSql>(
    slice: &[T],
    ty: Oid,
    out: &mut BytesMut,
    wrong: fn(Oid) -> TypeError,
) -> Result<Encoded, TypeError> {
    let elements: Vec<Option<&T>> = slice.iter().map(Some).collect();
    let natural = natural(slice.iter().map(Some));
    encode(
        &one_dimension(slice.len())?,
        &elements,
        natural,
        ty,
        out,
        wrong,
    )
}

impl<T: ToSql> ToSql for [T] {
    fn natural_type(&self) -> Oid {
        natural(self.iter().map(Some))
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode_slice(self, ty, out, TypeError::wrong_type::<Self>)
    }
}

impl<T: ToSql> ToSql for Vec<T> {
    fn natural_type(&self) -> Oid {
        natural(self.iter().map(Some))
    }

    fn static_type() -> Oid {
        array_type(T::static_type()).unwrap_or(0)
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode_slice(self, ty, out, TypeError::wrong_type::<Self>)
    }
}

impl<T: ToSql> ToSql for Array<T> {
    fn natural_type(&self) -> Oid {
        natural(self.elements.iter().map(Option::as_ref))
    }

    fn static_type() -> Oid {
        array_type(T::static_type()).unwrap_or(0)
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        let elements: Vec<Option<&T>> = self.elements.iter().map(Option::as_ref).collect();
        encode(
            &self.dims,
            &elements,
            self.natural_type(),
            ty,
            out,
            TypeError::wrong_type::<Self>,
        )
    }
}

/// An element of a `Vec<T>`. A function rather than a closure so that it
/// can be forced inline into the binary loop: it is the per-element work.
#[inline(always)]
fn vec_element<T: for<'b> FromSql<'b>>(
    elem: Oid,
    format: Format,
    value: Option<&[u8]>,
) -> Result<T, TypeError> {
    match value {
        Some(value) => T::from_sql(elem, format, value),
        None => T::from_null(elem),
    }
}

/// An element of an `Array<T>` (see [`vec_element`]).
#[inline(always)]
fn array_element<T: for<'b> FromSql<'b>>(
    elem: Oid,
    format: Format,
    value: Option<&[u8]>,
) -> Result<Option<T>, TypeError> {
    match value {
        Some(value) => T::from_sql(elem, format, value).map(Some),
        None => Ok(None),
    }
}

/// The element type of array type `ty` for its text format, as `types`
/// registered it (an array of a composite, say), else as [`decode`] finds
/// it.
fn registered_element<R: ?Sized>(ty: Oid, types: &TypeRegistry) -> Result<Oid, TypeError> {
    match types.registered_kind(ty) {
        Some(TypeKind::Array { element }) => Ok(*element),
        _ => text_element(ty).ok_or_else(|| TypeError::wrong_type::<R>(ty)),
    }
}

/// The `from_sql_with` of `Vec<T>` and `Array<T>` (`R`): array `raw` of
/// type `ty` with its element type as `types` registered it, each element
/// read by `T::from_sql_with` as its wire type, then made an `E` by
/// `value`; a NULL element is `null(element type)`.
fn decode_registered<R: ?Sized, T: for<'b> FromSql<'b>, E>(
    ty: Oid,
    format: Format,
    raw: &[u8],
    max_dims: usize,
    types: &TypeRegistry,
    value: fn(T) -> E,
    null: fn(Oid) -> Result<E, TypeError>,
) -> Result<(Vec<Dimension>, Vec<E>), TypeError> {
    let elem = registered_element::<R>(ty, types)?;
    let mut element = |elem: Oid, format: Format, raw: Option<&[u8]>| match raw {
        Some(raw) => T::from_sql_with(types.wire_type(elem), format, raw, Some(types)).map(value),
        None => null(elem),
    };
    decode_as(ty, elem, format, raw, max_dims, &mut element)
}

impl<'a, T: for<'b> FromSql<'b>> FromSql<'a> for Vec<T> {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        decode::<Self, T, _>(ty, format, raw, 1, &mut vec_element::<T>)
            .map(|(_, elements)| elements)
    }

    fn from_sql_with(
        ty: Oid,
        format: Format,
        raw: &'a [u8],
        types: Option<&TypeRegistry>,
    ) -> Result<Self, TypeError> {
        let Some(types) = types else {
            return Self::from_sql(ty, format, raw);
        };
        decode_registered::<Self, T, T>(ty, format, raw, 1, types, |value| value, T::from_null)
            .map(|(_, elements)| elements)
    }
}

impl<'a, T: for<'b> FromSql<'b>> FromSql<'a> for Array<T> {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        let (dims, elements) =
            decode::<Self, Option<T>, _>(ty, format, raw, MAX_DIMENSIONS, &mut array_element::<T>)?;
        Ok(Array { dims, elements })
    }

    fn from_sql_with(
        ty: Oid,
        format: Format,
        raw: &'a [u8],
        types: Option<&TypeRegistry>,
    ) -> Result<Self, TypeError> {
        let Some(types) = types else {
            return Self::from_sql(ty, format, raw);
        };
        let (dims, elements) =
            decode_registered::<Self, T, _>(ty, format, raw, MAX_DIMENSIONS, types, Some, |_| {
                Ok(None)
            })?;
        Ok(Array { dims, elements })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    /// A binary array as `array_send` writes it.
    fn binary(elem: Oid, dims: &[(i32, i32)], elements: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = BytesMut::new();
        out.put_i32(dims.len() as i32);
        out.put_i32(i32::from(elements.iter().any(Option::is_none)));
        out.put_u32(elem);
        for &(len, lower_bound) in dims {
            out.put_i32(len);
            out.put_i32(lower_bound);
        }
        for e in elements {
            match e {
                Some(v) => {
                    out.put_i32(v.len() as i32);
                    out.put_slice(v);
                }
                None => out.put_i32(-1),
            }
        }
        out.to_vec()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn is_invalid<T: std::fmt::Debug>(result: Result<T, TypeError>) -> bool {
        matches!(result, Err(TypeError::Invalid { .. }))
    }

    const AWKWARD: [&str; 12] = [
        "plain",
        "a,b",
        "say \"hi\"",
        "back\\slash",
        "{braces}",
        " spaced out ",
        "ünïcödé ✓",
        "",
        "NULL",
        "null",
        "semi;colon",
        "tab\there\nnewline",
    ];

    #[test]
    fn natural_and_static_types() {
        assert_eq!(vec![1i32].natural_type(), oid::INT4_ARRAY);
        assert_eq!(Vec::<i64>::static_type(), oid::INT8_ARRAY);
        assert_eq!(Vec::<Option<bool>>::static_type(), oid::BOOL_ARRAY);
        assert_eq!(Vec::<Vec<u8>>::static_type(), oid::BYTEA_ARRAY);
        assert_eq!(Vec::<String>::static_type(), 0);
        assert_eq!(vec!["a".to_owned()].natural_type(), 0);
        assert_eq!([1i16, 2][..].natural_type(), oid::INT2_ARRAY);
        assert_eq!(Array::<f64>::static_type(), oid::FLOAT8_ARRAY);
        assert_eq!(None::<Vec<i32>>.natural_type(), oid::INT4_ARRAY);
        assert_eq!(Vec::<Vec<i32>>::static_type(), 0);
    }

    #[test]
    fn int4_binary_round_trips() {
        for v in [vec![], vec![1i32], vec![1, -2, i32::MAX, i32::MIN]] {
            assert_eq!(round_trip(&v, 0), Ok(v.clone()));
            assert_eq!(round_trip(&v, oid::INT4_ARRAY), Ok(v.clone()));
            // Elements convert like scalars do.
            assert_eq!(round_trip(&v, oid::INT8_ARRAY), Ok(v.clone()));
        }
        assert_eq!(
            encode(&vec![7i32, 8], 0),
            Ok((
                Encoded::Binary,
                binary(
                    oid::INT4,
                    &[(2, 1)],
                    &[Some(&[0, 0, 0, 7]), Some(&[0, 0, 0, 8])]
                )
            ))
        );
        assert_eq!(
            encode(&Vec::<i32>::new(), 0),
            Ok((Encoded::Binary, binary(oid::INT4, &[], &[])))
        );
        let nullable = vec![Some(1i64), None, Some(3)];
        assert_eq!(round_trip(&nullable, 0), Ok(nullable.clone()));
        assert_eq!(
            encode(&nullable, 0),
            Ok((
                Encoded::Binary,
                binary(
                    oid::INT8,
                    &[(3, 1)],
                    &[Some(&1i64.to_be_bytes()), None, Some(&3i64.to_be_bytes())]
                )
            ))
        );
        assert_eq!(
            encode(&&[5i16][..], oid::INT2_ARRAY),
            Ok((
                Encoded::Binary,
                binary(oid::INT2, &[(1, 1)], &[Some(&[0, 5])])
            ))
        );
    }

    #[test]
    fn int4_text() {
        let decode = |raw: &[u8]| Vec::<Option<i32>>::from_sql(oid::INT4_ARRAY, Format::Text, raw);
        assert_eq!(decode(b"{1,2,NULL}"), Ok(vec![Some(1), Some(2), None]));
        assert_eq!(decode(b"{}"), Ok(vec![]));
        assert_eq!(decode(b" { 1 , -2 } "), Ok(vec![Some(1), Some(-2)]));
        assert_eq!(decode(b"{null,NuLl}"), Ok(vec![None, None]));
        assert_eq!(decode(b"{\"3\"}"), Ok(vec![Some(3)]));
        assert_eq!(
            Vec::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, b"{1,NULL}"),
            Err(TypeError::UnexpectedNull)
        );
        // Into a numeric or text parameter, integers go as text.
        assert_eq!(
            encode(&vec![Some(1i32), None], oid::NUMERIC_ARRAY),
            Ok((Encoded::Text, b"{1,NULL}".to_vec()))
        );
        assert_eq!(
            encode(&vec![1i32, 2], oid::TEXT),
            Ok((Encoded::Text, b"{1,2}".to_vec()))
        );
    }

    #[test]
    fn text_array_awkward_elements() {
        let v = strings(&AWKWARD);
        // Strings are binary in a text[] (the binary format of text is the
        // text), and text with no declared type.
        for ty in [oid::TEXT_ARRAY, oid::VARCHAR_ARRAY] {
            let (format, _) = encode(&v, ty).unwrap();
            assert_eq!(format, Encoded::Binary);
            assert_eq!(round_trip(&v, ty), Ok(v.clone()));
        }
        let (format, text) = encode(&v, 0).unwrap();
        assert_eq!(format, Encoded::Text);
        assert_eq!(
            Vec::<String>::from_sql(oid::TEXT_ARRAY, Format::Text, &text),
            Ok(v.clone())
        );
        assert_eq!(
            String::from_utf8_lossy(&text),
            r#"{plain,"a,b","say \"hi\"","back\\slash","{braces}"," spaced out ","ünïcödé ✓","","NULL","null",semi;colon,"tab	here
newline"}"#
        );
        let elements: Vec<Option<&[u8]>> = AWKWARD.iter().map(|s| Some(s.as_bytes())).collect();
        assert_eq!(
            Vec::<String>::from_sql(
                oid::TEXT_ARRAY,
                Format::Binary,
                &binary(oid::TEXT, &[(12, 1)], &elements)
            ),
            Ok(v)
        );
    }

    #[test]
    fn null_versus_quoted_null() {
        let v = vec![None, Some("NULL".to_owned()), Some("x".to_owned())];
        let (_, text) = encode(&v, 0).unwrap();
        assert_eq!(text, b"{NULL,\"NULL\",x}");
        assert_eq!(
            Vec::<Option<String>>::from_sql(oid::TEXT_ARRAY, Format::Text, &text),
            Ok(v.clone())
        );
        assert_eq!(round_trip(&v, oid::TEXT_ARRAY), Ok(v));
        // An escaped unquoted NULL is the string too.
        assert_eq!(
            Vec::<Option<String>>::from_sql(oid::TEXT_ARRAY, Format::Text, br"{\NULL,NULLx}"),
            Ok(vec![Some("NULL".to_owned()), Some("NULLx".to_owned())])
        );
    }

    #[test]
    fn text_parsing_details() {
        let decode = |raw: &[u8]| Vec::<String>::from_sql(oid::TEXT_ARRAY, Format::Text, raw);
        assert_eq!(decode(b"{ a b , c }"), Ok(strings(&["a b", "c"])));
        assert_eq!(
            decode(br"{a\,b,c\ ,\ d}"),
            Ok(strings(&["a,b", "c ", " d"]))
        );
        assert_eq!(
            decode(br#"{"a\"b\\c" , "" }"#),
            Ok(strings(&["a\"b\\c", ""]))
        );
        assert_eq!(decode("{ü,✓}".as_bytes()), Ok(strings(&["ü", "✓"])));
        for bad in [
            &b""[..],
            b"1,2",
            b"{",
            b"{1,2",
            b"{1,}",
            b"{,}",
            b"{a\"b}",
            b"{\"a}",
            b"{\"a\"b}",
            b"{a{b}",
            b"{1}x",
            b"{{1},2}",
            b"{1,{2}}",
            b"{{1,2},{3}}",
            b"{{1},{{2}}}",
            b"{{{{{{{1}}}}}}}",
            b"[1:2]={1}",
            b"[2:1]={}",
            b"[1:2={1,2}",
            b"[1:2]{1,2}",
            b"[x:2]={1,2}",
            b"{a\\",
            b"{\xff}",
        ] {
            assert!(
                is_invalid(decode(bad)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn two_dimensional() {
        let text = b"{{1,2},{3,NULL}}";
        let a = Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, text).unwrap();
        assert_eq!(a.dims, vec![Dimension::new(2), Dimension::new(2)]);
        assert_eq!(a.elements, vec![Some(1), Some(2), Some(3), None]);
        assert_eq!(a.get(&[2, 1]), Some(&Some(3)));
        assert_eq!(a.get(&[2, 2]), Some(&None));
        assert_eq!(a.get(&[3, 1]), None);
        assert_eq!(a.get(&[1]), None);
        assert_eq!(round_trip(&a, 0), Ok(a.clone()));
        assert_eq!(
            encode(&a, oid::NUMERIC_ARRAY),
            Ok((Encoded::Text, text.to_vec()))
        );
        let (_, raw) = encode(&a, 0).unwrap();
        assert_eq!(
            raw,
            binary(
                oid::INT4,
                &[(2, 1), (2, 1)],
                &[
                    Some(&[0, 0, 0, 1]),
                    Some(&[0, 0, 0, 2]),
                    Some(&[0, 0, 0, 3]),
                    None
                ]
            )
        );
        // A Vec holds one dimension only.
        for (format, raw) in [(Format::Text, &text[..]), (Format::Binary, &raw[..])] {
            let err = Vec::<Option<i32>>::from_sql(oid::INT4_ARRAY, format, raw);
            assert!(is_invalid(err.clone()), "{err:?}");
            assert!(err.unwrap_err().to_string().contains("Array"));
        }
        // Empty sub-arrays make an empty array.
        assert_eq!(
            Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, b"{{},{}}"),
            Ok(Array::default())
        );
        let three =
            Array::<String>::from_sql(oid::TEXT_ARRAY, Format::Text, b"{{{a},{b}}}").unwrap();
        assert_eq!(
            three.dims,
            vec![Dimension::new(1), Dimension::new(2), Dimension::new(1)]
        );
    }

    #[test]
    fn lower_bounds() {
        let a = Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, b"[0:2]={1,2,3}").unwrap();
        assert_eq!(
            a.dims,
            vec![Dimension {
                len: 3,
                lower_bound: 0
            }]
        );
        assert_eq!(a.get(&[0]), Some(&Some(1)));
        assert_eq!(round_trip(&a, 0), Ok(a.clone()));
        assert_eq!(
            encode(&a, oid::TEXT),
            Ok((Encoded::Text, b"[0:2]={1,2,3}".to_vec()))
        );
        let b = Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, b"[-1:0][3:3]={{1},{2}}")
            .unwrap();
        assert_eq!(
            b.dims,
            vec![
                Dimension {
                    len: 2,
                    lower_bound: -1
                },
                Dimension {
                    len: 1,
                    lower_bound: 3
                }
            ]
        );
        assert_eq!(
            encode(&b, oid::TEXT),
            Ok((Encoded::Text, b"[-1:0][3:3]={{1},{2}}".to_vec()))
        );
        // `[n]` means `[1:n]`.
        assert_eq!(
            Vec::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, b"[2]={5,6}"),
            Ok(vec![5, 6])
        );
        let raw = binary(
            oid::INT4,
            &[(2, 0)],
            &[Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 2])],
        );
        let c = Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Binary, &raw).unwrap();
        assert_eq!(c.dims[0].lower_bound, 0);
        assert_eq!(
            Vec::<i32>::from_sql(oid::INT4_ARRAY, Format::Binary, &raw),
            Ok(vec![1, 2])
        );
    }

    #[test]
    fn forged_binary_headers_are_invalid() {
        let header = |ndim: i32, flags: i32, dims: &[(i32, i32)]| {
            let mut out = BytesMut::new();
            out.put_i32(ndim);
            out.put_i32(flags);
            out.put_u32(oid::INT4);
            for &(len, lb) in dims {
                out.put_i32(len);
                out.put_i32(lb);
            }
            out.to_vec()
        };
        let mut trailing = binary(oid::INT4, &[(1, 1)], &[Some(&[0, 0, 0, 1])]);
        trailing.push(0);
        let mut bad_len = header(1, 0, &[(1, 1)]);
        bad_len.extend_from_slice(&(-2i32).to_be_bytes());
        let mut long_len = header(1, 0, &[(1, 1)]);
        long_len.extend_from_slice(&100i32.to_be_bytes());
        long_len.extend_from_slice(&[0; 10]);
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0, 0, 0],
            header(7, 0, &[(1, 1); 7]),
            header(-1, 0, &[]),
            header(1, 2, &[(1, 1)]),
            header(1, 0, &[]),
            header(1, 0, &[(-1, 1)]),
            header(1, 0, &[(i32::MAX, 1)]),
            header(2, 0, &[(i32::MAX, 1), (i32::MAX, 1)]),
            header(6, 0, &[(i32::MAX, 1); 6]),
            header(1, 0, &[(1, i32::MAX)]),
            header(1, 0, &[(2, 1)]),
            bad_len,
            long_len,
            trailing,
            binary(oid::INT4, &[(1, 1)], &[Some(&[0, 0, 1])]),
        ];
        for raw in &cases {
            let r = Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Binary, raw);
            assert!(is_invalid(r.clone()), "{raw:?}: {r:?}");
        }
        // A zero-length dimension is an empty array.
        assert_eq!(
            Vec::<i32>::from_sql(oid::INT4_ARRAY, Format::Binary, &header(1, 0, &[(0, 1)])),
            Ok(vec![])
        );
    }

    #[test]
    fn element_types() {
        // The element OID of a binary array is the header's.
        let raw = binary(oid::INT8, &[(1, 1)], &[Some(&9i64.to_be_bytes())]);
        assert_eq!(
            Vec::<i64>::from_sql(oid::INT8_ARRAY, Format::Binary, &raw),
            Ok(vec![9])
        );
        assert_eq!(
            Vec::<i16>::from_sql(oid::INT8_ARRAY, Format::Binary, &raw),
            Ok(vec![9])
        );
        assert_eq!(
            Vec::<String>::from_sql(oid::INT8_ARRAY, Format::Binary, &raw),
            Err(TypeError::wrong_type::<String>(oid::INT8))
        );
        // bytea elements are text-encoded in a text array.
        assert_eq!(
            Vec::<Vec<u8>>::from_sql(oid::BYTEA_ARRAY, Format::Text, br#"{"\\x0001ff",NULL}"#)
                .map_err(|e| e.to_string()),
            Err(TypeError::UnexpectedNull.to_string())
        );
        assert_eq!(
            Vec::<Option<Vec<u8>>>::from_sql(
                oid::BYTEA_ARRAY,
                Format::Text,
                br#"{"\\x0001ff",NULL}"#
            ),
            Ok(vec![Some(vec![0, 1, 255]), None])
        );
        let bytes = vec![vec![0u8, 1], vec![], vec![255]];
        assert_eq!(round_trip(&bytes, 0), Ok(bytes.clone()));
        // int2vector and oidvector.
        assert_eq!(
            Vec::<i16>::from_sql(oid::INT2VECTOR, Format::Text, b"1 2  3"),
            Ok(vec![1, 2, 3])
        );
        assert_eq!(
            Vec::<u32>::from_sql(oid::OIDVECTOR, Format::Text, b""),
            Ok(vec![])
        );
        // Sent as a vector (lower bound 0) when the server asks for one.
        assert_eq!(
            round_trip(&vec![1i16, -3], oid::INT2VECTOR),
            Ok(vec![1, -3])
        );
        assert!(matches!(
            encode(
                &Array::new(vec![Dimension::new(1); 2], vec![Some(1i16)]).unwrap(),
                oid::INT2VECTOR
            ),
            Err(TypeError::Invalid { .. })
        ));
        // Arrays of other built-in types decode by their element type.
        for (array, elem) in [
            (1182, 1082),
            (1183, 1083),
            (1115, 1114),
            (1185, 1184),
            (1187, 1186),
            (1270, 1266),
            (1231, 1700),
            (2951, 2950),
            (1041, 869),
            (651, 650),
            (199, 114),
            (3807, 3802),
            (1002, 18),
            (1003, 19),
            (1014, 1042),
            (1015, 1043),
            (1021, 700),
            (1022, 701),
            (1028, 26),
            (1000, 16),
            (1001, 17),
            (3905, 3904),
        ] {
            assert_eq!(element_type(array), Some(elem), "{array}");
            assert_eq!(array_type(elem), Some(array), "{elem}");
        }
    }

    #[test]
    fn wrong_types() {
        for ty in [oid::INT4, oid::TEXT, oid::BYTEA, oid::JSONB, 705] {
            assert_eq!(
                Vec::<i32>::from_sql(ty, Format::Binary, &binary(oid::INT4, &[], &[])),
                Err(TypeError::wrong_type::<Vec<i32>>(ty))
            );
        }
        assert_eq!(
            Vec::<String>::from_sql(oid::TEXT, Format::Text, b"{a}"),
            Err(TypeError::wrong_type::<Vec<String>>(oid::TEXT))
        );
        for ty in [oid::INT4, oid::BOOL, oid::JSONB, oid::NUMERIC] {
            assert_eq!(
                encode(&vec![1i32], ty),
                Err(TypeError::wrong_type::<Vec<i32>>(ty))
            );
        }
        // Element errors leave nothing written.
        assert_eq!(
            encode(&vec![1i64, i64::MAX], oid::INT4_ARRAY),
            Err(TypeError::out_of_range::<i64>(oid::INT4))
        );
        assert_eq!(encode(&vec!["a\0b"], 0), Err(TypeError::Nul));
        assert_eq!(encode(&vec!["a\0b"], oid::TEXT_ARRAY), Err(TypeError::Nul));
        assert_eq!(
            encode(&vec![vec![1u8]], oid::TEXT_ARRAY),
            Err(TypeError::wrong_type::<Vec<u8>>(oid::TEXT))
        );
        // A shape that does not match its elements.
        let bad = Array {
            dims: vec![Dimension::new(3)],
            elements: vec![Some(1i32)],
        };
        assert!(is_invalid(encode(&bad, 0)));
        assert!(is_invalid(Array::new(
            vec![Dimension::new(2)],
            vec![Some(1)]
        )));
        assert!(is_invalid(Array::<i32>::new(
            vec![Dimension::new(1); 7],
            vec![Some(1)]
        )));
        assert_eq!(
            Array::new(
                vec![Dimension::new(2), Dimension::new(1)],
                vec![Some(1), None]
            ),
            Ok(Array {
                dims: vec![Dimension::new(2), Dimension::new(1)],
                elements: vec![Some(1), None]
            })
        );
    }

    #[test]
    fn user_type_arrays() {
        // An array of a user type (say `_mood`): binary names its elements,
        // text hands them over as `unknown`.
        let raw = binary(16_390, &[(2, 1)], &[Some(b"sad"), None]);
        assert_eq!(
            Vec::<Option<String>>::from_sql(16_391, Format::Binary, &raw),
            Err(TypeError::wrong_type::<String>(16_390))
        );
        assert_eq!(
            Vec::<Option<String>>::from_sql(16_391, Format::Text, b"{sad,NULL}"),
            Ok(vec![Some("sad".to_owned()), None])
        );
        assert_eq!(
            encode(&vec!["sad", "so so"], 16_391),
            Ok((Encoded::Text, b"{sad,\"so so\"}".to_vec()))
        );
    }

    #[test]
    fn conversions() {
        let a: Array<i32> = vec![1, 2].into();
        assert_eq!(a.dims, vec![Dimension::new(2)]);
        assert_eq!(a.len(), 2);
        assert_eq!(a.ndim(), 1);
        assert!(!a.is_empty());
        assert_eq!(a.clone().map(i64::from).elements, vec![Some(1i64), Some(2)]);
        let empty: Array<i32> = Vec::new().into();
        assert!(empty.is_empty() && empty.dims.is_empty());
    }
}
