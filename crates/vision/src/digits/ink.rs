//! Finding the ink on a photo of paper: invert, Otsu threshold, connected components
//! (8-connected), specks dropped; then either all of it as one digit or, for a written
//! number, one group of components per digit, left to right.

use image::{GrayImage, Luma};

/// Below this difference between the mean ink and mean paper level (0..255, after
/// inverting) the "ink" Otsu finds is paper texture or lighting: the photo is blank.
const MIN_CONTRAST: f64 = 40.0;
/// Components smaller than this fraction of the largest one are specks (dust, paper
/// grain, JPEG noise), not strokes.
const SPECK_FRACTION: f64 = 0.05;
/// Two pieces of ink belong to one digit when their column ranges overlap by more than
/// this fraction of the narrower one (a detached bar over a 5, a broken stroke).
const SAME_DIGIT_OVERLAP: f64 = 0.5;
/// Paper left around each digit cut out of a number, so its edges are not cropped away.
const MARGIN: u32 = 2;

/// A rectangle in photo pixels: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InkBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl InkBox {
    fn right(&self) -> u32 {
        self.x + self.width
    }

    fn bottom(&self) -> u32 {
        self.y + self.height
    }

    fn union(&self, other: &InkBox) -> InkBox {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        InkBox { x, y, width: self.right().max(other.right()) - x, height: self.bottom().max(other.bottom()) - y }
    }

    /// How much the column ranges overlap, as a fraction of the narrower width.
    fn column_overlap(&self, other: &InkBox) -> f64 {
        let shared = self.right().min(other.right()).saturating_sub(self.x.max(other.x));
        f64::from(shared) / f64::from(self.width.min(other.width).max(1))
    }
}

/// One digit cut out of a written number.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitCrop {
    /// Where the digit's ink is in the photo.
    pub bbox: InkBox,
    /// Just that digit's ink, black on white, with a small margin: a photo [`super::prepare`]
    /// takes.
    pub image: GrayImage,
}

/// Otsu's threshold over a histogram of 8-bit values: the `t` that best separates values
/// `<= t` from values `> t` (maximum between-class variance). `None` when the histogram
/// does not have two non-empty classes (every value the same, or empty).
pub fn otsu_threshold(hist: &[u64; 256]) -> Option<u8> {
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist.iter().enumerate().map(|(v, &n)| v as f64 * n as f64).sum();
    let (mut below, mut sum_below) = (0u64, 0f64);
    let mut best: Option<(u8, f64)> = None;
    for (t, &n) in hist.iter().enumerate() {
        below += n;
        sum_below += t as f64 * n as f64;
        let above = total - below;
        if below == 0 || above == 0 {
            continue;
        }
        let mean_below = sum_below / below as f64;
        let mean_above = (sum_all - sum_below) / above as f64;
        let variance = below as f64 * above as f64 * (mean_below - mean_above).powi(2);
        if best.is_none_or(|(_, v)| variance > v) {
            best = Some((t as u8, variance));
        }
    }
    best.map(|(t, _)| t)
}

struct Component {
    bbox: InkBox,
    area: u64,
}

/// The ink of a photo: a label per pixel (0 for paper, `i + 1` for component `i`) and the
/// components that are strokes rather than specks.
pub(crate) struct Ink {
    width: u32,
    labels: Vec<u32>,
    components: Vec<Component>,
    /// Indices of the components kept (specks left out).
    strokes: Vec<usize>,
}

/// Finds the ink on `photo` (dark on light). `None` when there is none: blank paper, or
/// too little contrast to tell ink from paper.
pub(crate) fn find_ink(photo: &GrayImage) -> Option<Ink> {
    let (width, height) = photo.dimensions();
    // Inverted, so ink is bright like MNIST's digits.
    let ink: Vec<u8> = photo.as_raw().iter().map(|&v| 255 - v).collect();
    let mut hist = [0u64; 256];
    for &v in &ink {
        hist[usize::from(v)] += 1;
    }
    let t = otsu_threshold(&hist)?;
    let mean = |range: std::ops::RangeInclusive<usize>| {
        let n: u64 = hist[range.clone()].iter().sum();
        let s: f64 = range.map(|v| v as f64 * hist[v] as f64).sum();
        s / n as f64
    };
    if mean(usize::from(t) + 1..=255) - mean(0..=usize::from(t)) < MIN_CONTRAST {
        return None;
    }
    let mask: Vec<bool> = ink.iter().map(|&v| v > t).collect();
    let (labels, components) = label(&mask, width, height);
    let largest = components.iter().map(|c| c.area).max()?;
    let min_area = (largest as f64 * SPECK_FRACTION).max(1.0);
    let strokes = (0..components.len()).filter(|&i| components[i].area as f64 >= min_area).collect();
    Some(Ink { width, labels, components, strokes })
}

