//! Image thumbnails, so conversation lists never fetch full images.

use std::io::Cursor;

use image::{ImageReader, Limits};

/// Longest side of a thumbnail, in pixels.
pub const THUMB_SIZE: u32 = 320;
/// Images larger than this (bytes) get no thumbnail.
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;
/// Images declaring more pixels than this (about 8000 × 5000) get no
/// thumbnail: checked from the header, before anything is decoded. A
/// 380 KB PNG can declare 20,000 × 20,000 and cost 400 MB to decode.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Most memory one decode may allocate (a 40-megapixel RGBA image is
/// 160 MB).
pub const MAX_ALLOC: u64 = 192 * 1024 * 1024;

/// A decoded image's size and its JPEG thumbnail.
#[derive(Debug)]
pub struct Thumbnail {
    /// Original width.
    pub width: u32,
    /// Original height.
    pub height: u32,
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
}

/// Decodes an image (with allocation limits) and makes a thumbnail.
/// CPU- and memory-heavy: call it on the blocking pool, behind the
/// uploads' thumbnail semaphore. An image whose header declares more than
/// [`MAX_PIXELS`] is refused before decoding.
pub fn make(bytes: &[u8]) -> Result<Thumbnail, image::ImageError> {
    let (w, h) = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()?
        .into_dimensions()?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(image::ImageError::Limits(
            image::error::LimitError::from_kind(image::error::LimitErrorKind::DimensionError),
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let img = reader.decode()?;
    let thumb = img.thumbnail(THUMB_SIZE, THUMB_SIZE).to_rgb8();
    let mut jpeg = Vec::new();
    thumb.write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)?;
    Ok(Thumbnail {
        width: img.width(),
        height: img.height(),
        jpeg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnail_of_a_png_is_small_and_keeps_dimensions() {
        let img = image::RgbImage::from_fn(800, 600, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 7])
        });
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let t = make(&png).unwrap();
        assert_eq!((t.width, t.height), (800, 600));
        let back = image::load_from_memory(&t.jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (320, 240));
    }

    /// A PNG that is only a header declaring `w` × `h` 8-bit gray pixels,
    /// followed by a tiny (truncated) image stream.
    fn png_declaring(w: u32, h: u32) -> Vec<u8> {
        fn crc(bytes: &[u8]) -> u32 {
            let mut c = !0u32;
            for &b in bytes {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xedb8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            out.extend_from_slice(&body);
            out.extend_from_slice(&crc(&body).to_be_bytes());
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grayscale
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(&mut png, b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]);
        chunk(&mut png, b"IEND", &[]);
        png
    }

    /// An image bomb (20,000 × 20,000 declared, 400 MB to decode) is
    /// refused from its header, before any pixel buffer is allocated.
    #[test]
    fn image_bombs_are_refused_before_decoding() {
        let err = make(&png_declaring(20_000, 20_000)).unwrap_err();
        assert!(matches!(err, image::ImageError::Limits(_)), "{err:?}");
        // A normal size with the same broken stream fails in decoding.
        let err = make(&png_declaring(100, 100)).unwrap_err();
        assert!(!matches!(err, image::ImageError::Limits(_)), "{err:?}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(make(b"not an image at all").is_err());
    }
}
