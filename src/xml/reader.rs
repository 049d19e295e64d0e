//! The one place request XML is read: a pull reader over quick-xml that applies every safety
//! rule, so that the codecs' streaming decoders and the element tree ([`super::tree`]) share
//! them.
//!
//! It refuses every DTD (no entity can be declared, so none can be expanded and nothing
//! external is ever fetched), knows only the five predefined entities and character
//! references, caps element nesting (so that a deep document cannot exhaust the stack of a
//! recursive decoder) and the number of elements and attributes, resolves namespaces, and
//! reports every problem as an [`XmlError`] instead of panicking. Text outside the root
//! element, a second root and anything after the root but whitespace, comments and processing
//! instructions are errors found here, not by the decoders.

use std::borrow::Cow;
use std::rc::Rc;

use quick_xml::events::{BytesStart, Event as QuickEvent};

use super::text::{XML_NS, XmlError, is_xml_char, is_xml_whitespace, truncate};

/// The most elements and attributes, together, one document may have. Real requests (even
/// thousands of files in one call) stay far below; the decoders' memory allowance
/// ([`super::Allowance`]) is what bounds the memory a document costs.
pub const MAX_NODES: usize = 500_000;

/// The most namespace declarations in scope at any element (its own and its ancestors').
/// Real clients have a handful (SOAP toolkits a dozen on the envelope; zeep two more on every
/// item). Every element's and prefixed attribute's name is looked up through the declarations
/// in scope, so without a cap a document of declarations would cost memory the decoders never
/// see and time that grows with the square of its size (80,000 declarations and as many
/// prefixed elements kept a worker 34 s).
pub const MAX_NAMESPACE_DECLARATIONS: usize = 64;

/// One thing the reader found.
#[derive(Debug)]
pub enum Event<'a> {
    /// A start tag (or an empty-element tag, which is followed by its [`Event::End`]).
    Start(Start<'a>),
    /// A piece of text directly inside the innermost open element: character data (line ends
    /// normalised), a CDATA section or one resolved reference. Adjacent pieces are not merged.
    Text(Cow<'a, str>),
    /// The end of the innermost open element.
    End,
}

/// A start tag with its namespace resolved and its attributes unescaped.
#[derive(Debug)]
pub struct Start<'a> {
    tag: BytesStart<'a>,
    /// The namespace URI of the name, `None` when it has none or its prefix is not declared
    /// (XML-RPC clients, like Python's unmarshaller, never declared the prefixes they used).
    pub namespace: Option<Rc<str>>,
    /// Namespace declarations excluded.
    pub attributes: Vec<Attribute>,
    scope: Rc<Scope>,
    /// The memory this element's own namespace declarations take (kept as long as its scope).
    declared_bytes: usize,
}

/// One attribute, its value unescaped and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The qualified name as written.
    pub name: String,
    /// The namespace of a prefixed name; unprefixed attributes are in no namespace.
    pub namespace: Option<Rc<str>>,
    pub value: String,
}

impl Attribute {
    pub fn local_name(&self) -> &str {
        split_qname(&self.name).1
    }

    /// Whether the name has a prefix that no `xmlns:` declaration binds.
    pub fn has_unbound_prefix(&self) -> bool {
        !split_qname(&self.name).0.is_empty() && self.namespace.is_none()
    }
}

/// The value of the attribute named `name` as written, among `attributes`.
pub(super) fn attribute<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}

/// The value of the attribute `{namespace}local` among `attributes`, whatever its prefix.
pub(super) fn attribute_ns<'a>(
    attributes: &'a [Attribute],
    namespace: &str,
    local: &str,
) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.namespace.as_deref() == Some(namespace) && a.local_name() == local)
        .map(|a| a.value.as_str())
}

/// Splits `prefix:local` into its parts; an unprefixed name has an empty prefix.
pub fn split_qname(name: &str) -> (&str, &str) {
    match name.split_once(':') {
        Some((prefix, local)) => (prefix, local),
        None => ("", name),
    }
}

