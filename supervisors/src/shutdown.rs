//! Stopping one child: ask, wait its timeout, then kill (OTP's shutdown).

use ractor::ActorCell;

use crate::decision::ExitReason;
use crate::spec::Shutdown;

/// Reason given to children stopped by their supervisor.
pub(crate) const SHUTDOWN_REASON: &str = "supervisor shutdown";

/// Stops one child, bounded unless `Shutdown::Infinity`, and says how it ended: a graceful
/// [`ExitReason::Shutdown`] or, when it had to be killed, [`ExitReason::Killed`] (the only place
/// that reason comes from: the supervisor knows what it killed).
pub(crate) async fn shutdown_child(cell: &ActorCell, shutdown: Shutdown) -> ExitReason {
    let graceful = || ExitReason::Shutdown(SHUTDOWN_REASON.to_owned());
    match shutdown {
        Shutdown::Brutal => {
            let _ = cell.kill_and_wait(None).await;
            ExitReason::Killed
        }
        Shutdown::Timeout(limit) => {
            if cell
                .stop_and_wait(Some(SHUTDOWN_REASON.to_owned()), Some(limit))
                .await
                .is_ok()
            {
                return graceful();
            }
            tracing::warn!(
                actor = %cell.get_id(),
                timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "child did not stop in time; killing it"
            );
            let _ = cell.kill_and_wait(None).await;
            ExitReason::Killed
        }
        Shutdown::Infinity => {
            let _ = cell
                .stop_and_wait(Some(SHUTDOWN_REASON.to_owned()), None)
                .await;
            graceful()
        }
    }
}
