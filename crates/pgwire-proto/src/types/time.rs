//! Dates and times, with the [`time`](::time) crate: `date`, `time`,
//! `timetz`, `timestamp`, `timestamptz` and `interval`.
//!
//! | PostgreSQL    | Rust                                                  |
//! |---------------|-------------------------------------------------------|
//! | `date`        | [`Date`], [`Infinite<Date>`]                          |
//! | `time`        | [`Time`]                                              |
//! | `timetz`      | [`TimeTz`]                                            |
//! | `timestamp`   | [`PrimitiveDateTime`], [`Infinite<PrimitiveDateTime>`] |
//! | `timestamptz` | [`OffsetDateTime`], [`Infinite<OffsetDateTime>`]      |
//! | `interval`    | [`Interval`]                                          |
//!
//! **Precision.** PostgreSQL keeps microseconds; `time` keeps nanoseconds.
//! Encoding rounds to the nearest microsecond (halves up), which is what the
//! server does with extra digits in a literal, so a value gets the same
//! stored result whether sent in binary or as text. A bare [`Time`] is the
//! exception at the very end of the day: 23:59:59.9999995 and later round
//! down to 23:59:59.999999 instead of up to `24:00:00`, which PostgreSQL
//! accepts but `Time` cannot read back.
//!
//! **Range.** `time` holds years -9999 to 9999 (astronomical numbering, year
//! 0 is 1 BC); PostgreSQL dates go from 4714-11-24 BC to 5874897 AD. Values
//! one side can hold and the other cannot are [`TypeError::OutOfRange`], in
//! either direction. `infinity` and `-infinity` are
//! [`Infinite::Infinity`] and [`Infinite::NegInfinity`]; into a plain `Date`
//! they are `OutOfRange` too.
//!
//! **Text format.** Values are read in the `ISO` `DateStyle`, which the
//! startup sequence selects, and intervals in the `postgres` (default),
//! `postgres_verbose` or `iso_8601` `IntervalStyle` (not `sql_standard`).
//!
//! **`timestamptz` is always decoded in UTC.** The binary format carries an
//! instant, which comes back at offset zero; in text the server prints the
//! instant in the session's `TimeZone`, and that offset is not kept: the
//! value is converted to UTC, so the same row gives the same
//! `OffsetDateTime`, offset included, whichever path fetched it (extended
//! protocol in binary, the simple protocol or a type without a binary codec
//! in text, arrays, ranges, [`Value`](super::Value)). `Row::text` still
//! gives the server's text as printed. Encoding keeps whatever offset a
//! value has; the server stores only the instant.

use std::fmt;
use std::str::FromStr;

use ::time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use bytes::{BufMut, BytesMut};

use super::{fixed, oid, put_display, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// The Julian day of PostgreSQL's epoch, 2000-01-01 (`POSTGRES_EPOCH_JDATE`).
const PG_EPOCH_JULIAN: i32 = 2_451_545;
/// PostgreSQL's dates are Julian days in `[DATETIME_MIN_JULIAN,
/// DATE_END_JULIAN)`: 4714-11-24 BC to 5874897-12-31.
const DATE_MIN_JULIAN: i32 = 0;
const DATE_END_JULIAN: i32 = 2_147_483_494;
/// PostgreSQL's timestamps are microseconds since its epoch in
/// `[MIN_TIMESTAMP, END_TIMESTAMP)`: 4714-11-24 BC to 294276 AD.
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;
/// `timetz` offsets must be strictly within ±16 hours (`TZDISP_LIMIT`).
const TZDISP_LIMIT: i32 = 16 * 3600;

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Nanoseconds from the Unix epoch to PostgreSQL's.
const PG_EPOCH_UNIX_NANOS: i128 = 946_684_800 * 1_000_000_000;

/// A date or timestamp that may also be PostgreSQL's `infinity` or
/// `-infinity`, which sort after and before every other value.
///
/// ```
/// use pgwire_proto::types::{oid, FromSql, Infinite};
/// use pgwire_proto::Format;
/// use time::Date;
///
/// let v = Infinite::<Date>::from_sql(oid::DATE, Format::Text, b"-infinity");
/// assert_eq!(v, Ok(Infinite::NegInfinity));
/// // A plain Date has no infinity to decode into.
/// assert!(Date::from_sql(oid::DATE, Format::Text, b"infinity").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Infinite<T> {
    /// `-infinity`: before every value.
    NegInfinity,
    /// An ordinary value.
    Value(T),
    /// `infinity`: after every value.
    Infinity,
}

impl<T> Infinite<T> {
    /// The ordinary value, or `None` for the infinities.
    pub fn finite(self) -> Option<T> {
        match self {
            Infinite::Value(v) => Some(v),
            Infinite::NegInfinity | Infinite::Infinity => None,
        }
    }
}

impl<T> From<T> for Infinite<T> {
    fn from(value: T) -> Self {
        Infinite::Value(value)
    }
}

/// A `timetz` value: a time of day with its UTC offset.
///
/// The offset must be strictly within ±16 hours to be sent; PostgreSQL
/// refuses others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeTz {
    /// The local time of day.
    pub time: Time,
    /// The offset from UTC, positive east of Greenwich.
    pub offset: UtcOffset,
}

/// An `interval`: months, days and microseconds, kept apart as PostgreSQL
/// keeps them, since a month is not a fixed number of days and a day is not
/// always 24 hours (daylight saving).
///
/// `==` compares the fields; PostgreSQL's `=` on intervals instead treats 30
/// days as a month and 24 hours as a day.
///
/// [`Display`](fmt::Display) writes the ISO 8601 form PostgreSQL's
/// `iso_8601` `IntervalStyle` prints (`P1Y2M-3DT4H5M6.789S`), which the
/// server reads back exactly whatever its `IntervalStyle`;
/// [`FromStr`] reads that and the `postgres` and `postgres_verbose` styles
/// (`1 year 2 mons -3 days +04:05:06.789`, `@ 1 hour ago`).
///
/// ```
/// use pgwire_proto::types::Interval;
///
/// let i: Interval = "1 year 2 mons -3 days +04:05:06.789".parse().unwrap();
/// assert_eq!(i, Interval { months: 14, days: -3, microseconds: 14_706_789_000 });
/// assert_eq!(i.to_string(), "P1Y2M-3DT4H5M6.789S");
/// assert_eq!(i.to_string().parse::<Interval>(), Ok(i));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Months (and years, as 12 months each).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Hours, minutes, seconds and fractions, in microseconds.
    pub microseconds: i64,
}

impl Interval {
    /// PostgreSQL 17's `infinity` interval: every field at its maximum.
    /// Earlier versions take it as an ordinary (huge) interval in binary,
    /// and refuse its text form, `infinity`.
    pub const INFINITY: Interval = Interval {
        months: i32::MAX,
        days: i32::MAX,
        microseconds: i64::MAX,
    };

    /// PostgreSQL 17's `-infinity` interval: every field at its minimum
    /// (see [`Interval::INFINITY`]).
    pub const NEG_INFINITY: Interval = Interval {
        months: i32::MIN,
        days: i32::MIN,
        microseconds: i64::MIN,
    };
}

// ---------------------------------------------------------------------------
// Conversions between `time` values and PostgreSQL's integers.

/// Nanoseconds since midnight, rounded to the nearest microsecond (halves
/// up); may be `USECS_PER_DAY` when rounding carries into the next day.
fn time_micros_rounded(t: Time) -> i64 {
    let (h, m, s, ns) = t.as_hms_nano();
    let whole = (i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s);
    (whole * 1_000_000_000 + i64::from(ns) + 500) / 1_000
}

/// A time of day for `time`/`timetz`: rounded but kept within the day (see
/// the module documentation).
fn time_micros(t: Time) -> i64 {
    time_micros_rounded(t).min(USECS_PER_DAY - 1)
}

/// The time `us` microseconds after midnight; `None` outside the day
/// (including PostgreSQL's `24:00:00`).
#[inline]
fn time_from_micros(us: i64) -> Option<Time> {
    if !(0..USECS_PER_DAY).contains(&us) {
        return None;
    }
    // Within the day, seconds fit a `u32`: its division is the cheaper one.
    let secs = u32::try_from(us / USECS_PER_SEC).ok()?;
    let micro = u32::try_from(us % USECS_PER_SEC).ok()?;
    let h = u8::try_from(secs / 3600).ok()?;
    let m = u8::try_from(secs / 60 % 60).ok()?;
    let s = u8::try_from(secs % 60).ok()?;
    Time::from_hms_micro(h, m, s, micro).ok()
}

/// Days since PostgreSQL's epoch, if within PostgreSQL's date range.
fn date_to_pg(d: Date) -> Option<i32> {
    let jd = d.to_julian_day();
    (DATE_MIN_JULIAN..DATE_END_JULIAN)
        .contains(&jd)
        .then_some(jd - PG_EPOCH_JULIAN)
}

/// The date `days` after PostgreSQL's epoch, if `time` can hold it.
#[inline]
fn date_from_pg(days: i64) -> Option<Date> {
    let jd = i32::try_from(days.checked_add(PG_EPOCH_JULIAN.into())?).ok()?;
    Date::from_julian_day(jd).ok()
}

/// Microseconds since PostgreSQL's epoch of a local date and time, if
/// within PostgreSQL's timestamp range.
fn timestamp_to_pg(dt: PrimitiveDateTime) -> Option<i64> {
    let days = i64::from(dt.date().to_julian_day()) - i64::from(PG_EPOCH_JULIAN);
    let us = days
        .checked_mul(USECS_PER_DAY)?
        .checked_add(time_micros_rounded(dt.time()))?;
    (MIN_TIMESTAMP..END_TIMESTAMP).contains(&us).then_some(us)
}

/// The local date and time `us` microseconds after PostgreSQL's epoch, if
/// `time` can hold it.
#[inline]
fn timestamp_from_pg(us: i64) -> Option<PrimitiveDateTime> {
    let date = date_from_pg(us.div_euclid(USECS_PER_DAY))?;
    let time = time_from_micros(us.rem_euclid(USECS_PER_DAY))?;
    Some(PrimitiveDateTime::new(date, time))
}

