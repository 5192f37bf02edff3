//! Dates and times with the [`chrono`](::chrono) crate (the `chrono`
//! feature), next to the `time` support and with its rules.
//!
//! | PostgreSQL    | Rust                                                                 |
//! |---------------|----------------------------------------------------------------------|
//! | `date`        | `NaiveDate`, [`Infinite<NaiveDate>`](Infinite)                       |
//! | `time`        | `NaiveTime`                                                          |
//! | `timestamp`   | `NaiveDateTime`, [`Infinite<NaiveDateTime>`](Infinite)               |
//! | `timestamptz` | `DateTime<Utc>`, `DateTime<FixedOffset>`, `DateTime<Local>`, and each in [`Infinite`] |
//!
//! Each value goes through the matching `time` value, so that both crates
//! share one encoder and one decoder:
//!
//! - **Infinity** is [`Infinite::Infinity`] and [`Infinite::NegInfinity`];
//!   into a plain chrono type it is [`TypeError::OutOfRange`], never a
//!   stand-in such as `NaiveDate::MAX`.
//! - **Precision**: PostgreSQL keeps microseconds; nanoseconds round to the
//!   nearest microsecond, as with `time`.
//! - **Range**: years -9999 to 9999, what `time` holds; a value outside it,
//!   either way, is `OutOfRange`. A chrono leap second (`23:59:60`) has no
//!   PostgreSQL value and is `OutOfRange` too.
//! - **`timestamptz` decodes in UTC**: `DateTime<FixedOffset>` comes back at
//!   offset `+00:00` and `DateTime<Local>` is that instant in the local zone,
//!   whichever format the server used. Encoding keeps a value's offset; the
//!   server stores only the instant.

use ::chrono::{
    DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc,
};
use ::time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use bytes::BytesMut;

use super::time::{
    decode_date, decode_time, decode_timestamp, decode_timestamptz, encode_date, encode_time,
    encode_timestamp, encode_timestamptz, finite,
};
use super::{oid, Encoded, FromSql, Infinite, Oid, ToSql, TypeError};
use crate::row::Format;

/// The type named in an error: the parameter's, or `natural` when unknown.
fn named(natural: Oid, ty: Oid) -> Oid {
    if ty == 0 {
        natural
    } else {
        ty
    }
}

fn date_to_time<T>(d: NaiveDate, ty: Oid) -> Result<Date, TypeError> {
    u16::try_from(d.ordinal())
        .ok()
        .and_then(|day| Date::from_ordinal_date(d.year(), day).ok())
        .ok_or_else(|| TypeError::out_of_range::<T>(ty))
}

fn date_from_time<T>(d: Date, ty: Oid) -> Result<NaiveDate, TypeError> {
    NaiveDate::from_yo_opt(d.year(), u32::from(d.ordinal()))
        .ok_or_else(|| TypeError::out_of_range::<T>(ty))
}

fn time_to_time<T>(t: NaiveTime, ty: Oid) -> Result<Time, TypeError> {
    let part = |n: u32| u8::try_from(n).ok();
    // A leap second has `nanosecond() >= 1e9`, which `Time` refuses.
    match (part(t.hour()), part(t.minute()), part(t.second())) {
        (Some(h), Some(m), Some(s)) => Time::from_hms_nano(h, m, s, t.nanosecond()).ok(),
        _ => None,
    }
    .ok_or_else(|| TypeError::out_of_range::<T>(ty))
}

fn time_from_time<T>(t: Time, ty: Oid) -> Result<NaiveTime, TypeError> {
    NaiveTime::from_hms_nano_opt(
        u32::from(t.hour()),
        u32::from(t.minute()),
        u32::from(t.second()),
        t.nanosecond(),
    )
    .ok_or_else(|| TypeError::out_of_range::<T>(ty))
}

fn datetime_to_time<T>(dt: NaiveDateTime, ty: Oid) -> Result<PrimitiveDateTime, TypeError> {
    Ok(PrimitiveDateTime::new(
        date_to_time::<T>(dt.date(), ty)?,
        time_to_time::<T>(dt.time(), ty)?,
    ))
}

fn datetime_from_time<T>(dt: PrimitiveDateTime, ty: Oid) -> Result<NaiveDateTime, TypeError> {
    Ok(NaiveDateTime::new(
        date_from_time::<T>(dt.date(), ty)?,
        time_from_time::<T>(dt.time(), ty)?,
    ))
}

/// The instant with its offset, as `time` has it.
fn instant_to_time<T, Tz: TimeZone>(
    dt: &DateTime<Tz>,
    ty: Oid,
) -> Result<OffsetDateTime, TypeError> {
    let offset = UtcOffset::from_whole_seconds(dt.offset().fix().local_minus_utc())
        .map_err(|_| TypeError::out_of_range::<T>(ty))?;
    Ok(datetime_to_time::<T>(dt.naive_local(), ty)?.assume_offset(offset))
}

