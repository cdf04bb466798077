//! [`HashPool`]: a fixed set of OS threads for argon2, with a queue per priority.
//!
//! Hashing is CPU-bound for tens of milliseconds. On tokio's workers it would stall every task
//! sharing the worker; on tokio's blocking pool it would run on as many threads as there are
//! concurrent requests (up to 512), taking every core from request handling. Here at most
//! `threads` hashes run at once, whatever the load, so the other cores stay free for token
//! validation. Logins (critical) are taken before registrations (non-critical). The queues are
//! bounded; admission in front of them is the hasher's bulkhead.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use bulwark_runtime::bulkhead::Priority;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queues {
    critical: VecDeque<Job>,
    non_critical: VecDeque<Job>,
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
    capacity: usize,
    busy: AtomicU32,
    peak: AtomicU32,
    started: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_job(&self) -> Option<Job> {
        let mut queues = self.lock();
        loop {
            if let Some(job) = queues.critical.pop_front() {
                return Some(job);
            }
            if let Some(job) = queues.non_critical.pop_front() {
                return Some(job);
            }
            if queues.closed {
                return None;
            }
            queues = self
                .ready
                .wait(queues)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn work(&self) {
        while let Some(job) = self.next_job() {
            // Counted before the job runs: its answer is sent from inside the job, so a caller
            // that got the answer already sees the count.
            self.started.fetch_add(1, Ordering::Relaxed);
            let busy = self.busy.fetch_add(1, Ordering::Relaxed) + 1;
            self.peak.fetch_max(busy, Ordering::Relaxed);
            job();
            self.busy.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The pool refused a job: its queue for that priority is full, or it is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("hashing pool queue is full")]
pub struct PoolFull;

/// The job panicked (the thread survives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("hashing job panicked")]
pub struct JobPanicked;

/// A fixed pool of hashing threads. Dropping it lets the threads finish the queued jobs and exit.
pub struct HashPool {
    shared: Arc<Shared>,
    threads: u32,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.threads)
            .field("busy", &self.busy())
            .finish()
    }
}

impl HashPool {
    /// Starts `threads` threads; each priority queues at most `capacity` jobs.
    pub fn new(threads: u32, capacity: usize) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            capacity,
            busy: AtomicU32::new(0),
            peak: AtomicU32::new(0),
            started: AtomicU64::new(0),
        });
        for i in 0..threads.max(1) {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("bulwark-hash-{i}"))
                .spawn(move || shared.work())?;
        }
        Ok(Self {
            shared,
            threads: threads.max(1),
        })
    }

    /// Queues `work`; the answer arrives on the returned future. A job whose caller went away
    /// before a thread took it is skipped.
    pub fn run<T, F>(
        &self,
        priority: Priority,
        work: F,
    ) -> Result<impl Future<Output = Result<T, JobPanicked>> + use<T, F>, PoolFull>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            if tx.is_closed() {
                return;
            }
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(work));
            let _ = tx.send(outcome.map_err(|_| JobPanicked));
        });
        {
            let mut queues = self.shared.lock();
            if queues.closed {
                return Err(PoolFull);
            }
            let queue = match priority {
                Priority::Critical => &mut queues.critical,
                Priority::NonCritical => &mut queues.non_critical,
            };
            if queue.len() >= self.shared.capacity {
                return Err(PoolFull);
            }
            queue.push_back(job);
        }
        self.shared.ready.notify_one();
        Ok(async move { rx.await.unwrap_or(Err(JobPanicked)) })
    }

    /// Threads in the pool.
    pub fn threads(&self) -> u32 {
        self.threads
    }

    /// Jobs running now.
    pub fn busy(&self) -> u32 {
        self.shared.busy.load(Ordering::Relaxed)
    }

    /// Jobs taken by a thread since start (skipped ones included: a cancelled job still took
    /// its thread for the check). A job's count is visible before its answer.
    pub fn started(&self) -> u64 {
        self.shared.started.load(Ordering::Relaxed)
    }

    /// The most jobs ever running at once (never more than [`threads`](Self::threads)).
    pub fn peak_busy(&self) -> u32 {
        self.shared.peak.load(Ordering::Relaxed)
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test]
    async fn critical_jobs_go_first_and_the_queue_is_bounded() {
        let pool = HashPool::new(1, 2).unwrap();
        // Hold the only thread until the queue is arranged.
        let (release, hold) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let blocker = pool
            .run(Priority::Critical, move || {
                started_tx.send(()).unwrap();
                hold.recv().unwrap();
            })
            .unwrap();
        started.recv().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let push = |tag: &'static str| {
            let order = Arc::clone(&order);
            move || order.lock().unwrap().push(tag)
        };
        let a = pool.run(Priority::NonCritical, push("register-1")).unwrap();
        let b = pool.run(Priority::NonCritical, push("register-2")).unwrap();
        assert!(pool.run(Priority::NonCritical, push("register-3")).is_err());
        let c = pool.run(Priority::Critical, push("login")).unwrap();
        release.send(()).unwrap();
        blocker.await.unwrap();
        let _ = futures::join!(a, b, c);
        assert_eq!(
            *order.lock().unwrap(),
            ["login", "register-1", "register-2"]
        );
        assert_eq!(pool.peak_busy(), 1);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_thread_lives_on() {
        let pool = HashPool::new(1, 4).unwrap();
        let boom = pool.run(Priority::Critical, || -> u32 { panic!("argon2 exploded") });
        assert_eq!(boom.unwrap().await, Err(JobPanicked));
        let fine = pool.run(Priority::Critical, || 7u32).unwrap().await;
        assert_eq!(fine, Ok(7));
    }
}