/// Microseconds since PostgreSQL's epoch of an instant, if within
/// PostgreSQL's timestamp range.
fn instant_to_pg(t: OffsetDateTime) -> Option<i64> {
    let ns = t.unix_timestamp_nanos() - PG_EPOCH_UNIX_NANOS;
    // Rounds halves up, as `time_micros_rounded` does.
    let us = i64::try_from((ns + 500).div_euclid(1_000)).ok()?;
    (MIN_TIMESTAMP..END_TIMESTAMP).contains(&us).then_some(us)
}

/// The instant `us` microseconds after PostgreSQL's epoch, in UTC.
///
/// Split into a day and a time of day with `i64` arithmetic: going through
/// `OffsetDateTime::from_unix_timestamp_nanos` costs an `i128` division per
/// value. The range is the same: what `time` can hold in UTC.
#[inline]
fn instant_from_pg(us: i64) -> Option<OffsetDateTime> {
    timestamp_from_pg(us).map(PrimitiveDateTime::assume_utc)
}

// ---------------------------------------------------------------------------
// Text output, in PostgreSQL's ISO `DateStyle`.

/// Writes the date `d` as `YYYY-MM-DD`, returning whether it is BC (the
/// ` BC` suffix goes at the very end of a timestamp, after time and zone).
fn write_date(f: &mut fmt::Formatter<'_>, d: Date) -> Result<bool, fmt::Error> {
    let (year, month, day) = d.to_calendar_date();
    // Astronomical year 0 is 1 BC.
    let bc = year <= 0;
    let shown = if bc { 1 - i64::from(year) } else { year.into() };
    write!(f, "{shown:04}-{:02}-{day:02}", u8::from(month))?;
    Ok(bc)
}

/// Writes a time of day as `HH:MM:SS[.ffffff]`, trailing zeros dropped.
fn write_time(f: &mut fmt::Formatter<'_>, us: i64) -> fmt::Result {
    write!(
        f,
        "{:02}:{:02}:{:02}",
        us / USECS_PER_HOUR,
        us / USECS_PER_MINUTE % 60,
        us / USECS_PER_SEC % 60
    )?;
    write_fraction(f, us % USECS_PER_SEC)
}

/// Writes `.ffffff` for a non-zero count of microseconds below a second,
/// without trailing zeros, as PostgreSQL does.
fn write_fraction(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    if micros == 0 {
        return Ok(());
    }
    let digits = format!("{:06}", micros.unsigned_abs());
    write!(f, ".{}", digits.trim_end_matches('0'))
}

/// Writes a UTC offset as `+HH`, `+HH:MM` or `+HH:MM:SS`.
fn write_offset(f: &mut fmt::Formatter<'_>, offset: UtcOffset) -> fmt::Result {
    let secs = offset.whole_seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    write!(f, "{sign}{:02}", abs / 3600)?;
    match (abs / 60 % 60, abs % 60) {
        (0, 0) => Ok(()),
        (m, 0) => write!(f, ":{m:02}"),
        (m, s) => write!(f, ":{m:02}:{s:02}"),
    }
}

/// A value formatted as PostgreSQL's text input reads it.
struct PgText<T>(T);

impl fmt::Display for PgText<Infinite<Date>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Infinite::NegInfinity => f.write_str("-infinity"),
            Infinite::Infinity => f.write_str("infinity"),
            Infinite::Value(d) => {
                if write_date(f, d)? {
                    f.write_str(" BC")?;
                }
                Ok(())
            }
        }
    }
}

/// A timestamp already rounded to microseconds, with an optional offset.
#[derive(Clone, Copy)]
struct Stamp {
    date: Date,
    micros_of_day: i64,
    offset: Option<UtcOffset>,
}

impl fmt::Display for PgText<Infinite<Stamp>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Infinite::NegInfinity => f.write_str("-infinity"),
            Infinite::Infinity => f.write_str("infinity"),
            Infinite::Value(s) => {
                let bc = write_date(f, s.date)?;
                f.write_str(" ")?;
                write_time(f, s.micros_of_day)?;
                if let Some(offset) = s.offset {
                    write_offset(f, offset)?;
                }
                if bc {
                    f.write_str(" BC")?;
                }
                Ok(())
            }
        }
    }
}

/// A time of day already rounded to microseconds, with an optional offset.
struct TimeText(i64, Option<UtcOffset>);

