//! Connections, the pool, migrations and the transaction discipline of each backend.

use super::error::{StoreError, TxError, TxResult};
use anyhow::Context;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The migrations of `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// One connection to either backend. The PostgreSQL variant must come first: diesel's
/// `MultiConnection` needs it there for its bind collector to work (measured).
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database the server talks to, parsed from `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(String),
    Postgres(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl DbTarget {
    /// `postgres://…` or `postgresql://…` selects PostgreSQL; `sqlite://path`, `sqlite:path`
    /// or a plain file path selects SQLite.
    pub fn parse(url: &str) -> Self {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return DbTarget::Postgres(url.to_string());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        DbTarget::Sqlite(path.to_string())
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbTarget::Sqlite(_) => Backend::Sqlite,
            DbTarget::Postgres(_) => Backend::Postgres,
        }
    }

    fn connect(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        match self {
            DbTarget::Postgres(url) => {
                prepare_postgres_client();
                PgConnection::establish(url).map(AnyConnection::Postgresql)
            }
            DbTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// Call before libpq's first connection in a process (the pool does). It initialises OpenSSL
/// ourselves, before libpq does, so that OpenSSL registers no exit-time cleanup: otherwise a
/// process exiting while a worker thread still closes TLS connections (PQfinish → SSL_free)
/// races OpenSSL's atexit handler and can crash with a double free (seen in test runs).
pub fn prepare_postgres_client() {
    openssl_sys::init();
}

/// Passwords in a PostgreSQL URL never reach a log line.
impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbTarget::Sqlite(path) => write!(f, "sqlite:{path}"),
            DbTarget::Postgres(url) => write!(f, "{}", redact_password(url)),
        }
    }
}

fn redact_password(url: &str) -> String {
    // postgres://user:secret@host/db → postgres://user:***@host/db
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((creds, host)) => match creds.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Set on every SQLite connection when it opens.
/// - WAL: readers never block the writer and the writer never blocks readers.
/// - synchronous=FULL: a commit is fsynced before it returns, so a 2xx survives even a power
///   cut, not only a killed process (docs/decisions.md).
/// - busy_timeout, first: another connection (a CLI next to the server, or the pool opening
///   two connections at once on a new file, where switching to WAL takes an exclusive lock)
///   makes this one wait instead of failing with "database is locked".
/// - temp_store=MEMORY: the statement journals of savepoints (one per write in a group
///   commit) stay in memory instead of spilling to a temporary file (measured: ~7% of the
///   writer's time). They are scratch space for rolling a statement back, not the database:
///   durability is the WAL's business.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
PRAGMA temp_store = MEMORY;";

/// r2d2 manager that opens exactly the configured backend (the derive's own `establish`
/// would try every backend in turn, and SQLite happily opens a file named `postgres:…`).
pub struct Manager(DbTarget);

/// A connection taken out of the pool less than this long after its previous checkout is not
/// pinged again: it answered a moment ago. On PostgreSQL the ping (`SELECT 1`) is a round trip
/// per request, and every API request takes a connection for its key check: not pinging busy
/// connections is a measured gain of PostgreSQL ingestion (docs/performance.md, sixth pass). A
/// connection idle for longer is pinged, so that one broken while idle (a database restart) is
/// replaced instead of failing a request. HikariCP's `aliveBypassWindowMs` is the same rule.
pub const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// A pooled connection, with when it was last checked out (see [`PING_AFTER_IDLE`]).
pub struct PoolConnection {
    conn: AnyConnection,
    checked_out: Instant,
}

impl std::ops::Deref for PoolConnection {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// A connection checked out of the pool, back in it when dropped.
pub struct Conn(r2d2::PooledConnection<Manager>);

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.0.conn
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0.conn
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PoolConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PoolConnection, Self::Error> {
        let conn = self
            .0
            .connect()
            .map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(PoolConnection {
            conn,
            checked_out: Instant::now(),
        })
    }

    /// Runs on every checkout.
    fn is_valid(&self, conn: &mut PoolConnection) -> Result<(), Self::Error> {
        let now = Instant::now();
        let idle = now.duration_since(conn.checked_out);
        conn.checked_out = now;
        if idle < PING_AFTER_IDLE {
            return Ok(());
        }
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConnection) -> bool {
        conn.conn.is_broken()
    }
}

type Pool = r2d2::Pool<Manager>;

/// The database handle the application shares: a pool plus the write discipline.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// The group-commit writer every write of a serving process goes through (`None` until
    /// [`Db::start_writer`], e.g. in CLI commands, which write through the pool).
    writer: Option<Arc<super::writer::Writer>>,
    /// SQLite has one writer at a time; queueing writers here in the process is cheaper and
    /// fairer than letting them spin in SQLite's busy handler.
    sqlite_writer: Arc<Mutex<()>>,
}

/// How often a PostgreSQL write is retried when a concurrent transaction won a race
/// (unique violation, serialization failure); the retry re-reads and answers properly.
pub(crate) const MAX_WRITE_ATTEMPTS: usize = 4;

