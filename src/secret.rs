//! Secrets: how they are made, stored and compared.
//!
//! - API keys and session tokens are 32 random bytes from the OS. Only their SHA-256 digest is
//!   stored; a fast hash is right for them because they are high-entropy (nobody can guess a
//!   preimage), and a key is checked on every pipeline request.
//! - Passwords are chosen by people, so they get argon2id (slow on purpose), with a random salt.
//! - Every comparison of a secret is constant-time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// The prefix of every API key, so that secret scanners and people recognise one.
pub const KEY_PREFIX: &str = "rb_";

/// Chosen passwords must be at least this long; generated ones are longer.
pub const MIN_PASSWORD_CHARS: usize = 12;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // Without the OS's randomness no secret can be made safely: stop rather than degrade.
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A fresh API key: `rb_` and 64 hex digits (32 random bytes).
pub fn new_api_key() -> String {
    format!("{KEY_PREFIX}{}", hex(&random_bytes::<32>()))
}

/// A fresh opaque token (session cookies, CSRF tokens): 64 hex digits.
pub fn new_token() -> String {
    hex(&random_bytes::<32>())
}

/// A generated password people can type: five groups of five lowercase letters and digits
/// (about 129 bits), e.g. `k3f9x-q2m8d-…`.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789"; // 32 symbols, no l/o/0/1
    let bytes = random_bytes::<25>();
    let mut out = String::with_capacity(29);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32: taking the low five bits is unbiased.
        out.push(ALPHABET[(b & 31) as usize] as char);
    }
    out
}

/// The stored form of a key or token: its SHA-256 digest in hex.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A keyed hash (HMAC-SHA-256, hex) of `text`: what is stored of something that must be
/// recognised again but not read back, such as a name typed into a sign-in form (it may be a
/// password typed in the wrong field). Without the key, nobody can test guesses against it.
pub fn keyed_digest(key: &str, text: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// An argon2id hash (PHC string) of a password, with a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| anyhow::anyhow!("encoding a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches the stored hash. A malformed hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of a password check on a user that does not exist, so that a wrong name
/// and a wrong password cannot be told apart by how long the answer takes.
pub fn verify_nobody(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_password("no user has this password").unwrap_or_else(|_| String::from("$invalid"))
    });
    let _ = verify_password(password, dummy);
}

/// Why a chosen password is refused, if it is.
pub fn password_problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.chars().count() > 1_000 {
        return Some("must be at most 1000 characters".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tokens_are_long_random_and_distinct() {
        let a = new_api_key();
        let b = new_api_key();
        assert!(a.starts_with("rb_") && a.len() == 3 + 64, "{a}");
        assert_ne!(a, b);
        assert_eq!(new_token().len(), 64);
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn digests_are_stable_and_never_the_secret() {
        let key = new_api_key();
        assert_eq!(digest(&key), digest(&key));
        assert_ne!(digest(&key), key);
        assert_eq!(digest(&key).len(), 64);
    }

    #[test]
    fn generated_passwords_are_acceptable() {
        let p = new_password();
        assert_eq!(p.len(), 29, "{p}");
        assert_eq!(password_problem(&p), None);
        assert_ne!(p, new_password());
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("correct horse battery", "not a hash"));
        // Same password, new salt: a different hash.
        assert_ne!(h, hash_password("correct horse battery").expect("hash"));
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(password_problem("short").is_some());
        assert!(password_problem("twelve chars").is_none());
    }
}
