//! [`DependencyHandle`]: what callers hold.

use std::sync::Arc;

use crate::fallback::{Degraded, FallbackCause, FallbackChain, FallbackSource};

use super::context::CallContext;
use super::controls::Controls;
use super::error::CallError;
use super::execute::{Attempt, execute};
use super::failure::DependencyError;
use super::traits::Dependency;

/// A cheap, cloneable handle to one guarded dependency.
///
/// Calls run in the caller's task: the handle admits them against the breaker state and the
/// bulkhead that the dependency's actor publishes, bounds each attempt by its deadline, retries
/// transient failures within the retry budget and reports every outcome to the actor without
/// waiting for it. The handle dereferences to [`Controls`] (state, snapshot, commands).
pub struct DependencyHandle<D: Dependency> {
    controls: Controls,
    dependency: Arc<D>,
    fallback: Option<FallbackChain<D::Request, D::Response>>,
    /// Held by handles of a keyed family's member: while any is alive the key is not evicted.
    pin: Option<Arc<()>>,
}

impl<D: Dependency> Clone for DependencyHandle<D> {
    fn clone(&self) -> Self {
        Self {
            controls: self.controls.clone(),
            dependency: Arc::clone(&self.dependency),
            fallback: self.fallback.clone(),
            pin: self.pin.clone(),
        }
    }
}

impl<D: Dependency> std::ops::Deref for DependencyHandle<D> {
    type Target = Controls;
    fn deref(&self) -> &Controls {
        &self.controls
    }
}

impl<D: Dependency> std::fmt::Debug for DependencyHandle<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependencyHandle")
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

struct Direct<'a, D>(&'a D);

impl<D: Dependency> Attempt<D::Request> for Direct<'_, D> {
    type Response = D::Response;
    fn attempt(
        &mut self,
        req: D::Request,
        ctx: &CallContext,
    ) -> impl std::future::Future<Output = Result<D::Response, DependencyError>> {
        self.0.call(req, ctx)
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AnswerSource {
    /// The dependency itself.
    Primary,
    /// A fallback stage, after the primary path failed for `cause`.
    Fallback {
        /// Which stage answered.
        #[serde(serialize_with = "serialize_source")]
        source: FallbackSource,
        /// Why the primary path did not.
        cause: FallbackCause,
    },
}

fn serialize_source<S: serde::Serializer>(
    source: &FallbackSource,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(source)
}

/// A response and where it came from.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    /// The response.
    pub value: T,
    /// The dependency or a fallback stage.
    pub source: AnswerSource,
}

impl<T> Answer<T> {
    /// Whether a fallback produced this answer.
    pub fn degraded(&self) -> bool {
        matches!(self.source, AnswerSource::Fallback { .. })
    }

    /// The source label: `"primary"` or the fallback stage's name.
    pub fn source_label(&self) -> String {
        match &self.source {
            AnswerSource::Primary => "primary".to_owned(),
            AnswerSource::Fallback { source, .. } => source.to_string(),
        }
    }
}

impl<D: Dependency> DependencyHandle<D> {
    pub(crate) fn new(
        controls: Controls,
        dependency: Arc<D>,
        fallback: Option<FallbackChain<D::Request, D::Response>>,
    ) -> Self {
        Self {
            controls,
            dependency,
            fallback,
            pin: None,
        }
    }

    /// The same handle, pinning a keyed family's member while it (or a clone) is alive.
    pub(crate) fn pinned(mut self, pin: Arc<()>) -> Self {
        self.pin = Some(pin);
        self
    }

    /// Calls the dependency through breaker, bulkhead, timeout and retry.
    pub async fn call(&self, req: D::Request, ctx: CallContext) -> Result<D::Response, CallError> {
        execute(
            self.controls.shared(),
            ctx,
            req,
            &mut Direct(&*self.dependency),
        )
        .await
    }

    /// Like [`call`](Self::call), then the fallback chain when the primary path fails for a cause
    /// the chain handles. A successful primary answer is remembered for the cache stage.
    pub async fn call_or_fallback(
        &self,
        req: D::Request,
        ctx: CallContext,
    ) -> Result<Answer<D::Response>, CallError>
    where
        D::Response: Clone + Sync,
        D::Request: Sync,
    {
        let Some(chain) = &self.fallback else {
            return self.call(req, ctx).await.map(|value| Answer {
                value,
                source: AnswerSource::Primary,
            });
        };
        // One copy serves both outcomes: remembered on success, recovered from on failure.
        let copy = req.clone();
        match self.call(req, ctx).await {
            Ok(value) => {
                chain.remember(&copy, &value);
                Ok(Answer {
                    value,
                    source: AnswerSource::Primary,
                })
            }
            Err(err) => {
                let cause = fallback_cause(&err);
                if !chain.triggers_on(cause) {
                    return Err(err);
                }
                match chain.recover(&copy, cause) {
                    Some(degraded) => {
                        self.shared().metrics.fallback(degraded.source.as_str());
                        Ok(fallback_answer(degraded, cause, self.name()))
                    }
                    None => Err(err),
                }
            }
        }
    }

    /// The wrapped dependency.
    pub fn dependency(&self) -> &Arc<D> {
        &self.dependency
    }

    /// The control surface (also reachable through `Deref`).
    pub fn controls(&self) -> &Controls {
        &self.controls
    }
}

/// A fallback stage's answer as the call's answer (logged; the caller counts it).
pub(crate) fn fallback_answer<T>(
    degraded: Degraded<T>,
    cause: FallbackCause,
    dependency: &str,
) -> Answer<T> {
    tracing::info!(
        dependency,
        source = %degraded.source,
        %cause,
        "answered by fallback"
    );
    Answer {
        value: degraded.value,
        source: AnswerSource::Fallback {
            source: degraded.source,
            cause,
        },
    }
}

/// The fallback cause a failed call stands for.
pub(crate) fn fallback_cause(err: &CallError) -> FallbackCause {
    match err {
        CallError::CircuitOpen { .. } => FallbackCause::CircuitOpen,
        CallError::BulkheadFull { .. } => FallbackCause::BulkheadFull,
        CallError::Timeout { .. } => FallbackCause::Timeout,
        CallError::Failed { last, .. } if last.is_transient() => FallbackCause::RetriesExhausted,
        CallError::Failed { .. } => FallbackCause::Failed,
        CallError::Panicked { .. } => FallbackCause::Panicked,
    }
}
