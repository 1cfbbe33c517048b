//! Password hashing and checking, with bounded concurrency (SPEC §7). argon2id is slow and
//! memory-hard on purpose — about 19 MiB and tens of milliseconds of CPU per check — so a flood
//! of sign-ins run as they arrive would take the memory and the cores of the whole server.
//!
//! The work runs on a few dedicated threads (one per core), fed by a short queue (four per
//! core); past that a request is refused at once with `Error::Busy` (503, `Retry-After`)
//! instead of queueing without end. The threads run at the lowest CPU priority (nice 19): a
//! flood of sign-ins then slows sign-ins, not the pipelines' events or the pages (measured:
//! ingestion lost three quarters of its rate to 100 wrong sign-ins a second at normal
//! priority). Dedicated, long-lived threads matter for memory too: each
//! thread's 19 MiB is reused by its next check, where the runtime's blocking pool (threads
//! that come and go, each with its own allocator arena) left a copy behind in every arena it
//! touched — over a gigabyte after a flood, measured (docs/performance.md).

use crate::domain::Error;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordWork {
    queue: SyncSender<Job>,
}

/// Runs jobs until the application stops (every sender gone).
fn serve(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // One thread takes the next job; the others wait for the lock.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Nice 19 for the calling thread (Linux: a thread's own priority). Where that is refused,
/// the work runs at normal priority, still bounded in number.
fn lower_priority() {
    let me = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(me), 19) {
        tracing::debug!(error = %e, "password thread keeps its priority");
    }
}

impl PasswordWork {
    /// `threads` at work (at least one), `queue` more waiting.
    pub fn new(threads: usize, queue: usize) -> PasswordWork {
        let (tx, rx) = mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("passwords-{i}"))
                .spawn(move || {
                    lower_priority();
                    serve(&rx);
                })
                .expect("starting a password thread");
        }
        PasswordWork { queue: tx }
    }

    /// One thread per core, and four per core waiting.
    pub fn for_this_machine() -> PasswordWork {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordWork::new(cores, 4 * cores)
    }

    /// Runs `work` on a password thread, or refuses at once when the queue is full. Once
    /// queued, `work` runs to its end even if the request is dropped: the bound holds for what
    /// actually runs.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Error::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::internal(anyhow::anyhow!(
                    "the password threads stopped"
                )))
            }
        }
        answered
            .await
            .map_err(|e| Error::internal(anyhow::anyhow!("password work failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_threads_run_and_past_the_queue_it_refuses_at_once() {
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
        // At least the queue is served (the threads may not have taken their first jobs yet).
        assert!((3..20).contains(&done), "threads and queue served: {done}");
        assert!(busy > 0);
        // Once the flood is over, work is admitted again.
        assert_eq!(work.run(|| 7).await.ok(), Some(7));
    }
}
