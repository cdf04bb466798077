CREATE TABLE IF NOT EXISTS users (
    id            TEXT    PRIMARY KEY NOT NULL,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
