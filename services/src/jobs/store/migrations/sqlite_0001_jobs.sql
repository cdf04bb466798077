-- Durable jobs: one row per accepted job, written before the 202.
CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY NOT NULL,
    idempotency_key  TEXT UNIQUE,
    request_hash     TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    input            TEXT NOT NULL,
    results          TEXT,
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    completed_count  INTEGER NOT NULL DEFAULT 0,
    correlation_id   TEXT NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    available_at_ms  INTEGER NOT NULL,
    lease_until_ms   INTEGER
);

-- Workers claim the oldest available queued job.
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs (status, available_at_ms, created_at_ms);
-- Retention deletes finished jobs by age.
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (status, updated_at_ms);
