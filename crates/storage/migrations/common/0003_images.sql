-- Uploaded originals. The bytes live in the blob store under originals/{sha256}; several
-- rows may share one blob (the same file uploaded twice).
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX images_sha256 ON images (sha256);
