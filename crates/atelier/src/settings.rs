//! Configuration for `serve`, `worker` and `migrate`, in layers: built-in defaults, then
//! `atelier.toml` (or `--config FILE`), then `ATELIER_*` environment variables (`__`
//! between nested names: `ATELIER_LIMITS__MAX_PIXELS`), then a few flags. Every key, its
//! variable and its default are in `atelier.example.toml`, which a test keeps in step.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use atelier_imaging::Limits;
use atelier_server::transform::{SigningKey, TransformConfig};
use atelier_storage::BlobConfig;
use figment::providers::{Env, Format, Serialized, Toml};

mod accounts;
mod vision;
pub use accounts::{auth_config, AuthSettings, CreditSettings, HttpSettings, QuotaSettings};
use figment::Figment;
use serde::{Deserialize, Serialize};
pub use vision::VisionSettings;

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
    /// Whether `atelier serve` runs workers beside the API; false serves the API only, for
    /// deployments that run `atelier worker` processes of their own. `ATELIER_SERVE_WORKERS`.
    pub serve_workers: bool,
    /// How long a claimed job stays a worker's without a heartbeat, in milliseconds; after a
    /// crash its jobs wait this long. Heartbeats come 4 times as often. `ATELIER_LEASE_MS`.
    pub lease_ms: u64,
    /// Most images one job may name. `ATELIER_MAX_JOB_ITEMS`.
    pub max_job_items: usize,
    /// Queued jobs past which submissions answer 429 `queue_full`; 0 means no limit.
    /// `ATELIER_MAX_QUEUED_JOBS`.
    pub max_queued_jobs: u64,
    /// Where blobs live; unset means a folder, `DATA_DIR/blobs`. `ATELIER_BLOBS__BACKEND`...
    pub blobs: Option<BlobConfig>,
    /// Limits on untrusted images. `ATELIER_LIMITS__MAX_PIXELS` and so on.
    pub limits: Limits,
    /// Log output. `ATELIER_LOG__FORMAT`; the level comes from `RUST_LOG`.
    pub log: LogSettings,
    /// Job webhooks: off until a secret is set. `ATELIER_WEBHOOKS__SECRET`...
    pub webhooks: WebhookSettings,
    /// Signed transform URLs: off until a key is set. `ATELIER_TRANSFORM__KEYS`...
    pub transform: TransformSettings,
    /// `atelier worker` on its own. `ATELIER_WORKER__LISTEN`.
    pub worker: WorkerSettings,
    /// Accounts and tokens. `ATELIER_AUTH__REGISTRATION`, `ATELIER_AUTH__SECRET`...
    pub auth: AuthSettings,
    /// What work costs. `ATELIER_CREDITS__ENABLED`...
    pub credits: CreditSettings,
    /// Per-account limits for accounts with none of their own. `ATELIER_QUOTAS__BYTES`...
    pub quotas: QuotaSettings,
    /// HTTP hardening. `ATELIER_HTTP__CORS_ORIGINS`.
    pub http: HttpSettings,
    /// The vision models. `ATELIER_VISION__MODELS_DIR`, `ATELIER_VISION__FACE_ATTRIBUTES`...
    pub vision: VisionSettings,
    /// What an imported dataset archive may hold. `ATELIER_DATASETS__MAX_ENTRIES`...
    pub datasets: atelier_dataset::ArchiveLimits,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Where `atelier worker` serves `/healthz`, `/readyz` and its workers' histograms at
    /// `/metrics`; unset means nowhere. `atelier serve` answers those on the API's address.
    /// Read it through [`WorkerSettings::listen_addr`].
    pub listen: Option<SocketAddr>,
    /// `listen`'s former name, still read so existing configurations keep working, never
    /// written. Its own field, not a serde alias: the defaults layer always holds `listen`,
    /// and an alias beside it is a duplicate field.
    #[serde(skip_serializing)]
    pub metrics_addr: Option<SocketAddr>,
}

impl WorkerSettings {
    /// `listen`, else `metrics_addr`.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.or(self.metrics_addr)
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransformSettings {
    /// Secrets URLs may be signed with, each at least 32 bytes, used as written; the first
    /// signs (`atelier sign`), all verify. One string is taken as a list of one. Never
    /// serialized, so it cannot end up in a dumped configuration.
    #[serde(skip_serializing, deserialize_with = "one_or_many")]
    pub keys: Vec<String>,
    /// Renders running at once; 0 means one per core.
    pub max_concurrent: usize,
    /// Renders waiting for a turn before requests are refused with 429.
    pub max_waiting: usize,
}

impl Default for TransformSettings {
    fn default() -> Self {
        TransformSettings { keys: Vec::new(), max_concurrent: 0, max_waiting: 64 }
    }
}

impl std::fmt::Debug for TransformSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secrets never reach a log line; how many there are is enough to debug with.
        f.debug_struct("TransformSettings")
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .field("max_concurrent", &self.max_concurrent)
            .field("max_waiting", &self.max_waiting)
            .finish()
    }
}

impl TransformSettings {
    /// The route's setup; a short key is an error, so a typo cannot serve weakly signed URLs.
    pub fn config(&self) -> Result<TransformConfig> {
        let keys = self
            .keys
            .iter()
            .enumerate()
            .map(|(index, secret)| {
                SigningKey::new(secret.as_bytes()).with_context(|| format!("transform.keys[{index}]"))
            })
            .collect::<Result<Vec<_>>>()?;
        let max_concurrent = match self.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(TransformConfig { keys, max_concurrent, max_waiting: self.max_waiting })
    }

