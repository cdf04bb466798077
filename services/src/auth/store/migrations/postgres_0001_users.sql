CREATE TABLE IF NOT EXISTS users (
    id            TEXT   PRIMARY KEY,
    username      TEXT   NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL,
    scopes        TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);
