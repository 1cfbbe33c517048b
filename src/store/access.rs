//! Users, API keys, sessions and sign-in throttling, as stored. Only digests and password
//! hashes reach the database (see `crate::secret`); the rules are in `domain::access` and
//! `domain::throttle`, the use cases in `service::accounts`.

use super::ids::{new_id, now};
use super::prepared;
use super::schema::{api_keys, login_throttle, server_keys, sessions, users};
use super::AnyConnection;
use crate::domain::access::{KeyScope, Role};
use crate::domain::throttle::Record;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    /// The stored role; an unknown value (never written by this code) grants the least.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub key_hash: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKey {
    /// The stored scope; an unknown value (never written by this code) grants the least.
    pub fn scope(&self) -> KeyScope {
        KeyScope::parse(&self.scope).unwrap_or(KeyScope::Ingest)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

// ---------------------------------------------------------------------------------------------
// Users

pub fn create_user(
    conn: &mut AnyConnection,
    name: &str,
    role: Role,
    password_hash: &str,
) -> QueryResult<User> {
    let at = now();
    let user = User {
        id: new_id(),
        name: name.to_string(),
        role: role.as_str().to_string(),
        password_hash: password_hash.to_string(),
        disabled: false,
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(users::table)
        .values(&user)
        .execute(conn)?;
    Ok(user)
}

pub fn find_user(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::name.eq(name))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn list_users(conn: &mut AnyConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::name.asc())
        .select(User::as_select())
        .load(conn)
}

/// Whether any enabled admin exists (the first start explains how to make one).
pub fn has_admin(conn: &mut AnyConnection) -> QueryResult<bool> {
    let n: i64 = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Sets a new password hash and signs the user out everywhere: whoever knew the old password
/// keeps no session made with it.
pub fn set_password(conn: &mut AnyConnection, user: &User, password_hash: &str) -> QueryResult<()> {
    diesel::update(users::table.filter(users::id.eq(&user.id)))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
    end_sessions_of(conn, &user.id)?;
    Ok(())
}

/// Disables (or enables again) a user; disabling also ends their sessions.
pub fn set_disabled(conn: &mut AnyConnection, user: &User, disabled: bool) -> QueryResult<()> {
    diesel::update(users::table.filter(users::id.eq(&user.id)))
        .set((users::disabled.eq(disabled), users::updated_at.eq(now())))
        .execute(conn)?;
    if disabled {
        end_sessions_of(conn, &user.id)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// API keys

/// The id of the live (not revoked) key of this name, if any: names are unique among live keys.
pub fn live_key_named(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<String>> {
    api_keys::table
        .filter(api_keys::name.eq(name))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .first(conn)
        .optional()
}

pub fn create_key(
    conn: &mut AnyConnection,
    name: &str,
    scope: KeyScope,
    key_digest: &str,
    created_by: &str,
) -> QueryResult<ApiKey> {
    let key = ApiKey {
        id: new_id(),
        name: name.to_string(),
        scope: scope.as_str().to_string(),
        key_hash: key_digest.to_string(),
        created_by: created_by.to_string(),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(api_keys::table)
        .values(&key)
        .execute(conn)?;
    Ok(key)
}

/// Every key, live ones first, then by name.
pub fn list_keys(conn: &mut AnyConnection) -> QueryResult<Vec<ApiKey>> {
    let mut keys: Vec<ApiKey> = api_keys::table
        .order((api_keys::name.asc(), api_keys::created_at.desc()))
        .select(ApiKey::as_select())
        .load(conn)?;
    keys.sort_by_key(|k| k.revoked_at.is_some());
    Ok(keys)
}

/// The live key with this digest, if any. Read on every API request that carries a key (never
/// cached, so that revoking one, even from the CLI in another process, takes effect at once),
/// hence a statement that stays prepared.
pub fn live_key(conn: &mut AnyConnection, key_digest: &str) -> QueryResult<Option<ApiKey>> {
    use diesel::sql_types::{Nullable, Text, Timestamp};
    type ApiKeySql = (
        Text,
        Text,
        Text,
        Text,
        Text,
        Timestamp,
        Nullable<Timestamp>,
        Nullable<Timestamp>,
    );
    prepared::first::<LiveKey, ApiKeySql, ApiKey>(conn, &[key_digest.into()])
}

prepared::statement!(
    LiveKey,
    "SELECT id, name, scope, key_hash, created_by, created_at, last_used_at, revoked_at \
     FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL"
);

/// Revokes the live key of this name; how many were revoked (0: there was none).
pub fn revoke_key(conn: &mut AnyConnection, name: &str) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now()))
    .execute(conn)
}

pub fn touch_key(conn: &mut AnyConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_keys::table.filter(api_keys::id.eq(id)))
        .set(api_keys::last_used_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Sessions

pub fn create_session(conn: &mut AnyConnection, session: &Session) -> QueryResult<()> {
    // Housekeeping on the rare write path keeps the table to live sessions.
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now()))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
        .map(|_| ())
}

/// The live session with this id and its (enabled) user.
pub fn live_session(
    conn: &mut AnyConnection,
    session_id: &str,
) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::expires_at.gt(now()))
        .filter(users::disabled.eq(false))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

pub fn end_session(conn: &mut AnyConnection, session_id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::id.eq(session_id)))
        .execute(conn)
        .map(|_| ())
}

