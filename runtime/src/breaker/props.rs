//! Property tests: random sequences of operations (being written).
