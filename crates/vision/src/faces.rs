//! Face detection with BlazeFace's back-camera model (`blazeface_back_256.onnx`), exactly
//! as `models/SOURCES.md` gives its contract: letterbox to 256 x 256 (longer side scaled to
//! 256, pasted top-left on black), RGB in [-1, 1] NHWC, 896 anchors decoded, sigmoid
//! scores, a threshold, hard non-maximum suppression, then back to source pixels.
//!
//! The steps are pure functions ([`letterbox`], [`to_tensor`], [`decode`], [`nms`]) so they
//! are tested without the model; [`Vision::detect_faces`] strings them around a run. Big
//! photos also get overlapping tiles, each its own pass, for faces too small for the one
//! pass over the whole image ([`tiles`]).

use image::{Rgb, RgbImage};

use crate::error::{Error, Result};
use crate::models::Model;
use crate::resize::resize;
use crate::session::Input;
use crate::Vision;

pub mod tiles;

use tiles::{Candidate, Tile};

/// The back model's input side, in pixels.
pub const SIDE: u32 = 256;
/// 16 x 16 cells x 2 anchors, then 8 x 8 cells x 6 anchors.
pub const ANCHORS: usize = 896;
/// Values per anchor in the regressor outputs: box (4) and 6 keypoints (12).
const REGRESSORS: usize = 16;
/// The two anchor grids, in output order: (cells per side, anchors per cell).
const GRIDS: [(usize, usize); 2] = [(16, 2), (8, 6)];

const INPUT: &str = "input:0";
/// Score logits and regressors for the 16x16 grid (512 anchors), then the 8x8 grid (384).
const OUTPUTS: [&str; 4] = ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"];

/// An axis-aligned box: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl FaceBox {
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union; 0 for boxes that do not overlap or have no area.
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let w = (self.x + self.width).min(other.x + other.width) - self.x.max(other.x);
        let h = (self.y + self.height).min(other.y + other.height) - self.y.max(other.y);
        if w <= 0.0 || h <= 0.0 {
            return 0.0;
        }
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    pub fn contains(&self, [x, y]: [f32; 2]) -> bool {
        x >= self.x && x <= self.x + self.width && y >= self.y && y <= self.y + self.height
    }
}

/// One detected face. Coordinates are in the pixels of the image given to
/// [`Vision::detect_faces`] (or, straight out of [`decode`], of the 256 x 256 input); boxes
/// are not clipped, so one may reach past an edge for a face cut by the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    pub bbox: FaceBox,
    /// `[x, y]` per keypoint, indexed by the `RIGHT_EYE`.. constants.
    pub landmarks: [[f32; 2]; 6],
    /// Probability that this is a face, 0..1.
    pub score: f32,
}

impl Face {
    /// MediaPipe's keypoint order. "Right" and "left" are the person's: the right eye is
    /// on the image's left in an unmirrored photo.
    pub const RIGHT_EYE: usize = 0;
    pub const LEFT_EYE: usize = 1;
    pub const NOSE: usize = 2;
    pub const MOUTH: usize = 3;
    pub const RIGHT_EAR: usize = 4;
    pub const LEFT_EAR: usize = 5;
}

/// Detection parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceOptions {
    /// Minimum score kept. 0.6 found every face in the test photos with no false positive;
    /// MediaPipe's own is 0.75.
    pub threshold: f32,
    /// Boxes overlapping a better one by more than this IoU are dropped.
    pub iou: f32,
    /// Also run overlapping tiles over images whose longer side is over 512 pixels, for
    /// faces smaller than one pass finds (about 1/11 of the longer side): at most 16 more
    /// passes, finding faces down to about 1/35 of it ([`tiles::smallest_face`]).
    pub tiles: bool,
    /// Minimum score kept from a tile. Sixteen more passes are sixteen more chances of a
    /// false positive: on the face-api photos and the test scenes, every false positive
    /// from a tile scored 0.61 to 0.71, and at 0.75 the tiles still found 23 of 28 real
    /// faces of 47 to 81 px that one pass missed entirely (`bench/README.md`). MediaPipe's
    /// own threshold is 0.75. A higher `threshold` applies to tiles too.
    pub tile_threshold: f32,
}

