//! Configuration for `serve`, `worker` and `migrate`, in layers: built-in defaults, then
//! `atelier.toml` (or `--config FILE`), then `ATELIER_*` environment variables (`__`
//! between nested names: `ATELIER_LIMITS__MAX_PIXELS`), then a few flags. Every key, its
//! variable and its default are in `atelier.example.toml`, which a test keeps in step.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use atelier_imaging::Limits;
use atelier_storage::BlobConfig;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the API listens on. `ATELIER_LISTEN`.
    pub listen: SocketAddr,
    /// Folder for the embedded database, the blob folder and the upload spool; created if
    /// missing. `ATELIER_DATA_DIR`.
    pub data_dir: PathBuf,
    /// `postgres://user@host/db` or `sqlite://path?mode=rwc`; unset means
    /// `sqlite://DATA_DIR/atelier.db`. `ATELIER_DATABASE_URL`.
    pub database_url: Option<String>,
    /// In-process workers; 0 means one per core. `ATELIER_WORKERS`.
    pub workers: usize,
    /// How long a claimed job stays a worker's without a heartbeat, in milliseconds; after a
    /// crash its jobs wait this long. Heartbeats come 4 times as often. `ATELIER_LEASE_MS`.
    pub lease_ms: u64,
    /// Most images one job may name. `ATELIER_MAX_JOB_ITEMS`.
    pub max_job_items: usize,
    /// Where blobs live; unset means a folder, `DATA_DIR/blobs`. `ATELIER_BLOBS__BACKEND`...
    pub blobs: Option<BlobConfig>,
    /// Limits on untrusted images. `ATELIER_LIMITS__MAX_PIXELS` and so on.
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            workers: 0,
            lease_ms: 60_000,
            max_job_items: 1_000,
            blobs: None,
            limits: Limits::default(),
        }
    }
}

impl Settings {
    /// Defaults, then the file (if `path` is given it must exist; otherwise `atelier.toml`
    /// is read when present), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match path {
            Some(path) => {
                anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("atelier.toml")),
        }
        // ATELIER_TEST_* belong to the test harness, not to the service.
        let env =
            Env::prefixed("ATELIER_").split("__").filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"));
        figment.merge(env).extract().context("reading the configuration (defaults, atelier.toml, ATELIER_* variables)")
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("atelier.db").display()))
    }

    pub fn blob_config(&self) -> BlobConfig {
        self.blobs.clone().unwrap_or_else(|| BlobConfig::Local { root: self.data_dir.join("blobs") })
    }

    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.workers
        }
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::Format;

    use super::Settings;

    #[test]
    fn the_example_config_documents_exactly_the_defaults() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../atelier.example.toml");
        let text = std::fs::read_to_string(example).unwrap();
        let parsed: Settings = figment::Figment::from(figment::providers::Toml::string(&text)).extract().unwrap();
        assert_eq!(parsed, Settings::default());
        // Every key of the defaults appears in the example, so none goes undocumented.
        let defaults = toml_keys(&serde_json::to_value(Settings::default()).unwrap(), "");
        for key in defaults {
            let leaf = key.rsplit('.').next().unwrap();
            let documented = [format!("{leaf} ="), format!("# {leaf} ="), format!("[{leaf}]")];
            assert!(documented.iter().any(|form| text.contains(form.as_str())), "{key} is not in atelier.example.toml");
        }
    }

    fn toml_keys(value: &serde_json::Value, prefix: &str) -> Vec<String> {
        match value {
            serde_json::Value::Object(map) => {
                map.iter().flat_map(|(k, v)| toml_keys(v, &format!("{prefix}{k}."))).collect()
            }
            _ => vec![prefix.trim_end_matches('.').to_string()],
        }
    }
}
