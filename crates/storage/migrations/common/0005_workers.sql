-- The worker registry: one row per worker, written by the worker itself. It registers at
-- start, renews heartbeat_at on a timer and sets stopped_at when it drains; a row neither
-- stopped nor renewed lately is a worker that died. Times are milliseconds since the epoch.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    stopped_at BIGINT,
    jobs_done BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX workers_heartbeat ON workers (heartbeat_at);
