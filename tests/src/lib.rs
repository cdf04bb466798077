//! End-to-end tests for Bulwark live in `tests/`.
