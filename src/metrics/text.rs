//! The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` once per
//! family, then its samples, one per line. Written by hand (see [`super`] for why): passlink's
//! families are fixed and their label values are static strings, so what is left is escaping
//! and number formatting.

use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A family's type, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample value: counts are exact integers, durations are seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(u64),
    Float(f64),
}

impl From<u64> for Number {
    fn from(n: u64) -> Self {
        Number::Int(n)
    }
}

impl From<f64> for Number {
    fn from(x: f64) -> Self {
        Number::Float(x)
    }
}

/// Cumulative bucket counts with their upper bounds, the sum of the observations and their
/// count, as one histogram series is written.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample<'a> {
    /// `(upper bound, observations at or below it)`, bounds ascending, without `+Inf`.
    pub buckets: &'a [(f64, u64)],
    pub sum: f64,
    pub count: u64,
}

/// A page being written.
#[derive(Debug, Default)]
pub struct Page {
    out: String,
}

impl Page {
    /// Starts a family: its help text and type. Every sample of the family must follow before
    /// the next one starts (the format does not allow a family to be split).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert!(valid_name(name), "metric name {name:?}");
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_help(&mut self.out, help);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.name());
        self.out.push('\n');
    }

    /// One sample line: `name{label="value",...} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Number>) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        write_number(&mut self.out, value.into());
        self.out.push('\n');
    }

    /// The `_bucket`, `_sum` and `_count` lines of one histogram series.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSample<'_>) {
        let bucket = format!("{name}_bucket");
        let mut le = String::new();
        for (bound, cumulative) in h.buckets {
            le.clear();
            write_number(&mut le, Number::Float(*bound));
            self.out.push_str(&bucket);
            write_labels(&mut self.out, labels, Some(&le));
            self.out.push(' ');
            write_number(&mut self.out, Number::Int(*cumulative));
            self.out.push('\n');
        }
        self.out.push_str(&bucket);
        write_labels(&mut self.out, labels, Some("+Inf"));
        self.out.push(' ');
        write_number(&mut self.out, Number::Int(h.count));
        self.out.push('\n');
        self.sample(&format!("{name}_sum"), labels, h.sum);
        self.sample(&format!("{name}_count"), labels, h.count);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the format's rule for metric and label names.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (name, value) in labels.iter().copied().chain(le.map(|v| ("le", v))) {
        debug_assert!(valid_name(name), "label name {name:?}");
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    out.push('}');
}

/// In help text, backslash and line feed are escaped.
fn escape_help(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// In a label value, backslash, double quote and line feed are escaped.
fn escape_label_value(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Integers as digits; floats as Rust's shortest round-trip decimal (never an exponent, which
/// every parser reads), with the format's own spellings for the infinities and NaN.
fn write_number(out: &mut String, n: Number) {
    match n {
        Number::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Number::Float(x) if x.is_nan() => out.push_str("NaN"),
        Number::Float(x) if x == f64::INFINITY => out.push_str("+Inf"),
        Number::Float(x) if x == f64::NEG_INFINITY => out.push_str("-Inf"),
        Number::Float(x) => {
            let _ = write!(out, "{x}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escaping() {
        let mut page = Page::default();
        page.family(
            "x_total",
            Kind::Counter,
            "Back\\slash and\nnewline \"kept\".",
        );
        page.sample("x_total", &[], 3u64);
        page.sample("x_total", &[("a", "q\"b\\s\nn"), ("b", "two words")], 0u64);
        page.family("g", Kind::Gauge, "A gauge.");
        page.sample("g", &[("k", "v")], 0.25);
        assert_eq!(
            page.finish(),
            "# HELP x_total Back\\\\slash and\\nnewline \"kept\".\n\
             # TYPE x_total counter\n\
             x_total 3\n\
             x_total{a=\"q\\\"b\\\\s\\nn\",b=\"two words\"} 0\n\
             # HELP g A gauge.\n\
             # TYPE g gauge\n\
             g{k=\"v\"} 0.25\n"
        );
    }

    #[test]
    fn histograms_end_with_inf_sum_and_count() {
        let mut page = Page::default();
        page.family("d_seconds", Kind::Histogram, "Durations.");
        page.histogram(
            "d_seconds",
            &[("group", "status")],
            &HistogramSample {
                buckets: &[(0.005, 1), (1.0, 2), (2.5, 2)],
                sum: 0.5,
                count: 3,
            },
        );
        assert_eq!(
            page.finish(),
            "# HELP d_seconds Durations.\n\
             # TYPE d_seconds histogram\n\
             d_seconds_bucket{group=\"status\",le=\"0.005\"} 1\n\
             d_seconds_bucket{group=\"status\",le=\"1\"} 2\n\
             d_seconds_bucket{group=\"status\",le=\"2.5\"} 2\n\
             d_seconds_bucket{group=\"status\",le=\"+Inf\"} 3\n\
             d_seconds_sum{group=\"status\"} 0.5\n\
             d_seconds_count{group=\"status\"} 3\n"
        );
    }

    #[test]
    fn numbers() {
        let text = |n: Number| {
            let mut s = String::new();
            write_number(&mut s, n);
            s
        };
        assert_eq!(text(Number::Int(u64::MAX)), "18446744073709551615");
        assert_eq!(text(Number::Float(1.0)), "1");
        assert_eq!(text(Number::Float(0.000_1)), "0.0001");
        assert_eq!(text(Number::Float(1e-9)), "0.000000001");
        assert_eq!(text(Number::Float(f64::INFINITY)), "+Inf");
        assert_eq!(text(Number::Float(f64::NEG_INFINITY)), "-Inf");
        assert_eq!(text(Number::Float(f64::NAN)), "NaN");
    }

    #[test]
    fn names() {
        assert!(valid_name("passlink_requests_total"));
        assert!(valid_name("a:b_c1"));
        assert!(!valid_name("1abc"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(""));
    }
}
