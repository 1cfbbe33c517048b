//! Users, API keys, sessions and sign-in: what the CLI (`user …`, `api-key …`), the settings
//! pages, the sign-in page and the request gate do, in one place. Secrets are made and checked
//! here (see `crate::secret`); slow password hashing runs with bounded concurrency
//! (`service::passwords`), outside any transaction.

use super::run::{self, Tx};
use super::Context;
use crate::domain::access::{self as access_rules, KeyHolder, KeyScope, Principal, Role, SignedIn};
use crate::domain::catalog::name_free;
use crate::domain::error::Named;
use crate::domain::throttle::{self, Limits};
use crate::domain::{validate, Entity, Error, Missing};
use crate::secret;
use crate::store::access::{self, Session};
use crate::store::ids::now;
use crate::store::AnyConnection;
use chrono::Duration;

pub use crate::store::access::{ApiKey, User};

/// How long a sign-in lasts: a working week, so release managers are not signed out mid-release.
pub const SESSION_DAYS: i64 = 7;

/// A key's last-used time is written at most this often, so that a busy pipeline does not turn
/// every event into two writes.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A key just made: the stored row and the secret, which is shown this once and never again.
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

async fn hash(ctx: &Context, password: String) -> Result<String, Error> {
    ctx.passwords
        .run(move || secret::hash_password(&password))
        .await?
        .map_err(Error::Internal)
}

fn checked_name(raw: &str) -> Result<String, Error> {
    validate::name(raw).map_err(|m| Error::invalid("name", m))
}

/// A chosen password after its checks, or a generated one.
fn password_or_generated(password: Option<String>) -> Result<String, Error> {
    match password {
        Some(p) => match secret::password_problem(&p) {
            Some(problem) => Err(Error::invalid("password", problem)),
            None => Ok(p),
        },
        None => Ok(secret::new_password()),
    }
}

/// The user named `name`, if any. A name no user can have (`validate::name` refuses it: a
/// control character, say) is looked up nowhere — a NUL would not even reach PostgreSQL.
fn user_named(conn: &mut AnyConnection, name: &str) -> Tx<Option<User>> {
    match validate::name(name) {
        Ok(valid) => Ok(access::find_user(conn, &valid)?),
        Err(_) => Ok(None),
    }
}

fn user(conn: &mut AnyConnection, name: &str) -> Tx<User> {
    Ok(user_named(conn, name)?.ok_or(Missing::Record(Entity::User))?)
}

// ---------------------------------------------------------------------------------------------
// API keys

pub async fn create_api_key(
    ctx: &Context,
    name: &str,
    scope: KeyScope,
    created_by: &str,
) -> Result<IssuedKey, Error> {
    let name = checked_name(name)?;
    let secret = secret::new_api_key();
    let digest = secret::digest(&secret);
    let created_by = created_by.to_string();
    let key = run::write(&ctx.db, move |conn| {
        let holder = access::live_key_named(conn, &name)?;
        name_free(Named::ApiKey, &name, holder.as_deref(), None)?;
        Ok(access::create_key(
            conn,
            &name,
            scope,
            &digest,
            &created_by,
        )?)
    })
    .await?;
    Ok(IssuedKey { key, secret })
}

pub async fn revoke_api_key(ctx: &Context, name: &str) -> Result<(), Error> {
    let name = name.trim().to_string();
    let valid = validate::name(&name).ok();
    run::write(&ctx.db, move |conn| {
        let revoked = match &valid {
            Some(v) => access::revoke_key(conn, v)?,
            None => 0,
        };
        if revoked == 0 {
            return Err(Missing::ApiKey { name: name.clone() }.into());
        }
        Ok(())
    })
    .await
}

pub async fn list_api_keys(ctx: &Context) -> Result<Vec<ApiKey>, Error> {
    run::read(&ctx.db, |conn| Ok(access::list_keys(conn)?)).await
}

/// The holder of a live API key presented as `token` (`None`: unknown or revoked). Its last
/// use is recorded, at most once a minute; a failure to record it does not refuse the key.
pub async fn key_holder(ctx: &Context, token: &str) -> Result<Option<KeyHolder>, Error> {
    let digest = secret::digest(token);
    let lookup = digest.clone();
    let key = run::read(&ctx.db, move |conn| Ok(access::live_key(conn, &lookup)?)).await?;
    // The lookup found the row by its digest; comparing again in constant time keeps the
    // check independent of how the database compares strings.
    let Some(key) = key.filter(|k| secret::same(&k.key_hash, &digest)) else {
        return Ok(None);
    };
    let t = now();
    let stale = key
        .last_used_at
        .is_none_or(|used| (t - used).num_seconds() >= TOUCH_INTERVAL_SECS);
    if stale {
        let id = key.id.clone();
        // Bookkeeping: a failure here must not fail the pipeline's request.
        if let Err(e) = run::write(&ctx.db, move |conn| Ok(access::touch_key(conn, &id, t)?)).await
        {
            tracing::warn!(error = %e, key = %key.name, "recording a key's last use");
        }
    }
    Ok(Some(KeyHolder {
        scope: key.scope(),
        id: key.id,
        name: key.name,
    }))
}