/// A decoded `timestamptz` (always at offset zero) as a UTC `DateTime`.
fn instant_from_time<T>(t: OffsetDateTime, ty: Oid) -> Result<DateTime<Utc>, TypeError> {
    let utc = t
        .checked_to_offset(UtcOffset::UTC)
        .ok_or_else(|| TypeError::out_of_range::<T>(ty))?;
    let naive = datetime_from_time::<T>(PrimitiveDateTime::new(utc.date(), utc.time()), ty)?;
    Ok(Utc.from_utc_datetime(&naive))
}

/// `ToSql` and `FromSql` for a chrono type and its `Infinite`, through the
/// `time` value: `$to` converts to it, `$from` back, and `$encode` /
/// `$decode` are the `time` module's codecs for `Infinite` values.
macro_rules! chrono_like {
    ($rust:ty, $natural:expr, $to:expr, $from:expr, $encode:ident, $decode:ident, $doc:literal) => {
        impl ToSql for $rust {
            fn natural_type(&self) -> Oid {
                $natural
            }

            fn static_type() -> Oid {
                $natural
            }

            fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
                let value = ($to)(self, named($natural, ty))?;
                $encode::<Self>(Infinite::Value(value), ty, out)
            }
        }

        #[doc = $doc]
        impl FromSql<'_> for $rust {
            fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
                let value = finite::<Self, _>(ty, $decode::<Self>(ty, format, raw)?)?;
                ($from)(value, ty)
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
                let value = match self {
                    Infinite::NegInfinity => Infinite::NegInfinity,
                    Infinite::Infinity => Infinite::Infinity,
                    Infinite::Value(v) => Infinite::Value(($to)(v, named($natural, ty))?),
                };
                $encode::<Self>(value, ty, out)
            }
        }

        #[doc = $doc]
        impl FromSql<'_> for Infinite<$rust> {
            fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
                Ok(match $decode::<Self>(ty, format, raw)? {
                    Infinite::NegInfinity => Infinite::NegInfinity,
                    Infinite::Infinity => Infinite::Infinity,
                    Infinite::Value(v) => Infinite::Value(($from)(v, ty)?),
                })
            }
        }
    };
}

chrono_like!(
    NaiveDate,
    oid::DATE,
    |d: &NaiveDate, ty| date_to_time::<Self>(*d, ty),
    date_from_time::<Self>,
    encode_date,
    decode_date,
    "From `date`, in binary or text."
);
chrono_like!(
    NaiveDateTime,
    oid::TIMESTAMP,
    |dt: &NaiveDateTime, ty| datetime_to_time::<Self>(*dt, ty),
    datetime_from_time::<Self>,
    encode_timestamp,
    decode_timestamp,
    "From `timestamp`, in binary or text."
);
chrono_like!(
    DateTime<Utc>,
    oid::TIMESTAMPTZ,
    instant_to_time::<Self, _>,
    instant_from_time::<Self>,
    encode_timestamptz,
    decode_timestamptz,
    "From `timestamptz`, in binary or text."
);
chrono_like!(
    DateTime<FixedOffset>,
    oid::TIMESTAMPTZ,
    instant_to_time::<Self, _>,
    |t, ty| instant_from_time::<Self>(t, ty).map(|dt| dt.fixed_offset()),
    encode_timestamptz,
    decode_timestamptz,
    "From `timestamptz`, always at offset `+00:00` (the server keeps no \
     offset), in binary or text."
);
chrono_like!(
    DateTime<Local>,
    oid::TIMESTAMPTZ,
    instant_to_time::<Self, _>,
    |t, ty| instant_from_time::<Self>(t, ty).map(|dt| dt.with_timezone(&Local)),
    encode_timestamptz,
    decode_timestamptz,
    "From `timestamptz`: the instant in the local time zone, in binary or text."
);

impl ToSql for NaiveTime {
    fn natural_type(&self) -> Oid {
        oid::TIME
    }

    fn static_type() -> Oid {
        oid::TIME
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode_time::<Self>(time_to_time::<Self>(*self, named(oid::TIME, ty))?, ty, out)
    }
}

