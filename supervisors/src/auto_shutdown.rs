//! Automatic shutdown on significant children (OTP 24, EEP 56).
//!
//! A child marked significant ([`ChildSpec::with_significant`](crate::ChildSpec::with_significant))
//! is one the supervisor's subtree exists for: a pipeline whose essential worker has finished has
//! no reason to keep its helpers running. When a significant child *terminates for good* — a
//! transient one exits normally, a temporary one exits for any reason — a supervisor whose
//! [`AutoShutdown`] says so stops its other children (reverse start order) and then itself,
//! normally (with a reason), so a transient or temporary parent does not restart it.
//!
//! As in OTP, only a child's own exit counts: terminating a significant child through
//! [`SupervisorRef::terminate_child`](crate::SupervisorRef::terminate_child), or stopping it as
//! part of a group restart, never shuts the supervisor down; a significant child must be transient
//! or temporary (a permanent one never terminates for good), and significant children are refused
//! under `AutoShutdown::Never`.

use serde::{Deserialize, Serialize};

/// When a supervisor shuts itself down because significant children terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoShutdown {
    /// Never (the default); significant children are refused.
    #[default]
    Never,
    /// As soon as any significant child terminates for good.
    AnySignificant,
    /// When the last significant child still alive (running or waiting for a restart) terminates
    /// for good.
    AllSignificant,
}

impl AutoShutdown {
    /// Whether the supervisor shuts down now that a significant child terminated for good;
    /// `another_alive` tells whether some other significant child is running or restarting (only
    /// asked for [`AutoShutdown::AllSignificant`]).
    pub(crate) fn after_significant_exit(self, another_alive: impl FnOnce() -> bool) -> bool {
        match self {
            Self::Never => false,
            Self::AnySignificant => true,
            Self::AllSignificant => !another_alive(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_table() {
        for alive in [false, true] {
            assert!(!AutoShutdown::Never.after_significant_exit(|| alive));
            assert!(AutoShutdown::AnySignificant.after_significant_exit(|| alive));
        }
        assert!(AutoShutdown::AllSignificant.after_significant_exit(|| false));
        assert!(!AutoShutdown::AllSignificant.after_significant_exit(|| true));
    }
}
