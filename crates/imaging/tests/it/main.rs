//! Integration tests of the imaging core, one binary (see docs/dev/style.md, "tests").

mod formats;
mod golden;
mod hostile;
mod pipelines;
mod support;