/// From `time`, in binary or text (`24:00:00` is `OutOfRange`).
impl FromSql<'_> for NaiveTime {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        time_from_time::<Self>(decode_time::<Self>(ty, format, raw)?, ty)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{encode, round_trip};
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(d: NaiveDate, h: u32, mi: u32, s: u32, us: u32) -> NaiveDateTime {
        d.and_hms_micro_opt(h, mi, s, us).unwrap()
    }

    /// Sent as text (to a `text` parameter) and read as `ty` in text.
    fn via_text<T>(value: &T, ty: Oid) -> Result<T, TypeError>
    where
        T: ToSql + for<'a> FromSql<'a>,
    {
        let (encoded, bytes) = encode(value, oid::TEXT)?;
        assert_eq!(encoded, Encoded::Text);
        T::from_sql(ty, Format::Text, &bytes)
    }

    /// Both formats give `value` back.
    fn both<T>(value: T, ty: Oid)
    where
        T: ToSql + for<'a> FromSql<'a> + PartialEq + std::fmt::Debug,
    {
        let (encoded, _) = encode(&value, 0).unwrap();
        assert_eq!(encoded, Encoded::Binary, "{value:?}");
        assert_eq!(round_trip(&value, 0).as_ref(), Ok(&value), "binary");
        assert_eq!(round_trip(&value, ty).as_ref(), Ok(&value), "binary");
        assert_eq!(via_text(&value, ty).as_ref(), Ok(&value), "text");
    }

    #[test]
    fn same_wire_values_as_time() {
        let d = ymd(2024, 2, 29);
        let td = ::time::Date::from_calendar_date(2024, ::time::Month::February, 29).unwrap();
        assert_eq!(encode(&d, 0), encode(&td, 0));
        assert_eq!(encode(&d, oid::TEXT), encode(&td, oid::TEXT));
        let dt = at(d, 13, 14, 15, 123_456);
        let tdt = PrimitiveDateTime::new(td, Time::from_hms_micro(13, 14, 15, 123_456).unwrap());
        assert_eq!(encode(&dt, 0), encode(&tdt, 0));
        let utc = Utc.from_utc_datetime(&dt);
        assert_eq!(encode(&utc, 0), encode(&tdt.assume_utc(), 0));
        let plus2 = FixedOffset::east_opt(7200).unwrap();
        let local = utc.with_timezone(&plus2);
        // The same instant; text keeps the value's offset.
        assert_eq!(encode(&local, 0), encode(&utc, 0));
        assert_eq!(
            encode(&local, oid::TEXT).map(|(_, b)| String::from_utf8(b).unwrap()),
            Ok("2024-02-29 15:14:15.123456+02".to_owned())
        );
    }

    #[test]
    fn round_trips_in_both_formats() {
        for d in [
            ymd(2000, 1, 1),
            ymd(-4713, 11, 24),
            ymd(9999, 12, 31),
            ymd(0, 2, 29),
        ] {
            both(d, oid::DATE);
            both(Infinite::Value(d), oid::DATE);
            both(at(d, 23, 59, 59, 999_999), oid::TIMESTAMP);
        }
        for t in [
            NaiveTime::MIN,
            NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
        ] {
            both(t, oid::TIME);
        }
        let dt = at(ymd(1999, 12, 31), 23, 0, 0, 1);
        both(Utc.from_utc_datetime(&dt), oid::TIMESTAMPTZ);
        both(Utc.from_utc_datetime(&dt).fixed_offset(), oid::TIMESTAMPTZ);
        both(
            Utc.from_utc_datetime(&dt).with_timezone(&Local),
            oid::TIMESTAMPTZ,
        );
        for inf in [Infinite::Infinity, Infinite::NegInfinity] {
            both(inf.map_value_for_test::<NaiveDate>(), oid::DATE);
            both(inf.map_value_for_test::<NaiveDateTime>(), oid::TIMESTAMP);
            both(inf.map_value_for_test::<DateTime<Utc>>(), oid::TIMESTAMPTZ);
            both(
                inf.map_value_for_test::<DateTime<FixedOffset>>(),
                oid::TIMESTAMPTZ,
            );
            both(
                inf.map_value_for_test::<DateTime<Local>>(),
                oid::TIMESTAMPTZ,
            );
        }
    }

    #[test]
    fn timestamptz_comes_back_in_utc() {
        let plus5 = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        let v = plus5
            .from_local_datetime(&at(ymd(2024, 6, 1), 12, 0, 0, 0))
            .unwrap();
        for back in [
            round_trip(&v, 0).unwrap(),
            DateTime::<FixedOffset>::from_sql(
                oid::TIMESTAMPTZ,
                Format::Text,
                b"2024-06-01 12:00:00+05:30",
            )
            .unwrap(),
        ] {
            assert_eq!(back, v);
            assert_eq!(back.offset().local_minus_utc(), 0);
        }
    }

    #[test]
    fn infinity_only_into_infinite() {
        for (ty, format, raw) in [
            (oid::DATE, Format::Binary, &i32::MAX.to_be_bytes()[..]),
            (oid::DATE, Format::Text, b"-infinity"),
        ] {
            assert_eq!(
                NaiveDate::from_sql(ty, format, raw),
                Err(TypeError::out_of_range::<NaiveDate>(ty))
            );
        }
        for (ty, format, raw) in [
            (oid::TIMESTAMP, Format::Binary, &i64::MIN.to_be_bytes()[..]),
            (oid::TIMESTAMP, Format::Text, b"infinity"),
        ] {
            assert_eq!(
                NaiveDateTime::from_sql(ty, format, raw),
                Err(TypeError::out_of_range::<NaiveDateTime>(ty))
            );
            assert!(Infinite::<NaiveDateTime>::from_sql(ty, format, raw).is_ok());
        }
        for raw in [&i64::MAX.to_be_bytes()[..], &i64::MIN.to_be_bytes()[..]] {
            let ty = oid::TIMESTAMPTZ;
            assert_eq!(
                DateTime::<Utc>::from_sql(ty, Format::Binary, raw),
                Err(TypeError::out_of_range::<DateTime<Utc>>(ty))
            );
            assert_eq!(
                DateTime::<Local>::from_sql(ty, Format::Binary, raw),
                Err(TypeError::out_of_range::<DateTime<Local>>(ty))
            );
        }
        // The chrono extremes are ordinary values past PostgreSQL's (and
        // `time`'s) range: errors, not infinities.
        assert_eq!(
            encode(&NaiveDate::MAX, 0),
            Err(TypeError::out_of_range::<NaiveDate>(oid::DATE))
        );
        assert_eq!(
            encode(&NaiveDateTime::MIN, oid::TIMESTAMP),
            Err(TypeError::out_of_range::<NaiveDateTime>(oid::TIMESTAMP))
        );
    }

    #[test]
    fn precision_range_and_wrong_types() {
        let t = NaiveTime::from_hms_nano_opt(1, 2, 3, 4_500).unwrap();
        assert_eq!(
            round_trip(&t, 0),
            Ok(NaiveTime::from_hms_micro_opt(1, 2, 3, 5).unwrap())
        );
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        assert_eq!(
            encode(&leap, 0),
            Err(TypeError::out_of_range::<NaiveTime>(oid::TIME))
        );
        assert_eq!(
            NaiveTime::from_sql(oid::TIME, Format::Text, b"24:00:00"),
            Err(TypeError::out_of_range::<NaiveTime>(oid::TIME))
        );
        // Years past 9999 are out of range, not wrapped.
        assert_eq!(
            NaiveDate::from_sql(oid::DATE, Format::Text, b"10000-01-01"),
            Err(TypeError::out_of_range::<NaiveDate>(oid::DATE))
        );
        assert_eq!(
            encode(&ymd(10000, 1, 1), 0),
            Err(TypeError::out_of_range::<NaiveDate>(oid::DATE))
        );
        assert_eq!(
            encode(&ymd(2000, 1, 1), oid::INT4),
            Err(TypeError::wrong_type::<NaiveDate>(oid::INT4))
        );
        assert_eq!(
            NaiveDateTime::from_sql(oid::TIMESTAMPTZ, Format::Binary, &[0; 8]),
            Err(TypeError::wrong_type::<NaiveDateTime>(oid::TIMESTAMPTZ))
        );
        assert_eq!(NaiveDate::static_type(), oid::DATE);
        assert_eq!(DateTime::<Local>::static_type(), oid::TIMESTAMPTZ);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..16)) {
            for format in [Format::Text, Format::Binary] {
                let _ = NaiveDate::from_sql(oid::DATE, format, &raw);
                let _ = NaiveTime::from_sql(oid::TIME, format, &raw);
                let _ = NaiveDateTime::from_sql(oid::TIMESTAMP, format, &raw);
                let _ = DateTime::<Local>::from_sql(oid::TIMESTAMPTZ, format, &raw);
                let _ = Infinite::<DateTime<FixedOffset>>::from_sql(oid::TIMESTAMPTZ, format, &raw);
            }
        }

        #[test]
        fn any_microsecond_timestamp_round_trips(us in -211_813_488_000_000_000i64..253_402_300_800_000_000 - 946_684_800_000_000) {
            let raw = us.to_be_bytes();
            if let Ok(v) = DateTime::<Utc>::from_sql(oid::TIMESTAMPTZ, Format::Binary, &raw) {
                prop_assert_eq!(encode(&v, 0), Ok((Encoded::Binary, raw.to_vec())));
                prop_assert_eq!(via_text(&v, oid::TIMESTAMPTZ), Ok(v));
            }
        }
    }

    /// The infinities of any `Infinite<T>`, for the table above.
    trait ForTest {
        fn map_value_for_test<T>(self) -> Infinite<T>;
    }

    impl ForTest for Infinite<()> {
        fn map_value_for_test<T>(self) -> Infinite<T> {
            match self {
                Infinite::NegInfinity => Infinite::NegInfinity,
                Infinite::Infinity => Infinite::Infinity,
                Infinite::Value(()) => unreachable!("only infinities"),
            }
        }
    }
}
