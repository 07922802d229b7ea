//! The API over real HTTP, one module per resource.

mod images;
mod jobs;
mod metrics;
mod openapi;
mod pipelines;
mod support;
mod transform;
mod uploads;
