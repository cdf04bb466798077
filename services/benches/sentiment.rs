//! Speed of the rule-based sentiment analyzer on tweet-length texts.
//!
//! Run with: `cargo bench -p bulwark-services --bench sentiment`
//!
//! `analyze_tweets` analyses 16 tweet-like texts (40–140 characters, with negation, boosters,
//! "but", capitals, exclamation marks, emoticons and emoji) per iteration; criterion reports
//! texts/s. `analyze_review` is one 1 KiB product review, reported in bytes/s.
//! `scripts/sentiment_eval.sh` measures VADER (Python) on a real corpus in the same run.

use std::hint::black_box;

use bulwark_services::sentiment::analyzer::Analyzer;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Tweet-like texts written for this bench.
const TWEETS: [&str; 16] = [
    "Just got my new phone and I absolutely LOVE it!! Battery lasts forever :)",
    "Worst customer service ever. Waited 2 hours and nobody answered. Never again.",
    "The update is out today, release notes on the website.",
    "The food was great but the service was painfully slow...",
    "not bad at all, honestly better than I expected 👍",
    "Ugh, my flight got cancelled AGAIN 😭 #travel",
    "Meeting moved to 3pm, please update your calendars",
    "Can't stand this weather anymore, so cold and grey",
    "Congrats to the whole team on the launch!!! 🎉🎉",
    "It's kind of okay I guess, nothing special",
    "This movie isn't very good, the plot makes no sense",
    "lol that was hilarious 😂 thanks for sharing",
    "Traffic on the bridge is heavy this morning",
    "I'm so happy for you, you really deserve it ❤️",
    "Terrible app, crashes every time I open it. Uninstalled.",
    "The new cafe downtown has decent coffee but awful pastries",
];

/// A product review of about 1 KiB.
const REVIEW: &str = "I bought this blender three weeks ago after reading a lot of reviews, and \
    overall I am pretty happy with it. The motor is strong and it crushes ice without any \
    problem, which my old one never managed. Smoothies come out really smooth, and the jar is \
    easy to clean. That said, it is LOUD, much louder than I expected, and the lid does not \
    sit very tightly, so once or twice it leaked a little. The buttons are a bit confusing at \
    first but you get used to them. Customer service was friendly when I asked about a spare \
    jar, but shipping took almost two weeks, which was disappointing. For the price I think it \
    is a good deal, not perfect but solid. If you make smoothies every day it is worth it; if \
    you only need it occasionally, a cheaper model would probably do. Would I buy it again? \
    Probably yes, though I would hope they fix the lid. Four stars from me, and thanks to the \
    other reviewers whose tips helped me a lot!";

fn analyze_tweets(c: &mut Criterion) {
    let analyzer = Analyzer::default();
    let mut group = c.benchmark_group("sentiment");
    group.throughput(Throughput::Elements(TWEETS.len() as u64));
    group.bench_function("analyze_tweets", |b| {
        b.iter(|| {
            for text in TWEETS {
                black_box(analyzer.analyze(black_box(text)));
            }
        });
    });
    group.throughput(Throughput::Bytes(REVIEW.len() as u64));
    group.bench_function("analyze_review", |b| {
        b.iter(|| black_box(analyzer.analyze(black_box(REVIEW))));
    });
    group.finish();
}

criterion_group!(benches, analyze_tweets);
criterion_main!(benches);
