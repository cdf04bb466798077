//! Bulwark services: pipelines, HTTP gateway and CLI (being written).