// ---------------------------------------------------------------------------------------------
// Users

/// Creates a user; returns the user and their password (the given one, or a generated one to
/// hand over).
pub async fn create_user(
    ctx: &Context,
    name: &str,
    role: Role,
    password: Option<String>,
) -> Result<(User, String), Error> {
    let name = checked_name(name)?;
    let password = password_or_generated(password)?;
    let hashed = hash(ctx, password.clone()).await?;
    let user = run::write(&ctx.db, move |conn| {
        let holder = access::find_user(conn, &name)?.map(|u| u.id);
        name_free(Named::User, &name, holder.as_deref(), None)?;
        Ok(access::create_user(conn, &name, role, &hashed)?)
    })
    .await?;
    Ok((user, password))
}

/// Sets a user's password (the given one, or a generated one, which is returned) and ends
/// their sessions.
pub async fn set_password(
    ctx: &Context,
    name: &str,
    password: Option<String>,
) -> Result<String, Error> {
    let name = name.trim().to_string();
    let password = password_or_generated(password)?;
    let hashed = hash(ctx, password.clone()).await?;
    run::write(&ctx.db, move |conn| {
        let u = user(conn, &name)?;
        Ok(access::set_password(conn, &u, &hashed)?)
    })
    .await?;
    Ok(password)
}

/// Disables a user (ending their sessions) or enables them again. `by`, when an admin asks
/// from the settings page, may not disable themselves (and so lock out the last admin).
pub async fn set_disabled(
    ctx: &Context,
    name: &str,
    disabled: bool,
    by: Option<&str>,
) -> Result<(), Error> {
    let name = name.trim().to_string();
    if disabled {
        access_rules::may_disable(by, &name)?;
    }
    run::write(&ctx.db, move |conn| {
        let u = user(conn, &name)?;
        Ok(access::set_disabled(conn, &u, disabled)?)
    })
    .await
}

pub async fn list_users(ctx: &Context) -> Result<Vec<User>, Error> {
    run::read(&ctx.db, |conn| Ok(access::list_users(conn)?)).await
}

pub async fn has_admin(ctx: &Context) -> Result<bool, Error> {
    run::read(&ctx.db, |conn| Ok(access::has_admin(conn)?)).await
}

// ---------------------------------------------------------------------------------------------
// Signing in and out

/// How a sign-in attempt ended. A wrong password and an unknown (or disabled) user are the same
/// outcome, so the answer tells an attacker nothing about which names exist.
pub enum SignIn {
    /// The session token for the cookie (the database keeps only its digest).
    Welcome {
        token: String,
        user: String,
    },
    Wrong,
    /// Too many failures for this user name or address: refused for this many more seconds
    /// (at least one), whatever the password.
    Locked {
        seconds: i64,
    },
}

