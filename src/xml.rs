//! XML plumbing shared by the codecs: turning request bytes into text, reading that text
//! safely ([`reader`], one event at a time, for the streaming decoders; [`tree`] builds a small
//! element tree from the same events), bounding the memory a decode may use ([`Allowance`]),
//! and the escaping, transcoding and date formats the writers need.
//!
//! Safety is the point of this module. Request bodies come from anyone on the network, so the
//! reader refuses every DTD (no entity can be declared, so none can be expanded and nothing
//! external is ever fetched), knows only the five predefined entities and character references,
//! caps element nesting so a deep document cannot exhaust the stack of the codecs' recursive
//! decoders, and reports every problem as an [`XmlError`] instead of panicking. A decode's
//! memory is charged to an [`Allowance`]: at most a few times the body, whatever its shape.

mod allowance;
pub mod reader;
mod text;
mod tree;

pub use allowance::{Allowance, DECODE_FACTOR};
pub use reader::{Attribute, Event, MAX_NODES, Reader, Start, split_qname};
#[cfg(test)]
use text::XML_NS;
pub use text::{
    Encoding, ErrorKind, XSD, XSI, XmlError, declaration, decode_base64, decode_body, element_name,
    encode_base64, encode_document, escape_attribute, escape_text, format_double,
    format_iso_datetime, format_xmlrpc_datetime, is_xml_char, is_xml_whitespace, parse_datetime,
    parse_double, parse_int, truncate,
};
pub use tree::{Document, Element, Node, parse, parse_str, parse_str_within};

/// A tiny deterministic PRNG and an input mutator for the codecs' no-panic tests, so they need
/// no fuzzing crate.
#[cfg(test)]
pub(crate) mod testing {
    /// Marsaglia's xorshift64.
    pub struct XorShift(u64);

