//! Group commit: writer threads, many waiters.
//!
//! SQLite has one writer at a time, and with `synchronous=FULL` every commit waits for an
//! fsync. Committing each event on its own caps ingestion at the disk's fsync rate. Instead,
//! every write is queued to a writer thread; it takes whatever has queued up (up to a batch
//! limit), runs each write in its own SAVEPOINT inside one transaction, commits once, and only
//! then answers every waiter. A write that fails rolls back to its savepoint alone; nobody is
//! answered before the commit that holds their change is durable.
//!
//! PostgreSQL gets the same treatment (several writer threads, "lanes", each with its own
//! connection): a transaction per event paid a commit (a WAL flush) and its round trips of
//! BEGIN/COMMIT per event. Two things differ there:
//! - Batches are capped at [`PG_MAX_BATCH`]: each write's savepoint becomes a subtransaction,
//!   and past 64 of them in one transaction PostgreSQL's snapshots overflow their subxid cache
//!   and every other backend slows down.
//! - A batch holds the advisory locks of all its writes until it commits. To never wait while
//!   holding locks (two batches — lanes here or in another server instance — could wait on
//!   each other), only a batch's first lock may block; later ones are tried
//!   ([`catalog::lock_key`](super::catalog::lock_key) asks [`may_block_on_lock`]). A write
//!   that finds its lock taken is rolled back to its savepoint and runs again at the head of
//!   the next batch, once this one has committed and let its locks go. A write PostgreSQL
//!   fails to break a deadlock is deferred the same way (row locks can still make two batches
//!   wait on each other: two lanes recording one API key's use, say).
//! - A batch's deployment events are recorded together first, in a few set-based statements
//!   (`store::ingest::batch`), rather than with three statements each; what cannot go
//!   together runs one by one after them.
//!
//! A write is a closure over the transaction's connection that returns a [`TxResult`]: its
//! value, a storage error (which the writer may answer by running it again: a busy lock, a
//! deadlock, a lost race), or the closure's own reason to stop (`TxError::Abort`, a broken
//! rule), which rolls back its savepoint and is handed back as it is.

use super::error::{StoreError, TxError, TxResult};
use super::ingest::{self, batch, Recorded};
use super::pool::{write_transaction, AnyConnection, Manager, MAX_WRITE_ATTEMPTS, PING_AFTER_IDLE};
use crate::domain::deployment::DeploymentEvent;
use crate::domain::Error;
use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::Connection;
use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;
use tokio::sync::oneshot;

/// Most writes committed together on SQLite. Bounded so that one commit never holds the lock
/// for long.
pub const MAX_BATCH: usize = 512;

/// Most writes committed together on PostgreSQL: below the 64 subtransactions a backend can
/// track before its snapshots overflow (see the module documentation).
pub const PG_MAX_BATCH: usize = 60;

/// Writes waiting on one writer lane past which new ones are refused (`StoreError::QueueFull`,
/// answered 503 with `Retry-After`) instead of queued: well under two seconds of a lane's work
/// at the rates docs/performance.md measures. Past that, a queue only adds latency and memory
/// until clients time out and send again; a refusal tells them to come back, and pipelines
/// retry it (SPEC §8).
pub const MAX_QUEUED: usize = 4096;

/// Writer threads on PostgreSQL, unless configured (`--pg-writer-lanes`). Since a batch's
/// events are recorded together (`store::ingest::batch`), one lane does most: its batches are
/// larger, and no two batches of the server wait on each other's rows (docs/performance.md,
/// sixth pass, has the figures for one, two and four lanes). A database server with more cores
/// may want more.
pub const PG_LANES: usize = 1;

