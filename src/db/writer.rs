//! Group commit for SQLite: one writer thread, many waiters.
//!
//! SQLite has one writer at a time, and with `synchronous=FULL` every commit waits for an
//! fsync. Committing each event on its own caps ingestion at the disk's fsync rate. Instead,
//! every write is queued to this thread; it takes whatever has queued up (up to
//! [`MAX_BATCH`]), runs each write in its own SAVEPOINT inside one transaction, commits once,
//! and only then answers every waiter. A write that fails rolls back to its savepoint alone;
//! nobody is answered before the commit that holds their change is durable.

use super::pool::{write_transaction, AnyConnection, Manager};
use crate::error::AppError;
use diesel::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Most writes committed together. Bounded so that one commit never holds the lock for long.
pub const MAX_BATCH: usize = 512;

/// A queued write, type-erased: run it inside the batch, then tell its waiter the outcome.
trait Job: Send {
    fn run(&mut self, conn: &mut AnyConnection);
    fn deliver(self: Box<Self>, commit: Result<(), String>);
}

struct Typed<T, F> {
    work: F,
    result: Option<Result<T, AppError>>,
    reply: oneshot::Sender<Result<T, AppError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: FnMut(&mut AnyConnection) -> Result<T, AppError> + Send,
{
    fn run(&mut self, conn: &mut AnyConnection) {
        let work = &mut self.work;
        // A nested transaction is a SAVEPOINT: a failed write is undone alone.
        self.result = Some(conn.transaction(|c| work(c)));
    }

    fn deliver(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (self.result, commit) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(e)), _) => Err(e),
            (_, Err(e)) => Err(AppError::Internal(anyhow::anyhow!(
                "group commit failed: {e}"
            ))),
            (None, Ok(())) => Err(AppError::Internal(anyhow::anyhow!("write was not run"))),
        };
        // The waiter may have gone (client disconnected); the write stands either way.
        let _ = self.reply.send(answer);
    }
}

/// Handle to the writer thread.
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on its own connection from `pool`.
    pub fn spawn(pool: r2d2::Pool<Manager>) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("releaseboard-writer".into())
            .spawn(move || run(pool, jobs))?;
        Ok(Writer { queue })
    }

    /// Queues `work` and waits until the batch holding it has committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection) -> Result<T, AppError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed {
            work,
            result: None,
            reply,
        });
        self.queue
            .send(job)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the writer thread has stopped")))?;
        answer
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the writer dropped a write")))?
    }
}

fn run(pool: r2d2::Pool<Manager>, jobs: mpsc::Receiver<Box<dyn Job>>) {
    let mut conn = None;
    // Ends when every `Writer` handle is gone (the server stopped).
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            conn = pool.get().ok();
        }
        let Some(c) = conn.as_mut() else {
            for job in batch {
                job.deliver(Err("no database connection".into()));
            }
            continue;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            write_transaction(c, &mut |tx: &mut AnyConnection| {
                for job in batch.iter_mut() {
                    job.run(tx);
                }
                Ok(())
            })
        }));
        let commit = match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{e:?}")),
            Err(_) => Err("a write panicked; its batch was rolled back".to_string()),
        };
        if commit.is_err() {
            tracing::error!(error = ?commit, size = batch.len(), "group commit failed");
            // The connection may be in any state now: open a fresh one for the next batch.
            conn = None;
        }
        for job in batch {
            job.deliver(commit.clone());
        }
    }
}