impl Default for FaceOptions {
    fn default() -> Self {
        FaceOptions { threshold: 0.6, iou: 0.3, tiles: true, tile_threshold: 0.75 }
    }
}

/// How a source image was placed on the square input, to undo it on the outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Input pixels per source pixel, per axis (they differ by rounding only).
    pub scale_x: f32,
    pub scale_y: f32,
}

impl Letterbox {
    /// Maps a face from input pixels back to source pixels. The paste is at the top-left,
    /// so there is no offset to remove.
    pub fn to_source(&self, face: &Face) -> Face {
        let (sx, sy) = (self.scale_x, self.scale_y);
        Face {
            bbox: FaceBox {
                x: face.bbox.x / sx,
                y: face.bbox.y / sy,
                width: face.bbox.width / sx,
                height: face.bbox.height / sy,
            },
            landmarks: face.landmarks.map(|[x, y]| [x / sx, y / sy]),
            score: face.score,
        }
    }
}

/// Scales `image` so its longer side is `side` and pastes it at the top-left of a black
/// `side` x `side` canvas.
pub fn letterbox(image: &RgbImage, side: u32) -> Result<(RgbImage, Letterbox)> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::Internal("cannot detect faces in an empty image".into()));
    }
    let scale = side as f32 / w.max(h) as f32;
    let nw = ((w as f32 * scale).round() as u32).clamp(1, side);
    let nh = ((h as f32 * scale).round() as u32).clamp(1, side);
    let scaled = resize(image, nw, nh)?;
    let mut canvas = RgbImage::from_pixel(side, side, Rgb([0, 0, 0]));
    image::imageops::replace(&mut canvas, &scaled, 0, 0);
    let placement = Letterbox { scale_x: nw as f32 / w as f32, scale_y: nh as f32 / h as f32 };
    Ok((canvas, placement))
}

/// RGB pixels to the model's input values, `pixel / 127.5 - 1` (MediaPipe's [-1, 1]), in
/// NHWC order (which is the image buffer's own order).
pub fn to_tensor(image: &RgbImage) -> Vec<f32> {
    image.as_raw().iter().map(|&v| f32::from(v) / 127.5 - 1.0).collect()
}

/// The anchor centres, normalised to 0..1, in output order: row by row (y outer, then x,
/// then the anchor index within a cell), the 16x16 grid first. All anchors are 1x1, so the
/// centre is all an anchor is.
pub fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::with_capacity(ANCHORS);
    for (cells, per_cell) in GRIDS {
        for y in 0..cells {
            for x in 0..cells {
                let centre = [(x as f32 + 0.5) / cells as f32, (y as f32 + 0.5) / cells as f32];
                out.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    out
}

/// The logit clamped to +-100 (the reference decoder's guard), then the logistic function.
pub fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp())
}

/// Decodes the model's raw outputs (896 score logits, 896 x 16 regressors, both in anchor
/// order) into the faces scoring at least `threshold`, in pixels of the `side` x `side`
/// input. Regressors are in input pixels relative to the anchor centre: box centre
/// `(r0, r1)`, size `(r2, r3)`, keypoint k at `(r[4+2k], r[5+2k])`.
///
/// # Panics
/// When the slices are not 896 and 896 x 16 long ([`Vision::detect_faces`] checks the
/// model's outputs before calling this).
pub fn decode(logits: &[f32], regressors: &[f32], side: u32, threshold: f32) -> Vec<Face> {
    assert_eq!(logits.len(), ANCHORS, "one logit per anchor");
    assert_eq!(regressors.len(), ANCHORS * REGRESSORS, "16 regressors per anchor");
    let s = side as f32;
    anchors()
        .iter()
        .enumerate()
        .filter_map(|(i, &[ax, ay])| {
            let score = sigmoid(logits[i]);
            if score < threshold {
                return None;
            }
            let r = &regressors[i * REGRESSORS..(i + 1) * REGRESSORS];
            let (cx, cy) = (ax * s + r[0], ay * s + r[1]);
            let (w, h) = (r[2], r[3]);
            let landmarks = std::array::from_fn(|k| [ax * s + r[4 + 2 * k], ay * s + r[5 + 2 * k]]);
            Some(Face { bbox: FaceBox { x: cx - w / 2.0, y: cy - h / 2.0, width: w, height: h }, landmarks, score })
        })
        .collect()
}

