//! Password hashing and checking, with bounded concurrency (SPEC §7). argon2id is slow and
//! memory-hard on purpose — about 19 MiB and tens of milliseconds of CPU per check — so a flood
//! of sign-ins run as they arrive would take the memory and the cores of the whole server.
//!
//! The work runs on a few dedicated threads (one per two cores), with room for a few more jobs
//! waiting (eight per thread). A request first takes a place ([`PasswordWork::admit`]); with
//! none free it is refused at once with `Error::Busy` (503, `Retry-After`) before it does any
//! work at all — no queueing without end, no database write for an attempt that will not be
//! checked. The threads run at the lowest CPU priority (nice 19) and work a quarter of their
//! time at most ([`DUTY`]): a flood of sign-ins then slows sign-ins, not the pipelines' events
//! or the pages (measured: ingestion lost three quarters of its rate to 100 wrong sign-ins a
//! second with a thread per core at normal priority).
//!
//! Dedicated, long-lived threads matter for memory too: each thread keeps its 19 MiB for its
//! next check (`secret`), where the runtime's blocking pool (threads that come and go, each
//! with its own allocator arena) left a copy behind in every arena it touched — over a
//! gigabyte after a flood, measured (docs/performance.md).

use crate::domain::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordWork {
    queue: Sender<Job>,
    /// Places taken: jobs running, waiting, or about to be sent.
    taken: Arc<AtomicUsize>,
    places: usize,
}

/// A place for one job, taken by [`PasswordWork::admit`]; given back when the job has run
/// (or when it is dropped unused).
pub struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The share of its time a password thread may spend working: after a job that took `d`, it
/// rests `3d`. Priorities alone do not protect the rest of the server: argon2 fills caches and
/// memory bandwidth that the writer thread needs, and at nice 19 a password thread still took
/// 8 CPU-seconds in 10 s of 100 wrong sign-ins a second, costing ingestion 30 % of its rate
/// (docs/performance.md). A quarter of a thread per two cores is still ~15 checks a second per
/// thread on the slowest machine measured, far more than people sign in.
const DUTY: f64 = 0.25;

/// Runs jobs until the application stops (every sender gone).
fn serve(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // One thread takes the next job; the others wait for the lock.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                let started = std::time::Instant::now();
                job();
                // The answer has gone out; now the rest.
                std::thread::sleep(started.elapsed().mul_f64((1.0 - DUTY) / DUTY));
            }
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
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("passwords-{i}"))
                .spawn(move || {
                    lower_priority();
                    serve(&rx);
                })
                .expect("starting a password thread");
        }
        PasswordWork {
            queue: tx,
            taken: Arc::new(AtomicUsize::new(0)),
            places: threads + queue,
        }
    }

    /// One thread per two cores (at least one), and eight waiting per thread (room for the
    /// five attempts a name may make before it is locked, all at once). Even at the lowest
    /// priority, a thread per core cost ingestion a quarter of its rate during 100 wrong
    /// sign-ins a second on two cores: argon2 competes for caches and memory bandwidth, which
    /// priorities do not share out (hence also [`DUTY`]).
    pub fn for_this_machine() -> PasswordWork {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (cores / 2).max(1);
        PasswordWork::new(threads, 8 * threads)
    }

    /// Takes a place for one job, or refuses at once (`Error::Busy`) when every place is
    /// taken: call it before doing anything on the job's behalf.
    pub fn admit(&self) -> Result<Place, Error> {
        if self.taken.fetch_add(1, Ordering::AcqRel) >= self.places {
            self.taken.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Busy);
        }
        Ok(Place(Arc::clone(&self.taken)))
    }

    /// Runs `work` on a password thread in the place taken. Once sent, `work` runs to its end
    /// and keeps its place until then, even if the request is dropped: the bound holds for
    /// what actually runs.
    pub async fn run_in<T, F>(&self, place: Place, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
            drop(place);
        });
        self.queue
            .send(job)
            .map_err(|_| Error::internal(anyhow::anyhow!("the password threads stopped")))?;
        answered
            .await
            .map_err(|e| Error::internal(anyhow::anyhow!("password work failed: {e}")))
    }

    /// [`admit`](Self::admit), then [`run_in`](Self::run_in).
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let place = self.admit()?;
        self.run_in(place, work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(
            done, 5,
            "the threads and the queue are served, the rest refused"
        );
        assert!(busy > 0);
        // Once the flood is over, work is admitted again.
        assert_eq!(work.run(|| 7).await.ok(), Some(7));
    }
}
