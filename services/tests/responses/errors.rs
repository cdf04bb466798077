//! Both APIs' error bodies parsed into the provider's error (type, message, `Retry-After`), and
//! keys sent the way each API wants them.

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::dependency::{CallContext, Dependency, FailureKind};
use bulwark_runtime::timeout::TimeoutPolicy;
use bulwark_services::responses::provider::{
    Generation, Prompt, Provider, ProviderError, ProviderRequest,
};
use bulwark_services::simulator::Faults;

use crate::support::{anthropic, keyed_simulator, openai, simulator};

fn request(stream: bool) -> ProviderRequest {
    ProviderRequest {
        prompt: Arc::new(Prompt {
            system: "Be brief.".to_owned(),
            user: "Where is my order?".to_owned(),
        }),
        stream,
    }
}

fn provider(config: &bulwark_services::responses::ProviderConfig) -> Provider {
    bulwark_runtime::http::install_default_tls();
    Provider::new(config, 0, 256, &TimeoutPolicy::default()).unwrap()
}

/// The provider's own error behind a failed call.
fn cause(err: &bulwark_runtime::dependency::DependencyError) -> &ProviderError {
    std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<ProviderError>())
        .unwrap_or_else(|| panic!("no provider error behind {err:?}"))
}

#[tokio::test]
async fn error_bodies_of_both_apis_are_parsed_with_their_retry_after() {
    let sim = simulator(Faults {
        error_rate: 1.0,
        error_status: 429,
        retry_after_secs: Some(7),
        ..Faults::default()
    })
    .await;
    let ctx = CallContext::untracked();
    let err = provider(&openai(&sim, "o"))
        .call(request(false), &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), FailureKind::Transient);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    let ProviderError::Status { status, error, .. } = cause(&err) else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 429);
    assert_eq!(error.kind.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(error.message.as_deref(), Some("The server had an error"));

    sim.faults()
        .set(Faults {
            error_rate: 1.0,
            error_status: 529,
            retry_after_secs: Some(3),
            ..Faults::default()
        })
        .unwrap();
    let err = provider(&anthropic(&sim, "a"))
        .call(request(true), &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), FailureKind::Transient, "529 is overload");
    assert!(!err.may_have_reached());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    let ProviderError::Status { status, error, .. } = cause(&err) else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*status, error.kind.as_deref()),
        (529, Some("overloaded_error"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn keys_go_as_bearer_or_x_api_key_and_a_refusal_is_unauthorized() {
    let key = std::env::var("PATH").unwrap();
    let sim = keyed_simulator(Faults::default(), Some(&key)).await;
    let ctx = CallContext::untracked();
    for config in [openai(&sim, "o"), anthropic(&sim, "a")] {
        let answer = provider(&config.clone().api_key_env("PATH"))
            .call(request(false), &ctx)
            .await
            .unwrap();
        let Generation::Complete { text, usage, .. } = answer else {
            panic!("asked without streaming")
        };
        assert!(text.contains("Where is my order?"), "{text}");
        assert!(usage.prompt > 0 && usage.completion > 0, "{usage:?}");

        let err = provider(&config)
            .call(request(false), &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), FailureKind::Unauthorized, "{config:?}");
    }
    let debug = format!("{:?}", provider(&openai(&sim, "o").api_key_env("PATH")));
    assert!(!debug.contains(&key), "{debug}");
    sim.stop().await;
}
