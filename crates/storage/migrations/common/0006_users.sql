-- Users, their sessions, API keys and credits; and an owner on everything a user makes.
-- Secrets are stored as hashes the caller computed, never in plain text. Times are
-- milliseconds since the epoch; ids are uuid v4 text.

-- Emails are stored lower-cased, so UNIQUE is a case-insensitive rule. `balance` is the
-- sum of the user's credit_ledger rows, kept in step in every transaction that writes one.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    quota_bytes BIGINT,
    quota_jobs BIGINT,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

-- Refresh tokens rotate: each use marks the row used and issues a successor in the same
-- family; a second use of a used token revokes the whole family (it was stolen).
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    family TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- API keys are found by their public prefix, then checked against the secret's hash.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

CREATE TABLE invites (
    code_hash TEXT PRIMARY KEY,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT
);

-- Every change to a balance, in order: `seq` counts each user's rows from 1 and is taken
-- while the user's row is locked by the same transaction's balance update.
CREATE TABLE credit_ledger (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    seq BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'take', 'charge', 'refund')),
    job_id TEXT,
    actor_id TEXT,
    note TEXT,
    balance_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, seq)
);

-- Rows from before users existed have no owner: only admins see them.
ALTER TABLE images ADD COLUMN owner_id TEXT;
CREATE INDEX images_owner ON images (owner_id, created_at, id);
ALTER TABLE uploads ADD COLUMN owner_id TEXT;

-- A job is charged `cost_per_item` for each item when enqueued (`charged`); when it ends,
-- whatever did not buy a succeeded item is refunded (`refunded`).
ALTER TABLE jobs ADD COLUMN owner_id TEXT;
ALTER TABLE jobs ADD COLUMN cost_per_item BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN charged BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN refunded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN items_succeeded BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_owner ON jobs (owner_id, seq);
CREATE INDEX jobs_owner_state ON jobs (owner_id, state);

-- Pipeline names become per owner. Neither engine can change a primary key in place, so
-- the table is rebuilt; the old rows get the owner '' (no user).
CREATE TABLE pipelines_v2 (
    owner_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, name, version)
);
INSERT INTO pipelines_v2 (owner_id, name, version, document, created_at)
    SELECT '', name, version, document, created_at FROM pipelines;
DROP TABLE pipelines;
ALTER TABLE pipelines_v2 RENAME TO pipelines;
