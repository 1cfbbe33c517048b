//! The use cases: what the JSON API, the HTML pages, the command line, `demo` and `seed` ask
//! of releaseboard, each in one place. A use case takes a parsed command (`domain`), checks the
//! rules (`domain`) against what is stored (`store`) inside one transaction, announces what
//! changed ([`Changes`]) once it has committed, and answers with rows or a `domain::Error`.
//!
//! The service layer also owns the hop off the async runtime ([`run`]): reads go to the
//! blocking pool, writes to the group-commit writer. Faces never call `store` themselves.

pub mod accounts;
pub mod catalog;
pub mod changes;
pub mod compare;
pub mod dashboard;
pub mod demo;
pub mod ingest;
pub mod matrix;
pub mod passwords;
pub mod releases;
pub mod run;
pub mod seed;
pub mod state;
pub mod suggestions;

pub use changes::{Change, Changes};
pub use passwords::PasswordWork;

use crate::store::{Db, DbTarget};

/// What every use case works with: the database, where changes are announced, and the
/// bounded room for password work.
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub changes: Changes,
    pub passwords: PasswordWork,
    /// The add-version form's suggestions, kept for a moment (`suggestions`).
    pub suggestions: suggestions::Suggestions,
}

impl Context {
    pub fn new(db: Db) -> Context {
        Context {
            db,
            changes: Changes::new(),
            passwords: PasswordWork::for_this_machine(),
            suggestions: Default::default(),
        }
    }

    /// Opens the database (at most `connections` at once) and brings its schema up to date:
    /// what a command-line tool works with. Its writes run in transactions of their own (no
    /// group-commit writer: only the server starts one).
    pub fn open(database: &DbTarget, connections: u32) -> anyhow::Result<Context> {
        let db = Db::connect(database, connections)?;
        db.migrate()?;
        Ok(Context::new(db))
    }
}
