-- A user's own image categories for `classify`: a name and the centre of its example
-- photos' fingerprints (L2-normalised numbers joined by commas), matched by cosine.
CREATE TABLE categories (
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    centre TEXT NOT NULL,
    examples BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, name)
);
