//! Runnable examples for Bulwark live in `examples/`: `cargo run -p bulwark-examples --example embed`.
