//! Users, API keys, sessions and sign-in: what the CLI (`user …`, `api-key …`), the settings
//! pages, the sign-in page and the request gate do, in one place. Secrets are made and checked
//! here (see `crate::secret`); slow password hashing runs on the blocking pool, outside any
//! transaction.

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
use chrono::{Duration, NaiveDateTime};

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

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("blocking task failed: {e}")))
}

async fn hash(password: String) -> Result<String, Error> {
    blocking(move || secret::hash_password(&password))
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

fn user(conn: &mut AnyConnection, name: &str) -> Tx<User> {
    Ok(access::find_user(conn, name)?.ok_or(Missing::Record(Entity::User))?)
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
    run::write(&ctx.db, move |conn| {
        if access::revoke_key(conn, &name)? == 0 {
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
    let hashed = hash(password.clone()).await?;
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
    let hashed = hash(password.clone()).await?;
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

fn user_subject(name: &str) -> String {
    format!("user:{name}")
}

fn address_subject(address: &str) -> String {
    format!("addr:{address}")
}

pub async fn sign_in(
    ctx: &Context,
    name: &str,
    password: String,
    address: &str,
) -> Result<SignIn, Error> {
    let subjects = [
        (user_subject(name), throttle::PER_USER),
        (address_subject(address), throttle::PER_ADDRESS),
    ];
    let t = now();
    let lookup = (subjects.clone(), name.to_string());
    let (records, found) = run::read(&ctx.db, move |conn| {
        let mut records = Vec::new();
        for (subject, _) in &lookup.0 {
            records.push(access::throttle_record(conn, subject)?);
        }
        Ok((records, access::find_user(conn, &lookup.1)?))
    })
    .await?;
    if let Some(until) = records
        .iter()
        .filter_map(|r| throttle::locked_until(r.as_ref(), t))
        .max()
    {
        let seconds = (until - t).num_seconds().max(1);
        return Ok(SignIn::Locked { seconds });
    }

    let found = found.filter(|u| !u.disabled);
    let stored = found.as_ref().map(|u| u.password_hash.clone());
    let matches = blocking(move || match stored {
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
            let user_subject = subjects[0].0.clone();
            run::write(&ctx.db, move |conn| {
                access::clear_throttle(conn, &user_subject)?;
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
            run::write(&ctx.db, move |conn| {
                for (subject, limits) in &subjects {
                    record_failure(conn, subject, *limits, t)?;
                }
                Ok(())
            })
            .await?;
            Ok(SignIn::Wrong)
        }
    }
}

fn record_failure(
    conn: &mut AnyConnection,
    subject: &str,
    limits: Limits,
    t: NaiveDateTime,
) -> Tx<()> {
    // Read again inside the write, one writer per subject: concurrent failures must all count.
    crate::store::catalog::lock_key(conn, &format!("throttle:{subject}"))?;
    let before = access::throttle_record(conn, subject)?;
    let after = throttle::after_failure(before, t, limits);
    access::save_throttle(conn, subject, &after)?;
    Ok(())
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
