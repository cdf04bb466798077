//! Runnable examples for Bulwark; see `examples/`.
