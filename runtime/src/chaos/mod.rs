//! Fault injection: wrap any [`Dependency`] in [`Chaos`] and change
//! its faults while it runs.
//!
//! A [`FaultPlan`] sets an error rate (transient or permanent errors), added latency drawn from a
//! [`Latency`] distribution, a hang rate (the call never answers, so only the guard's deadline ends
//! it) and a panic rate (the dependency's code panics inside the call; the guard answers the caller
//! and the owning actor is restarted). The plan lives behind a [`FaultControl`] that can be swapped
//! at any moment, which is how chaos scenarios break and heal a dependency on a schedule.
//!
//! ```
//! use std::time::Duration;
//! use bulwark_runtime::chaos::{Chaos, FaultPlan, Latency};
//! # use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError};
//! # struct Echo;
//! # impl Dependency for Echo {
//! #     type Request = u32;
//! #     type Response = u32;
//! #     async fn call(&self, req: u32, _: &CallContext) -> Result<u32, DependencyError> { Ok(req) }
//! # }
//!
//! let chaos = Chaos::new(Echo);
//! let control = chaos.control();
//! control.set(FaultPlan { error_rate: 0.5, latency: Latency::Fixed(Duration::from_millis(20)), ..FaultPlan::default() })?;
//! assert_eq!(control.plan().error_rate, 0.5);
//! control.heal();
//! assert!(control.plan().is_healthy());
//! assert!(control.set(FaultPlan::failing(1.5)).is_err(), "rates are checked");
//! # Ok::<(), bulwark_runtime::chaos::InvalidFaultPlan>(())
//! ```

mod plan;

use std::sync::Arc;

use arc_swap::ArcSwap;
use rand::Rng;

use crate::dependency::{CallContext, Dependency, DependencyError, Probe};

pub use plan::{FaultPlan, InjectedFault, InvalidFaultPlan, Latency};

/// A shared, swappable [`FaultPlan`].
#[derive(Debug, Clone, Default)]
pub struct FaultControl(Arc<ArcSwap<FaultPlan>>);

impl FaultControl {
    /// Installs a new plan after checking it (an error rate outside [0, 1], say, is refused
    /// and the plan in force stays); calls that start afterwards follow it.
    pub fn set(&self, plan: FaultPlan) -> Result<(), InvalidFaultPlan> {
        plan.validate()?;
        self.0.store(Arc::new(plan));
        Ok(())
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.0.store(Arc::new(FaultPlan::default()));
    }

    /// The plan in force.
    pub fn plan(&self) -> FaultPlan {
        FaultPlan::clone(&self.0.load())
    }
}

/// A dependency with injected faults.
#[derive(Debug)]
pub struct Chaos<D> {
    inner: D,
    control: FaultControl,
}

/// What the plan decided for one call.
enum Fault {
    None,
    Error(DependencyError),
    Hang,
    Panic,
}

impl<D> Chaos<D> {
    /// Wraps `inner` with no faults.
    pub fn new(inner: D) -> Self {
        Self::with_control(inner, FaultControl::default())
    }

    /// Wraps `inner`, following an existing control (several dependencies can share one).
    pub fn with_control(inner: D, control: FaultControl) -> Self {
        Self { inner, control }
    }

    /// The control that changes this dependency's faults.
    pub fn control(&self) -> FaultControl {
        self.control.clone()
    }

    /// The wrapped dependency.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    async fn inject(&self, allow_panic: bool) -> Fault {
        let plan = self.control.0.load_full();
        if plan.is_healthy() {
            return Fault::None;
        }
        let (delay, roll_hang, roll_panic, roll_error) = {
            let mut rng = rand::rng();
            (
                plan.latency.sample(&mut rng),
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
            )
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if roll_hang < plan.hang_rate {
            return Fault::Hang;
        }
        if allow_panic && roll_panic < plan.panic_rate {
            return Fault::Panic;
        }
        if roll_error < plan.error_rate {
            let err = InjectedFault::Error;
            return Fault::Error(if plan.permanent_errors {
                DependencyError::permanent(err)
            } else {
                DependencyError::transient(err)
            });
        }
        Fault::None
    }
}

impl<D: Dependency> Dependency for Chaos<D> {
    type Request = D::Request;
    type Response = D::Response;

    async fn call(
        &self,
        req: D::Request,
        ctx: &CallContext,
    ) -> Result<D::Response, DependencyError> {
        match self.inject(true).await {
            Fault::None => self.inner.call(req, ctx).await,
            Fault::Error(err) => Err(err),
            Fault::Hang => std::future::pending().await,
            Fault::Panic => panic!("chaos: injected panic in dependency call"),
        }
    }

    async fn probe(&self, ctx: &CallContext) -> Probe {
        match self.inject(false).await {
            Fault::None | Fault::Panic => self.inner.probe(ctx).await,
            Fault::Error(err) => Probe::Unhealthy(err),
            Fault::Hang => std::future::pending().await,
        }
    }

    async fn reset(&self) {
        self.inner.reset().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Echo;
    impl Dependency for Echo {
        type Request = u32;
        type Response = u32;
        async fn call(&self, req: u32, _: &CallContext) -> Result<u32, DependencyError> {
            Ok(req)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn healthy_plan_passes_through() {
        let chaos = Chaos::new(Echo);
        assert_eq!(chaos.call(7, &CallContext::untracked()).await.unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn full_error_rate_always_fails_transiently() {
        let chaos = Chaos::new(Echo);
        chaos.control().set(FaultPlan::failing(1.0)).unwrap();
        for _ in 0..20 {
            let err = chaos.call(1, &CallContext::untracked()).await.unwrap_err();
            assert!(err.is_transient());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn latency_is_added_on_virtual_time() {
        let chaos = Chaos::new(Echo);
        chaos
            .control()
            .set(FaultPlan {
                latency: Latency::Fixed(Duration::from_millis(300)),
                ..FaultPlan::default()
            })
            .unwrap();
        let start = tokio::time::Instant::now();
        chaos.call(1, &CallContext::untracked()).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn hang_never_answers() {
        let chaos = Chaos::new(Echo);
        chaos
            .control()
            .set(FaultPlan {
                hang_rate: 1.0,
                ..FaultPlan::default()
            })
            .unwrap();
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            chaos.call(1, &CallContext::untracked()),
        )
        .await;
        assert!(out.is_err());
    }

    #[test]
    fn an_invalid_plan_is_refused_and_the_old_one_stays() {
        let chaos = Chaos::new(Echo);
        chaos.control().set(FaultPlan::failing(0.5)).unwrap();
        assert!(chaos.control().set(FaultPlan::failing(-0.1)).is_err());
        assert_eq!(chaos.control().plan().error_rate, 0.5);
    }

    #[tokio::test(start_paused = true)]
    async fn error_rate_is_roughly_respected() {
        let chaos = Chaos::new(Echo);
        chaos.control().set(FaultPlan::failing(0.3)).unwrap();
        let mut failures = 0;
        for _ in 0..2000 {
            if chaos.call(1, &CallContext::untracked()).await.is_err() {
                failures += 1;
            }
        }
        assert!((450..=750).contains(&failures), "{failures}");
    }
}
