//! Resize planning: sizes and source windows for every fit, with and without upscaling.

use super::{Fit, Plan, Resize};
use crate::ops::geometry::Gravity;

fn resize(width: Option<u32>, height: Option<u32>, fit: Fit, upscale: bool) -> Resize {
    Resize { width, height, fit, upscale, ..Resize::default() }
}

#[test]
fn plans_give_the_documented_size_for_every_fit() {
    // Source 400x200 unless stated.
    let cases = [
        (resize(Some(100), None, Fit::Inside, false), (400, 200), (100, 50), (100, 50)),
        (resize(None, Some(50), Fit::Inside, false), (400, 200), (100, 50), (100, 50)),
        (resize(Some(100), Some(100), Fit::Inside, false), (400, 200), (100, 50), (100, 50)),
        (resize(Some(100), Some(100), Fit::Contain, false), (400, 200), (100, 50), (100, 100)),
        (resize(Some(100), Some(100), Fit::Cover, false), (400, 200), (100, 100), (100, 100)),
        (resize(Some(100), Some(100), Fit::Fill, false), (400, 200), (100, 100), (100, 100)),
        // No upscaling: the source is smaller than the box.
        (resize(Some(800), None, Fit::Inside, false), (400, 200), (400, 200), (400, 200)),
        (resize(Some(800), Some(800), Fit::Contain, false), (400, 200), (400, 200), (800, 800)),
        (resize(Some(800), Some(100), Fit::Cover, false), (400, 200), (400, 100), (400, 100)),
        (resize(Some(800), Some(100), Fit::Fill, false), (400, 200), (400, 100), (400, 100)),
        // Upscaling on request.
        (resize(Some(800), None, Fit::Inside, true), (400, 200), (800, 400), (800, 400)),
        (resize(Some(800), Some(800), Fit::Cover, true), (400, 200), (800, 800), (800, 800)),
        // Extreme aspect ratios never round a side to zero.
        (resize(Some(10), None, Fit::Inside, false), (10_000, 1), (10, 1), (10, 1)),
    ];
    for (op, (sw, sh), scaled, canvas) in cases {
        let plan: Plan = op.plan(sw, sh);
        assert_eq!((plan.scaled, plan.canvas), (scaled, canvas), "{op:?} on {sw}x{sh}");
    }
}

#[test]
fn cover_takes_its_window_where_gravity_says() {
    let cases = [
        (Gravity::Centre, (100.0, 0.0, 200.0, 200.0)),
        (Gravity::West, (0.0, 0.0, 200.0, 200.0)),
        (Gravity::East, (200.0, 0.0, 200.0, 200.0)),
        (Gravity::North, (100.0, 0.0, 200.0, 200.0)),
    ];
    for (gravity, window) in cases {
        let op = Resize { gravity, ..resize(Some(100), Some(100), Fit::Cover, false) };
        assert_eq!(op.plan(400, 200).source, window, "{gravity:?}");
    }
}

#[test]
fn the_decode_hint_asks_for_enough_pixels_in_the_cropped_window() {
    // Cover 100x100 from 400x200 uses a 200x200 window: the whole image must keep 200x100
    // scaled pixels so the window still has 100x100.
    let hint = resize(Some(100), Some(100), Fit::Cover, false).decode_hint(400, 200).unwrap();
    assert_eq!((hint.width, hint.height), (200, 100));
    let hint = resize(Some(100), None, Fit::Inside, false).decode_hint(4000, 3000).unwrap();
    assert_eq!((hint.width, hint.height), (100, 75));
}