impl fmt::Display for TimeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_time(f, self.0)?;
        match self.1 {
            Some(offset) => write_offset(f, offset),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// Text input.

/// A cursor over text, read byte by byte. No method can panic; after a
/// failure the cursor's position is unspecified and the parse is abandoned.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            rest: text.as_bytes(),
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        match self.rest.split_first() {
            Some((&b, tail)) if b == byte => {
                self.rest = tail;
                true
            }
            _ => false,
        }
    }

    /// A sign, if there is one: true for `-`.
    fn sign(&mut self) -> Option<bool> {
        if self.eat(b'-') {
            Some(true)
        } else if self.eat(b'+') {
            Some(false)
        } else {
            None
        }
    }

    /// Between `min` and `max` decimal digits, as a number. At most 18
    /// digits are ever asked for, so the value fits.
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let n = self
            .rest
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n < min {
            return None;
        }
        let (digits, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(
            digits
                .iter()
                .fold(0, |acc, d| acc * 10 + i64::from(d - b'0')),
        )
    }

    /// An optional `.` and 1 to 6 digits, as microseconds.
    fn fraction(&mut self) -> Option<i64> {
        if !self.eat(b'.') {
            return Some(0);
        }
        let before = self.rest.len();
        let value = self.digits(1, 6)?;
        let n = before - self.rest.len();
        let scale = 10i64.pow(u32::try_from(6 - n).ok()?);
        // Digits beyond microseconds are never printed by the server.
        if self.rest.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        Some(value * scale)
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// A parse failure: the value is malformed, or well formed but outside what
/// the Rust type holds.
enum Bad {
    Invalid(&'static str),
    OutOfRange,
}

impl Bad {
    fn into_error<T: ?Sized>(self, ty: Oid, text: &str) -> TypeError {
        match self {
            Bad::Invalid(why) => TypeError::invalid(ty, format!("{text:?}: {why}")),
            Bad::OutOfRange => TypeError::out_of_range::<T>(ty),
        }
    }
}

fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

/// `YYYY-MM-DD` (four or more year digits); the ` BC` suffix is handled by
/// the caller, which passes `bc`.
fn parse_date(c: &mut Cursor<'_>, bc: bool) -> Result<Date, Bad> {
    let parts = (|| {
        let year = c.digits(4, 9)?;
        c.eat(b'-').then_some(())?;
        let month = c.digits(2, 2)?;
        c.eat(b'-').then_some(())?;
        Some((year, month, c.digits(2, 2)?))
    })();
    let (year, month, day) = parts.ok_or(Bad::Invalid("expected a date YYYY-MM-DD"))?;
    if year == 0 {
        return Err(Bad::Invalid("there is no year 0"));
    }
    let year = if bc { 1 - year } else { year };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => return Err(Bad::Invalid("month out of range")),
    };
    if !(1..=days_in_month).contains(&day) {
        return Err(Bad::Invalid("day out of range for the month"));
    }
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or(Bad::Invalid("month out of range"))?;
    let day = u8::try_from(day).map_err(|_| Bad::Invalid("day out of range"))?;
    let year = i32::try_from(year).map_err(|_| Bad::OutOfRange)?;
    // The calendar parts are valid, so only the year can be refused.
    Date::from_calendar_date(year, month, day).map_err(|_| Bad::OutOfRange)
}

/// `HH:MM:SS[.ffffff]` as microseconds since midnight; `24:00:00` is allowed
/// (PostgreSQL's `time` holds it).
fn parse_time(c: &mut Cursor<'_>) -> Result<i64, Bad> {
    let bad = Bad::Invalid("expected a time HH:MM:SS[.ffffff]");
    let parts = (|| {
        let h = c.digits(2, 2)?;
        c.eat(b':').then_some(())?;
        let m = c.digits(2, 2)?;
        c.eat(b':').then_some(())?;
        let s = c.digits(2, 2)?;
        Some((h, m, s, c.fraction()?))
    })();
    let (h, m, s, frac) = parts.ok_or(bad)?;
    if h > 24 || m > 59 || s > 59 {
        return Err(Bad::Invalid("time field out of range"));
    }
    let us = h * USECS_PER_HOUR + m * USECS_PER_MINUTE + s * USECS_PER_SEC + frac;
    if us > USECS_PER_DAY {
        return Err(Bad::Invalid("time field out of range"));
    }
    Ok(us)
}

/// `+HH`, `+HH:MM` or `+HH:MM:SS` (or `-`), as seconds east of UTC.
fn parse_offset(c: &mut Cursor<'_>) -> Result<UtcOffset, Bad> {
    let bad = Bad::Invalid("expected a UTC offset +HH[:MM[:SS]]");
    let parts = (|| {
        let negative = c.sign()?;
        let h = c.digits(2, 2)?;
        let (m, s) = if c.eat(b':') {
            let m = c.digits(2, 2)?;
            let s = if c.eat(b':') { c.digits(2, 2)? } else { 0 };
            (m, s)
        } else {
            (0, 0)
        };
        Some((negative, h, m, s))
    })();
    let (negative, h, m, s) = parts.ok_or(bad)?;
    if m > 59 || s > 59 {
        return Err(Bad::Invalid("UTC offset field out of range"));
    }
    let secs = i32::try_from(h * 3600 + m * 60 + s).map_err(|_| Bad::OutOfRange)?;
    let secs = if negative { -secs } else { secs };
    UtcOffset::from_whole_seconds(secs).map_err(|_| Bad::OutOfRange)
}

/// Splits off the ` BC` suffix.
fn strip_bc(text: &str) -> (&str, bool) {
    match text.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// `infinity` or `-infinity`, if `text` is one of them.
fn infinity<T>(text: &str) -> Option<Infinite<T>> {
    match text {
        "infinity" | "+infinity" => Some(Infinite::Infinity),
        "-infinity" => Some(Infinite::NegInfinity),
        _ => None,
    }
}

fn text_date(text: &str) -> Result<Infinite<Date>, Bad> {
    if let Some(inf) = infinity(text) {
        return Ok(inf);
    }
    let (text, bc) = strip_bc(text);
    let mut c = Cursor::new(text);
    let date = parse_date(&mut c, bc)?;
    if !c.is_empty() {
        return Err(Bad::Invalid("trailing characters"));
    }
    Ok(Infinite::Value(date))
}

/// A timestamp, with a UTC offset after the time when `with_offset`.
fn text_timestamp(
    text: &str,
    with_offset: bool,
) -> Result<Infinite<(PrimitiveDateTime, Option<UtcOffset>)>, Bad> {
    if let Some(inf) = infinity(text) {
        return Ok(inf);
    }
    let (text, bc) = strip_bc(text);
    let mut c = Cursor::new(text);
    let date = parse_date(&mut c, bc)?;
    if !(c.eat(b' ') || c.eat(b'T')) {
        return Err(Bad::Invalid("expected a time after the date"));
    }
    let us = parse_time(&mut c)?;
    let offset = if with_offset {
        Some(parse_offset(&mut c)?)
    } else {
        None
    };
    if !c.is_empty() {
        return Err(Bad::Invalid("trailing characters"));
    }
    // 24:00:00 is midnight of the next day, as PostgreSQL reads it.
    let (date, us) = if us == USECS_PER_DAY {
        (date.next_day().ok_or(Bad::OutOfRange)?, 0)
    } else {
        (date, us)
    };
    let time = time_from_micros(us).ok_or(Bad::Invalid("time field out of range"))?;
    Ok(Infinite::Value((
        PrimitiveDateTime::new(date, time),
        offset,
    )))
}

fn text_time(text: &str, with_offset: bool) -> Result<(Time, Option<UtcOffset>), Bad> {
    let mut c = Cursor::new(text);
    let us = parse_time(&mut c)?;
    let offset = if with_offset {
        Some(parse_offset(&mut c)?)
    } else {
        None
    };
    if !c.is_empty() {
        return Err(Bad::Invalid("trailing characters"));
    }
    // `24:00:00` is a valid PostgreSQL time that `Time` cannot hold.
    let time = time_from_micros(us).ok_or(Bad::OutOfRange)?;
    Ok((time, offset))
}

// ---------------------------------------------------------------------------
// Decoding.

/// A binary `date`, or `WrongType` for other types. `T` is the Rust type
/// asked for, named in errors.
pub(super) fn decode_date<T>(
    ty: Oid,
    format: Format,
    raw: &[u8],
) -> Result<Infinite<Date>, TypeError> {
    match (ty, format) {
        (oid::DATE, Format::Binary) => match i32::from_be_bytes(fixed(ty, raw)?) {
            i32::MIN => Ok(Infinite::NegInfinity),
            i32::MAX => Ok(Infinite::Infinity),
            days => date_from_pg(days.into())
                .map(Infinite::Value)
                .ok_or_else(|| TypeError::out_of_range::<T>(ty)),
        },
        (oid::DATE, Format::Text) => {
            let text = utf8(ty, raw)?;
            text_date(text).map_err(|e| e.into_error::<T>(ty, text))
        }
        _ => Err(TypeError::wrong_type::<T>(ty)),
    }
}

/// A decoded `timestamp` or `timestamptz`, before conversion to `time`.
enum RawStamp {
    /// Binary: microseconds since PostgreSQL's epoch (UTC for `timestamptz`).
    Micros(i64),
    /// Text: the local date and time, and the offset for `timestamptz`.
    Local(PrimitiveDateTime, Option<UtcOffset>),
}

/// A `timestamp` (`expected` = `TIMESTAMP`) or `timestamptz`: binary
/// microseconds, or text with an offset for `timestamptz`.
fn decode_stamp<T>(
    expected: Oid,
    ty: Oid,
    format: Format,
    raw: &[u8],
) -> Result<Infinite<RawStamp>, TypeError> {
    if ty != expected {
        return Err(TypeError::wrong_type::<T>(ty));
    }
    Ok(match format {
        Format::Binary => match i64::from_be_bytes(fixed(ty, raw)?) {
            i64::MIN => Infinite::NegInfinity,
            i64::MAX => Infinite::Infinity,
            us => Infinite::Value(RawStamp::Micros(us)),
        },
        Format::Text => {
            let text = utf8(ty, raw)?;
            match text_timestamp(text, ty == oid::TIMESTAMPTZ) {
                Ok(Infinite::Value((dt, offset))) => Infinite::Value(RawStamp::Local(dt, offset)),
                Ok(Infinite::Infinity) => Infinite::Infinity,
                Ok(Infinite::NegInfinity) => Infinite::NegInfinity,
                Err(e) => return Err(e.into_error::<T>(ty, text)),
            }
        }
    })
}

pub(super) fn decode_timestamp<T>(
    ty: Oid,
    format: Format,
    raw: &[u8],
) -> Result<Infinite<PrimitiveDateTime>, TypeError> {
    Ok(match decode_stamp::<T>(oid::TIMESTAMP, ty, format, raw)? {
        Infinite::NegInfinity => Infinite::NegInfinity,
        Infinite::Infinity => Infinite::Infinity,
        Infinite::Value(RawStamp::Micros(us)) => {
            Infinite::Value(timestamp_from_pg(us).ok_or_else(|| TypeError::out_of_range::<T>(ty))?)
        }
        Infinite::Value(RawStamp::Local(dt, _)) => Infinite::Value(dt),
    })
}

pub(super) fn decode_timestamptz<T>(
    ty: Oid,
    format: Format,
    raw: &[u8],
) -> Result<Infinite<OffsetDateTime>, TypeError> {
    Ok(
        match decode_stamp::<T>(oid::TIMESTAMPTZ, ty, format, raw)? {
            Infinite::NegInfinity => Infinite::NegInfinity,
            Infinite::Infinity => Infinite::Infinity,
            Infinite::Value(RawStamp::Micros(us)) => Infinite::Value(
                instant_from_pg(us).ok_or_else(|| TypeError::out_of_range::<T>(ty))?,
            ),
            Infinite::Value(RawStamp::Local(dt, offset)) => {
                // Printed in the session's TimeZone; in UTC like binary
                // values, so that the path that fetched a value does not
                // change it. The instant must be one `time` can hold in UTC
                // (9999-12-31 23:00-05 is not).
                let t = dt
                    .assume_offset(offset.unwrap_or(UtcOffset::UTC))
                    .checked_to_offset(UtcOffset::UTC)
                    .ok_or_else(|| TypeError::out_of_range::<T>(ty))?;
                Infinite::Value(t)
            }
        },
    )
}

/// The finite value, or `OutOfRange` for an infinity that `T` cannot hold.
pub(super) fn finite<T, V>(ty: Oid, value: Infinite<V>) -> Result<V, TypeError> {
    value
        .finite()
        .ok_or_else(|| TypeError::out_of_range::<T>(ty))
}

// ---------------------------------------------------------------------------
// Encoding.

/// The type to encode for: the parameter's, or the value's natural type when
/// the parameter's is unknown (0), so that errors name a real type.
fn resolve(natural: Oid, ty: Oid) -> Oid {
    if ty == 0 {
        natural
    } else {
        ty
    }
}

/// Where a value of natural type `natural` goes for a parameter of (resolved)
/// type `ty`: binary for its own type, text for text-like types.
fn target<T>(natural: Oid, ty: Oid) -> Result<Format, TypeError> {
    match ty {
        ty if ty == natural => Ok(Format::Binary),
        ty if text::takes_any_text(ty) => Ok(Format::Text),
        ty => Err(TypeError::wrong_type::<T>(ty)),
    }
}

pub(super) fn encode_date<T>(
    value: Infinite<Date>,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    let ty = resolve(oid::DATE, ty);
    let format = target::<T>(oid::DATE, ty)?;
    let days = match value {
        Infinite::NegInfinity => i32::MIN,
        Infinite::Infinity => i32::MAX,
        Infinite::Value(d) => date_to_pg(d).ok_or_else(|| TypeError::out_of_range::<T>(ty))?,
    };
    Ok(match format {
        Format::Binary => {
            out.put_i32(days);
            Encoded::Binary
        }
        Format::Text => {
            put_display(out, PgText(value));
            Encoded::Text
        }
    })
}

/// Encodes a timestamp given as microseconds since PostgreSQL's epoch (in
/// UTC for `timestamptz`), with the date, time and offset to print in text.
fn encode_stamp<T>(
    natural: Oid,
    value: Infinite<(i64, Option<UtcOffset>)>,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    let format = target::<T>(natural, ty)?;
    let us = match value {
        Infinite::NegInfinity => i64::MIN,
        Infinite::Infinity => i64::MAX,
        Infinite::Value((us, _)) => us,
    };
    Ok(match format {
        Format::Binary => {
            out.put_i64(us);
            Encoded::Binary
        }
        Format::Text => {
            let stamp = match value {
                Infinite::NegInfinity => Infinite::NegInfinity,
                Infinite::Infinity => Infinite::Infinity,
                Infinite::Value((us, offset)) => {
                    // Printed in the value's own offset, so shift the UTC
                    // microseconds back to local time.
                    let local = us
                        .checked_add(
                            offset.map_or(0, |o| i64::from(o.whole_seconds())) * USECS_PER_SEC,
                        )
                        .ok_or_else(|| TypeError::out_of_range::<T>(ty))?;
                    let date = date_from_pg(local.div_euclid(USECS_PER_DAY))
                        .ok_or_else(|| TypeError::out_of_range::<T>(ty))?;
                    Infinite::Value(Stamp {
                        date,
                        micros_of_day: local.rem_euclid(USECS_PER_DAY),
                        offset,
                    })
                }
            };
            put_display(out, PgText(stamp));
            Encoded::Text
        }
    })
}

pub(super) fn encode_timestamp<T>(
    value: Infinite<PrimitiveDateTime>,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    let ty = resolve(oid::TIMESTAMP, ty);
    let value = match value {
        Infinite::NegInfinity => Infinite::NegInfinity,
        Infinite::Infinity => Infinite::Infinity,
        Infinite::Value(dt) => Infinite::Value((
            timestamp_to_pg(dt).ok_or_else(|| TypeError::out_of_range::<T>(ty))?,
            None,
        )),
    };
    encode_stamp::<T>(oid::TIMESTAMP, value, ty, out)
}

pub(super) fn encode_timestamptz<T>(
    value: Infinite<OffsetDateTime>,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    let ty = resolve(oid::TIMESTAMPTZ, ty);
    let value = match value {
        Infinite::NegInfinity => Infinite::NegInfinity,
        Infinite::Infinity => Infinite::Infinity,
        Infinite::Value(t) => Infinite::Value((
            instant_to_pg(t).ok_or_else(|| TypeError::out_of_range::<T>(ty))?,
            Some(t.offset()),
        )),
    };
    encode_stamp::<T>(oid::TIMESTAMPTZ, value, ty, out)
}

// ---------------------------------------------------------------------------
// Trait implementations.

/// `ToSql` and `FromSql` for a date-like type and its `Infinite`, from
/// functions on `Infinite` values generic over the Rust type named in errors.
macro_rules! date_like {
    ($rust:ty, $natural:expr, $fast:ident, $decode:ident, $encode:ident, $decoded:literal) => {
        impl ToSql for $rust {
            fn natural_type(&self) -> Oid {
                $natural
            }

            fn static_type() -> Oid {
                $natural
            }

            fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
                $encode::<Self>(Infinite::Value(*self), ty, out)
            }
        }

        #[doc = $decoded]
        impl FromSql<'_> for $rust {
            #[inline]
            fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
                match $fast(ty, format, raw) {
                    Some(value) => Ok(value),
                    None => finite::<Self, _>(ty, $decode::<Self>(ty, format, raw)?),
                }
            }
        }

        impl ToSql for Infinite<$rust> {
            fn natural_type(&self) -> Oid {
                $natural
            }

            fn static_type() -> Oid {
                $natural
            }

            fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
                $encode::<Self>(*self, ty, out)
            }
        }

        #[doc = $decoded]
        impl FromSql<'_> for Infinite<$rust> {
            #[inline]
            fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
                match $fast(ty, format, raw) {
                    Some(value) => Ok(Infinite::Value(value)),
                    None => $decode::<Self>(ty, format, raw),
                }
            }
        }
    };
}

