//! The `changes.xml` document of weblogUpdates: a codec, typed entries in and bytes out.

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::escape::escape;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::name::QName;

/// One `<weblog>` element.
pub struct Entry<'a> {
    pub name: &'a str,
    pub url: &'a str,
    /// Seconds since the weblog pinged.
    pub seconds_ago: i64,
}

/// The document, `updated` being an HTTP date, each element on its own line.
pub fn encode(updated: &str, entries: &[Entry<'_>]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::with_capacity(128 + entries.len() * 96));
    // Writing into a Vec cannot fail; should it ever, what was written so far is sent.
    if let Err(e) = write(&mut writer, updated, entries) {
        log::error!("changes.xml: {e}");
    }
    writer.into_inner()
}

/// An attribute escaped as `changes.xml` always was: the five markup characters only
/// (quick-xml's own attribute escaping would also write a tab or a newline as a reference).
fn attribute<'a>(key: &'a str, value: &str) -> Attribute<'a> {
    Attribute {
        key: QName(key),
        value: Cow::Owned(escape(value).into_owned()),
    }
}

fn write(
    writer: &mut Writer<Vec<u8>>,
    updated: &str,
    entries: &[Entry<'_>],
) -> std::io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer.get_mut().push(b'\n');
    let count = entries.len().to_string();
    let mut root = BytesStart::new("weblogUpdates");
    root.push_attribute(("version", "1"));
    root.push_attribute(("updated", updated));
    root.push_attribute(("count", count.as_str()));
    writer.write_event(Event::Start(root))?;
    writer.get_mut().push(b'\n');
    for entry in entries {
        let when = entry.seconds_ago.max(0).to_string();
        let mut weblog = BytesStart::new("weblog");
        weblog.push_attribute(attribute("name", entry.name));
        weblog.push_attribute(attribute("url", entry.url));
        weblog.push_attribute(("when", when.as_str()));
        writer.write_event(Event::Empty(weblog))?;
        writer.get_mut().push(b'\n');
    }
    writer.write_event(Event::End(BytesEnd::new("weblogUpdates")))?;
    writer.get_mut().push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_what_it_always_was() {
        let entries = [
            Entry {
                name: "A & B's <log>",
                url: "http://example.com/?a=1&b=\"2\"",
                seconds_ago: 5,
            },
            Entry {
                name: "",
                url: "https://x.example/",
                seconds_ago: -3,
            },
            Entry {
                name: "tab\tand\nnewline",
                url: "https://y.example/",
                seconds_ago: 7,
            },
        ];
        let xml = String::from_utf8(encode("Sun, 06 Dec 2026 09:00:00 GMT", &entries)).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <weblogUpdates version=\"1\" updated=\"Sun, 06 Dec 2026 09:00:00 GMT\" count=\"3\">\n\
             <weblog name=\"A &amp; B&apos;s &lt;log&gt;\" \
             url=\"http://example.com/?a=1&amp;b=&quot;2&quot;\" when=\"5\"/>\n\
             <weblog name=\"\" url=\"https://x.example/\" when=\"0\"/>\n\
             <weblog name=\"tab\tand\nnewline\" url=\"https://y.example/\" when=\"7\"/>\n\
             </weblogUpdates>\n"
        );
        assert_eq!(
            String::from_utf8(encode("d", &[])).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<weblogUpdates version=\"1\" \
             updated=\"d\" count=\"0\">\n</weblogUpdates>\n"
        );
    }
}
