-- Datasets: items imported from an archive (or chosen among a user's images), each an
-- image of the owner's with the metadata row it came with (a JSON object, in the metadata
-- file's column order). A dataset job's per-item records live in dataset_results, one row
-- per item, written as each batch finishes: a resumed job skips what is there.
CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    item_count BIGINT NOT NULL,
    summary TEXT NOT NULL,
    -- 1 when the import made the images (an archive): deleting the dataset deletes them.
    owns_images BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX datasets_by_owner ON datasets (owner_id, created_at);

CREATE TABLE dataset_items (
    dataset_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    name TEXT NOT NULL,
    stem TEXT NOT NULL,
    image_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (dataset_id, idx)
);

CREATE TABLE dataset_results (
    job_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    succeeded BIGINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
);
