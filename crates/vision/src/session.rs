//! ONNX Runtime sessions: one per model, created the first time the model is used and
//! shared by every caller after that, plus the one way a model is run (`Sessions::run`:
//! plain `f32` tensors in and out, so the op modules never touch `ort` types).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;

use crate::error::{Error, Result};
use crate::models::{Model, ModelDir};
use crate::runtime;

/// Where the runtime library and the models are, and how many threads a model run may use.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    /// The ONNX Runtime library; `None` searches `ORT_DYLIB_PATH`, then the setup script's
    /// cache (see [`runtime::find_library`]).
    pub library: Option<PathBuf>,
    pub models: ModelDir,
    /// Threads one model run may use inside an operator; `None` leaves ONNX Runtime's
    /// default (one per physical core). Servers that run several images at once want a
    /// small number here so runs do not fight over cores.
    pub intra_threads: Option<usize>,
    /// Whether a run's threads spin between operators and after a run, waiting for more
    /// work; `None` leaves ONNX Runtime's default (they do). Spinning wins a little latency
    /// for back-to-back runs and burns cores that a caller alternating model runs with its
    /// own CPU work (a dataset job's decoding and augmenting) needs: such callers say `false`.
    pub intra_spinning: Option<bool>,
}

/// A named `f32` input tensor: its name in the graph, its shape, its values in row-major
/// order.
pub(crate) struct Input {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// An `f32` output tensor copied out of ONNX Runtime's memory.
#[derive(Debug)]
pub(crate) struct Output {
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
}

type Shared = Arc<Mutex<Session>>;

/// Sessions by model. Each model has its own slot, so loading one model (tens of
/// milliseconds to a second) never blocks runs of another.
pub(crate) struct Sessions {
    config: SessionConfig,
    slots: [Mutex<Option<Shared>>; Model::ALL.len()],
}

impl Sessions {
    pub fn new(config: SessionConfig) -> Self {
        Sessions { config, slots: std::array::from_fn(|_| Mutex::new(None)) }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The model's session, created on first use. A failure (missing library, missing or
    /// damaged model) is not cached: once the operator fixes it, the next call succeeds.
    pub fn get(&self, model: Model) -> Result<Shared> {
        let mut slot = lock(&self.slots[model.index()]);
        if let Some(session) = slot.as_ref() {
            return Ok(session.clone());
        }
        // The model file is checked first: that needs no runtime, so a damaged model is
        // reported as such even on a machine without ONNX Runtime.
        let path = self.config.models.checked_path(model)?;
        let (environment, _) = runtime::environment(self.config.library.as_deref())?;
        let mut builder = Session::builder(&environment).map_err(|e| Error::runtime(model, "create a session", e))?;
        if let Some(threads) = self.config.intra_threads {
            builder = builder.with_intra_threads(threads).map_err(|e| Error::runtime(model, "set threads", e))?;
        }
        if let Some(spinning) = self.config.intra_spinning {
            builder = builder.with_intra_op_spinning(spinning).map_err(|e| Error::runtime(model, "set spinning", e))?;
        }
        if model.is_qdq() {
            // See `Model::is_qdq`: the same output on every CPU, for about 6 ms more per style image.
            builder = builder
                .with_config_entry("session.disable_quant_qdq", "1")
                .map_err(|e| Error::runtime(model, "keep the QDQ graph unfused", e))?;
        }
        let session = builder.commit_from_file(&path).map_err(|e| Error::runtime(model, "load the model", e))?;
        let session = Arc::new(Mutex::new(session));
        *slot = Some(session.clone());
        Ok(session)
    }

    /// Runs `model` on `inputs` and returns the named `outputs`, in the order asked.
    /// Runs of one model are serialised (ONNX Runtime's `run` takes the session mutably in
    /// `ort`); each run is itself multi-threaded, and callers batch to amortise it.
    pub fn run(&self, model: Model, inputs: Vec<Input>, outputs: &[&str]) -> Result<Vec<Output>> {
        let session = self.get(model)?;
        let values = inputs
            .into_iter()
            .map(|input| {
                let tensor = Tensor::from_array((input.shape, input.data))
                    .map_err(|e| Error::runtime(model, "build an input tensor", e))?;
                Ok((input.name, SessionInputValue::from(tensor)))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut session = lock(&session);
        let results = session.run(values).map_err(|e| Error::runtime(model, "run", e))?;
        outputs
            .iter()
            .map(|&name| {
                let value = results
                    .get(name)
                    .ok_or_else(|| Error::Output { model, detail: format!("no output named `{name}`") })?;
                let (shape, data) = value
                    .try_extract_tensor::<f32>()
                    .map_err(|e| Error::Output { model, detail: format!("output `{name}`: {e}") })?;
                Ok(Output { shape: shape.to_vec(), data: data.to_vec() })
            })
            .collect()
    }
}

/// A panic while a lock was held cannot leave a session or a slot half-changed (both are
/// replaced whole), so a poisoned lock is still safe to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Output {
    /// Checks the output has exactly `expected` elements, naming the model and output when
    /// not, so a contract mismatch is a clear error rather than an index panic.
    pub fn expect_len(&self, model: Model, name: &str, expected: usize) -> Result<&[f32]> {
        if self.data.len() == expected {
            Ok(&self.data)
        } else {
            Err(Error::Output {
                model,
                detail: format!(
                    "`{name}` has shape {:?} ({} values), expected {expected} values",
                    self.shape,
                    self.data.len()
                ),
            })
        }
    }
}