/// Labels 8-connected regions of `mask`, with an explicit stack (a recursive fill would
/// overflow on a big blot).
fn label(mask: &[bool], width: u32, height: u32) -> (Vec<u32>, Vec<Component>) {
    let (w, h) = (width as usize, height as usize);
    let mut labels = vec![0u32; w * h];
    let mut components = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        let id = components.len() as u32 + 1;
        labels[start] = id;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1, mut area) = (w, h, 0, 0, 0u64);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            area += 1;
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let j = ny * w + nx;
                    if mask[j] && labels[j] == 0 {
                        labels[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
        let bbox = InkBox { x: x0 as u32, y: y0 as u32, width: (x1 - x0 + 1) as u32, height: (y1 - y0 + 1) as u32 };
        components.push(Component { bbox, area });
    }
    (labels, components)
}

impl Ink {
    fn bbox_of(&self, group: &[usize]) -> Option<InkBox> {
        group.iter().map(|&i| self.components[i].bbox).reduce(|a, b| a.union(&b))
    }

    /// The components of `group` inside `bbox` grown by `margin`, drawn with `ink` on
    /// `paper`.
    fn render(&self, group: &[usize], bbox: InkBox, margin: u32, ink: u8, paper: u8) -> GrayImage {
        let mut out = GrayImage::from_pixel(bbox.width + 2 * margin, bbox.height + 2 * margin, Luma([paper]));
        for y in bbox.y..bbox.bottom() {
            for x in bbox.x..bbox.right() {
                let label = self.labels[(y * self.width + x) as usize];
                if label != 0 && group.contains(&(label as usize - 1)) {
                    out.put_pixel(x - bbox.x + margin, y - bbox.y + margin, Luma([ink]));
                }
            }
        }
        out
    }

    /// Every stroke, cropped to their common bounding box: bright ink on black, the
    /// polarity MNIST uses.
    pub fn render_all(&self) -> Option<GrayImage> {
        let bbox = self.bbox_of(&self.strokes)?;
        Some(self.render(&self.strokes, bbox, 0, 255, 0))
    }

    /// The strokes grouped into digits, left to right: pieces whose columns overlap enough
    /// are one digit.
    fn digit_groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<(InkBox, Vec<usize>)> =
            self.strokes.iter().map(|&i| (self.components[i].bbox, vec![i])).collect();
        // Merging widens a group, which can make it overlap another: repeat until stable.
        loop {
            let pair = (0..groups.len()).find_map(|a| {
                (a + 1..groups.len())
                    .find(|&b| groups[a].0.column_overlap(&groups[b].0) > SAME_DIGIT_OVERLAP)
                    .map(|b| (a, b))
            });
            let Some((a, b)) = pair else { break };
            let (bbox, members) = groups.swap_remove(b);
            groups[a].0 = groups[a].0.union(&bbox);
            groups[a].1.extend(members);
        }
        groups.sort_by_key(|(bbox, _)| (bbox.x, bbox.y));
        groups.into_iter().map(|(_, members)| members).collect()
    }
}

/// Splits a photo of a written number (dark ink on light paper) into its digits, left to
/// right, by connected ink. Empty when the photo has no ink.
pub fn split_digits(photo: &GrayImage) -> Vec<DigitCrop> {
    let Some(ink) = find_ink(photo) else {
        return Vec::new();
    };
    ink.digit_groups()
        .into_iter()
        .filter_map(|group| {
            let bbox = ink.bbox_of(&group)?;
            Some(DigitCrop { bbox, image: ink.render(&group, bbox, MARGIN, 0, 255) })
        })
        .collect()
}
