//! Why a child exited, and what its supervisor does about it.
//!
//! [`ExitReason::from_event`] is the one place where ractor's [`SupervisionEvent`] is turned into a
//! typed reason; [`decide`] is OTP's decision table of (restart type, exit reason).
//!
//! The classification looks at the event's kind only, never at the text of a stop reason: ractor
//! reports a kill signal as `ActorTerminated` with the reason text `"killed"`, exactly what an
//! actor produces with `myself.stop(Some("killed".into()))`. Reading the text would restart a
//! transient child that stopped itself gracefully with an unlucky word. So `ActorTerminated` is a
//! normal exit whatever its text, `ActorFailed` (error or panic) an abnormal one, and
//! [`ExitReason::Killed`] comes from the supervisor's own knowledge: it is what the supervisor
//! reports for a child it had to kill.

use std::fmt;
use std::sync::Arc;

use ractor::{ActorCell, SpawnErr, SupervisionEvent};

use crate::spec::Restart;

/// Why a child stopped running.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ExitReason {
    /// Stopped with no reason (`myself.stop(None)`): a normal exit.
    Normal,
    /// Stopped with a reason (`myself.stop(Some(..))`, a drain, or a kill signal from outside the
    /// supervisor, which ractor reports the same way): a normal exit, like OTP's
    /// `{shutdown, Term}`. The text is for people; it is never interpreted.
    Shutdown(String),
    /// Killed by its own supervisor (brutal shutdown, or it did not stop within its shutdown
    /// timeout): abnormal.
    Killed,
    /// A handler returned an error or panicked: abnormal.
    Failed(Arc<dyn std::error::Error + Send + Sync>),
    /// A (re)start failed: spawning or `pre_start` failed or panicked. Abnormal.
    StartFailed(Arc<SpawnErr>),
}

impl ExitReason {
    /// Maps a ractor supervision event to the actor it is about and why it exited. Returns `None`
    /// for events that are not exits (started, process-group changes).
    pub fn from_event(event: SupervisionEvent) -> Option<(ActorCell, ExitReason)> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _state, reason) => {
                Some((cell, reason.map_or(Self::Normal, Self::Shutdown)))
            }
            SupervisionEvent::ActorFailed(cell, err) => Some((cell, Self::Failed(Arc::from(err)))),
            _ => None,
        }
    }

    /// Whether OTP would call this exit normal (a transient child is then not restarted).
    pub fn is_normal(&self) -> bool {
        matches!(self, Self::Normal | Self::Shutdown(_))
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Shutdown(r) => write!(f, "shutdown: {r}"),
            Self::Killed => f.write_str("killed"),
            Self::Failed(e) => write!(f, "failed: {e}"),
            Self::StartFailed(e) => write!(f, "start failed: {e}"),
        }
    }
}

impl std::error::Error for ExitReason {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Failed(e) => Some(e.as_ref()),
            Self::StartFailed(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// What the supervisor does with an exited child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Restart it (and, depending on the strategy, some siblings).
    Restart,
    /// Keep its specification, leave it stopped (transient child that exited normally).
    Keep,
    /// Forget it (temporary child).
    Remove,
}

/// OTP's restart decision: permanent → restart; transient → restart unless the exit was normal;
/// temporary → remove.
pub fn decide(restart: Restart, reason: &ExitReason) -> Decision {
    match restart {
        Restart::Permanent => Decision::Restart,
        Restart::Transient if reason.is_normal() => Decision::Keep,
        Restart::Transient => Decision::Restart,
        Restart::Temporary => Decision::Remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> ExitReason {
        ExitReason::Failed(Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(
            "boom",
        )))
    }

    #[test]
    fn decision_table() {
        let normal = [ExitReason::Normal, ExitReason::Shutdown("done".into())];
        let abnormal = [
            failed(),
            ExitReason::Killed,
            ExitReason::StartFailed(Arc::new(SpawnErr::ActorAlreadyStarted)),
        ];
        for r in &normal {
            assert_eq!(decide(Restart::Permanent, r), Decision::Restart);
            assert_eq!(decide(Restart::Transient, r), Decision::Keep);
            assert_eq!(decide(Restart::Temporary, r), Decision::Remove);
        }
        for r in &abnormal {
            assert_eq!(decide(Restart::Permanent, r), Decision::Restart);
            assert_eq!(decide(Restart::Transient, r), Decision::Restart);
            assert_eq!(decide(Restart::Temporary, r), Decision::Remove);
        }
    }

    #[test]
    fn failure_keeps_its_source() {
        let r = failed();
        assert_eq!(r.to_string(), "failed: boom");
        assert_eq!(
            std::error::Error::source(&r)
                .map(ToString::to_string)
                .as_deref(),
            Some("boom")
        );
    }
}
