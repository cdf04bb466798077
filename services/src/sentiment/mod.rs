//! The sentiment pipeline.
//!
//! - [`analyzer`]: the rule-based analyzer (lexicon and rules, no I/O): the pipeline's fallback,
//!   usable alone as a library.

pub mod analyzer;
