//! Which endpoint answers: failover away from a failing endpoint, the rule-based fallback when
//! none can answer or the answer cannot be read, the cache and batching.

use bulwark_runtime::breaker::State as Circuit;
use bulwark_runtime::prelude::{CallContext, CorrelationId};
use bulwark_services::embeddings::EmbeddingsConfig;
use bulwark_services::sentiment::Source;
use bulwark_services::sentiment::analyzer::Label;
use bulwark_services::simulator::Faults;

use crate::support::{Logs, config, endpoint, failing, pipeline, simulator};

fn ctx() -> CallContext {
    CallContext::untracked()
}

#[tokio::test]
async fn a_failing_endpoint_is_ejected_and_the_other_answers_every_request() {
    let bad = simulator(failing(500)).await;
    let good = simulator(Faults::default()).await;
    let p = pipeline(
        config(vec![endpoint(&bad, "bad"), endpoint(&good, "good")]),
        EmbeddingsConfig::default(),
    )
    .await;

    for i in 0..40 {
        let answer = p
            .sentiment
            .analyze(&ctx(), &format!("I love it, thanks! #{i}"))
            .await
            .unwrap();
        assert_eq!(answer.source, Source::Model, "request {i}: {answer:?}");
        assert_eq!(answer.label, Label::Positive);
        assert!(!answer.degraded);
        p.flush().await;
    }
    let pool = p.sentiment.pool().unwrap();
    assert_eq!(pool.endpoint("bad").unwrap().state(), Circuit::Open);
    assert_eq!(pool.endpoint("good").unwrap().state(), Circuit::Closed);
    assert!(
        bad.hits() <= 5,
        "the failing endpoint saw at most the breaker's minimum calls: {}",
        bad.hits()
    );
    assert_eq!(
        good.hits(),
        40,
        "every request reached the healthy endpoint"
    );
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn a_lower_tier_is_used_only_when_the_first_cannot_answer() {
    let primary = simulator(Faults::default()).await;
    let backup = simulator(Faults::default()).await;
    let p = pipeline(
        config(vec![
            endpoint(&backup, "backup").tier(1),
            endpoint(&primary, "primary"),
        ]),
        EmbeddingsConfig::default(),
    )
    .await;
    for i in 0..5 {
        let text = format!("great #{i}");
        assert_eq!(
            p.sentiment.analyze(&ctx(), &text).await.unwrap().source,
            Source::Model
        );
    }
    assert_eq!((primary.hits(), backup.hits()), (5, 0));
    primary.faults().set(failing(503)).unwrap();
    for i in 0..5 {
        let text = format!("great again #{i}");
        assert_eq!(
            p.sentiment.analyze(&ctx(), &text).await.unwrap().source,
            Source::Model
        );
        p.flush().await;
    }
    assert_eq!(backup.hits(), 5, "the backup tier took over");
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn with_every_endpoint_down_the_rule_based_analyzer_answers() {
    let a = simulator(failing(503)).await;
    let b = simulator(failing(500)).await;
    let p = pipeline(
        config(vec![endpoint(&a, "a"), endpoint(&b, "b")]),
        EmbeddingsConfig::default(),
    )
    .await;
    // Failures first, then open circuits: the answer is the same kind throughout.
    for _ in 0..20 {
        let answer = p
            .sentiment
            .analyze(&ctx(), "The food was great, but the service was horrible")
            .await
            .unwrap();
        assert_eq!(answer.source, Source::RuleBased);
        assert!(answer.degraded);
        assert_eq!(answer.label, Label::Negative);
        assert!((0.0..=1.0).contains(&answer.score));
        p.flush().await;
    }
    let pool = p.sentiment.pool().unwrap();
    assert!(pool.endpoints().all(|(_, e)| e.state() == Circuit::Open));
    let sent = a.hits() + b.hits();
    p.sentiment.analyze(&ctx(), "still here").await.unwrap();
    assert_eq!(a.hits() + b.hits(), sent, "open circuits: nothing sent");
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn a_malformed_answer_falls_back_and_the_cause_is_logged() {
    let logs = Logs::global();
    let broken = simulator(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let p = pipeline(
        config(vec![endpoint(&broken, "broken")]),
        EmbeddingsConfig::default(),
    )
    .await;
    let traced = CallContext::new(CorrelationId::parse("malformed-1").unwrap());
    let answer = p.sentiment.analyze(&traced, "I love it").await.unwrap();
    assert_eq!((answer.source, answer.degraded), (Source::RuleBased, true));
    assert_eq!(answer.label, Label::Positive);
    let text = logs.lines_with("malformed-1");
    assert!(text.contains("sentiment model failed"), "{text}");
    assert!(
        text.contains("not the expected JSON"),
        "the cause is in the log: {text}"
    );
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn unknown_labels_fall_back_for_those_texts() {
    let logs = Logs::global();
    let sim_config = bulwark_services::simulator::SimulatorConfig {
        classifier: std::sync::Arc::new(|_: &str| vec![("joy".to_owned(), 0.9)]),
        ..Default::default()
    };
    let sim = bulwark_services::simulator::Simulator::start(sim_config)
        .await
        .unwrap();
    let mut settings = config(vec![endpoint(&sim, "odd")]);
    let p = pipeline(settings.clone(), EmbeddingsConfig::default()).await;
    let traced = CallContext::new(CorrelationId::parse("odd-labels-1").unwrap());
    let answer = p.sentiment.analyze(&traced, "I love it").await.unwrap();
    assert_eq!(answer.source, Source::RuleBased);
    let text = logs.lines_with("odd-labels-1");
    assert!(text.contains("labels missing"), "{text}");
    p.runtime.shutdown().await;

    // Taught the label, the model's answer is used.
    settings.labels.insert("JOY".to_owned(), Label::Positive);
    let p = pipeline(settings, EmbeddingsConfig::default()).await;
    let answer = p.sentiment.analyze(&ctx(), "meh").await.unwrap();
    assert_eq!(
        (answer.source, answer.label),
        (Source::Model, Label::Positive)
    );
    assert!((answer.score - 0.9).abs() < 1e-9);
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn the_cache_answers_a_text_the_model_labelled() {
    let sim = simulator(Faults::default()).await;
    let mut settings = config(vec![endpoint(&sim, "m")]);
    settings.cache_ttl = std::time::Duration::from_secs(60);
    let p = pipeline(settings, EmbeddingsConfig::default()).await;

    let first = p.sentiment.analyze(&ctx(), "Great  food").await.unwrap();
    assert_eq!(first.source, Source::Model);
    let again = p.sentiment.analyze(&ctx(), "  Great food\n").await.unwrap();
    assert_eq!(again.source, Source::Cache, "same text once normalised");
    assert_eq!((again.label, again.score), (first.label, first.score));
    assert!(!again.degraded);
    assert_eq!(sim.hits(), 1);

    // In a batch, cached texts are answered from the cache and the rest (each once) by the model.
    let batch = ["I hate it", "Great food", "I hate it"].map(str::to_owned);
    let answers = p.sentiment.analyze_batch(&ctx(), &batch).await.unwrap();
    assert_eq!(
        answers.iter().map(|a| a.source).collect::<Vec<_>>(),
        [Source::Model, Source::Cache, Source::Model]
    );
    assert_eq!(answers[0], answers[2]);
    assert_eq!(sim.hits(), 2);

    // A fallback answer is never cached: once the model is back, it answers.
    sim.faults().set(failing(500)).unwrap();
    let down = p.sentiment.analyze(&ctx(), "terrible day").await.unwrap();
    assert_eq!(down.source, Source::RuleBased);
    sim.faults().heal();
    let back = p.sentiment.analyze(&ctx(), "terrible day").await.unwrap();
    assert_eq!(back.source, Source::Model);
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn a_batch_is_sent_in_model_batches_with_each_text_once() {
    let sim = simulator(Faults::default()).await;
    let mut settings = config(vec![endpoint(&sim, "m")]);
    settings.batch_size = 4;
    let p = pipeline(settings, EmbeddingsConfig::default()).await;

    // 10 distinct texts, each twice: three model requests (4 + 4 + 2 texts).
    let texts: Vec<String> = (0..20).map(|i| format!("bad news #{}", i % 10)).collect();
    let answers = p.sentiment.analyze_batch(&ctx(), &texts).await.unwrap();
    assert_eq!(answers.len(), 20);
    assert!(
        answers
            .iter()
            .all(|a| a.source == Source::Model && a.label == Label::Negative)
    );
    assert_eq!(sim.hits(), 3);

    // With the model down, each text still gets its own answer, in order.
    sim.faults().set(failing(503)).unwrap();
    let mixed = vec!["I love it".to_owned(), "I hate it".to_owned()];
    let answers = p.sentiment.analyze_batch(&ctx(), &mixed).await.unwrap();
    assert_eq!(
        answers
            .iter()
            .map(|a| (a.label, a.source))
            .collect::<Vec<_>>(),
        [
            (Label::Positive, Source::RuleBased),
            (Label::Negative, Source::RuleBased)
        ]
    );
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_key_is_sent_as_a_bearer_token() {
    // Tests may not set variables (no unsafe code): PATH is always set and a valid header value.
    let key = std::env::var("PATH").unwrap();
    let sim = bulwark_services::simulator::Simulator::start(
        bulwark_services::simulator::SimulatorConfig {
            api_key: Some(key),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let without = endpoint(&sim, "anonymous");
    let mut with = endpoint(&sim, "keyed");
    with.api_key_env = Some("PATH".to_owned());

    let p = pipeline(config(vec![without]), EmbeddingsConfig::default()).await;
    let refused = p.sentiment.analyze(&ctx(), "I love it").await.unwrap();
    assert_eq!(refused.source, Source::RuleBased, "401 without the key");
    p.runtime.shutdown().await;

    let p = pipeline(config(vec![with]), EmbeddingsConfig::default()).await;
    let answered = p.sentiment.analyze(&ctx(), "I love it").await.unwrap();
    assert_eq!(answered.source, Source::Model);
    p.runtime.shutdown().await;
}
