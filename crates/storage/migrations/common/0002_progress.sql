-- Per-job progress and per-item results (JSON), written by the worker after each item, so
-- a job re-claimed after a crash skips the items already done.
ALTER TABLE jobs ADD COLUMN progress_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN progress_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN results TEXT;
