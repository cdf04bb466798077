//! The `bulwark` command-line tool.
fn main() {}
