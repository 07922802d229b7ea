//! The API over real HTTP, one module per resource.

mod images;
mod jobs;
mod pipelines;
mod support;
mod uploads;