thread_local! {
    /// On a writer thread inside a batch: whether the batch holds an advisory lock already.
    /// `None` everywhere else (a plain transaction may always wait for its locks).
    static BATCH_LOCKS: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Whether the current transaction may wait for an advisory lock: always, except inside a
/// group-commit batch that already holds one. Records that a lock is now held.
pub(crate) fn may_block_on_lock() -> bool {
    BATCH_LOCKS.with(|held| match held.get() {
        None => true,
        Some(true) => false,
        Some(false) => {
            held.set(Some(true));
            true
        }
    })
}

/// Whether a write that failed with `e` should run again in the next batch rather than here:
/// its advisory lock was busy, or PostgreSQL broke a deadlock by failing it. Either way another
/// transaction waits for, or holds, what this batch holds (after a deadlock, maybe a row an
/// earlier write of the batch took: two lanes both recording an API key's use and both
/// creating one release name), so running it again in this batch would only wait or deadlock
/// again.
fn defer<E>(e: &TxError<E>) -> bool {
    matches!(e, TxError::Store(s) if matches!(s, StoreError::LockBusy) || s.is_deadlock())
}

/// What running a write inside a batch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    /// Done, successfully or not: deliver its result after the commit.
    Done,
    /// Its advisory lock was busy: run it again at the head of the next batch.
    Deferred,
    /// It failed without a savepoint of its own: the batch must be rolled back and run again
    /// with savepoints.
    FailedBare,
}

/// A queued write, type-erased: run it inside the batch, then tell its waiter the outcome.
trait Job: Send {
    /// Runs the write, in a savepoint of its own when `guarded` or when the write asked for
    /// one.
    fn run(&mut self, conn: &mut AnyConnection, guarded: bool) -> Ran;
    fn deliver(self: Box<Self>, commit: Result<(), String>);
    /// The deployment event this write records, if that is all it does: such writes may be
    /// recorded together (`store::ingest::batch`) instead of run.
    fn event(&self) -> Option<&DeploymentEvent> {
        None
    }
    /// The outcome of recording [`Job::event`] together with others, in place of running.
    fn settle(&mut self, _outcome: TxResult<Recorded, Error>) {}
}

struct Typed<T, E, F> {
    work: F,
    /// Always run in a savepoint (see [`Writer::write`] and [`Writer::write_bare`]).
    guard: bool,
    result: Option<TxResult<T, E>>,
    reply: oneshot::Sender<TxResult<T, E>>,
}

impl<T, E, F> Job for Typed<T, E, F>
where
    T: Send,
    E: Send,
    F: FnMut(&mut AnyConnection) -> TxResult<T, E> + Send,
{
    fn run(&mut self, conn: &mut AnyConnection, guarded: bool) -> Ran {
        let work = &mut self.work;
        if !(guarded || self.guard) {
            let result = work(conn);
            return match result {
                Err(ref e) if defer(e) => {
                    self.result = None;
                    Ran::Deferred
                }
                Err(_) => {
                    self.result = None;
                    Ran::FailedBare
                }
                ok => {
                    self.result = Some(ok);
                    Ran::Done
                }
            };
        }
        let mut attempt = 1;
        loop {
            // A nested transaction is a SAVEPOINT: a failed write is undone alone.
            let result = conn.transaction(|c| work(c));
            match result {
                // Its savepoint is rolled back; it runs at the head of the next batch, once
                // this one has committed and let its locks go (see [`defer`]).
                Err(ref e) if defer(e) => {
                    self.result = None;
                    return Ran::Deferred;
                }
                // PostgreSQL: another transaction won a race (a unique row it had not yet
                // committed); it has committed now, so running again sees it.
                Err(TxError::Store(ref e)) if e.is_race() && attempt < MAX_WRITE_ATTEMPTS => {
                    attempt += 1;
                }
                other => {
                    self.result = Some(other);
                    return Ran::Done;
                }
            }
        }
    }

    fn deliver(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (self.result, commit) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(e)), _) => Err(e),
            (_, Err(e)) => Err(TxError::Store(StoreError::Commit(e))),
            (None, Ok(())) => Err(TxError::Store(StoreError::Writer("did not run a write"))),
        };
        // The waiter may have gone (client disconnected); the write stands either way.
        let _ = self.reply.send(answer);
    }
}

/// A deployment event, queued with its input so that it can be recorded together with the
/// batch's other events ([`Job::event`]); run alone, it is `ingest::record`.
struct EventJob<F> {
    input: Arc<DeploymentEvent>,
    job: Typed<Recorded, Error, F>,
}