/// The common case, small enough to inline where a row is read: a finite
/// binary value of the type's own OID that `time` can hold. `None` for
/// anything else (text, infinities, other types, errors), which the general
/// decoder then handles.
#[inline]
fn binary_date(ty: Oid, format: Format, raw: &[u8]) -> Option<Date> {
    match (ty, format, raw.try_into()) {
        (oid::DATE, Format::Binary, Ok(bytes)) => date_from_pg(i32::from_be_bytes(bytes).into()),
        _ => None,
    }
}

/// See [`binary_date`].
#[inline]
fn binary_timestamp(ty: Oid, format: Format, raw: &[u8]) -> Option<PrimitiveDateTime> {
    match (ty, format, raw.try_into()) {
        (oid::TIMESTAMP, Format::Binary, Ok(bytes)) => timestamp_from_pg(i64::from_be_bytes(bytes)),
        _ => None,
    }
}

/// See [`binary_date`].
#[inline]
fn binary_timestamptz(ty: Oid, format: Format, raw: &[u8]) -> Option<OffsetDateTime> {
    match (ty, format, raw.try_into()) {
        (oid::TIMESTAMPTZ, Format::Binary, Ok(bytes)) => instant_from_pg(i64::from_be_bytes(bytes)),
        _ => None,
    }
}

date_like!(
    Date,
    oid::DATE,
    binary_date,
    decode_date,
    encode_date,
    "From `date`, in binary or text."
);
date_like!(
    PrimitiveDateTime,
    oid::TIMESTAMP,
    binary_timestamp,
    decode_timestamp,
    encode_timestamp,
    "From `timestamp`, in binary or text."
);
date_like!(
    OffsetDateTime,
    oid::TIMESTAMPTZ,
    binary_timestamptz,
    decode_timestamptz,
    encode_timestamptz,
    "From `timestamptz`, always in UTC: binary values are instants, and text \
     (printed in the session's `TimeZone`) is converted to UTC, so that a value \
     is the same, offset included, whichever path fetched it."
);

impl ToSql for Time {
    fn natural_type(&self) -> Oid {
        oid::TIME
    }

    fn static_type() -> Oid {
        oid::TIME
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode_time::<Self>(*self, ty, out)
    }
}

impl FromSql<'_> for Time {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode_time::<Self>(ty, format, raw)
    }
}

/// Encodes a `time`; `T` is the Rust type named in errors.
pub(super) fn encode_time<T>(t: Time, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
    let ty = resolve(oid::TIME, ty);
    let us = time_micros(t);
    Ok(match target::<T>(oid::TIME, ty)? {
        Format::Binary => {
            out.put_i64(us);
            Encoded::Binary
        }
        Format::Text => {
            put_display(out, TimeText(us, None));
            Encoded::Text
        }
    })
}

/// Decodes a `time`; `T` is the Rust type named in errors.
pub(super) fn decode_time<T>(ty: Oid, format: Format, raw: &[u8]) -> Result<Time, TypeError> {
    match (ty, format) {
        (oid::TIME, Format::Binary) => {
            // `24:00:00` is valid in PostgreSQL but not in `Time`.
            time_from_micros(i64::from_be_bytes(fixed(ty, raw)?))
                .ok_or_else(|| TypeError::out_of_range::<T>(ty))
        }
        (oid::TIME, Format::Text) => {
            let text = utf8(ty, raw)?;
            text_time(text, false)
                .map(|(t, _)| t)
                .map_err(|e| e.into_error::<T>(ty, text))
        }
        _ => Err(TypeError::wrong_type::<T>(ty)),
    }
}

impl ToSql for TimeTz {
    fn natural_type(&self) -> Oid {
        oid::TIMETZ
    }

    fn static_type() -> Oid {
        oid::TIMETZ
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        let ty = resolve(oid::TIMETZ, ty);
        let format = target::<Self>(oid::TIMETZ, ty)?;
        let east = self.offset.whole_seconds();
        if east.abs() >= TZDISP_LIMIT {
            return Err(TypeError::out_of_range::<Self>(ty));
        }
        let us = time_micros(self.time);
        Ok(match format {
            Format::Binary => {
                out.put_i64(us);
                // PostgreSQL stores the zone as seconds *west* of UTC.
                out.put_i32(-east);
                Encoded::Binary
            }
            Format::Text => {
                put_display(out, TimeText(us, Some(self.offset)));
                Encoded::Text
            }
        })
    }
}

impl FromSql<'_> for TimeTz {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        match (ty, format) {
            (oid::TIMETZ, Format::Binary) => {
                let raw: [u8; 12] = fixed(ty, raw)?;
                let (us, zone) = raw.split_at(8);
                let us = i64::from_be_bytes(fixed(ty, us)?);
                let west = i32::from_be_bytes(fixed(ty, zone)?);
                if west.checked_abs().is_none_or(|w| w >= TZDISP_LIMIT) {
                    return Err(TypeError::invalid(ty, "time zone offset out of range"));
                }
                let time =
                    time_from_micros(us).ok_or_else(|| TypeError::out_of_range::<Self>(ty))?;
                let offset = UtcOffset::from_whole_seconds(-west)
                    .map_err(|_| TypeError::out_of_range::<Self>(ty))?;
                Ok(TimeTz { time, offset })
            }
            (oid::TIMETZ, Format::Text) => {
                let text = utf8(ty, raw)?;
                match text_time(text, true) {
                    Ok((time, Some(offset))) => Ok(TimeTz { time, offset }),
                    Ok((_, None)) => Err(TypeError::invalid(ty, "missing UTC offset")),
                    Err(e) => Err(e.into_error::<Self>(ty, text)),
                }
            }
            _ => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

// ---------------------------------------------------------------------------
// Intervals.

impl ToSql for Interval {
    fn natural_type(&self) -> Oid {
        oid::INTERVAL
    }

    fn static_type() -> Oid {
        oid::INTERVAL
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        let ty = resolve(oid::INTERVAL, ty);
        Ok(match target::<Self>(oid::INTERVAL, ty)? {
            Format::Binary => {
                out.put_i64(self.microseconds);
                out.put_i32(self.days);
                out.put_i32(self.months);
                Encoded::Binary
            }
            Format::Text => {
                put_display(out, self);
                Encoded::Text
            }
        })
    }
}

