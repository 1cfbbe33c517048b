//! Secrets: how they are made, stored and compared.
//!
//! - API keys and session tokens are 32 random bytes from the OS. Only their SHA-256 digest is
//!   stored; a fast hash is right for them because they are high-entropy (nobody can guess a
//!   preimage), and a key is checked on every pipeline request.
//! - Passwords are chosen by people, so they get argon2id (slow on purpose), with a random salt.
//! - Every comparison of a secret is constant-time.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

thread_local! {
    /// argon2's working memory (~19 MiB with the default parameters), kept by each thread
    /// between checks: allocating it per check left a copy behind in every allocator arena a
    /// check ran in (over a gigabyte after a sign-in flood, measured; docs/performance.md).
    /// The password threads (`service::passwords`) are few and long-lived, so this bounds the
    /// memory password work takes.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs argon2 with `params` into `out`, in this thread's kept working memory.
fn argon2_into(
    argon2: &Argon2<'_>,
    block_count: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < block_count {
            blocks.resize(block_count, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..block_count])
    })
}

/// An argon2id hash (PHC string) of a password, with a random salt and the crate's default
/// parameters: the same string `Argon2::default().hash_password` makes.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| anyhow::anyhow!("encoding a salt: {e}"))?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::default(), Version::default(), params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("decoding a salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(
        &argon2,
        params.block_count(),
        password.as_bytes(),
        salt_raw,
        &mut out,
    )
    .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params)
            .map_err(|e| anyhow::anyhow!("encoding parameters: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("encoding a hash: {e}"))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the stored hash (any argon2 PHC string, with its own
/// parameters). A malformed hash matches nothing. The comparison is constant-time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon2_into(
        &argon2,
        params.block_count(),
        password.as_bytes(),
        salt_raw,
        &mut out,
    )
    .is_ok()
        && out.ct_eq(expected.as_bytes()).into()
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

    /// Hashes made before the working memory was kept (the crate's own API) still verify, and
    /// the crate verifies what is made now: the strings are the same format.
    #[test]
    fn hashes_agree_with_the_crates_own_api() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("salt");
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        assert!(verify_password("correct horse", &theirs));
        assert!(!verify_password("correct horsf", &theirs));
        let ours = hash_password("battery staple").expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(Argon2::default()
            .verify_password(b"battery staple", &parsed)
            .is_ok());
        assert!(verify_password("battery staple", &ours));
        assert!(!verify_password("battery stapler", &ours));
        for malformed in [
            "",
            "$argon2id$",
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$",
            "plain",
        ] {
            assert!(!verify_password("x", malformed), "{malformed}");
        }
    }

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