    impl XorShift {
        pub fn new(seed: u64) -> XorShift {
            XorShift(seed.max(1))
        }

        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// A number in `0..n` (0 when `n` is 0).
        pub fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next_u64() % n as u64) as usize
            }
        }

        pub fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next_u64() as u8).collect()
        }
    }

    /// Fragments that tend to reach interesting parser states.
    const TOKENS: &[&str] = &[
        "<",
        ">",
        "/>",
        "</",
        "&",
        "&#",
        "&#x",
        ";",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "&lol;",
        "<!DOCTYPE a [<!ENTITY lol \"x\">]>",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?pi ?>",
        "<?xml version=\"1.0\" encoding=\"latin1\"?>",
        "<value>",
        "</value>",
        "<struct>",
        "<member>",
        "<name>",
        "<array><data>",
        "<int>",
        "<base64>",
        "xmlns:x=\"urn:x\"",
        "xsi:type=\"xsd:int\"",
        "xsi:nil=\"1\"",
        "href=\"#id1\"",
        "id=\"id1\"",
        "SOAP-ENC:arrayType=\"xsd:string[2]\"",
        "\u{FEFF}",
        "\u{0}",
        "\u{e9}",
        "\"",
        "'",
        "=",
    ];

    /// Applies one to four random edits to `seed`: byte flips, deletions, duplications,
    /// truncation, and insertions of [`TOKENS`] or invalid UTF-8.
    pub fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(data.len() + 1);
            match rng.below(6) {
                0 if at < data.len() => data[at] ^= 1 << rng.below(8),
                1 => {
                    let end = (at + rng.below(16)).min(data.len());
                    data.drain(at..end);
                }
                2 => {
                    let end = (at + rng.below(64)).min(data.len());
                    let copy = data[at..end].to_vec();
                    let to = rng.below(data.len() + 1);
                    data.splice(to..to, copy);
                }
                3 => data.truncate(at),
                4 => {
                    let token = TOKENS[rng.below(TOKENS.len())].as_bytes().to_vec();
                    data.splice(at..at, token);
                }
                _ => {
                    data.splice(at..at, [0xFF, 0xC3]);
                }
            }
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn characters_xml_forbids_are_refused() {
        for bad in [
            "<a>x\u{0}y</a>",
            "<a b=\"\u{1}\"/>",
            "<a>\u{1b}</a>",
            "<a>\u{FFFE}</a>",
        ] {
            let err = parse_str(bad, 8).unwrap_err().to_string();
            assert!(err.contains("is not allowed in XML"), "{bad:?}: {err}");
        }
        assert!(parse_str("<a>\ttab\r\nok \u{E000}</a>", 8).is_ok());
    }

    #[test]
    fn utf8_is_the_default_for_valid_utf8() {
        let (text, enc) = decode_body("<a>é</a>".as_bytes()).unwrap();
        assert_eq!(text, "<a>é</a>");
        assert_eq!(enc, Encoding::Utf8);
    }

    #[test]
    fn undeclared_invalid_utf8_is_latin1() {
        let (text, enc) = decode_body(b"<a>\xe9t\xe9</a>").unwrap();
        assert_eq!(text, "<a>été</a>");
        assert_eq!(enc, Encoding::Latin1);
        let (text, enc) = decode_body(b"<?xml version=\"1.0\"?><a>\xe9</a>").unwrap();
        assert_eq!(text, "<?xml version=\"1.0\"?><a>é</a>");
        assert_eq!(enc, Encoding::Latin1);
    }

    #[test]
    fn declared_encodings() {
        let (_, enc) = decode_body(b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>").unwrap();
        assert_eq!(enc, Encoding::Latin1);
        let (_, enc) = decode_body(b"<?xml version=\"1.0\" encoding=\"latin1\"?><a/>").unwrap();
        assert_eq!(enc, Encoding::Latin1);
        let (_, enc) = decode_body(b"<?xml version=\"1.0\" encoding=\"us-ascii\"?><a/>").unwrap();
        assert_eq!(enc, Encoding::Utf8);
        let (_, enc) = decode_body(b"\n<?xml version=\"1.0\" encoding=\"utf-8\" ?><a/>").unwrap();
        assert_eq!(enc, Encoding::Utf8);
        // Declared Latin-1 wins even when the bytes happen to be valid UTF-8.
        let (text, enc) =
            decode_body("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>é</a>".as_bytes())
                .unwrap();
        assert_eq!(enc, Encoding::Latin1);
        assert!(text.contains("Ã©"));
    }

    #[test]
    fn bom_means_utf8() {
        let (text, enc) = decode_body(b"\xEF\xBB\xBF<a>\xC3\xA9</a>").unwrap();
        assert_eq!(text, "<a>é</a>");
        assert_eq!(enc, Encoding::Utf8);
        assert!(decode_body(b"\xEF\xBB\xBF<a>\xe9</a>").is_err());
    }

    #[test]
    fn declared_utf8_must_be_valid() {
        let err =
            decode_body(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xe9</a>").unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn unsupported_encoding_is_refused() {
        let err = decode_body(b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a/>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported encoding \"Shift_JIS\"; use UTF-8 or ISO-8859-1"
        );
        assert!(decode_body(b"\xFF\xFE<\0a\0/\0>\0").is_err());
        assert!(decode_body(b"<?xml version=\"1.0\" encoding=\"utf-8").is_err());
    }

    #[test]
    fn parses_a_tree_with_namespaces() {
        let root = parse_str(
            "<a:x xmlns:a='urn:a' xmlns='urn:d' b:y='1' xmlns:b='urn:b'><y>t&amp;<![CDATA[<c>]]>&#65;&#x42;</y><z/></a:x>",
            64,
        )
        .unwrap();
        assert!(root.is("urn:a", "x"));
        assert_eq!(root.attribute_ns("urn:b", "y"), Some("1"));
        let y = root.elements().next().unwrap();
        assert!(y.is("urn:d", "y"));
        assert_eq!(y.text(), "t&<c>AB");
        assert_eq!(
            y.resolve_qname("a:t").unwrap(),
            (Some(Rc::from("urn:a")), "t")
        );
        assert_eq!(
            y.resolve_qname("t").unwrap(),
            (Some(Rc::from("urn:d")), "t")
        );
        assert_eq!(
            y.resolve_qname("xml:lang").unwrap(),
            (Some(Rc::from(XML_NS)), "lang")
        );
        let plain = parse_str("<a><b/></a>", 64).unwrap();
        assert_eq!(plain.resolve_qname("t").unwrap(), (None, "t"));
        // `xmlns=""` undeclares the default namespace again.
        let undeclared = parse_str("<a xmlns='urn:d'><b xmlns=''/></a>", 64).unwrap();
        assert_eq!(undeclared.namespace.as_deref(), Some("urn:d"));
        assert_eq!(undeclared.elements().next().unwrap().namespace, None);
        assert!(y.resolve_qname("q:t").is_err());
    }

    #[test]
    fn leading_whitespace_before_the_declaration_is_tolerated() {
        let doc = parse(
            b"\r\n  <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a>\xe9</a>\n",
            64,
        )
        .unwrap();
        assert_eq!(doc.encoding, Encoding::Latin1);
        assert_eq!(doc.root.text(), "é");
    }

    #[test]
    fn comments_and_pis_are_ignored_and_text_merges() {
        let root = parse_str(
            "<?xml version='1.0'?><!--c--><a>x<!-- y -->z<?pi data?>w</a><!--e-->",
            64,
        )
        .unwrap();
        assert_eq!(root.text(), "xzw");
        assert_eq!(root.children.len(), 1);
    }

    #[test]
    fn line_ends_are_normalised_but_char_refs_kept() {
        let root = parse_str("<a b='x\r\ny\tz'>1\r\n2\r3&#13;</a>", 64).unwrap();
        assert_eq!(root.text(), "1\n2\n3\r");
        assert_eq!(root.attribute("b"), Some("x y z"));
    }

    #[test]
    fn doctype_is_refused() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
        assert_eq!(
            parse_str(laughs, 64).unwrap_err().to_string(),
            "DTDs are not allowed"
        );
        let xxe = r#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
        assert_eq!(
            parse_str(xxe, 64).unwrap_err().to_string(),
            "DTDs are not allowed"
        );
    }

    #[test]
    fn unknown_entities_and_bad_char_refs_are_refused() {
        let err = parse_str("<a>&nbsp;</a>", 64).unwrap_err();
        assert_eq!(err.to_string(), "undefined entity &nbsp;");
        for bad in [
            "&#0;",
            "&#x1;",
            "&#xD800;",
            "&#x110000;",
            "&#99999999999;",
            "&#;",
            "&#x;",
            "&#12a;",
            "&#XFFFF;",
        ] {
            assert!(parse_str(&format!("<a>{bad}</a>"), 64).is_err(), "{bad}");
        }
        assert!(parse_str("<a b='&foo;'/>", 64).is_err());
        assert!(parse_str("<a b='&#0;'/>", 64).is_err());
        assert!(parse_str("<a b='&amp'/>", 64).is_err());
        assert_eq!(
            parse_str("<a b='&lt;&#x263A;'/>", 64)
                .unwrap()
                .attribute("b"),
            Some("<☺")
        );
    }

    #[test]
    fn depth_is_capped() {
        let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse_str(&deep(64), 64).is_ok());
        let err = parse_str(&deep(65), 64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "elements are nested more than 64 levels deep"
        );
        let empty = format!("{}<a/>{}", "<a>".repeat(64), "</a>".repeat(64));
        assert!(parse_str(&empty, 64).is_err());
    }

    #[test]
    fn node_count_is_capped() {
        let many = |n: usize| format!("<a>{}</a>", "<b/>".repeat(n));
        assert!(parse_str(&many(MAX_NODES - 1), 64).is_ok());
        let message = format!("more than {MAX_NODES} elements and attributes");
        assert_eq!(
            parse_str(&many(MAX_NODES), 64).unwrap_err().to_string(),
            message
        );
        let attributes: String = (0..MAX_NODES).map(|i| format!(" a{i}=''")).collect();
        let wide = format!("<a{attributes}/>");
        assert_eq!(parse_str(&wide, 64).unwrap_err().to_string(), message);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            "",
            "   ",
            "text",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a/>junk",
            "</a>",
            "<a><b></a></b>",
            "<a b='1' b='2'/>",
            "<a xmlns:p=''/>",
            "<a b='<'/>",
        ] {
            assert!(parse_str(bad, 64).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        escape_text(&mut s, "a<b>&c\r\n\u{1}\u{FFFE}é");
        assert_eq!(s, "a&lt;b&gt;&amp;c&#13;\né");
        let mut s = String::new();
        escape_attribute(&mut s, "\"'<\t\u{0}");
        assert_eq!(s, "&quot;&apos;&lt;&#9;");
    }

    #[test]
    fn latin1_output_uses_char_refs_above_ff() {
        assert_eq!(encode_document("é☺", Encoding::Latin1), b"\xe9&#9786;");
        assert_eq!(encode_document("é☺", Encoding::Utf8), "é☺".as_bytes());
    }

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("19700101T00:00:00"), Some(0));
        assert_eq!(parse_datetime("20020326T12:00:00"), Some(1_017_144_000));
        assert_eq!(parse_datetime("2002-03-26T12:00:00"), Some(1_017_144_000));
        assert_eq!(parse_datetime("20020326T120000"), Some(1_017_144_000));
        assert_eq!(
            parse_datetime("2019-03-04T05:06:07.123Z"),
            Some(1_551_675_967)
        );
        assert_eq!(
            parse_datetime("2019-03-04T07:06:07+02:00"),
            Some(1_551_675_967)
        );
        assert_eq!(
            parse_datetime("2019-03-04T04:06:07-0100"),
            Some(1_551_675_967)
        );
        assert_eq!(
            parse_datetime(" 2026-11-22T23:42:31.109414 "),
            Some(1_795_390_951)
        );
        assert_eq!(parse_datetime("1969-12-31T23:59:59Z"), Some(-1));
        for bad in [
            "",
            "2002-03-26",
            "2002-13-01T00:00:00",
            "2002-02-30T00:00:00",
            "2002-03-26T24:00:00",
            "2002-03-26T12:00",
            "2002-03-26T12:00:00.Z",
            "2002-03-26T12:00:00+2:00",
            "2002-03-26T12:00:00X",
            "20020326T12:0a:00",
            "2002-03-26T12:00:00+24:00",
            "２００２0326T12:00:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(format_xmlrpc_datetime(1_017_144_000), "20020326T12:00:00");
        assert_eq!(format_iso_datetime(1_551_675_967), "2019-03-04T05:06:07Z");
        assert_eq!(format_iso_datetime(-1), "1969-12-31T23:59:59Z");
        for secs in [0, 951_782_400, 4_107_542_399, -86_400 * 365 * 400] {
            assert_eq!(parse_datetime(&format_iso_datetime(secs)), Some(secs));
            assert_eq!(parse_datetime(&format_xmlrpc_datetime(secs)), Some(secs));
        }
        // Extreme inputs must not panic.
        let _ = format_iso_datetime(i64::MAX);
        let _ = format_iso_datetime(i64::MIN);
    }

    #[test]
    fn numbers_and_base64() {
        assert_eq!(parse_int(" +42 "), Some(42));
        assert_eq!(parse_int("-7"), Some(-7));
        for bad in ["", "+", "1 2", "12x", "0x10", "99999999999999999999"] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
        assert_eq!(parse_double("1.5e3"), Some(1500.0));
        assert_eq!(parse_double("-INF"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        for bad in ["inf", "infinity", "nan", "", "1.2.3x", "e"] {
            assert_eq!(parse_double(bad), None, "{bad}");
        }
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(-0.25), "-0.25");
        assert_eq!(format_double(f64::INFINITY), "INF");
        assert_eq!(decode_base64(" SGVs\nbG8=\r\n").unwrap(), b"Hello");
        assert_eq!(decode_base64("SGVsbG8").unwrap(), b"Hello");
        assert!(decode_base64("SGVsbG8*").is_err());
        assert_eq!(encode_base64(b"Hello"), "SGVsbG8=");
    }

    #[test]
    fn element_names() {
        assert_eq!(element_name("flError"), "flError");
        assert_eq!(element_name("file00001"), "file00001");
        assert_eq!(element_name("1st"), "_x0031_st");
        assert_eq!(element_name("a b"), "a_x0020_b");
        assert_eq!(element_name("é"), "_x00E9_");
        assert_eq!(element_name("a_xb"), "a_x005F_xb");
        assert_eq!(element_name(""), "_");
    }
}