impl FromSql<'_> for Interval {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        match (ty, format) {
            (oid::INTERVAL, Format::Binary) => {
                let raw: [u8; 16] = fixed(ty, raw)?;
                let (us, rest) = raw.split_at(8);
                let (days, months) = rest.split_at(4);
                Ok(Interval {
                    months: i32::from_be_bytes(fixed(ty, months)?),
                    days: i32::from_be_bytes(fixed(ty, days)?),
                    microseconds: i64::from_be_bytes(fixed(ty, us)?),
                })
            }
            (oid::INTERVAL, Format::Text) => utf8(ty, raw)?.parse(),
            _ => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Interval::INFINITY {
            return f.write_str("infinity");
        }
        if *self == Interval::NEG_INFINITY {
            return f.write_str("-infinity");
        }
        // As PostgreSQL's `iso_8601` style: each part with its own sign, the
        // time parts sharing the sign of the microseconds.
        f.write_str("P")?;
        let (years, months) = (self.months / 12, self.months % 12);
        for (value, unit) in [
            (i64::from(years), 'Y'),
            (months.into(), 'M'),
            (self.days.into(), 'D'),
        ] {
            if value != 0 {
                write!(f, "{value}{unit}")?;
            }
        }
        let us = self.microseconds;
        let zero = self.months == 0 && self.days == 0 && us == 0;
        if us != 0 || zero {
            f.write_str("T")?;
            let hours = us / USECS_PER_HOUR;
            let minutes = us / USECS_PER_MINUTE % 60;
            let secs = us % USECS_PER_MINUTE;
            if hours != 0 {
                write!(f, "{hours}H")?;
            }
            if minutes != 0 {
                write!(f, "{minutes}M")?;
            }
            if secs != 0 || zero {
                let sign = if secs < 0 { "-" } else { "" };
                write!(f, "{sign}{}", secs.unsigned_abs() / 1_000_000)?;
                write_fraction(f, secs % USECS_PER_SEC)?;
                f.write_str("S")?;
            }
        }
        Ok(())
    }
}

/// Interval fields accumulated while parsing, wide enough not to overflow
/// before the final range check.
#[derive(Default)]
struct Parts {
    months: i128,
    days: i128,
    micros: i128,
}

impl Parts {
    fn finish(self, negate: bool) -> Result<Interval, Bad> {
        let sign = if negate { -1 } else { 1 };
        Ok(Interval {
            months: i32::try_from(sign * self.months).map_err(|_| Bad::OutOfRange)?,
            days: i32::try_from(sign * self.days).map_err(|_| Bad::OutOfRange)?,
            microseconds: i64::try_from(sign * self.micros).map_err(|_| Bad::OutOfRange)?,
        })
    }
}

/// A signed decimal number as whole units and microseconds of a unit, both
/// carrying the sign; more than 18 integer digits is out of range.
fn parse_number(c: &mut Cursor<'_>) -> Result<(i128, i128), Bad> {
    let negative = c.sign().unwrap_or(false);
    let before = c.rest.len();
    let whole = c.digits(0, 18);
    let had_digits = c.rest.len() != before;
    if c.rest.first().is_some_and(u8::is_ascii_digit) {
        return Err(Bad::OutOfRange);
    }
    let frac = c.fraction().ok_or(Bad::Invalid("bad fraction"))?;
    let whole = whole.ok_or(Bad::Invalid("expected a number"))?;
    if !had_digits && frac == 0 {
        return Err(Bad::Invalid("expected a number"));
    }
    let sign = if negative { -1 } else { 1 };
    Ok((sign * i128::from(whole), sign * i128::from(frac)))
}

/// `[+-]H+:MM[:SS[.ffffff]]` as microseconds.
fn parse_clock(token: &str) -> Result<i128, Bad> {
    let bad = Bad::Invalid("expected a time [+-]HH:MM:SS");
    let mut c = Cursor::new(token);
    let negative = c.sign().unwrap_or(false);
    let h = c.digits(1, 18).ok_or(bad)?;
    if !c.eat(b':') {
        return Err(Bad::Invalid("expected a time [+-]HH:MM:SS"));
    }
    let m = c
        .digits(2, 2)
        .ok_or(Bad::Invalid("expected a time [+-]HH:MM:SS"))?;
    let (s, frac) = if c.eat(b':') {
        let s = c
            .digits(2, 2)
            .ok_or(Bad::Invalid("expected a time [+-]HH:MM:SS"))?;
        (s, c.fraction().ok_or(Bad::Invalid("bad fraction"))?)
    } else {
        (0, 0)
    };
    if !c.is_empty() {
        return Err(Bad::Invalid("trailing characters in time"));
    }
    if m > 59 || s > 59 {
        return Err(Bad::Invalid("time field out of range"));
    }
    let us = i128::from(h) * i128::from(USECS_PER_HOUR)
        + i128::from(m * USECS_PER_MINUTE + s * USECS_PER_SEC + frac);
    Ok(if negative { -us } else { us })
}

/// PostgreSQL's `postgres` and `postgres_verbose` styles: `[@] (number
/// unit | time)... [ago]`.
fn parse_postgres_interval(text: &str) -> Result<Interval, Bad> {
    let mut parts = Parts::default();
    let mut tokens = text.split_ascii_whitespace().peekable();
    if tokens.peek() == Some(&"@") {
        tokens.next();
    }
    let mut ago = false;
    let mut any = false;
    while let Some(token) = tokens.next() {
        if ago {
            return Err(Bad::Invalid("text after \"ago\""));
        }
        if token == "ago" {
            ago = true;
            continue;
        }
        any = true;
        if token.contains(':') {
            parts.micros += parse_clock(token)?;
            continue;
        }
        let mut c = Cursor::new(token);
        let (whole, frac) = parse_number(&mut c)?;
        if !c.is_empty() {
            return Err(Bad::Invalid("expected a number and a unit"));
        }
        // A bare number is seconds, as in PostgreSQL's input (and its
        // verbose style prints `@ 0` for zero).
        let unit = match tokens.peek() {
            Some(&unit) if unit != "ago" => {
                tokens.next();
                unit
            }
            _ => "secs",
        };
        let scale = match unit.to_ascii_lowercase().as_str() {
            "year" | "years" => {
                parts.months += whole * 12;
                0
            }
            "mon" | "mons" | "month" | "months" => {
                parts.months += whole;
                0
            }
            "day" | "days" => {
                parts.days += whole;
                0
            }
            "hour" | "hours" => USECS_PER_HOUR,
            "min" | "mins" | "minute" | "minutes" => USECS_PER_MINUTE,
            "sec" | "secs" | "second" | "seconds" => USECS_PER_SEC,
            _ => return Err(Bad::Invalid("unknown interval unit")),
        };
        if scale == 0 {
            if frac != 0 {
                return Err(Bad::Invalid("fractional years, months or days"));
            }
        } else if scale == USECS_PER_SEC {
            parts.micros += whole * i128::from(scale) + frac;
        } else if frac != 0 {
            return Err(Bad::Invalid("fractional hours or minutes"));
        } else {
            parts.micros += whole * i128::from(scale);
        }
        // Keeps the accumulators far from i128's limits on hostile input.
        if parts.micros.abs() > i128::from(i64::MAX) * 4 {
            return Err(Bad::OutOfRange);
        }
    }
    if !any {
        return Err(Bad::Invalid("empty interval"));
    }
    parts.finish(ago)
}

/// PostgreSQL's `iso_8601` style: `P[nY][nM][nW][nD][T[nH][nM][n.nS]]`.
fn parse_iso_interval(text: &str) -> Result<Interval, Bad> {
    let bad = "expected an ISO 8601 interval P[nY][nM][nD][T[nH][nM][nS]]";
    let mut c = Cursor::new(text);
    if !c.eat(b'P') {
        return Err(Bad::Invalid(bad));
    }
    let mut parts = Parts::default();
    let mut in_time = false;
    let mut any = false;
    while !c.is_empty() {
        if !in_time && c.eat(b'T') {
            in_time = true;
            continue;
        }
        let (whole, frac) = parse_number(&mut c)?;
        let unit = c.rest.first().copied().ok_or(Bad::Invalid(bad))?;
        c.rest = c.rest.get(1..).unwrap_or_default();
        any = true;
        let scale = match (in_time, unit) {
            (false, b'Y') => {
                parts.months += whole * 12;
                0
            }
            (false, b'M') => {
                parts.months += whole;
                0
            }
            (false, b'W') => {
                parts.days += whole * 7;
                0
            }
            (false, b'D') => {
                parts.days += whole;
                0
            }
            (true, b'H') => USECS_PER_HOUR,
            (true, b'M') => USECS_PER_MINUTE,
            (true, b'S') => USECS_PER_SEC,
            _ => return Err(Bad::Invalid(bad)),
        };
        if scale != USECS_PER_SEC && frac != 0 {
            return Err(Bad::Invalid("fractions are only supported for seconds"));
        }
        parts.micros += whole * i128::from(scale) + frac;
    }
    if !any {
        return Err(Bad::Invalid(bad));
    }
    parts.finish(false)
}

impl FromStr for Interval {
    type Err = TypeError;

