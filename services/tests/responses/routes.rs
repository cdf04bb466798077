//! The route: bad input refused in the standard format, the cache, the OpenAPI entry, and the
//! answer over a real socket.

use bulwark_services::simulator::Faults;
use serde_json::{Value, json};

use crate::support::{
    assert_standard, client, config, get, openai, pipeline, post, serve, simulator,
};

#[tokio::test]
async fn bad_input_gets_a_standard_400_naming_the_field() {
    let p = pipeline(config(Vec::new())).await;
    let long = "a".repeat(8_001);
    for (body, field) in [
        (json!({"message": ""}), "message"),
        (json!({"message": "   \n "}), "message"),
        (json!({"message": long}), "message"),
        (json!({"message": 42}), "message"),
        (json!({}), "message"),
        (json!({"message": "hi", "customer_id": ""}), "customer_id"),
        (json!({"message": "hi", "stream": "yes"}), "stream"),
        (json!({"message": "hi", "mesage": "typo"}), "mesage"),
    ] {
        let (status, headers, answer) = post(&p.app, &body, &[]).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_standard(400, &headers, &answer, "VALIDATION_ERROR");
        assert!(
            answer["details"].to_string().contains(field),
            "{body}: {answer}"
        );
    }
    let ok = "é".repeat(8_000);
    let (status, _, answer) = post(&p.app, &json!({"message": ok}), &[]).await;
    assert_eq!(status, 200, "{answer}");
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn a_provider_answer_is_cached_unless_the_request_says_no() {
    let sim = simulator(Faults::default()).await;
    let mut settings = config(vec![openai(&sim, "p")]);
    settings.cache_ttl = std::time::Duration::from_secs(60);
    let p = pipeline(settings).await;
    let ask = |message: &str, cache: bool| json!({"message": message, "cache": cache});
    let (_, _, first) = post(&p.app, &ask("How do I  reset my password?", true), &[]).await;
    assert_eq!(
        (&first["provider"], &first["cached"]),
        (&json!("p"), &json!(false))
    );
    let (_, _, again) = post(&p.app, &ask(" How do I reset my password? ", true), &[]).await;
    assert_eq!(again["cached"], true, "{again}");
    assert_eq!(again["text"], first["text"]);
    assert_eq!(again["provider"], "p");
    assert_eq!(sim.hits(), 1);
    let (_, _, fresh) = post(&p.app, &ask("How do I reset my password?", false), &[]).await;
    assert_eq!(fresh["cached"], false);
    assert_eq!(sim.hits(), 2);
    // A template answer is never cached.
    sim.faults()
        .set(Faults {
            error_rate: 1.0,
            ..Faults::default()
        })
        .unwrap();
    let (_, _, degraded) = post(&p.app, &ask("new question", true), &[]).await;
    assert_eq!(degraded["provider"], "template");
    sim.faults().heal();
    let (_, _, healed) = post(&p.app, &ask("new question", true), &[]).await;
    assert_eq!(
        (&healed["provider"], &healed["cached"]),
        (&json!("p"), &json!(false))
    );
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn the_route_is_in_the_openapi_document_and_answers_over_a_socket() {
    let sim = simulator(Faults::default()).await;
    let p = pipeline(config(vec![openai(&sim, "llm-primary")])).await;
    let (status, doc) = get(&p.app, "/openapi.json").await;
    assert_eq!(status, 200);
    let operation = &doc["paths"]["/v1/responses"]["post"];
    assert!(operation.is_object(), "{doc}");
    assert!(
        operation["responses"]["400"].is_object(),
        "shared errors added"
    );
    let schema = &doc["components"]["schemas"]["GenerateRequest"];
    assert_eq!(
        schema["properties"]["message"]["maxLength"], 8000,
        "{schema}"
    );

    let served = serve(p.app.clone()).await;
    let response = client()
        .post(format!("{}/v1/responses", served.base))
        .json(&json!({"message": "Thanks, all good!", "customer_id": "c-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["correlation_id"], Value::from(id));
    assert_eq!(body["provider"], "llm-primary");
    assert_eq!(body["sentiment"]["label"], "positive");
    p.runtime.shutdown().await;
}
