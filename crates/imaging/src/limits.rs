//! Resource limits for one image and one pipeline run, and the deadline that bounds an op.
//! Checked from headers before any pixel buffer is allocated.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Safe defaults for untrusted input; every field is configurable by the operator.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_input_bytes: u64,
    /// Largest accepted source image, in pixels (width x height), read from the header
    /// before decoding: the guard against decompression bombs.
    pub max_pixels: u64,
    /// Largest side of any image an op produces.
    pub max_output_side: u32,
    /// Largest image, in pixels, an op may produce: a side limit alone would allow
    /// 16384 x 16384 (268 MP, a gigabyte of RGBA) from a 1-pixel input.
    pub max_output_pixels: u64,
    /// Most images one run may produce (`augment` multiplies them).
    pub max_outputs: u32,
    /// Most frames an animated input may declare (only the first is decoded).
    pub max_frames: u32,
    /// Wall-clock budget for each op of a pipeline, in milliseconds.
    pub op_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 100 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_output_side: 16_384,
            max_output_pixels: 50_000_000,
            max_outputs: 256,
            max_frames: 1_000,
            op_timeout_ms: 30_000,
        }
    }
}

impl Limits {
    /// Checks a header's declared size against [`Limits::max_pixels`].
    pub fn check_pixels(&self, width: u32, height: u32) -> Result<()> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(Error::TooManyPixels { width, height, pixels, limit: self.max_pixels });
        }
        Ok(())
    }

    pub fn check_input_bytes(&self, len: usize) -> Result<()> {
        let len = len as u64;
        if len > self.max_input_bytes {
            return Err(Error::InputTooLarge { actual: len, limit: self.max_input_bytes });
        }
        Ok(())
    }

    /// Checks the size an op is about to allocate, before it allocates.
    pub fn check_output(&self, width: u64, height: u64) -> Result<()> {
        let limit = u64::from(self.max_output_side);
        if width > limit || height > limit || width == 0 || height == 0 {
            return Err(Error::OutputTooLarge { width, height, limit: self.max_output_side });
        }
        let pixels = width.saturating_mul(height);
        if pixels > self.max_output_pixels {
            return Err(Error::OutputTooManyPixels { width, height, pixels, limit: self.max_output_pixels });
        }
        Ok(())
    }

    pub fn op_timeout(&self) -> Duration {
        Duration::from_millis(self.op_timeout_ms)
    }
}

/// A point in time after which long-running loops give up with [`Error::Timeout`].
/// Ops call [`Deadline::check`] between rows or passes, so a hostile parameter cannot
/// hold a worker for longer than the configured budget.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Option<Instant>,
    budget: Duration,
}

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        Deadline { at: Instant::now().checked_add(budget), budget }
    }

    pub fn never() -> Self {
        Deadline { at: None, budget: Duration::MAX }
    }

    pub fn check(&self) -> Result<()> {
        match self.at {
            Some(at) if Instant::now() > at => {
                Err(Error::Timeout { limit_ms: self.budget.as_millis().min(u128::from(u64::MAX)) as u64 })
            }
            _ => Ok(()),
        }
    }
}