impl<F> Job for EventJob<F>
where
    F: FnMut(&mut AnyConnection) -> TxResult<Recorded, Error> + Send,
{
    fn run(&mut self, conn: &mut AnyConnection, guarded: bool) -> Ran {
        self.job.run(conn, guarded)
    }

    fn deliver(self: Box<Self>, commit: Result<(), String>) {
        Box::new(self.job).deliver(commit);
    }

    fn event(&self) -> Option<&DeploymentEvent> {
        Some(&self.input)
    }

    fn settle(&mut self, outcome: TxResult<Recorded, Error>) {
        self.job.result = Some(outcome);
    }
}

/// Handle to the writer threads.
pub struct Writer {
    lanes: Vec<Lane>,
    next: AtomicUsize,
    /// What the writer threads share with a watcher (the SQLite checkpoint thread).
    signals: Arc<Signals>,
}

/// One writer thread's queue.
struct Lane {
    queue: mpsc::Sender<Box<dyn Job>>,
    /// Writes sent and not yet taken into a batch.
    waiting: Arc<AtomicUsize>,
}

/// What the writer threads share with the SQLite checkpoint thread (`store::checkpoint`). Each
/// writer thread holds a reference until it stops, so a watcher that holds the last one knows
/// the writer is gone.
#[derive(Debug, Default)]
pub struct Signals {
    /// Batches committed so far (all lanes).
    pub commits: AtomicU64,
    /// Raised by the checkpoint thread: checkpoint between two batches (see
    /// `store::checkpoint`).
    pub wal_restart: AtomicBool,
    /// Deployment events recorded together with others (`store::ingest::batch`) so far.
    pub recorded_together: AtomicU64,
}

impl Writer {
    /// Starts `lanes` writer threads, each on its own connection from `pool`, committing at
    /// most `max_batch` writes at a time and refusing writes past [`MAX_QUEUED`] waiting.
    pub fn spawn(
        pool: r2d2::Pool<Manager>,
        lanes: usize,
        max_batch: usize,
    ) -> std::io::Result<Writer> {
        let signals = Arc::new(Signals::default());
        let mut senders = Vec::with_capacity(lanes);
        for lane in 0..lanes.max(1) {
            let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
            let waiting = Arc::new(AtomicUsize::new(0));
            let pool = pool.clone();
            let lane_signals = Arc::clone(&signals);
            let lane_waiting = Arc::clone(&waiting);
            std::thread::Builder::new()
                .name(format!("releaseboard-writer-{lane}"))
                .spawn(move || run(pool, jobs, max_batch, &lane_waiting, &lane_signals))?;
            senders.push(Lane { queue, waiting });
        }
        Ok(Writer {
            lanes: senders,
            next: AtomicUsize::new(0),
            signals,
        })
    }

    /// The writer's side of the checkpoint hand-off (see [`Signals`]).
    pub fn signals(&self) -> Arc<Signals> {
        Arc::clone(&self.signals)
    }

    /// Queues `work` and waits until the batch holding it has committed. It runs in a
    /// savepoint of its own, so that when it fails its changes are undone alone.
    pub async fn write<T, E, F>(&self, work: F) -> TxResult<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnMut(&mut AnyConnection) -> TxResult<T, E> + Send + 'static,
    {
        self.queue(work, true).await
    }

    /// Like [`Writer::write`], without a savepoint of its own while nothing fails: a
    /// savepoint costs two statements (two round trips on PostgreSQL, and PostgreSQL tracks
    /// only 64 subtransactions cheaply). When a write of the batch fails, the whole batch is
    /// rolled back and run again with savepoints, so `work` may run more than once and must
    /// take its advisory lock, if any, before it writes anything.
    pub async fn write_bare<T, E, F>(&self, work: F) -> TxResult<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnMut(&mut AnyConnection) -> TxResult<T, E> + Send + 'static,
    {
        self.queue(work, false).await
    }

    /// Records a deployment event (`ingest::record`, without a savepoint of its own like
    /// [`Writer::write_bare`]) and waits until the batch holding it has committed. On
    /// PostgreSQL the batch's events are recorded together (`store::ingest::batch`).
    pub async fn record_event(&self, event: DeploymentEvent) -> TxResult<Recorded, Error> {
        let input = Arc::new(event);
        let shared = Arc::clone(&input);
        let (reply, answer) = oneshot::channel();
        let job = EventJob {
            input,
            job: Typed {
                work: move |conn: &mut AnyConnection| ingest::record(conn, &shared),
                guard: false,
                result: None,
                reply,
            },
        };
        self.send(Box::new(job))?;
        Self::answer(answer).await
    }

