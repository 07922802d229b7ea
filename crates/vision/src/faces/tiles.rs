//! Tiled passes for small faces in big photos: where the tiles go ([`layout`]), how a
//! tile's faces come back to image pixels ([`Tile::to_image`]), and how the whole-image
//! pass and the tiles are merged ([`merge`]): faces cut by an inner tile edge give way to a
//! pass that saw them whole, then hard NMS keeps the best-scoring copy of each face.
//!
//! One pass letterboxes the whole image to 256 x 256, so a face needs about
//! [`MIN_FACE_INPUT`] pixels of the image's longer side in 256 to be found: 1/11 of it.
//! Tiles of side `T` lower that to `T * MIN_FACE_INPUT / 256`. With at most [`MAX_TILES`]
//! tiles, `T` is 0.28 to 0.32 of the longer side, so the smallest face found drops from
//! about 1/11 to about 1/35 of the longer side ([`smallest_face`]): 80 px in a 3000 x 2000
//! photo, 117 px in 4000 x 3000, 300 px in 10000 x 10000.

use super::{Face, FaceBox, SIDE};

/// The most tiles one image gets, whatever its size, so that the work per image is bounded
/// (at most 1 + 16 model runs): a 100-megapixel photo gets bigger tiles, not more.
pub const MAX_TILES: usize = 16;

/// Tiling starts when the longer side is more than this. Up to 2 x 256 the one pass already
/// finds faces of 1/11 of at most 512 pixels (48 px); tiles at the image's own scale would
/// gain at most a factor of two there, for six or more extra runs.
pub const TILE_FROM: u32 = 2 * SIDE;

/// The smallest face, as the width of its box in the 256 x 256 input, that the back model
/// finds reliably. Measured with the astronaut's face pasted 24 times at each size on a
/// textured background: at the tiles' threshold (0.75) boxes of about 25 px were found
/// every time, 21 px 23 times in 24, 18 px 17 times; at 0.6, 21 px and up every time. The
/// model test `a_face_of_the_smallest_reliable_size_...` keeps this true.
pub const MIN_FACE_INPUT: f32 = 24.0;

/// Neighbouring tiles overlap by at least this part of a tile's side.
const MIN_OVERLAP: f32 = 0.25;

/// A face whose box comes within this part of a tile's side of an inner tile edge may be
/// cut by it (BlazeFace's box is tighter than the head, so a few pixels is already close).
const EDGE_MARGIN: f32 = 1.0 / 64.0;

/// A cut face gives way to a whole one covering at least this part of the smaller box:
/// a cut face's box is a piece of the whole face's, so IoU alone would keep slivers.
const CUT_COVER: f32 = 0.25;

/// A rectangle of the image, in pixels, run as one letterboxed pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Tile {
    /// Shifts a face found in this tile (in tile pixels) to image pixels.
    pub fn to_image(&self, face: &Face) -> Face {
        let (dx, dy) = (self.x as f32, self.y as f32);
        Face {
            bbox: FaceBox { x: face.bbox.x + dx, y: face.bbox.y + dy, ..face.bbox },
            landmarks: face.landmarks.map(|[x, y]| [x + dx, y + dy]),
            score: face.score,
        }
    }

    /// Whether `face` (in image pixels) reaches an edge of this tile that is not an edge of
    /// the `width` x `height` image: such a face may be only part of one.
    pub fn cuts(&self, face: &FaceBox, width: u32, height: u32) -> bool {
        let margin = self.width.max(self.height) as f32 * EDGE_MARGIN;
        let (left, top) = (self.x as f32, self.y as f32);
        let (right, bottom) = (left + self.width as f32, top + self.height as f32);
        (self.x > 0 && face.x < left + margin)
            || (self.y > 0 && face.y < top + margin)
            || (self.x + self.width < width && face.x + face.width > right - margin)
            || (self.y + self.height < height && face.y + face.height > bottom - margin)
    }
}

