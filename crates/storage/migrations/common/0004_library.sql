-- Saved pipelines: a name owns numbered, immutable versions (jobs cite `name@version`).
CREATE TABLE pipelines (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

-- Deleting an image hides it at once; its original's bytes go when no live image row and
-- no unfinished job uses them (see Images::collect).
ALTER TABLE images ADD COLUMN deleted_at BIGINT;
CREATE INDEX images_listing ON images (created_at, id);

-- One row per stored original. Writers take this row's lock before deciding an original's
-- fate, which orders a concurrent upload of the same bytes against its collection.
CREATE TABLE originals (sha256 TEXT PRIMARY KEY);
INSERT INTO originals (sha256) SELECT DISTINCT sha256 FROM images;

-- The originals a job reads, written in the enqueue transaction.
CREATE TABLE job_originals (
    job_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (job_id, sha256)
);
CREATE INDEX job_originals_sha256 ON job_originals (sha256);

-- Resumable uploads: a session collects parts at increasing offsets, each part a blob
-- under uploads/{id}/, until it is completed into an image or expires.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    completing_since BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL,
    start_offset BIGINT NOT NULL,
    length BIGINT NOT NULL,
    blob_key TEXT NOT NULL,
    PRIMARY KEY (upload_id, start_offset)
);