/// The namespace declarations of one element, chained to its parent's, so that a QName found in
/// an attribute value (`xsi:type="xsd:int"`) can be resolved where it appears.
#[derive(Debug)]
pub(super) struct Scope {
    /// Prefix (empty for the default namespace) and URI. URIs are shared with the elements
    /// and attributes in scope instead of copied into each.
    bindings: Vec<(String, Rc<str>)>,
    parent: Option<Rc<Scope>>,
    /// Declarations in this scope and its parents: what a lookup may walk.
    in_scope: usize,
}

impl Scope {
    fn root() -> Rc<Scope> {
        Rc::new(Scope {
            bindings: Vec::new(),
            parent: None,
            in_scope: 0,
        })
    }

    fn resolve(&self, prefix: &str) -> Option<Rc<str>> {
        if prefix == "xml" {
            return Some(Rc::from(XML_NS));
        }
        let mut scope = self;
        loop {
            if let Some((_, uri)) = scope.bindings.iter().rev().find(|(p, _)| p == prefix) {
                // `xmlns=""` undeclares the default namespace.
                return (!uri.is_empty()).then(|| Rc::clone(uri));
            }
            scope = scope.parent.as_deref()?;
        }
    }

    /// Resolves a QName written in content or an attribute value against this scope.
    pub(super) fn resolve_qname<'q>(
        &self,
        qname: &'q str,
    ) -> Result<(Option<Rc<str>>, &'q str), XmlError> {
        let (prefix, local) = split_qname(qname.trim());
        match self.resolve(prefix) {
            Some(ns) => Ok((Some(ns), local)),
            None if prefix.is_empty() => Ok((None, local)),
            None => Err(XmlError::new(format!(
                "undeclared namespace prefix \"{}\"",
                truncate(prefix, 40)
            ))),
        }
    }
}

impl<'a> Start<'a> {
    /// The qualified name as written, prefix included.
    pub fn name(&self) -> &str {
        self.tag.name().into_inner()
    }

    /// The name without its prefix.
    pub fn local_name(&self) -> &str {
        split_qname(self.name()).1
    }

    /// Whether this element is `{namespace}local`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace.as_deref() == Some(namespace) && self.local_name() == local
    }

    /// An attribute by its name as written (use for unprefixed attributes).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        attribute(&self.attributes, name)
    }

    /// An attribute by namespace and local name, whatever prefix the document used.
    pub fn attribute_ns(&self, namespace: &str, local: &str) -> Option<&str> {
        attribute_ns(&self.attributes, namespace, local)
    }

    /// Resolves a QName written in content or an attribute value (`xsd:int`) against the
    /// namespace declarations in scope at this element: `Ok((namespace, local))`, or an error
    /// naming the undeclared prefix. An unprefixed QName takes the default namespace.
    pub fn resolve_qname<'q>(
        &self,
        qname: &'q str,
    ) -> Result<(Option<Rc<str>>, &'q str), XmlError> {
        self.scope.resolve_qname(qname)
    }

    /// The memory the element's own namespace declarations take, for a decoder that keeps
    /// the element's scope (the tree) to charge.
    pub fn declared_bytes(&self) -> usize {
        self.declared_bytes
    }

    pub(super) fn into_parts(self) -> (String, Option<Rc<str>>, Vec<Attribute>, Rc<Scope>) {
        let name = self.name().to_owned();
        (name, self.namespace, self.attributes, self.scope)
    }
}