/// The tiles for a `width` x `height` image, row by row; empty when the image is small
/// enough for one pass (longer side up to [`TILE_FROM`]).
///
/// The tile side `T` is the smallest (never under 256: tiles are not enlarged) for which
/// at most [`MAX_TILES`] tiles cover the image with neighbours overlapping by
/// `max(T / 4, F)`, where `F` is the smallest face the whole-image pass finds (or the
/// shorter side, when that is less: no face is bigger). Every face up to the overlap lies
/// whole inside some tile, and anything bigger is the whole-image pass's; so the overlap
/// must reach `F`, which also needs `T >= 2F`.
pub fn layout(width: u32, height: u32) -> Vec<Tile> {
    let longer = width.max(height);
    if longer <= TILE_FROM {
        return Vec::new();
    }
    let whole = face_floor(longer).min(width.min(height) as f32);
    let overlap = |side: u32| (side as f32 * MIN_OVERLAP).max(whole).ceil() as u32;
    let count = |side: u32| {
        let o = overlap(side);
        if 2 * o > side {
            return usize::MAX;
        }
        per_axis(width, side, o).saturating_mul(per_axis(height, side, o))
    };
    // The count never grows with the side (the stride `T - overlap` grows with it), so
    // the smallest side that fits is found by bisection; at `longer` it is one tile.
    let (mut lo, mut hi) = (SIDE.min(longer), longer);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count(mid) <= MAX_TILES {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let side = lo;
    let o = overlap(side);
    let xs = starts(width, side, o);
    let ys = starts(height, side, o);
    if xs.len() * ys.len() <= 1 {
        return Vec::new();
    }
    let (tw, th) = (side.min(width), side.min(height));
    ys.iter().flat_map(|&y| xs.iter().map(move |&x| Tile { x, y, width: tw, height: th })).collect()
}

/// The smallest face (box width, in image pixels) that [`Vision::detect_faces`] finds
/// reliably in a `width` x `height` image with tiling on: the tiles' floor when the image
/// is tiled, the one pass's otherwise. With tiling off it is `longer side * 24 / 256`.
///
/// [`Vision::detect_faces`]: crate::Vision::detect_faces
pub fn smallest_face(width: u32, height: u32) -> f32 {
    match layout(width, height).first() {
        Some(tile) => face_floor(tile.width.max(tile.height)),
        None => face_floor(width.max(height)),
    }
}

/// The smallest face found in one letterboxed pass over a region whose longer side is
/// `longer` pixels.
fn face_floor(longer: u32) -> f32 {
    longer as f32 * MIN_FACE_INPUT / SIDE as f32
}

/// Tiles of `side` with at least `overlap` in common needed along an axis of `len`.
fn per_axis(len: u32, side: u32, overlap: u32) -> usize {
    if len <= side {
        1
    } else {
        1 + (len - overlap).saturating_sub(1).div_euclid(side - overlap) as usize
    }
}

/// Where the tiles along an axis start: first at 0, last flush with the end, evenly
/// spaced between (so the overlaps come out equal and at least `overlap`).
fn starts(len: u32, side: u32, overlap: u32) -> Vec<u32> {
    let n = per_axis(len, side, overlap);
    if n == 1 {
        return vec![0];
    }
    let span = u64::from(len - side);
    (0..n as u64).map(|i| ((span * i + (n as u64 - 1) / 2) / (n as u64 - 1)) as u32).collect()
}

/// A face from one pass, in image pixels, and whether an inner tile edge may cut it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub face: Face,
    pub cut: bool,
}

/// Merges the faces of all passes: a cut face is dropped when a whole one (from any pass)
/// covers at least a quarter of the smaller of the two boxes, then hard NMS at `iou` keeps
/// the best-scoring of overlapping faces. A cut face that no pass saw whole is kept: it is
/// still the best guess at that face. Returns the faces best first.
pub fn merge(candidates: Vec<Candidate>, iou: f32) -> Vec<Face> {
    let whole: Vec<FaceBox> = candidates.iter().filter(|c| !c.cut).map(|c| c.face.bbox).collect();
    let kept = candidates
        .into_iter()
        .filter(|c| !c.cut || whole.iter().all(|w| cover(w, &c.face.bbox) < CUT_COVER))
        .map(|c| c.face)
        .collect();
    super::nms(kept, iou)
}

/// The area two boxes share, as a part of the smaller one's; 0 when either has no area.
fn cover(a: &FaceBox, b: &FaceBox) -> f32 {
    let w = (a.x + a.width).min(b.x + b.width) - a.x.max(b.x);
    let h = (a.y + a.height).min(b.y + b.height) - a.y.max(b.y);
    let smaller = a.area().min(b.area());
    if w <= 0.0 || h <= 0.0 || smaller <= 0.0 {
        0.0
    } else {
        w * h / smaller
    }
}

#[cfg(test)]
mod tests;
