//! QR codes for the otpauth URI, as half-block text: each character cell
//! holds two modules, `▀`/`▄`/`█` for dark ones, with a four-module quiet zone.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of quiet zone on each side (the QR standard asks for four).
pub const QUIET: usize = 4;

/// A QR code's modules, quiet zone included: `true` is dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modules {
    pub size: usize,
    dark: Vec<bool>,
}

impl Modules {
    /// Encode `data` at level L (screens are clean; smaller codes fit smaller
    /// windows); `None` if it is too long for any QR version.
    pub fn encode(data: &str) -> Option<Modules> {
        let code = QrCode::with_error_correction_level(data, EcLevel::L).ok()?;
        let inner = code.width();
        let size = inner + 2 * QUIET;
        let mut dark = vec![false; size * size];
        for (i, color) in code.to_colors().into_iter().enumerate() {
            let (x, y) = (i % inner + QUIET, i / inner + QUIET);
            dark[y * size + x] = color == Color::Dark;
        }
        Some(Modules { size, dark })
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }

    /// Character cells needed: (columns, rows).
    pub fn cells(&self) -> (usize, usize) {
        (self.size, self.size.div_ceil(2))
    }

    /// Half-block lines where the glyph's ink is a dark module: print them
    /// dark-on-light (or on paper) so they scan.
    pub fn half_blocks(&self) -> Vec<String> {
        (0..self.size)
            .step_by(2)
            .map(|y| {
                (0..self.size)
                    .map(|x| half_block(self.is_dark(x, y), self.is_dark(x, y + 1)))
                    .collect()
            })
            .collect()
    }
}

/// The glyph for a cell whose upper and lower modules are dark or not.
pub fn half_block(upper: bool, lower: bool) -> char {
    match (upper, lower) {
        (true, true) => '█',
        (true, false) => '▀',
        (false, true) => '▄',
        (false, false) => ' ',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/factordesk:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=factordesk&algorithm=SHA1&digits=6&period=30";

    #[test]
    fn a_typical_uri_fits_the_console_budget() {
        let m = Modules::encode(URI).unwrap();
        let (w, h) = m.cells();
        assert!(w <= 55 && h <= 29, "{w}x{h}");
        let lines = m.half_blocks();
        assert_eq!(lines.len(), h);
        assert!(lines.iter().all(|l| l.chars().count() == w));
        // The quiet zone is blank.
        assert!(lines[0].chars().all(|c| c == ' '), "{:?}", lines[0]);
        assert!(lines[1].starts_with("    "));
    }

    #[test]
    fn decodes_back_to_the_uri() {
        let m = Modules::encode(URI).unwrap();
        let scale = 4;
        let px = m.size * scale;
        let img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
            if m.is_dark(x / scale, y / scale) {
                0
            } else {
                255
            }
        });
        let mut img = img;
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, URI);
    }

    #[test]
    fn glyphs() {
        assert_eq!(half_block(true, true), '█');
        assert_eq!(half_block(true, false), '▀');
        assert_eq!(half_block(false, true), '▄');
        assert_eq!(half_block(false, false), ' ');
    }
}
