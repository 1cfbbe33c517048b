//! Password hashing and checking, with bounded concurrency (SPEC §7). argon2id is slow and
//! memory-hard on purpose — about 19 MiB and tens of milliseconds of CPU per check — so a flood
//! of sign-ins run as they arrive would take the memory and the cores of the whole server. At
//! most `slots` run at once (one per core), at most `queue` more wait; past that a sign-in is
//! refused at once with `Error::Busy` (503, `Retry-After`) instead of queueing without end.

use crate::domain::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordWork {
    slots: Arc<Semaphore>,
    /// Requests running or waiting.
    admitted: Arc<AtomicUsize>,
    limit: usize,
}

/// Leaves the queue when the request is done, or dropped (a client that went away).
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordWork {
    /// `slots` at once (at least one), `queue` more waiting.
    pub fn new(slots: usize, queue: usize) -> PasswordWork {
        let slots = slots.max(1);
        PasswordWork {
            slots: Arc::new(Semaphore::new(slots)),
            admitted: Arc::new(AtomicUsize::new(0)),
            limit: slots + queue,
        }
    }

    /// One per core, and four per core waiting.
    pub fn for_this_machine() -> PasswordWork {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordWork::new(cores, 4 * cores)
    }

    /// Runs `work` on the blocking pool once a slot is free, or refuses at once when the queue
    /// is full. Once started, `work` runs to its end and holds its slot until then, even if the
    /// request is dropped: the bound holds for what actually runs.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Busy);
        }
        let _admitted = Admitted(self.admitted.clone());
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::internal(anyhow::anyhow!("password slots closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("password work failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_slots_run_and_past_the_queue_it_refuses_at_once() {
        let work = PasswordWork::new(2, 3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (work, running, peak) = (work.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                work.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        let mut done = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(()) => done += 1,
                Err(Error::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            2,
            "never more than the slots at once"
        );
        assert_eq!(done + busy, 20);
        assert!((5..20).contains(&done), "slots and queue served: {done}");
        assert!(busy > 0);
        // Once the flood is over, work is admitted again.
        assert_eq!(work.run(|| 7).await.ok(), Some(7));
    }
}
