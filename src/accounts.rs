//! Users, API keys and sign-in: what the CLI (`user …`, `api-key …`), the settings pages and
//! the sign-in page do, in one place. Secrets are made and checked here (see `auth::secret`);
//! slow password hashing runs on the blocking pool, outside any transaction.

use crate::auth::throttle::{self, Limits};
use crate::auth::{secret, KeyScope, Role};
use crate::db::access::{self, ApiKey, Session, User};
use crate::db::{ids, Db};
use crate::domain::validate;
use crate::error::AppError;
use chrono::{Duration, NaiveDateTime};

/// A key just made: the stored row and the secret, which is shown this once and never again.
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

async fn hash(password: String) -> Result<String, AppError> {
    actix_web::web::block(move || secret::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing task failed: {e}")))?
        .map_err(AppError::Internal)
}

fn checked_name(raw: &str) -> Result<String, AppError> {
    validate::name(raw).map_err(|m| AppError::invalid("name", m))
}

/// A chosen password after its checks, or a generated one.
fn password_or_generated(password: Option<String>) -> Result<String, AppError> {
    match password {
        Some(p) => match secret::password_problem(&p) {
            Some(problem) => Err(AppError::invalid("password", problem)),
            None => Ok(p),
        },
        None => Ok(secret::new_password()),
    }
}

pub async fn create_api_key(
    db: &Db,
    name: &str,
    scope: KeyScope,
    created_by: &str,
) -> Result<IssuedKey, AppError> {
    let name = checked_name(name)?;
    let secret = secret::new_api_key();
    let digest = secret::digest(&secret);
    let created_by = created_by.to_string();
    let key = db
        .write(move |conn| access::create_key(conn, &name, scope, &digest, &created_by))
        .await?;
    Ok(IssuedKey { key, secret })
}

pub async fn revoke_api_key(db: &Db, name: &str) -> Result<(), AppError> {
    let name = name.trim().to_string();
    db.write(move |conn| access::revoke_key(conn, &name)).await
}

pub async fn list_api_keys(db: &Db) -> Result<Vec<ApiKey>, AppError> {
    db.read(|conn| Ok(access::list_keys(conn)?)).await
}

/// Creates a user; returns the user and their password (the given one, or a generated one to
/// hand over).
pub async fn create_user(
    db: &Db,
    name: &str,
    role: Role,
    password: Option<String>,
) -> Result<(User, String), AppError> {
    let name = checked_name(name)?;
    let password = password_or_generated(password)?;
    let hashed = hash(password.clone()).await?;
    let user = db
        .write(move |conn| access::create_user(conn, &name, role, &hashed))
        .await?;
    Ok((user, password))
}

/// Sets a user's password (the given one, or a generated one, which is returned) and ends
/// their sessions.
pub async fn set_password(
    db: &Db,
    name: &str,
    password: Option<String>,
) -> Result<String, AppError> {
    let name = name.trim().to_string();
    let password = password_or_generated(password)?;
    let hashed = hash(password.clone()).await?;
    db.write(move |conn| access::set_password(conn, &name, &hashed))
        .await?;
    Ok(password)
}

pub async fn set_disabled(db: &Db, name: &str, disabled: bool) -> Result<(), AppError> {
    let name = name.trim().to_string();
    db.write(move |conn| access::set_disabled(conn, &name, disabled))
        .await
}

pub async fn list_users(db: &Db) -> Result<Vec<User>, AppError> {
    db.read(|conn| Ok(access::list_users(conn)?)).await
}

pub async fn has_admin(db: &Db) -> Result<bool, AppError> {
    db.read(|conn| Ok(access::has_admin(conn)?)).await
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
    /// Too many failures for this user name or address; refused until then, whatever the
    /// password.
    Locked {
        until: NaiveDateTime,
    },
}

fn user_subject(name: &str) -> String {
    format!("user:{name}")
}

fn address_subject(address: &str) -> String {
    format!("addr:{address}")
}

pub async fn sign_in(
    db: &Db,
    name: &str,
    password: String,
    address: &str,
) -> Result<SignIn, AppError> {
    let subjects = [
        (user_subject(name), throttle::PER_USER),
        (address_subject(address), throttle::PER_ADDRESS),
    ];
    let now = ids::now();
    let lookup = (subjects.clone(), name.to_string());
    let (records, user) = db
        .read(move |conn| {
            let mut records = Vec::new();
            for (subject, _) in &lookup.0 {
                records.push(access::throttle_record(conn, subject)?);
            }
            Ok((records, access::find_user(conn, &lookup.1)?))
        })
        .await?;
    if let Some(until) = records
        .iter()
        .filter_map(|r| throttle::locked_until(r.as_ref(), now))
        .max()
    {
        return Ok(SignIn::Locked { until });
    }

    let user = user.filter(|u| !u.disabled);
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = actix_web::web::block(move || match stored {
        Some(h) => secret::verify_password(&password, &h),
        None => {
            secret::verify_nobody(&password);
            false
        }
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("password check failed: {e}")))?;

    match user {
        Some(user) if matches => {
            let token = secret::new_token();
            let session = Session {
                id: secret::digest(&token),
                user_id: user.id.clone(),
                csrf_token: secret::new_token(),
                created_at: now,
                expires_at: now + Duration::days(crate::gate::session::SESSION_DAYS),
            };
            let user_subject = subjects[0].0.clone();
            db.write(move |conn| {
                access::clear_throttle(conn, &user_subject)?;
                access::create_session(conn, &session)?;
                Ok(())
            })
            .await?;
            Ok(SignIn::Welcome {
                token,
                user: user.name,
            })
        }
        _ => {
            db.write(move |conn| {
                for (subject, limits) in &subjects {
                    record_failure(conn, subject, *limits, now)?;
                }
                Ok(())
            })
            .await?;
            Ok(SignIn::Wrong)
        }
    }
}

fn record_failure(
    conn: &mut crate::db::AnyConnection,
    subject: &str,
    limits: Limits,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    // Read again inside the write, one writer per subject: concurrent failures must all count.
    crate::db::catalog::lock_key(conn, &format!("throttle:{subject}"))?;
    let before = access::throttle_record(conn, subject)?;
    let after = throttle::after_failure(before, now, limits);
    access::save_throttle(conn, subject, &after)?;
    Ok(())
}

pub async fn sign_out(db: &Db, session_id: &str) -> Result<(), AppError> {
    let id = session_id.to_string();
    db.write(move |conn| Ok(access::end_session(conn, &id)?))
        .await
}