    async fn queue<T, E, F>(&self, work: F, guard: bool) -> TxResult<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnMut(&mut AnyConnection) -> TxResult<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Box::new(Typed {
            work,
            guard,
            result: None,
            reply,
        }))?;
        Self::answer(answer).await
    }

    /// Queues a job on the next lane, unless that lane has too many waiting already.
    fn send(&self, job: Box<dyn Job>) -> Result<(), StoreError> {
        let lane = &self.lanes[self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len()];
        if lane.waiting.fetch_add(1, Ordering::Relaxed) >= MAX_QUEUED {
            lane.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::QueueFull);
        }
        if lane.queue.send(job).is_err() {
            lane.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Writer("has stopped"));
        }
        Ok(())
    }

    async fn answer<T, E>(answer: oneshot::Receiver<TxResult<T, E>>) -> TxResult<T, E> {
        answer
            .await
            .map_err(|_| TxError::Store(StoreError::Writer("dropped a write")))?
    }
}

/// PostgreSQL settings of a writer's connection. Every statement a writer runs finds its rows
/// by key and is kept prepared, so it should be planned once, generically, and then only bound
/// and run. But PostgreSQL picks a generic plan on the statistics of the day it makes it, and
/// on a new database those say every table is empty: the event lookup's generic plan scanned
/// `versions` and `deployments` per event, so the lookup used to be planned afresh on every
/// run (parsing and planning it were ~40 % of the database server's CPU while ingesting).
/// With scans and hash or merge joins made the last resort, the generic plan looks rows up by
/// index at any table size (a statement with no index to use still scans), and
/// `force_generic_plan` makes that plan the one used from the first run on (docs/performance.md,
/// fifth pass, has what it gained).
pub const PG_WRITER_SETTINGS: &str = "SET plan_cache_mode = force_generic_plan; \
SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off;";

/// Readies a connection the writer takes from the pool: on SQLite the checkpoint threshold
/// (see `store::checkpoint`), on PostgreSQL the planner settings above.
pub(crate) fn prepare_connection(conn: &mut AnyConnection) -> diesel::QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => super::checkpoint::set_writer_threshold(c),
        AnyConnection::Postgresql(c) => c.batch_execute(PG_WRITER_SETTINGS),
    }
}

/// Records the batch's deployment events together where it can (`store::ingest::batch`; on
/// PostgreSQL, with two or more of them), settling those jobs; which ones it settled.
fn record_together(
    tx: &mut AnyConnection,
    jobs: &mut [Box<dyn Job>],
    signals: &Signals,
) -> Result<Vec<bool>, StoreError> {
    let mut settled = vec![false; jobs.len()];
    if !matches!(tx, AnyConnection::Postgresql(_)) {
        return Ok(settled);
    }
    let (at, inputs): (Vec<usize>, Vec<&DeploymentEvent>) = jobs
        .iter()
        .enumerate()
        .filter_map(|(k, job)| job.event().map(|input| (k, input)))
        .unzip();
    // One event alone costs as many statements either way.
    if inputs.len() < 2 {
        return Ok(settled);
    }
    let together = batch::record_together(tx, &inputs)?;
    if together.locked {
        // Later writes of the batch may not wait for their locks now.
        BATCH_LOCKS.with(|held| held.set(Some(true)));
    }
    for (k, outcome) in at.into_iter().zip(together.outcomes) {
        if let Some(outcome) = outcome {
            jobs[k].settle(outcome);
            settled[k] = true;
        }
    }
    let together = settled.iter().filter(|s| **s).count();
    signals
        .recorded_together
        .fetch_add(together as u64, Ordering::Relaxed);
    Ok(settled)
}