/// Whether it is time to delete the throttle records that no longer matter: at most once a
/// minute per process. The delete scans the table, which a flood of made-up names grows to
/// tens of thousands of rows in 15 minutes: once per attempt was a scan per sign-in.
fn prune_due(now: chrono::NaiveDateTime) -> bool {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let t = now.and_utc().timestamp();
    let last = LAST.load(Ordering::Relaxed);
    t.saturating_sub(last) >= 60
        && LAST
            .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// The throttle's subjects: keyed hashes (`secret::keyed_digest`) of the attempted name and
/// the client address, so that the table never holds what was typed into the name field.
fn subjects(key: &str, name: &str, address: &str) -> [(String, Limits); 2] {
    [
        (
            format!("user:{}", secret::keyed_digest(key, name)),
            throttle::PER_USER,
        ),
        (
            format!("addr:{}", secret::keyed_digest(key, address)),
            throttle::PER_ADDRESS,
        ),
    ]
}

/// Signs `name` in from `address`. The attempt is counted against the name and the address
/// before the password is checked (`throttle::reserve`), in one transaction that also refuses
/// a locked subject, so that simultaneous attempts cannot race past the limit on any backend
/// or instance; the check itself waits for a password slot (`PasswordWork`). A right password
/// gives the attempt back and ends the session the browser came with (`previous`, the stored
/// id of its session), so that signing in again never leaves two sessions alive.
pub async fn sign_in(
    ctx: &Context,
    name: &str,
    password: String,
    address: &str,
    previous: Option<String>,
) -> Result<SignIn, Error> {
    let t = now();
    let client = address.to_string();
    let (name, address) = (name.to_string(), address.to_string());
    let passwords = ctx.passwords.clone();
    let reserved = run::write(&ctx.db, move |conn| {
        let key = access::server_key(conn, "throttle", secret::new_token)?;
        let subjects = subjects(&key, &name, &address);
        if prune_due(t) {
            access::prune_throttle(conn, t)?;
        }
        let mut counted = Vec::with_capacity(subjects.len());
        for (subject, limits) in &subjects {
            // One attempt at a time per subject (PostgreSQL; SQLite has one writer).
            crate::store::catalog::lock_key(conn, &format!("throttle:{subject}"))?;
            let before = access::throttle_record(conn, subject)?;
            match throttle::reserve(before, t, *limits) {
                Ok(after) => counted.push((subject.clone(), *limits, after)),
                // Locked: nothing is counted, and the whole attempt is refused. A rollback
                // would also undo the other subject's count; refusing is decided here.
                Err(until) => return Ok(Err(until)),
            }
        }
        // Not locked: the attempt will be checked, if password work has room for it. When it
        // has none (a flood), it is refused (503) here, before anything is written for it; a
        // locked subject was answered 429 above without needing room.
        let place = passwords.admit()?;
        for (subject, _, after) in &counted {
            access::save_throttle(conn, subject, after)?;
        }
        // An unknown, disabled or impossible name is a wrong sign-in like any other.
        let user = user_named(conn, &name)?.filter(|u| !u.disabled);
        Ok(Ok((counted, user, place)))
    })
    .await?;
    let (counted, found, place) = match reserved {
        Err(until) => {
            let seconds = (until - t).num_seconds().max(1);
            tracing::warn!(target: "releaseboard::signin", address = %client, seconds, "sign-in refused: locked");
            return Ok(SignIn::Locked { seconds });
        }
        Ok(reserved) => reserved,
    };

    let stored = found.as_ref().map(|u| u.password_hash.clone());
    let matches = ctx
        .passwords
        .run_in(place, move || match stored {
            Some(h) => secret::verify_password(&password, &h),
            None => {
                secret::verify_nobody(&password);
                false
            }
        })
        .await?;

    match found {
        Some(u) if matches => {
            let token = secret::new_token();
            let session = Session {
                id: secret::digest(&token),
                user_id: u.id.clone(),
                csrf_token: secret::new_token(),
                created_at: t,
                expires_at: t + Duration::days(SESSION_DAYS),
            };
            run::write(&ctx.db, move |conn| {
                for (subject, limits, _) in &counted {
                    // The name's count starts afresh; the address gives back this attempt.
                    if subject.starts_with("user:") {
                        access::clear_throttle(conn, subject)?;
                    } else if let Some(now) = access::throttle_record(conn, subject)? {
                        access::save_throttle(conn, subject, &throttle::release(now, *limits))?;
                    }
                }
                if let Some(old) = &previous {
                    access::end_session(conn, old)?;
                }
                access::create_session(conn, &session)?;
                Ok(())
            })
            .await?;
            Ok(SignIn::Welcome {
                token,
                user: u.name,
            })
        }
        _ => {
            // The attempted name is not logged: it may be a password typed in the wrong field.
            tracing::warn!(target: "releaseboard::signin", address = %client, "sign-in failed");
            Ok(SignIn::Wrong)
        }
    }
}

/// The signed-in user of a session cookie's `token`, if the session is live and its user
/// enabled (a stale cookie is just anonymous).
pub async fn session(ctx: &Context, token: &str) -> Result<Option<Principal>, Error> {
    let session_id = secret::digest(token);
    let found = run::read(&ctx.db, move |conn| {
        Ok(access::live_session(conn, &session_id)?)
    })
    .await?;
    Ok(found.map(|(session, user)| {
        Principal::User(SignedIn {
            role: user.role(),
            user_id: user.id,
            name: user.name,
            session_id: session.id,
            csrf_token: session.csrf_token,
        })
    }))
}

pub async fn sign_out(ctx: &Context, session_id: &str) -> Result<(), Error> {
    let id = session_id.to_string();
    run::write(&ctx.db, move |conn| Ok(access::end_session(conn, &id)?)).await
}
