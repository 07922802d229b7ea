-- Secrets the server makes for itself when the operator configures none (the JWT signing
-- key): stored once, so every replica on this database signs and verifies with the same one.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