    /// The key new URLs are signed with: the first.
    pub fn signing_key(&self) -> Result<SigningKey> {
        let Some(first) = self.keys.first() else {
            anyhow::bail!(
                "no signing key is configured: set `keys` under [transform] in atelier.toml, or ATELIER_TRANSFORM__KEYS"
            );
        };
        SigningKey::new(first.as_bytes()).context("transform.keys[0]")
    }
}

/// `keys = "one"` or `keys = ["one", "two"]`: a single variable is easier to set than a list.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Keys {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Keys::deserialize(deserializer)? {
        Keys::One(key) => vec![key],
        Keys::Many(keys) => keys,
    })
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Signs every delivery (HMAC-SHA256); at least 16 bytes. Unset turns webhooks off.
    /// Never serialized, so it cannot end up in a dumped configuration.
    #[serde(skip_serializing)]
    pub secret: Option<String>,
    /// Address ranges (CIDR) the SSRF guard would refuse but receivers may use.
    pub allow: Vec<String>,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log line.
        let secret = self.secret.as_ref().map(|_| "<redacted>");
        f.debug_struct("WebhookSettings").field("secret", &secret).field("allow", &self.allow).finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` for people, `json` (one object a line) for log collectors.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            workers: 0,
            serve_workers: true,
            lease_ms: 60_000,
            max_job_items: 1_000,
            max_queued_jobs: 10_000,
            blobs: None,
            limits: Limits::default(),
            log: LogSettings::default(),
            webhooks: WebhookSettings::default(),
            transform: TransformSettings::default(),
            worker: WorkerSettings::default(),
            auth: AuthSettings::default(),
            credits: CreditSettings::default(),
            quotas: QuotaSettings::default(),
            http: HttpSettings::default(),
            vision: VisionSettings::default(),
            datasets: atelier_dataset::ArchiveLimits::default(),
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
        // ATELIER_TEST_* belong to the test harness, and ATELIER_PASSWORD to `atelier user
        // add`: neither is configuration.
        let env = Env::prefixed("ATELIER_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            !key.starts_with("test_") && key != "password"
        });
        figment.merge(env).extract().context("reading the configuration (defaults, atelier.toml, ATELIER_* variables)")
    }

    /// The workers' webhook setup, or `None` when webhooks are off.
    pub fn webhook_config(&self) -> Result<Option<atelier_worker::webhook::WebhookConfig>> {
        let Some(secret) = self.webhooks.secret.clone() else { return Ok(None) };
        anyhow::ensure!(secret.len() >= 16, "webhooks.secret must be at least 16 bytes");
        let allow = atelier_worker::webhook::parse_allow_list(&self.webhooks.allow).context("webhooks.allow")?;
        Ok(Some(atelier_worker::webhook::WebhookConfig { secret, allow, ..Default::default() }))
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

    #[test]
    fn transform_keys_are_one_string_or_a_list_and_never_printed_or_serialized() {
        let secret = "a-transform-key-of-at-least-32-bytes";
        for text in [format!("[transform]\nkeys = \"{secret}\""), format!("[transform]\nkeys = [\"{secret}\"]")] {
            let settings: Settings = figment::Figment::from(figment::providers::Toml::string(&text)).extract().unwrap();
            assert_eq!(settings.transform.keys, [secret], "{text}");
            assert!(!format!("{settings:?}").contains(secret));
            assert!(!serde_json::to_string(&settings).unwrap().contains(secret));
            assert_eq!(settings.transform.config().unwrap().keys.len(), 1);
        }
    }

    #[test]
    fn the_token_secret_is_never_printed_or_serialized_and_bad_account_settings_stop_the_start() {
        let secret = "an-auth-secret-of-at-least-32-bytes-long";
        let text = format!("[auth]\nsecret = \"{secret}\"\nregistration = \"invite\"");
        let settings: Settings = figment::Figment::from(figment::providers::Toml::string(&text)).extract().unwrap();
        assert_eq!(settings.auth.secret.as_deref(), Some(secret));
        assert!(!format!("{settings:?}").contains(secret));
        assert!(!serde_json::to_string(&settings).unwrap().contains(secret));
        let config = super::auth_config(&settings.auth, &settings.credits, &settings.quotas).unwrap();
        assert_eq!(config.registration, atelier_server::Registration::Invite);
        let short = super::AuthSettings { access_ttl_secs: 5, ..settings.auth.clone() };
        assert!(super::auth_config(&short, &settings.credits, &settings.quotas).is_err());
        let negative = super::CreditSettings { signup_grant: -1, ..settings.credits.clone() };
        assert!(super::auth_config(&settings.auth, &negative, &settings.quotas).is_err());
    }

    #[test]
    fn the_worker_listener_is_read_under_its_former_name_too() {
        use figment::providers::{Serialized, Toml};
        for key in ["listen", "metrics_addr"] {
            let text = format!("[worker]\n{key} = \"127.0.0.1:9091\"");
            // Over the defaults, as `Settings::load` reads it, where `listen` is already a key.
            let figment = figment::Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(&text));
            let settings: Settings = figment.extract().unwrap_or_else(|err| panic!("{text}: {err}"));
            assert_eq!(settings.worker.listen_addr(), Some(([127, 0, 0, 1], 9091).into()), "{text}");
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
