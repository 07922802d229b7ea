//! The API over real HTTP, one module per resource.

mod admin;
mod auth;
mod backpressure;
mod credits;
mod datasets;
mod hardening;
mod idor;
mod images;
mod jobs;
mod matrix;
mod metrics;
mod openapi;
mod pipelines;
mod readiness;
mod results;
mod support;
mod transform;
mod uploads;
mod vision;
mod web;