/// Hard non-maximum suppression: best score first, and a face overlapping an already kept
/// one by more than `iou` is dropped. Returns the kept faces, best first.
pub fn nms(mut faces: Vec<Face>, iou: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::with_capacity(faces.len());
    for face in faces {
        if kept.iter().all(|k| k.bbox.iou(&face.bbox) <= iou) {
            kept.push(face);
        }
    }
    kept
}

impl Vision {
    /// Finds faces in `image`: one 256 x 256 pass over the whole image, and with
    /// `options.tiles`, one more per tile of a big image ([`tiles::layout`]: none up to 512
    /// pixels, at most 16), merged so that each face is given once, by its best-scoring
    /// pass. The smallest face found is about 1/11 of the longer side without tiles, about
    /// 1/35 with them ([`tiles::smallest_face`]). The model's batch size is fixed at 1
    /// (ONNX Runtime refuses a batch of 2), so the tiles run one after another, each about
    /// as long as the whole-image pass: 0.3 to 0.5 s for a 2-3 MP photo on 2 cores.
    pub fn detect_faces(&self, image: &RgbImage, options: FaceOptions) -> Result<Vec<Face>> {
        let (width, height) = image.dimensions();
        let layout = if options.tiles { tiles::layout(width, height) } else { Vec::new() };
        let tile_threshold = options.tile_threshold.max(options.threshold);
        let mut candidates: Vec<Candidate> = self
            .back_pass(image, options.threshold, options.iou)?
            .into_iter()
            .map(|face| Candidate { face, cut: false })
            .collect();
        for tile in &layout {
            let Tile { x, y, width: w, height: h } = *tile;
            let region = image::imageops::crop_imm(image, x, y, w, h).to_image();
            for face in self.back_pass(&region, tile_threshold, options.iou)? {
                let face = tile.to_image(&face);
                candidates.push(Candidate { face, cut: tile.cuts(&face.bbox, width, height) });
            }
        }
        Ok(tiles::merge(candidates, options.iou))
    }

    /// One letterboxed pass of the back model over `image`: its faces scoring at least
    /// `threshold`, after NMS at `iou`, in its own pixels.
    fn back_pass(&self, image: &RgbImage, threshold: f32, iou: f32) -> Result<Vec<Face>> {
        let model = Model::BlazeFaceBack256;
        let (input, placement) = letterbox(image, SIDE)?;
        let side = SIDE as usize;
        let outputs = self.sessions.run(
            model,
            vec![Input { name: INPUT, shape: vec![1, side, side, 3], data: to_tensor(&input) }],
            &OUTPUTS,
        )?;
        let (first, second) = (GRIDS[0].0 * GRIDS[0].0 * GRIDS[0].1, GRIDS[1].0 * GRIDS[1].0 * GRIDS[1].1);
        let mut logits = outputs[0].expect_len(model, OUTPUTS[0], first)?.to_vec();
        logits.extend_from_slice(outputs[1].expect_len(model, OUTPUTS[1], second)?);
        let mut regressors = outputs[2].expect_len(model, OUTPUTS[2], first * REGRESSORS)?.to_vec();
        regressors.extend_from_slice(outputs[3].expect_len(model, OUTPUTS[3], second * REGRESSORS)?);
        let faces = nms(decode(&logits, &regressors, SIDE, threshold), iou);
        Ok(faces.iter().map(|face| placement.to_source(face)).collect())
    }
}

#[cfg(test)]
mod tests;
