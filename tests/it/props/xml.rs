//! A writer for hand-built XML documents that varies how the same content is written.

use super::*;

pub(super) struct XmlWriter {
    pub(super) out: String,
    /// Whether the document goes out as ISO-8859-1, where characters above U+00FF can only be
    /// written as character references (and so never inside CDATA).
    pub(super) latin1: bool,
}

impl XmlWriter {
    pub(super) fn new(latin1: bool) -> XmlWriter {
        XmlWriter {
            out: String::new(),
            latin1,
        }
    }

    pub(super) fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Whitespace between elements, which every decoder must ignore.
    pub(super) fn ws(&mut self, rng: &mut Rng) {
        if rng.one_in(2) {
            return;
        }
        for _ in 0..rng.range(1, 3) {
            self.out
                .push_str(rng.pick(&[" ", "\n", "\t", "\r\n", "\n  ", "\r"]));
        }
        if rng.one_in(10) {
            self.out.push_str("<!-- a comment -->");
        }
    }

    fn char_ref(&mut self, rng: &mut Rng, c: char) {
        let code = u32::from(c);
        let zeros = "0".repeat(rng.below(3));
        match rng.below(3) {
            0 => self.out.push_str(&format!("&#{zeros}{code};")),
            1 => self.out.push_str(&format!("&#x{zeros}{code:x};")),
            _ => self.out.push_str(&format!("&#x{zeros}{code:X};")),
        }
    }

    /// Element content that reads back as exactly `s`, which must hold only XML characters.
    /// Characters are written literally, as references or inside CDATA sections, at random.
    pub(super) fn text(&mut self, rng: &mut Rng, s: &str) {
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if rng.one_in(8) {
                // A CDATA run: no CR (it would be normalised), no '>' (so never `]]>`), and in
                // Latin-1 nothing above U+00FF.
                let cdata_ok =
                    |c: char| c != '\r' && c != '>' && !(self.latin1 && u32::from(c) > 0xFF);
                let end = (i..chars.len().min(i + 12))
                    .find(|&j| !cdata_ok(chars[j]))
                    .unwrap_or(chars.len().min(i + 12));
                if end > i {
                    self.out.push_str("<![CDATA[");
                    self.out.extend(&chars[i..end]);
                    self.out.push_str("]]>");
                    i = end;
                    continue;
                }
            }
            let c = chars[i];
            assert!(is_xml_char(c), "the writer got an illegal character");
            match c {
                '&' if rng.one_in(2) => self.out.push_str("&amp;"),
                '<' if rng.one_in(2) => self.out.push_str("&lt;"),
                '>' if rng.one_in(2) => self.out.push_str("&gt;"),
                '"' if rng.one_in(3) => self.out.push_str("&quot;"),
                '\'' if rng.one_in(3) => self.out.push_str("&apos;"),
                '&' | '<' | '>' | '\r' => self.char_ref(rng, c),
                _ if rng.one_in(12) => self.char_ref(rng, c),
                _ => self.out.push(c),
            }
            i += 1;
        }
    }

    /// An attribute value, quotes included, that reads back as exactly `s`.
    pub(super) fn attribute(&mut self, rng: &mut Rng, s: &str) {
        let quote = if rng.one_in(2) { '"' } else { '\'' };
        self.out.push(quote);
        for c in s.chars() {
            assert!(is_xml_char(c), "the writer got an illegal character");
            match c {
                '&' if rng.one_in(2) => self.out.push_str("&amp;"),
                '<' if rng.one_in(2) => self.out.push_str("&lt;"),
                '"' if rng.one_in(2) => self.out.push_str("&quot;"),
                '\'' if rng.one_in(2) => self.out.push_str("&apos;"),
                // Literal tab, CR and LF would be normalised to spaces.
                '&' | '<' | '\t' | '\r' | '\n' => self.char_ref(rng, c),
                _ if c == quote => self.char_ref(rng, c),
                _ if rng.one_in(12) => self.char_ref(rng, c),
                _ => self.out.push(c),
            }
        }
        self.out.push(quote);
    }

    /// The finished document: UTF-8, or ISO-8859-1 with references above U+00FF.
    pub(super) fn into_bytes(self) -> Vec<u8> {
        if !self.latin1 {
            return self.out.into_bytes();
        }
        let mut bytes = Vec::with_capacity(self.out.len());
        for c in self.out.chars() {
            match u8::try_from(u32::from(c)) {
                Ok(b) => bytes.push(b),
                Err(_) => bytes.extend_from_slice(format!("&#{};", u32::from(c)).as_bytes()),
            }
        }
        bytes
    }
}

/// A random prolog: an XML declaration naming `latin1`'s encoding (or, for UTF-8, sometimes
/// none, a byte order mark, or whitespace before it). Returns the bytes to put in front; the
/// BOM cannot go through the writer because in Latin-1 it would not be a BOM.
pub(super) fn prolog(rng: &mut Rng, latin1: bool) -> (Vec<u8>, String) {
    let mut before = Vec::new();
    let decl = if latin1 {
        let label = rng.pick(&["ISO-8859-1", "iso-8859-1", "latin1", "ISO_8859-1"]);
        format!("<?xml version=\"1.0\" encoding=\"{label}\"?>")
    } else {
        match rng.below(5) {
            0 => String::new(),
            1 => {
                before.extend_from_slice(b"\xEF\xBB\xBF");
                "<?xml version=\"1.0\"?>".to_owned()
            }
            2 => "\n<?xml version='1.0' encoding='utf-8' ?>".to_owned(),
            3 => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_owned(),
            _ => "<?xml version=\"1.0\" encoding=\"us-ascii\"?>".to_owned(),
        }
    };
    (before, decl)
}
