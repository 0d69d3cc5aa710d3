//! Byte-level BPE vocabulary: CTranslate2's `vocabulary.txt` to ggml's raw bytes.
//!
//! `vocabulary.txt` lists one token per line in GPT-2's printable form, where
//! every byte is mapped to a visible Unicode character (a space becomes `Ġ`,
//! a newline `Ċ`, ...). whisper.cpp wants the raw bytes, so the mapping is
//! reversed here.

use std::path::Path;

use crate::error::ImportError;

/// The first special token; every token before it is a regular BPE token.
/// whisper.cpp files written by OpenAI-vocabulary converters end their token
/// list with it.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// GPT-2's `bytes_to_unicode`: the printable character standing for each byte.
///
/// Printable Latin-1 bytes (`!`..=`~`, `¡`..=`¬`, `®`..=`ÿ`) stand for
/// themselves; the remaining 68 bytes, in increasing order, take the code
/// points from U+0100 on.
pub fn byte_to_char() -> [char; 256] {
    let printable =
        |b: u8| matches!(b, b'!'..=b'~') || matches!(b, 0xA1..=0xAC) || matches!(b, 0xAE..=0xFF);
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        table[usize::from(b)] = if printable(b) {
            char::from(b)
        } else {
            let c = char::from_u32(next).unwrap_or('\0');
            next += 1;
            c
        };
    }
    table
}

/// The reverse of [`byte_to_char`].
#[derive(Debug, Clone)]
pub struct ByteDecoder {
    /// Indexed by code point; GPT-2's mapping only uses U+0000..U+0144.
    table: Vec<Option<u8>>,
}

impl Default for ByteDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteDecoder {
    /// Builds the reverse table.
    pub fn new() -> Self {
        let mut table = vec![None; 0x144];
        for (byte, c) in (0..=255u8).zip(byte_to_char()) {
            table[c as usize] = Some(byte);
        }
        Self { table }
    }

    /// Turns a token in GPT-2's printable form into its raw bytes, or `None`
    /// if it contains a character outside the mapping.
    pub fn decode(&self, token: &str) -> Option<Vec<u8>> {
        token
            .chars()
            .map(|c| self.table.get(c as usize).copied().flatten())
            .collect()
    }
}

/// Convenience wrapper around [`ByteDecoder::decode`].
pub fn token_bytes(token: &str) -> Option<Vec<u8>> {
    ByteDecoder::new().decode(token)
}

/// Reads `vocabulary.txt`: one token per line, in id order.
pub fn read_vocabulary(path: &Path) -> Result<Vec<String>, ImportError> {
    let text = std::fs::read(path).map_err(|e| ImportError::io(path, e))?;
    let text = String::from_utf8(text).map_err(|e| ImportError::Vocabulary {
        path: path.to_path_buf(),
        reason: format!("not UTF-8 ({e})"),
    })?;
    // The mapped alphabet has no raw control characters, so splitting on
    // '\n' is exact; a final newline does not start another token.
    let body = text.strip_suffix('\n').unwrap_or(&text);
    if body.is_empty() {
        return Err(ImportError::Vocabulary {
            path: path.to_path_buf(),
            reason: "empty".to_owned(),
        });
    }
    Ok(body.split('\n').map(str::to_owned).collect())
}

/// The regular tokens followed by [`END_OF_TEXT`], as raw bytes. This is the
/// list the official ggml files carry (GPT-2's `vocab.json`); whisper.cpp's
/// loader names the remaining special tokens itself (`[_SOT_]`, `[_TT_n]`,
/// ...) and only uses their ids.
pub fn ggml_tokens(tokens: &[String], path: &Path) -> Result<Vec<Vec<u8>>, ImportError> {
    let bad = |reason: String| ImportError::Vocabulary {
        path: path.to_path_buf(),
        reason,
    };
    let eot = tokens
        .iter()
        .position(|t| t == END_OF_TEXT)
        .ok_or_else(|| bad(format!("no {END_OF_TEXT} token")))?;
    let decoder = ByteDecoder::new();
    tokens[..=eot]
        .iter()
        .enumerate()
        .map(|(id, t)| {
            decoder.decode(t).ok_or_else(|| {
                bad(format!(
                    "token {id} ({t:?}) is not in GPT-2's byte-level form"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_a_bijection() {
        let table = byte_to_char();
        let mut seen = std::collections::HashSet::new();
        for c in table {
            assert!(seen.insert(c), "{c:?} used twice");
        }
        assert_eq!(table[usize::from(b' ')], 'Ġ');
        assert_eq!(table[usize::from(b'\n')], 'Ċ');
        assert_eq!(table[usize::from(b'A')], 'A');
        let decoder = ByteDecoder::new();
        for b in 0..=255u8 {
            assert_eq!(
                decoder.decode(&table[usize::from(b)].to_string()),
                Some(vec![b])
            );
        }
    }
}
