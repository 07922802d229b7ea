//! The vision crate against the real models on ONNX Runtime (faces, digits, and both
//! through the imaging core's pipelines) and the real model files (checksums). Model tests
//! need the runtime library from `scripts/setup-onnxruntime.sh`: without it they fail
//! under `CI=true` and are skipped, with a note, elsewhere (see `support`).

mod attributes;
mod checksums;
mod classify;
mod digits;
mod faces;
mod ops;
mod pipeline;
mod style;
mod support;