fn run(
    pool: r2d2::Pool<Manager>,
    jobs: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    waiting: &AtomicUsize,
    signals: &Signals,
) {
    let mut conn: Option<r2d2::PooledConnection<Manager>> = None;
    // When the connection last answered (the end of the last batch).
    let mut answered = Instant::now();
    // Writes whose lock was busy: they go first in the next batch, where they may wait.
    let mut deferred: VecDeque<Box<dyn Job>> = VecDeque::new();
    loop {
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        // Jobs taken off the channel: no longer waiting (see `MAX_QUEUED`).
        let mut taken = 0;
        if deferred.is_empty() {
            // Ends when every `Writer` handle is gone (the server stopped).
            match jobs.recv() {
                Ok(first) => {
                    batch.push(first);
                    taken += 1;
                }
                Err(_) => return,
            }
        }
        while batch.len() < max_batch {
            match deferred.pop_front() {
                Some(job) => batch.push(job),
                None => break,
            }
        }
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => {
                    batch.push(job);
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        waiting.fetch_sub(taken, Ordering::Relaxed);
        // The lane keeps its connection; after a quiet spell, check it as the pool checks its
        // own (`PING_AFTER_IDLE`), so that one the database dropped meanwhile (a restart) is
        // replaced before it fails a batch.
        if answered.elapsed() >= PING_AFTER_IDLE && conn.as_mut().is_some_and(|c| c.ping().is_err())
        {
            tracing::warn!("the writer's database connection was lost; opening another");
            conn = None;
        }
        if conn.is_none() {
            conn = pool.get().ok();
            if let Some(c) = conn.as_mut() {
                if let Err(e) = prepare_connection(c) {
                    tracing::error!(error = %e, "preparing the writer's connection");
                    conn = None;
                }
            }
        }
        let Some(c) = conn.as_mut() else {
            for job in batch {
                job.deliver(Err("no database connection".into()));
            }
            continue;
        };
        let mut ran = vec![Ran::Done; batch.len()];
        let mut outcome = Ok(Ok(()));
        // First without savepoints for the writes that allow it; if one of those fails, its
        // partial changes cannot be undone alone: roll everything back, run again guarded.
        for guarded in [false, true] {
            BATCH_LOCKS.with(|held| held.set(Some(false)));
            let mut failed_bare = false;
            outcome = catch_unwind(AssertUnwindSafe(|| {
                // `Abort(())`: a write failed without a savepoint of its own.
                write_transaction(c, &mut |tx: &mut AnyConnection| -> TxResult<(), ()> {
                    let mut settled = vec![false; batch.len()];
                    if !guarded {
                        match record_together(tx, &mut batch, signals) {
                            Ok(done) => settled = done,
                            Err(e) => {
                                // Run again guarded: each write alone in its savepoint.
                                failed_bare = true;
                                return Err(TxError::Store(e));
                            }
                        }
                    }
                    for ((job, ran), settled) in batch.iter_mut().zip(ran.iter_mut()).zip(settled) {
                        if settled {
                            *ran = Ran::Done;
                            continue;
                        }
                        *ran = job.run(tx, guarded);
                        if *ran == Ran::FailedBare {
                            failed_bare = true;
                            return Err(TxError::Abort(()));
                        }
                    }
                    Ok(())
                })
            }));
            BATCH_LOCKS.with(|held| held.set(None));
            if !failed_bare {
                break;
            }
        }
        let commit = match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{e:?}")),
            Err(_) => Err("a write panicked; its batch was rolled back".to_string()),
        };
        answered = Instant::now();
        if commit.is_ok() {
            signals.commits.fetch_add(1, Ordering::Relaxed);
        } else {
            tracing::error!(error = ?commit, size = batch.len(), "group commit failed");
            // The connection may be in any state now: open a fresh one for the next batch.
            conn = None;
        }
        for (job, ran) in batch.into_iter().zip(ran) {
            if ran == Ran::Deferred && commit.is_ok() {
                deferred.push_back(job);
            } else {
                job.deliver(commit.clone());
            }
        }
        // The waiters have their answers; the requests queueing meanwhile wait for this.
        if signals.wal_restart.swap(false, Ordering::Relaxed) {
            if let Some(c) = conn.as_mut() {
                if let Err(e) = super::checkpoint::finish(c) {
                    tracing::warn!(error = %e, "WAL checkpoint on the writer");
                }
            }
        }
    }
}