    /// Parses the `postgres`, `postgres_verbose` and `iso_8601` styles, and
    /// `infinity`/`-infinity`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let parsed = match text {
            "infinity" | "+infinity" => Ok(Interval::INFINITY),
            "-infinity" => Ok(Interval::NEG_INFINITY),
            t if t.starts_with('P') => parse_iso_interval(t),
            t => parse_postgres_interval(t),
        };
        parsed.map_err(|e| e.into_error::<Interval>(oid::INTERVAL, s))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{encode, round_trip};
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
    }

    fn hms_micro(h: u8, m: u8, s: u8, us: u32) -> Time {
        Time::from_hms_micro(h, m, s, us).unwrap()
    }

    fn dt(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> PrimitiveDateTime {
        PrimitiveDateTime::new(date(y, mo, d), hms_micro(h, mi, s, us))
    }

    fn offset(secs: i32) -> UtcOffset {
        UtcOffset::from_whole_seconds(secs).unwrap()
    }

    /// Encodes as text (for a `text` parameter) and decodes that text as a
    /// value of type `ty`, as if the server echoed it.
    fn text_round_trip<T>(value: &T, ty: Oid) -> Result<T, TypeError>
    where
        T: ToSql + for<'a> FromSql<'a>,
    {
        let (encoded, bytes) = encode(value, oid::TEXT)?;
        assert_eq!(encoded, Encoded::Text);
        T::from_sql(ty, Format::Text, &bytes)
    }

    fn text_of(value: &dyn ToSql) -> String {
        let (_, bytes) = encode(value, oid::TEXT).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    fn dates() -> Vec<Date> {
        vec![
            date(1, 1, 1),
            date(9999, 12, 31),
            date(-43, 3, 15),
            date(0, 2, 29),
            date(2024, 2, 29),
            date(2000, 1, 1),
            date(1999, 12, 31),
            date(1970, 1, 1),
            date(-4713, 11, 24),
        ]
    }

    #[test]
    fn natural_types() {
        assert_eq!(date(2000, 1, 1).natural_type(), oid::DATE);
        assert_eq!(Time::MIDNIGHT.natural_type(), oid::TIME);
        assert_eq!(PrimitiveDateTime::static_type(), oid::TIMESTAMP);
        assert_eq!(OffsetDateTime::UNIX_EPOCH.natural_type(), oid::TIMESTAMPTZ);
        assert_eq!(Infinite::<Date>::static_type(), oid::DATE);
        assert_eq!(
            Infinite::<OffsetDateTime>::Infinity.natural_type(),
            oid::TIMESTAMPTZ
        );
        assert_eq!(Interval::default().natural_type(), oid::INTERVAL);
        assert_eq!(TimeTz::static_type(), oid::TIMETZ);
    }

    #[test]
    fn dates_round_trip() {
        for d in dates() {
            for ty in [0, oid::DATE] {
                assert_eq!(round_trip(&d, ty), Ok(d), "{d}");
                assert_eq!(round_trip(&Infinite::Value(d), ty), Ok(Infinite::Value(d)));
            }
            assert_eq!(text_round_trip(&d, oid::DATE), Ok(d), "{d}");
        }
        for v in [Infinite::Infinity, Infinite::NegInfinity] {
            assert_eq!(round_trip::<Infinite<Date>>(&v, 0), Ok(v));
            assert_eq!(text_round_trip::<Infinite<Date>>(&v, oid::DATE), Ok(v));
        }
    }

    #[test]
    fn date_wire_values() {
        assert_eq!(
            encode(&date(2000, 1, 1), 0),
            Ok((Encoded::Binary, vec![0, 0, 0, 0]))
        );
        assert_eq!(
            encode(&date(1999, 12, 31), 0),
            Ok((Encoded::Binary, (-1i32).to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode(&Infinite::<Date>::Infinity, oid::DATE),
            Ok((Encoded::Binary, i32::MAX.to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode(&Infinite::<Date>::NegInfinity, oid::DATE),
            Ok((Encoded::Binary, i32::MIN.to_be_bytes().to_vec()))
        );
        assert_eq!(text_of(&date(-43, 3, 15)), "0044-03-15 BC");
        assert_eq!(text_of(&date(0, 1, 1)), "0001-01-01 BC");
        assert_eq!(text_of(&date(1, 1, 1)), "0001-01-01");
        assert_eq!(text_of(&Infinite::<Date>::NegInfinity), "-infinity");
        assert_eq!(
            Date::from_sql(oid::DATE, Format::Text, b"0044-03-15 BC"),
            Ok(date(-43, 3, 15))
        );
        assert_eq!(
            Date::from_sql(oid::DATE, Format::Text, b"2024-02-29"),
            Ok(date(2024, 2, 29))
        );
        assert_eq!(
            Date::from_sql(oid::DATE, Format::Binary, &8_461i32.to_be_bytes()),
            Ok(date(2023, 3, 2))
        );
    }

    #[test]
    fn date_ranges() {
        // Infinity has no plain Date.
        for (format, raw) in [
            (Format::Binary, i32::MAX.to_be_bytes().to_vec()),
            (Format::Binary, i32::MIN.to_be_bytes().to_vec()),
            (Format::Text, b"infinity".to_vec()),
            (Format::Text, b"-infinity".to_vec()),
        ] {
            assert_eq!(
                Date::from_sql(oid::DATE, format, &raw),
                Err(TypeError::out_of_range::<Date>(oid::DATE))
            );
        }
        // Valid PostgreSQL dates beyond `time`'s years.
        assert_eq!(
            Date::from_sql(oid::DATE, Format::Text, b"10000-01-01"),
            Err(TypeError::out_of_range::<Date>(oid::DATE))
        );
        assert_eq!(
            Date::from_sql(oid::DATE, Format::Binary, &3_000_000i32.to_be_bytes()),
            Err(TypeError::out_of_range::<Date>(oid::DATE))
        );
        assert_eq!(
            Infinite::<Date>::from_sql(oid::DATE, Format::Binary, &(-5_000_000i32).to_be_bytes()),
            Err(TypeError::out_of_range::<Infinite<Date>>(oid::DATE))
        );
        // Before PostgreSQL's first date (4714-11-24 BC).
        assert_eq!(
            encode(&date(-4713, 11, 23), 0),
            Err(TypeError::out_of_range::<Date>(oid::DATE))
        );
        assert_eq!(
            encode(&date(-9999, 1, 1), oid::TEXT),
            Err(TypeError::out_of_range::<Date>(oid::TEXT))
        );
    }

    #[test]
    fn malformed_dates() {
        for text in [
            &b""[..],
            b"2024-02-30",
            b"2023-02-29",
            b"2024-13-01",
            b"2024-00-10",
            b"0000-01-01",
            b"24-01-01",
            b"2024-1-01",
            b"2024-01-01 ",
            b"2024-01-01 AD",
            b"Infinity",
            b"\xff",
        ] {
            assert!(
                matches!(
                    Date::from_sql(oid::DATE, Format::Text, text),
                    Err(TypeError::Invalid { .. })
                ),
                "{text:?}"
            );
        }
        assert!(matches!(
            Date::from_sql(oid::DATE, Format::Binary, &[0, 0, 0]),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            Date::from_sql(oid::TIMESTAMP, Format::Text, b"2024-01-01"),
            Err(TypeError::wrong_type::<Date>(oid::TIMESTAMP))
        );
        assert_eq!(
            encode(&date(2024, 1, 1), oid::TIMESTAMP),
            Err(TypeError::wrong_type::<Date>(oid::TIMESTAMP))
        );
    }

    #[test]
    fn times() {
        let max = hms_micro(23, 59, 59, 999_999);
        for t in [Time::MIDNIGHT, max, hms_micro(12, 30, 0, 500_000)] {
            assert_eq!(round_trip(&t, 0), Ok(t));
            assert_eq!(text_round_trip(&t, oid::TIME), Ok(t));
        }
        assert_eq!(
            encode(&max, 0),
            Ok((Encoded::Binary, 86_399_999_999i64.to_be_bytes().to_vec()))
        );
        assert_eq!(text_of(&max), "23:59:59.999999");
        assert_eq!(text_of(&hms_micro(1, 2, 3, 400_000)), "01:02:03.4");
        assert_eq!(
            Time::from_sql(oid::TIME, Format::Text, b"04:05:06.789"),
            Ok(hms_micro(4, 5, 6, 789_000))
        );
        // PostgreSQL's 24:00:00 has no `Time`.
        assert_eq!(
            Time::from_sql(oid::TIME, Format::Text, b"24:00:00"),
            Err(TypeError::out_of_range::<Time>(oid::TIME))
        );
        assert_eq!(
            Time::from_sql(oid::TIME, Format::Binary, &86_400_000_000i64.to_be_bytes()),
            Err(TypeError::out_of_range::<Time>(oid::TIME))
        );
        for text in [
            &b"24:00:01"[..],
            b"12:60:00",
            b"1:00:00",
            b"12:00:00.1234567",
            b"12:00",
        ] {
            assert!(
                matches!(
                    Time::from_sql(oid::TIME, Format::Text, text),
                    Err(TypeError::Invalid { .. })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn nanoseconds_round_to_the_nearest_microsecond() {
        let t = Time::from_hms_nano(0, 0, 0, 1_499).unwrap();
        assert_eq!(round_trip(&t, 0), Ok(hms_micro(0, 0, 0, 1)));
        let t = Time::from_hms_nano(0, 0, 0, 1_500).unwrap();
        assert_eq!(round_trip(&t, 0), Ok(hms_micro(0, 0, 0, 2)));
        // The last half microsecond of the day stays in the day.
        let t = Time::from_hms_nano(23, 59, 59, 999_999_999).unwrap();
        assert_eq!(round_trip(&t, 0), Ok(hms_micro(23, 59, 59, 999_999)));
        // A timestamp carries into the next day instead.
        let v = PrimitiveDateTime::new(
            date(1999, 12, 31),
            Time::from_hms_nano(23, 59, 59, 999_999_500).unwrap(),
        );
        assert_eq!(round_trip(&v, 0), Ok(dt(2000, 1, 1, 0, 0, 0, 0)));
        assert_eq!(text_of(&v), "2000-01-01 00:00:00");
        let v = OffsetDateTime::from_unix_timestamp_nanos(-1_500).unwrap();
        assert_eq!(
            round_trip(&v, 0),
            Ok(OffsetDateTime::from_unix_timestamp_nanos(-1_000).unwrap())
        );
    }

    #[test]
    fn timestamps() {
        let values = [
            dt(2000, 1, 1, 0, 0, 0, 0),
            dt(1999, 12, 31, 23, 59, 59, 999_999),
            dt(2024, 2, 29, 12, 34, 56, 123_456),
            dt(1, 1, 1, 0, 0, 0, 1),
            dt(9999, 12, 31, 23, 59, 59, 999_999),
            dt(-43, 3, 15, 12, 0, 0, 0),
            dt(1969, 7, 20, 20, 17, 40, 0),
        ];
        for v in values {
            assert_eq!(round_trip(&v, 0), Ok(v), "{v}");
            assert_eq!(text_round_trip(&v, oid::TIMESTAMP), Ok(v), "{v}");
        }
        assert_eq!(
            encode(&dt(1999, 12, 31, 23, 59, 59, 999_999), 0),
            Ok((Encoded::Binary, (-1i64).to_be_bytes().to_vec()))
        );
        assert_eq!(
            text_of(&dt(-43, 3, 15, 12, 0, 0, 5)),
            "0044-03-15 12:00:00.000005 BC"
        );
        assert_eq!(
            PrimitiveDateTime::from_sql(
                oid::TIMESTAMP,
                Format::Text,
                b"2024-02-29 12:34:56.123456"
            ),
            Ok(dt(2024, 2, 29, 12, 34, 56, 123_456))
        );
        assert_eq!(
            PrimitiveDateTime::from_sql(oid::TIMESTAMP, Format::Text, b"0044-03-15 12:00:00 BC"),
            Ok(dt(-43, 3, 15, 12, 0, 0, 0))
        );
        for v in [Infinite::Infinity, Infinite::NegInfinity] {
            assert_eq!(round_trip::<Infinite<PrimitiveDateTime>>(&v, 0), Ok(v));
            assert_eq!(
                text_round_trip::<Infinite<PrimitiveDateTime>>(&v, oid::TIMESTAMP),
                Ok(v)
            );
            assert_eq!(
                PrimitiveDateTime::from_sql(
                    oid::TIMESTAMP,
                    Format::Binary,
                    &encode(&v, 0).unwrap().1
                ),
                Err(TypeError::out_of_range::<PrimitiveDateTime>(oid::TIMESTAMP))
            );
        }
        assert_eq!(
            encode(&Infinite::<PrimitiveDateTime>::Infinity, 0),
            Ok((Encoded::Binary, i64::MAX.to_be_bytes().to_vec()))
        );
        // PostgreSQL's range goes past `time`'s.
        assert_eq!(
            PrimitiveDateTime::from_sql(
                oid::TIMESTAMP,
                Format::Binary,
                &(i64::MAX - 1).to_be_bytes()
            ),
            Err(TypeError::out_of_range::<PrimitiveDateTime>(oid::TIMESTAMP))
        );
        assert_eq!(
            encode(&dt(-9999, 1, 1, 0, 0, 0, 0), 0),
            Err(TypeError::out_of_range::<PrimitiveDateTime>(oid::TIMESTAMP))
        );
        assert_eq!(
            encode(&dt(2000, 1, 1, 0, 0, 0, 0), oid::TIMESTAMPTZ),
            Err(TypeError::wrong_type::<PrimitiveDateTime>(oid::TIMESTAMPTZ))
        );
        assert_eq!(
            PrimitiveDateTime::from_sql(oid::TIMESTAMPTZ, Format::Binary, &[0; 8]),
            Err(TypeError::wrong_type::<PrimitiveDateTime>(oid::TIMESTAMPTZ))
        );
        // 24:00:00 is the next midnight.
        assert_eq!(
            PrimitiveDateTime::from_sql(oid::TIMESTAMP, Format::Text, b"1999-12-31 24:00:00"),
            Ok(dt(2000, 1, 1, 0, 0, 0, 0))
        );
    }

    #[test]
    fn timestamptz() {
        let instant = dt(2024, 2, 29, 10, 0, 0, 0).assume_utc();
        for (text, east) in [
            (&b"2024-02-29 12:00:00+02"[..], 7_200),
            (b"2024-02-29 06:30:00-03:30", -12_600),
            (b"2024-02-29 15:30:15+05:30:15", 19_815),
            (b"2024-02-29 10:00:00+00", 0),
        ] {
            let v = OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Text, text).unwrap();
            assert_eq!(v, instant, "{text:?}");
            // In UTC, as in binary: the session's offset is not kept.
            assert_eq!(v.offset(), UtcOffset::UTC);
            let infinite =
                Infinite::<OffsetDateTime>::from_sql(oid::TIMESTAMPTZ, Format::Text, text);
            assert_eq!(
                infinite.map(|t| t.finite().map(|t| t.offset())),
                Ok(Some(UtcOffset::UTC))
            );
            // At its offset, the value prints the text it came from.
            assert_eq!(text_of(&v.to_offset(offset(east))).as_bytes(), text);
            // Binary gives the same instant, in UTC.
            let (encoded, bytes) = encode(&v, 0).unwrap();
            assert_eq!(encoded, Encoded::Binary);
            let b = OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Binary, &bytes).unwrap();
            assert_eq!(b, instant);
            assert_eq!(b.offset(), UtcOffset::UTC);
        }
        let us = (instant.unix_timestamp() - 946_684_800) * 1_000_000;
        assert_eq!(
            encode(&instant, oid::TIMESTAMPTZ),
            Ok((Encoded::Binary, us.to_be_bytes().to_vec()))
        );
        let values = [
            OffsetDateTime::UNIX_EPOCH,
            dt(1999, 12, 31, 23, 59, 59, 999_999).assume_offset(offset(-3_600)),
            dt(-43, 3, 15, 0, 0, 0, 0).assume_offset(offset(3_208)),
            dt(9999, 12, 31, 23, 59, 59, 999_999).assume_utc(),
        ];
        for v in values {
            assert_eq!(round_trip(&v, 0), Ok(v), "{v}");
            let t = text_round_trip(&v, oid::TIMESTAMPTZ).unwrap();
            assert_eq!((t, t.offset()), (v, UtcOffset::UTC), "{v}");
        }
        assert_eq!(
            text_of(&dt(-43, 3, 15, 0, 0, 0, 0).assume_offset(offset(3_208))),
            "0044-03-15 00:00:00+00:53:28 BC"
        );
        for v in [Infinite::Infinity, Infinite::NegInfinity] {
            assert_eq!(round_trip::<Infinite<OffsetDateTime>>(&v, 0), Ok(v));
            assert_eq!(
                text_round_trip::<Infinite<OffsetDateTime>>(&v, oid::TIMESTAMPTZ),
                Ok(v)
            );
            assert_eq!(
                OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Text, &text_of(&v).into_bytes()),
                Err(TypeError::out_of_range::<OffsetDateTime>(oid::TIMESTAMPTZ))
            );
        }
        assert_eq!(
            OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Text, b"9999-12-31 23:00:00-05"),
            Err(TypeError::out_of_range::<OffsetDateTime>(oid::TIMESTAMPTZ))
        );
        assert_eq!(
            OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Text, b"9999-12-31 23:00:00+05"),
            Ok(dt(9999, 12, 31, 18, 0, 0, 0).assume_utc())
        );
        for text in [
            &b"2024-02-29 12:00:00"[..],
            b"2024-02-29 12:00:00+2",
            b"2024-02-29 12:00:00+02:60",
            b"2024-02-29 12:00:00 +02",
            b"2024-02-29 12:00:00+02 AD",
        ] {
            assert!(
                matches!(
                    OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Text, text),
                    Err(TypeError::Invalid { .. })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn timetz() {
        let values = [
            TimeTz {
                time: Time::MIDNIGHT,
                offset: UtcOffset::UTC,
            },
            TimeTz {
                time: hms_micro(23, 59, 59, 999_999),
                offset: offset(-(15 * 3600 + 59 * 60 + 59)),
            },
            TimeTz {
                time: hms_micro(4, 5, 6, 789_000),
                offset: offset(19_815),
            },
        ];
        for v in values {
            assert_eq!(round_trip(&v, 0), Ok(v));
            assert_eq!(text_round_trip(&v, oid::TIMETZ), Ok(v));
        }
        assert_eq!(text_of(&values[2]), "04:05:06.789+05:30:15");
        let mut expected = 14_706_789_000i64.to_be_bytes().to_vec();
        expected.extend_from_slice(&(-19_815i32).to_be_bytes());
        assert_eq!(encode(&values[2], 0), Ok((Encoded::Binary, expected)));
        assert_eq!(
            TimeTz::from_sql(oid::TIMETZ, Format::Text, b"12:00:00-03:30"),
            Ok(TimeTz {
                time: hms_micro(12, 0, 0, 0),
                offset: offset(-12_600)
            })
        );
        let too_far = TimeTz {
            time: Time::MIDNIGHT,
            offset: offset(16 * 3600),
        };
        assert_eq!(
            encode(&too_far, 0),
            Err(TypeError::out_of_range::<TimeTz>(oid::TIMETZ))
        );
        let mut bad_zone = vec![0; 8];
        bad_zone.extend_from_slice(&i32::MIN.to_be_bytes());
        assert!(matches!(
            TimeTz::from_sql(oid::TIMETZ, Format::Binary, &bad_zone),
            Err(TypeError::Invalid { .. })
        ));
        assert!(matches!(
            TimeTz::from_sql(oid::TIMETZ, Format::Text, b"12:00:00"),
            Err(TypeError::Invalid { .. })
        ));
    }

    fn interval(months: i32, days: i32, microseconds: i64) -> Interval {
        Interval {
            months,
            days,
            microseconds,
        }
    }

    #[test]
    fn interval_text_forms() {
        for (text, value) in [
            (
                "1 year 2 mons 3 days 04:05:06.5",
                interval(14, 3, 14_706_500_000),
            ),
            (
                "1 year 2 mons -3 days +04:05:06.789",
                interval(14, -3, 14_706_789_000),
            ),
            ("-1 days +02:03:00", interval(0, -1, 7_380_000_000)),
            ("00:00:00", interval(0, 0, 0)),
            ("-00:00:00.000001", interval(0, 0, -1)),
            ("-1 years -2 mons", interval(-14, 0, 0)),
            ("1 mon", interval(1, 0, 0)),
            ("1000:00:00", interval(0, 0, 1000 * USECS_PER_HOUR)),
            (
                "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808",
                Interval::NEG_INFINITY,
            ),
            (
                "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807",
                Interval::INFINITY,
            ),
            ("infinity", Interval::INFINITY),
            ("-infinity", Interval::NEG_INFINITY),
            // postgres_verbose
            (
                "@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs",
                interval(14, 3, 14_706_500_000),
            ),
            ("@ 1 day 2 hours ago", interval(0, -1, -2 * USECS_PER_HOUR)),
            ("@ 0", interval(0, 0, 0)),
            // iso_8601
            ("P1Y2M3DT4H5M6.5S", interval(14, 3, 14_706_500_000)),
            ("PT0S", interval(0, 0, 0)),
            ("P-1Y-2M3DT-4H-5M-6.789S", interval(-14, 3, -14_706_789_000)),
            ("PT-0.000001S", interval(0, 0, -1)),
            ("P2W", interval(0, 14, 0)),
        ] {
            assert_eq!(text.parse::<Interval>(), Ok(value), "{text}");
            assert_eq!(
                Interval::from_sql(oid::INTERVAL, Format::Text, text.as_bytes()),
                Ok(value),
                "{text}"
            );
        }
    }

    #[test]
    fn interval_display_reads_back() {
        let values = [
            interval(0, 0, 0),
            interval(14, 3, 14_706_500_000),
            interval(14, -3, 14_706_789_000),
            interval(0, -1, 7_380_000_000),
            interval(0, 0, -1),
            interval(-13, 0, 0),
            interval(i32::MAX, i32::MIN, i64::MIN),
            interval(i32::MIN, i32::MAX, i64::MAX),
            interval(0, 0, 59 * USECS_PER_SEC + 1),
            Interval::INFINITY,
            Interval::NEG_INFINITY,
        ];
        for v in values {
            let text = v.to_string();
            assert_eq!(text.parse::<Interval>(), Ok(v), "{text}");
            assert_eq!(text_round_trip(&v, oid::INTERVAL), Ok(v), "{text}");
            assert_eq!(round_trip(&v, 0), Ok(v));
            assert_eq!(round_trip(&v, oid::INTERVAL), Ok(v));
        }
        assert_eq!(interval(0, 0, 0).to_string(), "PT0S");
        assert_eq!(interval(14, 0, 0).to_string(), "P1Y2M");
        assert_eq!(interval(0, 0, -1).to_string(), "PT-0.000001S");
        assert_eq!(
            interval(-14, 3, -14_706_789_000).to_string(),
            "P-1Y-2M3DT-4H-5M-6.789S"
        );
    }

    #[test]
    fn interval_binary() {
        let v = interval(14, -3, 14_706_789_000);
        let mut expected = 14_706_789_000i64.to_be_bytes().to_vec();
        expected.extend_from_slice(&(-3i32).to_be_bytes());
        expected.extend_from_slice(&14i32.to_be_bytes());
        assert_eq!(encode(&v, 0), Ok((Encoded::Binary, expected.clone())));
        assert_eq!(
            Interval::from_sql(oid::INTERVAL, Format::Binary, &expected),
            Ok(v)
        );
        assert!(matches!(
            Interval::from_sql(oid::INTERVAL, Format::Binary, &expected[1..]),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            Interval::from_sql(oid::TIME, Format::Binary, &expected),
            Err(TypeError::wrong_type::<Interval>(oid::TIME))
        );
    }

    #[test]
    fn malformed_intervals() {
        for text in [
            "",
            "@",
            "ago",
            "1 fortnight",
            "1.5 years",
            "1 day ago 2 hours",
            "1:2:3",
            "01:00:00.1234567",
            "01:60:00",
            "P",
            "P1H",
            "PT1D",
            "P1.5D",
            "--1 day",
            "1 day x",
        ] {
            assert!(
                matches!(text.parse::<Interval>(), Err(TypeError::Invalid { .. })),
                "{text:?}: {:?}",
                text.parse::<Interval>()
            );
        }
        for text in [
            "2147483648 days",
            "178956971 years",
            "2562047789:00:00",
            "99999999999999999999 days",
        ] {
            assert_eq!(
                text.parse::<Interval>(),
                Err(TypeError::out_of_range::<Interval>(oid::INTERVAL)),
                "{text:?}"
            );
        }
    }

    /// What `instant_from_pg` computed before it avoided `i128`: the
    /// reference it must agree with.
    fn instant_from_pg_i128(us: i64) -> Option<OffsetDateTime> {
        let ns = i128::from(us) * 1_000 + PG_EPOCH_UNIX_NANOS;
        OffsetDateTime::from_unix_timestamp_nanos(ns).ok()
    }

    /// Micros since PostgreSQL's epoch of a UTC date and time.
    fn pg_micros(v: PrimitiveDateTime) -> i64 {
        timestamp_to_pg(v).unwrap()
    }

    #[test]
    fn binary_timestamptz_at_the_boundaries() {
        let day = USECS_PER_DAY;
        let first = i64::from(Date::MIN.to_julian_day() - PG_EPOCH_JULIAN) * day;
        let last = i64::from(Date::MAX.to_julian_day() - PG_EPOCH_JULIAN + 1) * day - 1;
        let cases = [
            0,
            1,
            -1,
            day - 1,
            day,
            day + 1,
            -day,
            -day - 1,
            -day + 1,
            -946_684_800 * USECS_PER_SEC, // the Unix epoch
            pg_micros(dt(2000, 2, 29, 12, 0, 0, 0)),
            pg_micros(dt(2000, 3, 1, 0, 0, 0, 0)) - 1,
            pg_micros(dt(1900, 3, 1, 0, 0, 0, 0)) - 1, // not a leap year
            pg_micros(dt(1600, 2, 29, 23, 59, 59, 999_999)),
            pg_micros(dt(2024, 2, 29, 0, 0, 0, 1)),
            pg_micros(dt(-4713, 11, 24, 0, 0, 0, 0)),
            pg_micros(dt(0, 2, 29, 6, 7, 8, 9)),
            pg_micros(dt(1, 1, 1, 0, 0, 0, 0)) - 1,
            first,
            first - 1,
            first + 1,
            last,
            last + 1,
            last - 1,
            MIN_TIMESTAMP,
            END_TIMESTAMP - 1,
            i64::MIN + 1,
            i64::MAX - 1,
        ];
        for us in cases {
            let expected = instant_from_pg_i128(us);
            assert_eq!(instant_from_pg(us), expected, "{us}");
            let decoded =
                OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Binary, &us.to_be_bytes());
            match expected {
                Some(v) => assert_eq!(decoded, Ok(v), "{us}"),
                None => assert_eq!(
                    decoded,
                    Err(TypeError::out_of_range::<OffsetDateTime>(oid::TIMESTAMPTZ)),
                    "{us}"
                ),
            }
        }
        assert_eq!(
            instant_from_pg(first),
            Some(Date::MIN.midnight().assume_utc())
        );
        assert_eq!(
            instant_from_pg(last),
            Some(
                Date::MAX
                    .with_hms_micro(23, 59, 59, 999_999)
                    .unwrap()
                    .assume_utc()
            )
        );
        assert_eq!(
            instant_from_pg(-1),
            Some(dt(1999, 12, 31, 23, 59, 59, 999_999).assume_utc())
        );
        assert_eq!(
            Infinite::<OffsetDateTime>::from_sql(
                oid::TIMESTAMPTZ,
                Format::Binary,
                &i64::MAX.to_be_bytes()
            ),
            Ok(Infinite::Infinity)
        );
        assert_eq!(
            Infinite::<OffsetDateTime>::from_sql(
                oid::TIMESTAMPTZ,
                Format::Binary,
                &i64::MIN.to_be_bytes()
            ),
            Ok(Infinite::NegInfinity)
        );
        assert_eq!(
            OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Binary, &i64::MAX.to_be_bytes()),
            Err(TypeError::out_of_range::<OffsetDateTime>(oid::TIMESTAMPTZ))
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..32)) {
            for format in [Format::Text, Format::Binary] {
                let _ = Date::from_sql(oid::DATE, format, &raw);
                let _ = Infinite::<Date>::from_sql(oid::DATE, format, &raw);
                let _ = Time::from_sql(oid::TIME, format, &raw);
                let _ = TimeTz::from_sql(oid::TIMETZ, format, &raw);
                let _ = PrimitiveDateTime::from_sql(oid::TIMESTAMP, format, &raw);
                let _ = Infinite::<OffsetDateTime>::from_sql(oid::TIMESTAMPTZ, format, &raw);
                let _ = Interval::from_sql(oid::INTERVAL, format, &raw);
            }
        }

        #[test]
        fn random_text_never_panics(text in "[-+0-9:. PTYMDHSWBCa-z@]{0,40}") {
            let _ = text.parse::<Interval>();
            for ty in [oid::DATE, oid::TIME, oid::TIMETZ, oid::TIMESTAMP, oid::TIMESTAMPTZ] {
                let _ = Infinite::<OffsetDateTime>::from_sql(ty, Format::Text, text.as_bytes());
                let _ = Infinite::<PrimitiveDateTime>::from_sql(ty, Format::Text, text.as_bytes());
                let _ = Infinite::<Date>::from_sql(ty, Format::Text, text.as_bytes());
                let _ = TimeTz::from_sql(ty, Format::Text, text.as_bytes());
            }
        }

        #[test]
        fn binary_timestamps_round_trip(us in MIN_TIMESTAMP..END_TIMESTAMP) {
            let raw = us.to_be_bytes();
            if let Ok(v) = PrimitiveDateTime::from_sql(oid::TIMESTAMP, Format::Binary, &raw) {
                prop_assert_eq!(encode(&v, 0), Ok((Encoded::Binary, raw.to_vec())));
                prop_assert_eq!(text_round_trip(&v, oid::TIMESTAMP), Ok(v));
            }
            if let Ok(v) = OffsetDateTime::from_sql(oid::TIMESTAMPTZ, Format::Binary, &raw) {
                prop_assert_eq!(encode(&v, 0), Ok((Encoded::Binary, raw.to_vec())));
            }
        }

        #[test]
        fn binary_timestamptz_matches_the_i128_conversion(us in any::<i64>()) {
            prop_assert_eq!(instant_from_pg(us), instant_from_pg_i128(us));
        }

        #[test]
        fn binary_timestamptz_in_range_matches_the_i128_conversion(
            us in -400_000_000_000_000_000i64..400_000_000_000_000_000,
        ) {
            prop_assert_eq!(instant_from_pg(us), instant_from_pg_i128(us));
        }

        #[test]
        fn intervals_round_trip(months in any::<i32>(), days in any::<i32>(), microseconds in any::<i64>()) {
            let v = Interval { months, days, microseconds };
            prop_assert_eq!(v.to_string().parse::<Interval>(), Ok(v));
        }
    }
}
