//! Values derived from the event time: `hour`, `weekday`, `hour_of_week`
//! and `date`, in UTC or in a zone; and the per-evaluation [`Scratch`] that
//! holds what such a value (and a decoded `json(...)`) borrows from.

use std::cell::OnceCell;

use chrono::{Offset, TimeZone};
use serde_json::Value;
use smallvec::SmallVec;

use crate::compile::program::{ClockField, Program, Zone};
use crate::compile::value::V;
use crate::num::Num;

/// Weekday names, Monday first, as `weekday` reads.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Seconds since the epoch of `time_ms`, shifted to the local time of `zone`.
pub fn local_seconds(time_ms: i64, zone: Zone) -> i64 {
    let secs = time_ms.div_euclid(1000);
    let offset = match zone {
        Zone::Fixed(s) => i64::from(s),
        Zone::Named(tz) => match chrono::DateTime::from_timestamp(secs, 0) {
            Some(dt) => i64::from(
                tz.offset_from_utc_datetime(&dt.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ),
            None => 0,
        },
    };
    secs.saturating_add(offset)
}

/// Hour of the day (0–23) and day of the week (Monday = 0) of `time_ms` in `zone`.
pub fn hour_and_weekday(time_ms: i64, zone: Zone) -> (u8, u8) {
    let local = local_seconds(time_ms, zone);
    let hour = u8::try_from(local.rem_euclid(86_400) / 3600).unwrap_or(0);
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    let weekday = u8::try_from((local.div_euclid(86_400) + 3).rem_euclid(7)).unwrap_or(0);
    (hour, weekday)
}

/// The hour of the week (0–167, Monday 00:00 = 0) of `time_ms` in `zone`.
///
/// ```
/// use riskgate::compile::program::Zone;
/// use riskgate::run::derived::hour_of_week;
/// // 2026-11-22T23:59:30Z is a Sunday.
/// assert_eq!(hour_of_week(1_795_391_970_000, Zone::Fixed(0)), 167);
/// // In Berlin (UTC+1 in November) it is Monday 00:59.
/// assert_eq!(hour_of_week(1_795_391_970_000, Zone::Named(chrono_tz::Europe::Berlin)), 0);
/// ```
pub fn hour_of_week(time_ms: i64, zone: Zone) -> u8 {
    let (h, d) = hour_and_weekday(time_ms, zone);
    d * 24 + h
}

/// The date of `time_ms` in `zone`, as `YYYY-MM-DD` (years 0 to 9999; a
/// time outside them is clamped to the nearest).
///
/// ```
/// use riskgate::compile::program::Zone;
/// use riskgate::run::derived::date_text;
/// assert_eq!(&date_text(1_795_391_970_000, Zone::Fixed(0)), b"2026-11-22");
/// assert_eq!(&date_text(1_795_391_970_000, Zone::Fixed(3600)), b"2026-11-23");
/// assert_eq!(&date_text(-1, Zone::Fixed(0)), b"1969-12-31");
/// ```
pub fn date_text(time_ms: i64, zone: Zone) -> [u8; 10] {
    let days = local_seconds(time_ms, zone).div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let y = y.clamp(0, 9999);
    let mut out = *b"0000-00-00";
    let digits = [
        (0, y / 1000),
        (1, y / 100 % 10),
        (2, y / 10 % 10),
        (3, y % 10),
        (5, m / 10),
        (6, m % 10),
        (8, d / 10),
        (9, d % 10),
    ];
    for (i, v) in digits {
        if let Some(b) = out.get_mut(i) {
            *b = b'0' + u8::try_from(v).unwrap_or(0);
        }
    }
    out
}

/// Year, month (1–12), day (1–31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What the values of one evaluation borrow that the event does not hold:
/// each `json(...)` source decoded (at most once, and only when a rule reads
/// it) and each `date` written out. Made empty per evaluation; it allocates
/// nothing unless the program reads more than a few of them, and a decode
/// allocates only when a rule reads `json(...)`.
#[derive(Default)]
pub struct Scratch {
    json: SmallVec<[OnceCell<Option<Value>>; 2]>,
    dates: SmallVec<[OnceCell<[u8; 10]>; 2]>,
}

impl Scratch {
    /// Empty cells for what `program` reads.
    pub fn new(program: &Program) -> Scratch {
        Scratch {
            json: (0..program.json_slots).map(|_| OnceCell::new()).collect(),
            dates: (0..program.date_slots).map(|_| OnceCell::new()).collect(),
        }
    }

    /// The value decoded in slot `slot`, decoding it with `decode` the
    /// first time. `None` when the slot does not exist or the text was not
    /// JSON.
    pub fn json(&self, slot: u32, decode: impl FnOnce() -> Option<Value>) -> Option<&Value> {
        self.json.get(slot as usize)?.get_or_init(decode).as_ref()
    }

    /// The date of `time_ms` in `zone`, written once in slot `slot`.
    pub fn date(&self, slot: u32, time_ms: i64, zone: Zone) -> Option<&str> {
        let text = self
            .dates
            .get(slot as usize)?
            .get_or_init(|| date_text(time_ms, zone));
        std::str::from_utf8(text).ok()
    }
}

/// The value of a time field of `time_ms` (the date through `scratch`).
pub fn clock_value(field: ClockField, zone: Zone, time_ms: i64, scratch: &Scratch) -> V<'_> {
    match field {
        ClockField::Hour => V::Num(Num::count(u64::from(hour_and_weekday(time_ms, zone).0))),
        ClockField::Weekday => {
            let d = hour_and_weekday(time_ms, zone).1;
            WEEKDAYS
                .get(usize::from(d))
                .map_or(V::Absent, |s| V::Str(s))
        }
        ClockField::HourOfWeek => V::Num(Num::count(u64::from(hour_of_week(time_ms, zone)))),
        ClockField::Date { slot } => scratch.date(slot, time_ms, zone).map_or(V::Absent, V::Str),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_chrono() {
        for days in [-719_468i64, -1, 0, 59, 365, 10_956, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            let dt = chrono::DateTime::from_timestamp(days * 86_400, 0)
                .unwrap_or_else(|| panic!("in range"))
                .date_naive();
            use chrono::Datelike;
            assert_eq!(
                (y, m, d),
                (
                    i64::from(dt.year()),
                    i64::from(dt.month()),
                    i64::from(dt.day())
                )
            );
        }
    }

    #[test]
    fn hours_and_days_in_zones() {
        // 2026-03-29 01:30Z: Berlin has just moved to summer time (UTC+2).
        let t = 1_774_747_800_000;
        let berlin = Zone::Named(chrono_tz::Europe::Berlin);
        assert_eq!(hour_and_weekday(t, Zone::Fixed(0)), (1, 6));
        assert_eq!(hour_and_weekday(t, berlin), (3, 6));
        assert_eq!(hour_of_week(t, berlin), 6 * 24 + 3);
        assert_eq!(&date_text(t, Zone::Fixed(-5 * 3600)), b"2026-03-28");
    }
}
