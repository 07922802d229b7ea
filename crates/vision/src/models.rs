//! The model catalogue (a closed enum: name, file, sha256, task, licence, as
//! `models/SOURCES.md` documents them), where the files live ([`ModelDir`]), and checking
//! that each is present and unchanged ([`verify`], [`ModelDir::checked_path`]).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Every model atelier ships. Adding one is a variant and a row in [`Model::spec`]; the
/// compiler finds the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    MultiStyle26,
    ArbitraryStylePredict,
    ArbitraryStyleTransform,
    BlazeFaceBack256,
    BlazeFaceFront128,
    Emotion,
    AgeGender,
    Mnist,
    EfficientNetLite0,
    Nsfw,
}

/// One catalogue row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Stable name, used in messages and (later) `atelier models`.
    pub name: &'static str,
    /// File name inside the model directory.
    pub file: &'static str,
    /// Lower-case hex sha256 of the file, as in `models/SHA256SUMS`.
    pub sha256: &'static str,
    pub task: &'static str,
    /// The weights' licence, as `models/SOURCES.md` gives it.
    pub licence: &'static str,
}

impl Model {
    pub const ALL: [Model; 10] = [
        Model::MultiStyle26,
        Model::ArbitraryStylePredict,
        Model::ArbitraryStyleTransform,
        Model::BlazeFaceBack256,
        Model::BlazeFaceFront128,
        Model::Emotion,
        Model::AgeGender,
        Model::Mnist,
        Model::EfficientNetLite0,
        Model::Nsfw,
    ];

    /// Position in [`Model::ALL`], for per-model tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether the graph is int8 QuantizeLinear/DequantizeLinear pairs around float ops.
    /// ONNX Runtime fuses such pairs into int8 kernels chosen by CPU: with AVX512-VNNI and
    /// with plain AVX2 (whose u8 x s8 multiply saturates) the style predictor's vectors
    /// differ by up to 0.44, and the images by 5 % MAD. Unfused, the pairs run as float
    /// ops on rounded values and every CPU gives the same vector, so a job retried on
    /// another worker, or a cached transform, gives the same image.
    pub(crate) fn is_qdq(self) -> bool {
        matches!(self, Model::ArbitraryStylePredict | Model::ArbitraryStyleTransform)
    }

    pub const fn spec(self) -> ModelSpec {
        const fn row(
            name: &'static str,
            file: &'static str,
            sha256: &'static str,
            task: &'static str,
            licence: &'static str,
        ) -> ModelSpec {
            ModelSpec { name, file, sha256, task, licence }
        }
        match self {
            Model::MultiStyle26 => row(
                "multistyle26",
                "multistyle26.onnx",
                "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
                "style transfer, 26 built-in styles",
                "Apache-2.0",
            ),
            Model::ArbitraryStylePredict => row(
                "arbitrary_predict",
                "arbitrary_predict.onnx",
                "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
                "style transfer: style image to style vector",
                "Apache-2.0",
            ),
            Model::ArbitraryStyleTransform => row(
                "arbitrary_transform",
                "arbitrary_transform.onnx",
                "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
                "style transfer: photo and style vector to image",
                "Apache-2.0",
            ),
            Model::BlazeFaceBack256 => row(
                "blazeface_back_256",
                "blazeface_back_256.onnx",
                "4a5a82148fda9a458feac6572a0d5c30b11af864fb3d2d7863871bfc2ec05b46",
                "face detection (boxes, 6 landmarks), 256 px input",
                "Apache-2.0",
            ),
            Model::BlazeFaceFront128 => row(
                "blazeface_front_128",
                "blazeface_front_128.onnx",
                "ffd3fd9ab57e9c33e01b18a1c2b5b7bd1d4bfcf8db8b31bb6ea149df5d0cd9d3",
                "face detection for close-ups, 128 px input",
                "Apache-2.0",
            ),
            Model::Emotion => row(
                "emotion_mini_xception",
                "emotion_mini_xception.onnx",
                "32f27e7f4d2c457971df46a9ad4f6b1120ce3308d88866d0e376e65b7b65f6e8",
                "facial expression, 7 classes",
                "MIT",
            ),
            Model::AgeGender => row(
                "faceres_age_gender",
                "faceres_age_gender.onnx",
                "3edaa6b28ae17f4dd9cdf931df1f4c10b3ce3b70cc5cd8ec9703a20dc3850b33",
                "age and gender estimate",
                "Apache-2.0",
            ),
            Model::Mnist => row(
                "mnist_cnn",
                "mnist_cnn.onnx",
                "64dd0c4a44fa5006395d10b0563dd586c2345eb5da59139f30d9172f53676580",
                "handwritten digit 0-9",
                "Apache-2.0 (trained for atelier; data: MNIST, CC BY-SA 3.0)",
            ),
            Model::EfficientNetLite0 => row(
                "efficientnet_lite0",
                "efficientnet_lite0.onnx",
                "222720547f9b93cbc06645ff3673dcc50ac4e98a110edde4142ae4bfe98fbb7b",
                "ImageNet classification and 1280-value image fingerprint",
                "Apache-2.0",
            ),
            Model::Nsfw => row(
                "nsfw_mobilenet_v2",
                "nsfw_mobilenet_v2.onnx",
                "d49cb5f02697525fcb8b49e1a93cfbbd4d09b583cea8cb5bd98755a54346e5e0",
                "content moderation, 5 classes",
                "MIT",
            ),
        }
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The folder the model files are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDir(PathBuf);

impl Default for ModelDir {
    /// The repository's `models/`, where a checkout keeps them. Deployments that move the
    /// binary configure the folder ([`ModelDir::new`]) instead.
    fn default() -> Self {
        ModelDir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"))
    }
}

impl ModelDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ModelDir(path.into())
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }

    pub fn path_of(&self, model: Model) -> PathBuf {
        self.0.join(model.spec().file)
    }

    /// The model's path once its file is there and hashes to the catalogue's sha256: a
    /// truncated or swapped file is refused before ONNX Runtime parses it.
    pub fn checked_path(&self, model: Model) -> Result<PathBuf> {
        let path = self.path_of(model);
        match check_file(&path, model.spec().sha256) {
            Ok(Check::Ok) => Ok(path),
            Ok(Check::Missing) => Err(Error::ModelMissing { model, path }),
            Ok(Check::Mismatch(actual)) => {
                Err(Error::ModelChecksum { model, path, expected: model.spec().sha256, actual })
            }
            Err(source) => Err(Error::ModelUnreadable { model, path, source }),
        }
    }
}

/// What [`verify`] found for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStatus {
    pub model: Model,
    pub path: PathBuf,
    pub state: ModelState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    Ok,
    Missing,
    /// Present, but with this sha256 instead of the catalogue's.
    Mismatch {
        actual: String,
    },
    /// Present but not readable (permissions, a directory in its place); the error text.
    Unreadable(String),
}

impl ModelStatus {
    pub fn is_ok(&self) -> bool {
        self.state == ModelState::Ok
    }
}

/// Checks every catalogue model in `dir`: present, and hashing to its pinned sha256.
pub fn verify(dir: &ModelDir) -> Vec<ModelStatus> {
    Model::ALL
        .iter()
        .map(|&model| {
            let path = dir.path_of(model);
            let state = match check_file(&path, model.spec().sha256) {
                Ok(Check::Ok) => ModelState::Ok,
                Ok(Check::Missing) => ModelState::Missing,
                Ok(Check::Mismatch(actual)) => ModelState::Mismatch { actual },
                Err(err) => ModelState::Unreadable(err.to_string()),
            };
            ModelStatus { model, path, state }
        })
        .collect()
}

enum Check {
    Ok,
    Missing,
    Mismatch(String),
}

fn check_file(path: &Path, expected: &str) -> std::io::Result<Check> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Check::Missing),
        Err(err) => return Err(err),
    };
    let actual = sha256_hex(file)?;
    Ok(if actual == expected { Check::Ok } else { Check::Mismatch(actual) })
}

/// Hashes a stream in fixed chunks, so an 18 MB model never sits in memory twice.
pub fn sha256_hex(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests;
