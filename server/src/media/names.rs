//! Filename sanitising and content sniffing.

/// Longest filename kept, in bytes.
const MAX_FILENAME_BYTES: usize = 200;

/// Keeps the last path component, drops control and reserved characters,
/// and bounds the length. Never returns an empty name.
pub fn sanitize_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out = String::new();
    for c in last.chars() {
        if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
            continue;
        }
        if out.len() + c.len_utf8() > MAX_FILENAME_BYTES {
            break;
        }
        out.push(c);
    }
    let trimmed = out.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "file".into()
    } else {
        trimmed.to_string()
    }
}

/// The MIME type recognised from the first bytes of a file, if any.
pub fn sniff(first_bytes: &[u8]) -> Option<String> {
    infer::get(first_bytes).map(|t| t.mime_type().to_string())
}

/// A declared MIME type, cleaned to something that looks like one.
pub fn clean_mime(declared: &str) -> String {
    let m = declared.trim().to_ascii_lowercase();
    let valid = m.len() <= 100
        && m.split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && m.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.+-_;= ".contains(c));
    if valid {
        m
    } else {
        "application/octet-stream".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\me\\photo.jpg"), "photo.jpg");
        assert_eq!(sanitize_filename("a\u{1b}[31mb.txt"), "a[31mb.txt");
        assert_eq!(sanitize_filename("..."), "file");
        assert_eq!(sanitize_filename(""), "file");
        assert!(sanitize_filename(&"x".repeat(1000)).len() <= MAX_FILENAME_BYTES);
    }

    #[test]
    fn mime_sniffing_and_cleaning() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").as_deref(),
            Some("image/png")
        );
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(clean_mime("Image/PNG"), "image/png");
        assert_eq!(clean_mime("nonsense"), "application/octet-stream");
    }
}
