//! The analyzer allocates nothing per call: a counting global allocator watches 1,200 analyses
//! of texts from 5 to 5,000 tokens long (words, emoticons, emoji, capitals, long tokens,
//! non-Latin scripts).
//!
//! Its own test binary with a single test, so no other test allocates while it counts.

use bulwark_services::sentiment::analyzer::Analyzer;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const PIECES: [&str; 8] = [
    "The food here isn't really all that GREAT!! ",
    "kind of good, but the service was horrible :( ",
    "no problem at all 😂😂 love it ❤️ ",
    "Это отличный фильм 😭 ",
    "fed up with this, can't stand it... ",
    "at least it is not a horrible book :-D ",
    "supercalifragilisticexpialidocious-and-then-some-more-words-glued-together-beyond-the-limit ",
    "meeting at noon; agenda attached. ",
];

#[test]
fn analysing_allocates_nothing_whatever_the_length() {
    let analyzer = Analyzer::default();
    // Texts of growing length, built before counting.
    let texts: Vec<String> = (1..=30)
        .map(|n| PIECES.iter().cycle().take(n * n).copied().collect())
        .collect();
    let longest = texts.iter().map(|t| t.split_whitespace().count()).max();
    assert!(longest.is_some_and(|n| n > 5_000), "{longest:?} tokens");
    // First use parses the embedded lexicon: outside the counted region.
    black_box(analyzer.analyze("warm up"));

    let region = Region::new(GLOBAL);
    let mut analysed = 0u64;
    for _ in 0..40 {
        for text in &texts {
            black_box(analyzer.analyze(black_box(text)));
            analysed += 1;
        }
    }
    let stats = region.change();
    assert_eq!(analysed, 1_200);
    assert_eq!(
        (
            stats.allocations,
            stats.reallocations,
            stats.bytes_allocated
        ),
        (0, 0, 0),
        "{stats:?} over {analysed} analyses"
    );
}
