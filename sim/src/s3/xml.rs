//! S3's XML: a tiny element tree for the few request bodies S3 takes
//! (CreateBucketConfiguration, CompleteMultipartUpload, Delete), and a writer
//! for result documents. It knows XML, not S3 semantics.

use quick_xml::events::Event;

use crate::error::AwsError;
use crate::wire::xml_escape;

/// The S3 document namespace.
pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// A parsed element: local name, text content and children.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// First child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

fn malformed() -> AwsError {
    AwsError::bad_request(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

/// How deeply elements may nest. S3's request documents are at most three
/// levels deep; the bound keeps the tree (and dropping it, which recurses
/// once per level) far from the stack limit whatever the body holds.
pub const MAX_DEPTH: usize = 32;

/// Parses a document into its root element (`MalformedXML` on any error,
/// including nesting deeper than [`MAX_DEPTH`]).
pub fn parse(bytes: &[u8]) -> Result<Element, AwsError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut stack: Vec<Element> = Vec::new();
    let mut buf = Vec::new();
    loop {
        let ev = reader.read_event_into(&mut buf).map_err(|_| malformed())?;
        match ev {
            Event::Start(_) if stack.len() >= MAX_DEPTH => return Err(malformed()),
            Event::Start(e) => stack.push(Element {
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                ..Default::default()
            }),
            Event::Empty(e) => {
                let el = Element {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(malformed)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|_| malformed())?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|_| malformed())?);
                }
            }
            Event::GeneralRef(r) => {
                let top = stack.last_mut().ok_or_else(malformed)?;
                if let Some(c) = r.resolve_char_ref().map_err(|_| malformed())? {
                    top.text.push(c);
                } else {
                    let name = r.decode().map_err(|_| malformed())?;
                    top.text.push(match name.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => return Err(malformed()),
                    });
                }
            }
            Event::Eof => return Err(malformed()),
            _ => {}
        }
        buf.clear();
    }
}

/// Builds an XML result document.
#[derive(Debug)]
pub struct Writer {
    out: String,
    open: Vec<&'static str>,
}

impl Writer {
    /// Starts a document whose root element carries the S3 namespace.
    pub fn new(root: &'static str) -> Writer {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!("<{root} xmlns=\"{NS}\">"));
        Writer {
            out,
            open: vec![root],
        }
    }

    pub fn start(&mut self, name: &'static str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.open.push(name);
        self
    }

    pub fn end(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
        }
        self
    }

    /// `<name>escaped text</name>`.
    pub fn elem(&mut self, name: &str, text: impl AsRef<str>) -> &mut Self {
        self.out
            .push_str(&format!("<{name}>{}</{name}>", xml_escape(text.as_ref())));
        self
    }

    /// `elem` when `text` is present.
    pub fn opt(&mut self, name: &str, text: Option<impl AsRef<str>>) -> &mut Self {
        if let Some(t) = text {
            self.elem(name, t);
        }
        self
    }

    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_complete_multipart_upload() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><ETag>"a&amp;b"</ETag><PartNumber>1</PartNumber></Part>
  <Part><ETag>&quot;c&quot;</ETag><PartNumber>2</PartNumber><ChecksumCRC32/></Part>
</CompleteMultipartUpload>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "CompleteMultipartUpload");
        let parts: Vec<_> = root.all("Part").collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].text_of("ETag"), Some("\"a&b\""));
        assert_eq!(parts[1].text_of("ETag"), Some("\"c\""));
        assert_eq!(parts[1].text_of("PartNumber"), Some("2"));
        assert_eq!(parse(b"<a><b></a>").unwrap_err().code, "MalformedXML");
        assert_eq!(parse(b"").unwrap_err().code, "MalformedXML");
    }

    #[test]
    fn deep_nesting_is_malformed_not_a_stack_overflow() {
        // P1-8: 290 000 nested elements aborted the process.
        let n = 300_000;
        let doc = format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert_eq!(parse(doc.as_bytes()).unwrap_err().code, "MalformedXML");
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert_eq!(parse(ok.as_bytes()).unwrap().name, "a");
        let over = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(parse(over.as_bytes()).unwrap_err().code, "MalformedXML");
    }

    #[test]
    fn writes_escaped() {
        let mut w = Writer::new("R");
        w.start("C").elem("K", "a<b").end().opt("N", None::<&str>);
        assert_eq!(
            w.finish(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<R xmlns=\"{NS}\"><C><K>a&lt;b</K></C></R>"
            )
        );
    }
}