/// Reads a document one [`Event`] at a time.
pub struct Reader<'a> {
    inner: quick_xml::Reader<&'a [u8]>,
    max_depth: usize,
    nodes: usize,
    root_scope: Rc<Scope>,
    /// The scope of each open element, innermost last; its length is the depth.
    open: Vec<Rc<Scope>>,
    seen_root: bool,
    /// An empty-element tag was reported as a start; its end comes next.
    pending_end: bool,
    done: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `text`, which accepts elements nested at most `max_depth` deep (the root
    /// is depth 1).
    pub fn new(text: &'a str, max_depth: usize) -> Result<Reader<'a>, XmlError> {
        // XML 1.0 forbids NUL and the other C0 controls (except tab, CR, LF) anywhere, raw;
        // quick-xml passes them through, so they would reach passwords, paths and the database.
        // Found by fuzzing the OPS decoder.
        if let Some((at, c)) = text.char_indices().find(|(_, c)| !is_xml_char(*c)) {
            return Err(XmlError::new(format!(
                "character U+{:04X} is not allowed in XML (at byte {at})",
                u32::from(c)
            )));
        }
        let mut inner = quick_xml::Reader::from_str(text);
        let config = inner.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Ok(Reader {
            inner,
            max_depth,
            nodes: 0,
            root_scope: Scope::root(),
            open: Vec::new(),
            seen_root: false,
            pending_end: false,
            done: false,
        })
    }

    /// How many elements are open.
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The next event; `None` once the root element has ended and the rest of the document
    /// (comments, processing instructions, whitespace) has been read to its end.
    pub fn read(&mut self) -> Result<Option<Event<'a>>, XmlError> {
        if self.pending_end {
            self.pending_end = false;
            self.open.pop();
            return Ok(Some(Event::End));
        }
        if self.done {
            return Ok(None);
        }
        loop {
            let event = self.inner.read_event().map_err(|e| {
                XmlError::new(format!("{e} (at byte {})", self.inner.error_position()))
            })?;
            match event {
                QuickEvent::Start(start) => return self.start(start, false).map(Some),
                QuickEvent::Empty(start) => return self.start(start, true).map(Some),
                QuickEvent::End(_) => {
                    // quick-xml has already checked that the end tag matches the open one.
                    if self.open.pop().is_none() {
                        return Err(XmlError::new("unexpected end tag"));
                    }
                    return Ok(Some(Event::End));
                }
                QuickEvent::Text(t) => {
                    let content = t.xml10_content();
                    if let Some(text) = self.text(content)? {
                        return Ok(Some(Event::Text(text)));
                    }
                }
                QuickEvent::CData(c) => {
                    if self.open.is_empty() {
                        return Err(XmlError::new("CDATA outside the root element"));
                    }
                    let content = c.xml10_content();
                    if !content.is_empty() {
                        return Ok(Some(Event::Text(content)));
                    }
                }
                QuickEvent::GeneralRef(r) => {
                    let c = resolve_reference(&r)?;
                    if self.open.is_empty() {
                        return Err(XmlError::new("a reference outside the root element"));
                    }
                    return Ok(Some(Event::Text(Cow::Owned(c.to_string()))));
                }
                QuickEvent::DocType(_) => return Err(XmlError::new("DTDs are not allowed")),
                // Comments, processing instructions and the declaration carry nothing we use.
                QuickEvent::Comment(_) | QuickEvent::PI(_) | QuickEvent::Decl(_) => {}
                QuickEvent::Eof => {
                    if !self.open.is_empty() {
                        return Err(XmlError::new(
                            "unexpected end of document (unclosed elements)",
                        ));
                    }
                    if !self.seen_root {
                        return Err(XmlError::new("no root element"));
                    }
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }

    /// Text inside the root is reported (if not empty); outside it only whitespace is allowed.
    fn text(&self, content: Cow<'a, str>) -> Result<Option<Cow<'a, str>>, XmlError> {
        if !self.open.is_empty() {
            return Ok((!content.is_empty()).then_some(content));
        }
        if content.chars().all(is_xml_whitespace) {
            Ok(None)
        } else {
            Err(XmlError::new("text outside the root element"))
        }
    }

    fn start(&mut self, tag: BytesStart<'a>, empty: bool) -> Result<Event<'a>, XmlError> {
        if self.open.is_empty() && self.seen_root {
            return Err(XmlError::new("more than one root element"));
        }
        if self.open.len() >= self.max_depth {
            return Err(XmlError::new(format!(
                "elements are nested more than {} levels deep",
                self.max_depth
            )));
        }
        self.seen_root = true;
        let parent = self.open.last().unwrap_or(&self.root_scope).clone();
        let start = open_element(tag, &parent, &mut self.nodes)?;
        self.open.push(start.scope.clone());
        self.pending_end = empty;
        Ok(Event::Start(start))
    }

    /// Reads to the end of the element whose start was the last event, discarding it.
    pub fn skip(&mut self) -> Result<(), XmlError> {
        let depth = self.open.len();
        while self.open.len() >= depth {
            if self.read()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Reads the rest of the document, discarding it: the first error it holds, if any. A
    /// decoder that found something it refuses calls this first, so that a document that is
    /// not even well-formed is reported as such.
    pub fn finish(&mut self) -> Result<(), XmlError> {
        while self.read()?.is_some() {}
        Ok(())
    }
}

/// Counts one more element or attribute against [`MAX_NODES`].
fn count_node(nodes: &mut usize) -> Result<(), XmlError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(XmlError::new(format!(
            "more than {MAX_NODES} elements and attributes"
        )));
    }
    Ok(())
}

/// Resolves a start tag's namespaces and attributes. `nodes` counts the elements and
/// attributes so far and is checked against [`MAX_NODES`] before anything is allocated for
/// them.
fn open_element<'a>(
    tag: BytesStart<'a>,
    parent: &Rc<Scope>,
    nodes: &mut usize,
) -> Result<Start<'a>, XmlError> {
    count_node(nodes)?;
    let mut bindings = Vec::new();
    let mut plain = Vec::new();
    for attribute in tag.attributes() {
        count_node(nodes)?;
        let attribute = attribute.map_err(|e| {
            let name = tag.name().into_inner();
            XmlError::new(format!("bad attribute in <{}>: {e}", truncate(name, 40)))
        })?;
        let key: &str = attribute.key.as_ref();
        if (key == "xmlns" || key.starts_with("xmlns:"))
            && parent.in_scope + bindings.len() >= MAX_NAMESPACE_DECLARATIONS
        {
            return Err(XmlError::new(format!(
                "more than {MAX_NAMESPACE_DECLARATIONS} namespace declarations in scope"
            )));
        }
        let value = unescape_attribute(&attribute.value)?;
        if key == "xmlns" {
            bindings.push((String::new(), Rc::from(value)));
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            if value.is_empty() {
                return Err(XmlError::new(format!(
                    "the namespace prefix \"{}\" is bound to an empty name",
                    truncate(prefix, 40)
                )));
            }
            bindings.push((prefix.to_owned(), Rc::from(value)));
        } else {
            plain.push((key.to_owned(), value));
        }
    }
    let declared_bytes = bindings
        .iter()
        .map(|(prefix, uri): &(String, Rc<str>)| prefix.len() + uri.len() + 48)
        .sum();
    let scope = if bindings.is_empty() {
        Rc::clone(parent)
    } else {
        Rc::new(Scope {
            in_scope: parent.in_scope + bindings.len(),
            bindings,
            parent: Some(Rc::clone(parent)),
        })
    };
    let name = tag.name().into_inner();
    let namespace = scope.resolve(split_qname(name).0);
    let attributes = plain
        .into_iter()
        .map(|(name, value)| {
            let prefix = split_qname(&name).0;
            let namespace = if prefix.is_empty() {
                None
            } else {
                scope.resolve(prefix)
            };
            Attribute {
                name,
                namespace,
                value,
            }
        })
        .collect();
    Ok(Start {
        tag,
        namespace,
        attributes,
        scope,
        declared_bytes,
    })
}

/// Resolves the name between `&` and `;`: one of the five predefined entities or a character
/// reference to a legal XML character. Every other name is an error, since with DTDs refused
/// no other entity can exist.
fn resolve_reference(name: &str) -> Result<char, XmlError> {
    match name {
        "lt" => return Ok('<'),
        "gt" => return Ok('>'),
        "amp" => return Ok('&'),
        "apos" => return Ok('\''),
        "quot" => return Ok('"'),
        _ => {}
    }
    let Some(number) = name.strip_prefix('#') else {
        return Err(XmlError::new(format!(
            "undefined entity &{};",
            truncate(name, 40)
        )));
    };
    let (digits, radix) = match number.strip_prefix('x') {
        Some(hex) => (hex, 16),
        None => (number, 10),
    };
    let invalid = || {
        XmlError::new(format!(
            "invalid character reference &{};",
            truncate(name, 40)
        ))
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(invalid());
    }
    let code = u32::from_str_radix(digits, radix).map_err(|_| invalid())?;
    char::from_u32(code)
        .filter(|&c| is_xml_char(c))
        .ok_or_else(invalid)
}

/// Unescapes and normalises a raw attribute value: references resolved as in text, literal
/// tab, CR and LF turned into spaces as XML 1.0 requires.
fn unescape_attribute(raw: &str) -> Result<String, XmlError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '<', '\r', '\n', '\t']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match tail.as_bytes()[0] {
            b'&' => {
                let Some(end) = tail.find(';') else {
                    return Err(XmlError::new(
                        "unterminated reference in an attribute value",
                    ));
                };
                out.push(resolve_reference(&tail[1..end])?);
                rest = &tail[end + 1..];
            }
            b'<' => return Err(XmlError::new("'<' in an attribute value")),
            b'\r' if tail.as_bytes().get(1) == Some(&b'\n') => {
                out.push(' ');
                rest = &tail[2..];
            }
            _ => {
                out.push(' ');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Result<Vec<String>, XmlError> {
        let mut reader = Reader::new(text, 64)?;
        let mut out = Vec::new();
        while let Some(event) = reader.read()? {
            out.push(match event {
                Event::Start(s) => format!("<{}>", s.name()),
                Event::Text(t) => format!("{t:?}"),
                Event::End => "end".to_string(),
            });
        }
        Ok(out)
    }

    #[test]
    fn events_in_order() {
        assert_eq!(
            events("<?xml version='1.0'?>\n<a>x&amp;<b/><![CDATA[y]]></a>\n<!-- c -->").unwrap(),
            ["<a>", "\"x\"", "\"&\"", "<b>", "end", "\"y\"", "end"]
        );
    }

    #[test]
    fn namespace_declarations_are_capped() {
        let declare = |n: usize| -> String {
            let attributes: String = (0..n).map(|i| format!(" xmlns:p{i}='u{i}'")).collect();
            format!("<a{attributes}><p0:b/></a>")
        };
        assert!(events(&declare(MAX_NAMESPACE_DECLARATIONS)).is_ok());
        assert_eq!(
            events(&declare(MAX_NAMESPACE_DECLARATIONS + 1))
                .unwrap_err()
                .to_string(),
            format!("more than {MAX_NAMESPACE_DECLARATIONS} namespace declarations in scope")
        );
        // Siblings' declarations are out of scope for one another, as zeep declares two on
        // every item of an array.
        let siblings = format!("<a>{}</a>", "<b xmlns:p='u' xmlns:q='v'/>".repeat(3000));
        assert!(events(&siblings).is_ok());
        // Ancestors' count.
        let open: String = (0..40)
            .map(|i| format!("<b{i} xmlns:p{i}='u' xmlns:q{i}='v'>"))
            .collect();
        let close: String = (0..40).rev().map(|i| format!("</b{i}>")).collect();
        assert!(
            events(&format!("{open}x{close}"))
                .unwrap_err()
                .to_string()
                .contains("namespace declarations in scope")
        );
    }

    #[test]
    fn skip_and_finish() {
        let mut reader = Reader::new("<a><b><c>t</c><d/></b><e/></a>", 64).unwrap();
        assert!(matches!(reader.read().unwrap(), Some(Event::Start(_))));
        assert!(matches!(reader.read().unwrap(), Some(Event::Start(_))));
        reader.skip().unwrap();
        match reader.read().unwrap() {
            Some(Event::Start(s)) => assert_eq!(s.name(), "e"),
            other => panic!("{other:?}"),
        }
        reader.finish().unwrap();
        let mut broken = Reader::new("<a><b/>junk</a><c/>", 64).unwrap();
        assert!(broken.read().is_ok());
        assert_eq!(
            broken.finish().unwrap_err().to_string(),
            "more than one root element"
        );
    }
}
