//! The application-wide memory budget: the bytes of every in-process
//! session's Contents, counted as the sessions change, with a ceiling.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{self, Error, Result};

/// Bytes in use by the sessions charged to it, and the most allowed.
#[derive(Debug)]
pub struct MemoryBudget {
    used: AtomicUsize,
    /// 0: unlimited (still counted).
    limit: usize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes (0: unlimited).
    pub fn new(limit: usize) -> MemoryBudget {
        MemoryBudget {
            used: AtomicUsize::new(0),
            limit,
        }
    }

    /// Bytes charged now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// `E_MEMORY_BUDGET` unless `more` bytes fit now (changes nothing).
    pub(super) fn check(&self, more: usize) -> Result<()> {
        let used = self.used();
        if self.limit != 0 && used.saturating_add(more) > self.limit {
            return Err(self.exhausted(used, more));
        }
        Ok(())
    }

    /// Charges `more` bytes if they fit, else `E_MEMORY_BUDGET` and nothing
    /// charged.
    pub(super) fn take(&self, more: usize) -> Result<()> {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                let after = used.checked_add(more)?;
                (self.limit == 0 || after <= self.limit).then_some(after)
            })
            .map(drop)
            .map_err(|used| self.exhausted(used, more))
    }

    /// Charges `more` bytes even past the limit (undoing a removal restores
    /// bytes the budget held before).
    pub(super) fn force(&self, more: usize) {
        self.used.fetch_add(more, Ordering::Relaxed);
    }

    /// Returns `less` bytes.
    pub(super) fn give_back(&self, less: usize) {
        self.used.fetch_sub(less, Ordering::Relaxed);
    }

    fn exhausted(&self, used: usize, more: usize) -> Error {
        Error::new(
            error::E_MEMORY_BUDGET,
            format!(
                "the application's sessions hold {used} bytes; {more} more would pass \
                 its memory budget of {} bytes",
                self.limit
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_up_to_the_limit() {
        let b = MemoryBudget::new(10);
        b.take(6).unwrap();
        assert_eq!(b.check(5).unwrap_err().code(), error::E_MEMORY_BUDGET);
        assert_eq!(b.take(5).unwrap_err().code(), error::E_MEMORY_BUDGET);
        assert_eq!(b.used(), 6);
        b.take(4).unwrap();
        b.give_back(7);
        b.force(20);
        assert_eq!(b.used(), 23);
        assert_eq!(b.take(1).unwrap_err().code(), error::E_MEMORY_BUDGET);
        let unlimited = MemoryBudget::new(0);
        unlimited.take(usize::MAX / 2).unwrap();
        assert_eq!(
            unlimited.take(usize::MAX).unwrap_err().code(),
            error::E_MEMORY_BUDGET
        );
    }
}
