//! A small element tree, built from the safe [`Reader`]'s events, for the decoders that need to
//! look at a whole document (the OPS envelope, XML-RPC responses) and for tests. The request
//! decoders of XML-RPC and SOAP read events directly instead: a tree costs around a hundred
//! bytes per element, many times the element's own bytes.

use std::borrow::Cow;
use std::rc::Rc;

use super::allowance::Allowance;
use super::reader::{self, Attribute, Event, Reader, Scope, split_qname};
use super::text::{Encoding, XmlError, decode_body, is_xml_whitespace};

/// A parsed document and the encoding its bytes were in.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Element,
    pub encoding: Encoding,
}

/// Decodes a body with [`decode_body`] and parses it with [`parse_str`].
pub fn parse(body: &[u8], max_depth: usize) -> Result<Document, XmlError> {
    let (text, encoding) = decode_body(body)?;
    let root = parse_str(&text, max_depth)?;
    Ok(Document { root, encoding })
}

/// One element of the tree: its name as written, the namespace its prefix resolves to, its
/// attributes (namespace declarations excluded) and its children.
#[derive(Debug, Clone)]
pub struct Element {
    /// The qualified name as written, prefix included.
    pub name: String,
    /// The namespace URI of the name, `None` when it has none or its prefix is not declared
    /// (XML-RPC clients, like Python's unmarshaller, never declared the prefixes they used).
    pub namespace: Option<Rc<str>>,
    pub attributes: Vec<Attribute>,
    pub children: Vec<Node>,
    scope: Rc<Scope>,
}

/// A child of an element. Adjacent text, character references and CDATA sections are merged
/// into one `Text`; comments and processing instructions are dropped.
#[derive(Debug, Clone)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    /// The name without its prefix.
    pub fn local_name(&self) -> &str {
        split_qname(&self.name).1
    }

    /// Whether this element is `{namespace}local`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace.as_deref() == Some(namespace) && self.local_name() == local
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Whether the element has any child elements.
    pub fn has_elements(&self) -> bool {
        self.elements().next().is_some()
    }

    /// The element's own text (child elements' text excluded).
    pub fn text(&self) -> Cow<'_, str> {
        let mut texts = self.children.iter().filter_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            Node::Element(_) => None,
        });
        match (texts.next(), texts.next()) {
            (None, _) => Cow::Borrowed(""),
            (Some(t), None) => Cow::Borrowed(t),
            (Some(a), Some(b)) => {
                let mut s = String::from(a);
                s.push_str(b);
                texts.for_each(|t| s.push_str(t));
                Cow::Owned(s)
            }
        }
    }

    /// Whether the element has text other than whitespace, i.e. real content beside elements.
    pub fn has_significant_text(&self) -> bool {
        self.children.iter().any(|n| match n {
            Node::Text(t) => !t.chars().all(is_xml_whitespace),
            Node::Element(_) => false,
        })
    }

    /// An attribute by its name as written (use for unprefixed attributes).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        reader::attribute(&self.attributes, name)
    }

    /// An attribute by namespace and local name, whatever prefix the document used.
    pub fn attribute_ns(&self, namespace: &str, local: &str) -> Option<&str> {
        reader::attribute_ns(&self.attributes, namespace, local)
    }

    /// Resolves a QName written in content or an attribute value (`xsd:int`) against the
    /// namespace declarations in scope at this element: `Ok((namespace, local))`, or an error
    /// naming the undeclared prefix. An unprefixed QName takes the default namespace.
    pub fn resolve_qname<'a>(
        &self,
        qname: &'a str,
    ) -> Result<(Option<Rc<str>>, &'a str), XmlError> {
        self.scope.resolve_qname(qname)
    }
}

/// Parses a whole document into its root element, with no limit on the memory the tree takes
/// beyond the reader's caps (see [`parse_str_within`]).
///
/// DOCTYPE declarations are refused outright: without a DTD no entity can be declared, so the
/// classic entity-expansion and external-entity attacks have nothing to work with. `max_depth`
/// is the deepest element nesting accepted (the root is depth 1); at most
/// [`super::MAX_NODES`] elements and attributes are accepted in all.
pub fn parse_str(text: &str, max_depth: usize) -> Result<Element, XmlError> {
    parse_str_within(text, max_depth, &mut Allowance::unlimited())
}

/// What one element of the tree costs besides its name, attributes and text: the element, its
/// place in its parent's children and its share of the allocator's overhead.
const ELEMENT_COST: usize = std::mem::size_of::<Node>() * 2 + 32;

/// [`parse_str`], charging the tree's memory to `memory` as it grows.
pub fn parse_str_within(
    text: &str,
    max_depth: usize,
    memory: &mut Allowance<'_>,
) -> Result<Element, XmlError> {
    let mut reader = Reader::new(text, max_depth)?;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    while let Some(event) = reader.read()? {
        match event {
            Event::Start(start) => {
                let declared = start.declared_bytes();
                let (name, namespace, attributes, scope) = start.into_parts();
                memory.charge(
                    ELEMENT_COST
                        + declared
                        + name.len()
                        + attributes
                            .iter()
                            .map(|a| {
                                std::mem::size_of::<Attribute>() + a.name.len() + a.value.len()
                            })
                            .sum::<usize>(),
                )?;
                stack.push(Element {
                    name,
                    namespace,
                    attributes,
                    children: Vec::new(),
                    scope,
                });
            }
            Event::Text(text) => {
                memory.charge(text.len())?;
                // The reader reports text only inside the root element.
                if let Some(parent) = stack.last_mut() {
                    match parent.children.last_mut() {
                        Some(Node::Text(t)) => t.push_str(&text),
                        _ => {
                            memory.charge(ELEMENT_COST)?;
                            parent.children.push(Node::Text(text.into_owned()));
                        }
                    }
                }
            }
            Event::End => {
                let Some(element) = stack.pop() else {
                    return Err(XmlError::new("unexpected end tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(element)),
                    None => root = Some(element),
                }
            }
        }
    }
    root.ok_or_else(|| XmlError::new("no root element"))
}
