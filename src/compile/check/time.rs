//! Time zones and days, as rules name them in `between` and schedules.

use super::*;

/// Parses a zone: `UTC`, `GMT`, `Z` (any case), `±HH:MM`, or an exact IANA name.
pub fn parse_zone(z: &str) -> Result<Zone, String> {
    if ["utc", "gmt", "z"].contains(&z.to_ascii_lowercase().as_str()) {
        return Ok(Zone::Fixed(0));
    }
    if let Some(rest) = z.strip_prefix('+').or_else(|| z.strip_prefix('-')) {
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        return match (h.parse::<i32>(), m.parse::<i32>()) {
            (Ok(h), Ok(m)) if h <= 14 && m < 60 => Ok(Zone::Fixed(sign * (h * 3600 + m * 60))),
            _ => Err(format!("invalid UTC offset `{z}`")),
        };
    }
    if !z.contains('/') {
        return Err(format!("unknown time zone `{z}`"));
    }
    chrono_tz::Tz::from_str(z)
        .map(Zone::Named)
        .map_err(|_| format!("unknown time zone `{z}`"))
}

pub(super) fn zone_help(z: &str) -> Option<String> {
    if z.contains('/') {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        return did_you_mean(z, names).map(|s| format!("did you mean `{s}`?"));
    }
    if z.starts_with(['+', '-']) {
        return Some("an offset is `+HH:MM` or `-HH:MM`, from `-14:00` to `+14:00`".to_string());
    }
    // `UTC+1`, `GMT-05:00`: the offset alone.
    let lower = z.to_ascii_lowercase();
    if let Some(offset) = lower
        .strip_prefix("utc")
        .or_else(|| lower.strip_prefix("gmt"))
        .filter(|o| o.starts_with(['+', '-']))
    {
        if let Ok(Zone::Fixed(secs)) = parse_zone(offset) {
            let (sign, secs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
            return Some(format!(
                "write the offset alone: `{sign}{:02}:{:02}`",
                secs / 3600,
                secs % 3600 / 60
            ));
        }
    }
    Some("use `UTC`, an offset like `+05:30`, or an IANA name like `America/New_York` (abbreviations like `EST` are ambiguous)".to_string())
}

pub(super) fn parse_day(d: &str) -> Option<u8> {
    let l = d.to_ascii_lowercase();
    let days = [
        ["mon", "monday"],
        ["tue", "tuesday"],
        ["wed", "wednesday"],
        ["thu", "thursday"],
        ["fri", "friday"],
        ["sat", "saturday"],
        ["sun", "sunday"],
    ];
    if l == "weekends" || l == "weekend" {
        return Some(0b110_0000);
    }
    if l == "weekdays" {
        return Some(0b001_1111);
    }
    let l = match l.as_str() {
        "tues" => "tue".to_string(),
        "thur" | "thurs" => "thu".to_string(),
        _ => l,
    };
    days.iter()
        .position(|names| names.contains(&l.as_str()))
        .map(|i| 1u8 << i)
}
