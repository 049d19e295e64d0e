//! Wall-clock formatting without a date crate: RFC 3339 for logs, IMF-fixdate for HTTP.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, clamped to 0 for a clock set before 1970.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date; the inverse of [`civil_from_days`].
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as in `If-Modified-Since`.
pub fn parse_http_date(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = text.split_whitespace().skip(1);
    let day: i64 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as i64 + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// A moment's calendar parts in UTC.
pub struct Parts {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub weekday: usize,
}

/// The calendar parts of a Unix time, in UTC.
pub fn parts_of(unix: i64) -> Parts {
    parts(unix)
}

fn parts(unix: i64) -> Parts {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs % 3600 / 60,
        second: secs % 60,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as usize,
    }
}

/// `2026-11-23T05:19:16Z`
/// `YYYY-MM-DD HH:MM:SS` in UTC, the form OpenSRS uses for dates (`expiredate`).
pub fn sql_datetime(unix: i64) -> String {
    let p = parts(unix);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

pub fn rfc3339(unix: i64) -> String {
    let p = parts(unix);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// `Mon, 23 Nov 2026 05:19:16 GMT` (RFC 9110 IMF-fixdate)
pub fn http_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let p = parts(unix);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[p.weekday],
        p.day,
        MONTHS[(p.month - 1) as usize],
        p.year,
        p.hour,
        p.minute,
        p.second
    )
}

/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (as OpenSRS writes `expiredate`), UTC, from 1970 on.
pub fn parse_utc(text: &str) -> Option<i64> {
    let (date, time) = match text.trim().split_once(' ') {
        Some((d, t)) => (d, Some(t)),
        None => (text.trim(), None),
    };
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let seconds = match time {
        None => 0,
        Some(t) => {
            let mut hms = t.splitn(3, ':');
            let h: i64 = hms.next()?.parse().ok()?;
            let m: i64 = hms.next()?.parse().ok()?;
            let s: i64 = hms.next().unwrap_or("0").parse().ok()?;
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
            h * 3600 + m * 60 + s
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(rfc3339(1_795_411_156), "2026-11-23T05:19:16Z");
        assert_eq!(http_date(1_795_411_156), "Mon, 23 Nov 2026 05:19:16 GMT");
        // A leap day.
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        for t in [0, 951_782_400, 1_795_411_156] {
            assert_eq!(parse_http_date(&http_date(t)), Some(t));
        }
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn dates_as_opensrs_writes_them() {
        assert_eq!(parse_utc("2027-01-31"), Some(1_801_353_600));
        assert_eq!(
            parse_utc("2027-01-31 12:00:00"),
            Some(1_801_353_600 + 43_200)
        );
        for bad in [
            "2027-13-01",
            "31.01.2027",
            "2027-01-31 25:00:00",
            "",
            "1969-12-31",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