impl Db {
    /// Opens the pool. Call [`Db::migrate`] before serving.
    pub fn connect(target: &DbTarget, max_connections: u32) -> anyhow::Result<Db> {
        if let DbTarget::Sqlite(path) = target {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() && !dir.exists() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating the directory of {path}"))?;
                }
            }
        }
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(Manager(target.clone()))
            .with_context(|| format!("connecting to {target:?}"))?;
        Ok(Db {
            pool,
            backend: target.backend(),
            writer: None,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    /// Starts group commit: one writer thread on SQLite (it has one writer at a time anyway)
    /// with WAL checkpoints on a thread of their own (`store::checkpoint`), `pg_lanes` lanes on
    /// PostgreSQL (see `store::writer`).
    pub fn start_writer(&mut self, pg_lanes: usize) -> anyhow::Result<()> {
        use super::checkpoint;
        use super::writer::{Writer, MAX_BATCH, PG_MAX_BATCH};
        if self.writer.is_none() {
            let writer = match self.backend {
                Backend::Sqlite => {
                    let writer = Writer::spawn(self.pool.clone(), 1, MAX_BATCH)?;
                    checkpoint::spawn(self.pool.clone(), writer.signals())?;
                    writer
                }
                Backend::Postgres => Writer::spawn(self.pool.clone(), pg_lanes, PG_MAX_BATCH)?,
            };
            self.writer = Some(Arc::new(writer));
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs the embedded migrations that have not run yet.
    pub fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get().context("getting a connection to migrate")?;
        run_migrations(&mut conn)
    }

    /// A pooled connection.
    pub fn conn(&self) -> Result<Conn, StoreError> {
        self.pool
            .get()
            .map(Conn)
            .map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// Runs read-only queries on a pooled connection, here, on the calling thread (the service
    /// layer calls it from the blocking pool: `service::run`).
    pub fn read_blocking<T, E, F>(&self, f: F) -> TxResult<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> TxResult<T, E>,
    {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// The group-commit writer, once started ([`Db::start_writer`]); until then (CLI commands,
    /// `demo`, `seed`) writes run in transactions of their own ([`Db::write_blocking`]).
    pub fn writer(&self) -> Option<&super::writer::Writer> {
        self.writer.as_deref()
    }

    /// What the group-commit writer reports (`None` before [`Db::start_writer`]).
    pub fn writer_signals(&self) -> Option<Arc<super::writer::Signals>> {
        self.writer.as_ref().map(|w| w.signals())
    }

    /// Runs `f` in one write transaction, here, on the calling thread: committed when it
    /// returns `Ok`, rolled back otherwise. On PostgreSQL `f` runs again when a concurrent
    /// transaction won a race, so it must not have side effects outside the database.
    pub fn write_blocking<T, E, F>(&self, mut f: F) -> TxResult<T, E>
    where
        F: FnMut(&mut AnyConnection) -> TxResult<T, E>,
    {
        let mut conn = self.conn()?;
        let mut attempt = 1;
        loop {
            let result = match self.backend {
                Backend::Sqlite => {
                    // A poisoned lock only means another writer panicked; the data is in the
                    // database, not behind the mutex, so carry on.
                    let _turn = self
                        .sqlite_writer
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    write_transaction(&mut conn, &mut f)
                }
                Backend::Postgres => write_transaction(&mut conn, &mut f),
            };
            match result {
                Err(TxError::Store(ref e)) if e.is_race() && attempt < MAX_WRITE_ATTEMPTS => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Opens a write transaction the way each backend needs it: SQLite with `BEGIN IMMEDIATE`, so
/// the write lock is taken up front (a deferred transaction that reads then writes can fail
/// with SQLITE_BUSY instead of waiting), PostgreSQL with a plain `BEGIN`.
pub(crate) fn write_transaction<T, E>(
    conn: &mut AnyConnection,
    f: &mut impl FnMut(&mut AnyConnection) -> TxResult<T, E>,
) -> TxResult<T, E> {
    match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    let outcome = f(conn);
    let finish = match (&outcome, &mut *conn) {
        (Ok(_), AnyConnection::Sqlite(c)) => AnsiTransactionManager::commit_transaction(c),
        (Ok(_), AnyConnection::Postgresql(c)) => AnsiTransactionManager::commit_transaction(c),
        (Err(_), AnyConnection::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(c),
        (Err(_), AnyConnection::Postgresql(c)) => AnsiTransactionManager::rollback_transaction(c),
    };
    match (outcome, finish) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(commit_error)) => Err(TxError::Store(StoreError::Query(commit_error))),
        // The caller cares about why the transaction failed, not about the rollback.
        (Err(e), _) => Err(e),
    }
}

/// Runs the pending migrations, then fills what they leave for the application to compute,
/// serialised across server instances on PostgreSQL (instances started together migrate once).
pub fn run_migrations(conn: &mut AnyConnection) -> anyhow::Result<()> {
    let pg = matches!(conn, AnyConnection::Postgresql(_));
    if pg {
        conn.batch_execute("SELECT pg_advisory_lock(7210431)")?;
    }
    let result = migrate_and_fill(conn);
    if pg {
        conn.batch_execute("SELECT pg_advisory_unlock(7210431)")?;
    }
    result
}

fn migrate_and_fill(conn: &mut AnyConnection) -> anyhow::Result<()> {
    match conn {
        AnyConnection::Postgresql(c) => c.run_pending_migrations(MIGRATIONS).map(|_| ()),
        AnyConnection::Sqlite(c) => c.run_pending_migrations(MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
    super::releases::fold_missing_names(conn).context("folding release names for search")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_the_backend() {
        assert_eq!(
            DbTarget::parse("releaseboard.db"),
            DbTarget::Sqlite("releaseboard.db".into())
        );
        assert_eq!(
            DbTarget::parse("sqlite:///tmp/x.db"),
            DbTarget::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DbTarget::parse("sqlite:x.db"),
            DbTarget::Sqlite("x.db".into())
        );
        assert_eq!(
            DbTarget::parse("postgres://u:p@h/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            format!("{:?}", DbTarget::parse("postgres://u:secret@h/db")),
            "postgres://u:***@h/db"
        );
    }
}
