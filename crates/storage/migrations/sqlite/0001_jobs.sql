-- The job queue. Times are milliseconds since the Unix epoch.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled', 'dead')),
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_after BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    seq INTEGER NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (state, run_after, seq);
CREATE INDEX jobs_leases ON jobs (state, lease_until);
