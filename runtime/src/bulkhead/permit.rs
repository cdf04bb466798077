//! [`BulkheadPermit`]: one slot, released when dropped.

use super::Priority;
use super::adaptive::LimitSample;
use super::class::Class;

/// A slot in the bulkhead; dropping it frees the slot and wakes one waiter of its class.
///
/// The permit borrows the [`Bulkhead`](super::Bulkhead), so a slot can never outlive it and can
/// never be released twice.
#[derive(Debug)]
#[must_use = "the slot is released when the permit is dropped"]
pub struct BulkheadPermit<'a> {
    class: &'a Class,
    priority: Priority,
}

impl<'a> BulkheadPermit<'a> {
    /// Wraps a slot already taken from `class`. Only the bulkhead builds permits, and only after
    /// a successful admission (never eagerly: dropping a permit releases a slot).
    pub(super) fn taken(class: &'a Class, priority: Priority) -> Self {
        Self { class, priority }
    }

    /// The class of the slot.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Releases the slot after telling the class's adaptive limit (if it has one) how the call
    /// went. Dropping the permit instead releases it without a sample.
    #[inline]
    pub fn measured(self, sample: LimitSample) {
        self.class.measured(sample);
    }
}

impl Drop for BulkheadPermit<'_> {
    fn drop(&mut self) {
        self.class.release();
    }
}
