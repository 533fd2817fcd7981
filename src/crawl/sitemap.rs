//! Sitemaps (sitemaps.org protocol): `<urlset>` pages and `<sitemapindex>` children, plain or
//! gzip-compressed. Decompression is capped so a gzip bomb costs at most the cap; malformed or
//! truncated XML is an error naming the problem, never a panic.

use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::Event;

/// What a sitemap lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    Pages(Vec<String>),
    Index(Vec<String>),
}

/// Parse a sitemap body (gzip detected by its magic bytes), decompressing at most `cap` bytes.
///
/// # Errors
/// A sentence describing the malformed, truncated, oversized or unrecognised document.
pub fn parse(body: &[u8], cap: usize) -> Result<Sitemap, String> {
    let xml = if body.starts_with(&[0x1f, 0x8b]) { gunzip(body, cap)? } else { body.to_vec() };
    let mut reader = Reader::from_reader(xml.as_slice());
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let (mut root, mut loc, mut locs) = (None::<String>, None::<String>, Vec::new());
    let mut depth = 0usize;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                depth += 1;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase();
                if root.is_none() {
                    root = Some(name.clone());
                }
                loc = (name == "loc").then(String::new);
            }
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                if let Some(text) = loc.take() {
                    locs.push(text.trim().to_owned());
                }
            }
            // quick-xml reports text and entity references (`&amp;`) as separate events.
            Ok(Event::Text(t)) => {
                if let Some(text) = loc.as_mut() {
                    text.push_str(&t.xml_content().map_err(|e| format!("bad text in <loc>: {e}"))?);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(text) = loc.as_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => match r.as_ref() as &[u8] {
                            b"amp" => '&',
                            b"lt" => '<',
                            b"gt" => '>',
                            b"quot" => '"',
                            b"apos" => '\'',
                            other => return Err(format!("unknown entity &{};", String::from_utf8_lossy(other))),
                        },
                    };
                    text.push(resolved);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(text) = loc.as_mut() {
                    text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("malformed sitemap XML at byte {}: {e}", reader.error_position())),
        }
        buf.clear();
    }
    if depth != 0 {
        return Err("truncated sitemap XML (unclosed elements)".into());
    }
    locs.retain(|l| !l.is_empty());
    match root.as_deref() {
        Some("urlset") => Ok(Sitemap::Pages(locs)),
        Some("sitemapindex") => Ok(Sitemap::Index(locs)),
        Some(other) => Err(format!("not a sitemap: root element is <{other}>, expected <urlset> or <sitemapindex>")),
        None => Err("not a sitemap: no XML elements".into()),
    }
}

fn gunzip(body: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt gzip sitemap: {e}"))?;
    if out.len() > cap {
        return Err(format!("gzip sitemap expands beyond the {cap}-byte cap (possible gzip bomb)"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://x.y/a</loc><lastmod>2024-01-01</lastmod></url>
  <url><loc> https://x.y/b?x=1&amp;y=2 </loc></url>
</urlset>"#;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn parses_urlsets_indexes_and_gzip() {
        assert_eq!(
            parse(URLSET.as_bytes(), 1 << 20).unwrap(),
            Sitemap::Pages(vec!["https://x.y/a".into(), "https://x.y/b?x=1&y=2".into()])
        );
        let index = r#"<sitemapindex><sitemap><loc>https://x.y/s1.xml</loc></sitemap></sitemapindex>"#;
        assert_eq!(parse(index.as_bytes(), 1 << 20).unwrap(), Sitemap::Index(vec!["https://x.y/s1.xml".into()]));
        assert_eq!(parse(&gz(URLSET.as_bytes()), 1 << 20).unwrap(), parse(URLSET.as_bytes(), 1 << 20).unwrap());
    }

    #[test]
    fn rejects_bombs_garbage_and_truncation() {
        let bomb = gz(&vec![b' '; 5_000_000]);
        assert!(parse(&bomb, 1 << 20).unwrap_err().contains("gzip bomb"));
        assert!(parse(b"<html><body>hi</body></html>", 1 << 20).unwrap_err().contains("root element is <html>"));
        assert!(parse(&URLSET.as_bytes()[..120], 1 << 20).is_err());
        assert!(parse(b"\x1f\x8bnot gzip", 1 << 20).unwrap_err().contains("corrupt gzip"));
        assert!(parse(b"", 1 << 20).is_err());
    }
}
