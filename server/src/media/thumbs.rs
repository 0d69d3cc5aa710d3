//! Image thumbnails, so conversation lists never fetch full images.

use std::io::Cursor;

use image::{ImageReader, Limits};

/// Longest side of a thumbnail, in pixels.
pub const THUMB_SIZE: u32 = 320;
/// Images larger than this (bytes) get no thumbnail.
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;

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
/// CPU-heavy: call it on the blocking pool.
pub fn make(bytes: &[u8]) -> Result<Thumbnail, image::ImageError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
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

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(make(b"not an image at all").is_err());
    }
}