fn end_sessions_of(conn: &mut AnyConnection, user_id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
        .execute(conn)
        .map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Sign-in throttling

pub fn throttle_record(conn: &mut AnyConnection, subject: &str) -> QueryResult<Option<Record>> {
    login_throttle::table
        .filter(login_throttle::subject.eq(subject))
        .select((
            login_throttle::failures,
            login_throttle::window_start,
            login_throttle::locked_until,
        ))
        .first::<(i32, NaiveDateTime, Option<NaiveDateTime>)>(conn)
        .optional()
        .map(|row| {
            row.map(|(failures, window_start, locked_until)| Record {
                failures,
                window_start,
                locked_until,
            })
        })
}

pub fn save_throttle(conn: &mut AnyConnection, subject: &str, r: &Record) -> QueryResult<()> {
    let changed = diesel::update(login_throttle::table.filter(login_throttle::subject.eq(subject)))
        .set((
            login_throttle::failures.eq(r.failures),
            login_throttle::window_start.eq(r.window_start),
            login_throttle::locked_until.eq(r.locked_until),
        ))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::subject.eq(subject),
                login_throttle::failures.eq(r.failures),
                login_throttle::window_start.eq(r.window_start),
                login_throttle::locked_until.eq(r.locked_until),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes the records `domain::throttle::forgotten` says change nothing any more, the rule
/// restated in SQL (held to it by `tests/integration/rules_in_sql.rs`): attempted names and
/// addresses are kept no longer than they matter.
pub fn prune_throttle(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<usize> {
    let cutoff = now - crate::domain::throttle::FORGET_AFTER;
    diesel::delete(
        login_throttle::table.filter(
            login_throttle::locked_until
                .le(now)
                .or(login_throttle::locked_until
                    .is_null()
                    .and(login_throttle::window_start.le(cutoff))),
        ),
    )
    .execute(conn)
}

/// The server's secret named `name`, made (32 random bytes, hex) by the first caller that
/// needs it. Call it in a write transaction: on PostgreSQL it takes an advisory lock so that
/// instances starting together agree on one value.
pub fn server_key(
    conn: &mut AnyConnection,
    name: &str,
    fresh: impl FnOnce() -> String,
) -> Result<String, super::StoreError> {
    super::catalog::lock_key(conn, &format!("server_key:{name}"))?;
    let found = server_keys::table
        .filter(server_keys::name.eq(name))
        .select(server_keys::value)
        .first::<String>(conn)
        .optional()?;
    if let Some(v) = found {
        return Ok(v);
    }
    let value = fresh();
    diesel::insert_into(server_keys::table)
        .values((server_keys::name.eq(name), server_keys::value.eq(&value)))
        .execute(conn)?;
    Ok(value)
}

pub fn clear_throttle(conn: &mut AnyConnection, subject: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.filter(login_throttle::subject.eq(subject)))
        .execute(conn)
        .map(|_| ())
}
