//! Access control rules (SPEC §7): who may do what. No HTTP and no storage here: the request
//! gate (`http::gate`) finds out who is asking and its `Actor` extractor asks
//! [`Principal::may`]; `service::accounts` signs people in; `store::access` keeps users, keys
//! and sessions.

/// What a request wants to do. Each write route names the one it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Pages and read API (only checked when public reading is off).
    Read,
    /// Post deployment and build events.
    PostEvents,
    /// Create and change releases and their versions.
    ManageReleases,
    /// Create and change products and environments.
    ManageCatalog,
    /// Users and API keys.
    ManageAccess,
}

use super::error::{Conflict, Error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// Viewers read; editors manage releases and versions; admins also manage the catalog,
    /// users and keys. Users post no events: pipelines do, with keys.
    pub fn allows(self, p: Permission) -> bool {
        match p {
            Permission::Read => true,
            Permission::PostEvents => false,
            Permission::ManageReleases => matches!(self, Role::Editor | Role::Admin),
            Permission::ManageCatalog | Permission::ManageAccess => self == Role::Admin,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScope {
    /// Only posts events: what a CD pipeline needs, and all a leaked pipeline secret can do.
    Ingest,
    /// Every API write and read.
    Write,
}

impl KeyScope {
    pub const ALL: [KeyScope; 2] = [KeyScope::Ingest, KeyScope::Write];

    pub fn parse(s: &str) -> Option<KeyScope> {
        KeyScope::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Ingest => "ingest",
            KeyScope::Write => "write",
        }
    }

    /// Keys never manage access: users and keys are made by people (CLI or admin pages).
    pub fn allows(self, p: Permission) -> bool {
        match self {
            KeyScope::Ingest => p == Permission::PostEvents,
            KeyScope::Write => p != Permission::ManageAccess,
        }
    }
}

/// A signed-in user, as the session found them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    /// The stored id of the session (a digest of the cookie's token), for sign-out.
    pub session_id: String,
    /// The token every form of this session must carry.
    pub csrf_token: String,
}

/// The holder of a valid API key.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub id: String,
    pub name: String,
    pub scope: KeyScope,
}

/// Who is asking. Anonymous requests carry no principal.
#[derive(Debug, Clone)]
pub enum Principal {
    User(SignedIn),
    Key(KeyHolder),
}

impl Principal {
    pub fn may(&self, p: Permission) -> bool {
        match self {
            Principal::User(u) => u.role.allows(p),
            Principal::Key(k) => k.scope.allows(p),
        }
    }

    /// The name the audit trail records: the user's name, or `key:<name>` for a key (so that a
    /// key and a user of the same name stay distinguishable).
    pub fn actor(&self) -> String {
        match self {
            Principal::User(u) => u.name.clone(),
            Principal::Key(k) => format!("key:{}", k.name),
        }
    }

    /// The credential, as what is stored on its behalf is keyed (an `Idempotency-Key` belongs
    /// to the credential that sent it, SPEC §7): the key's or the user's id, never a name that
    /// could be reused by another.
    pub fn credential(&self) -> String {
        match self {
            Principal::User(u) => format!("user:{}", u.user_id),
            Principal::Key(k) => format!("key:{}", k.id),
        }
    }

    /// What a refusal says the principal is, e.g. "user alice (viewer)".
    pub fn describe(&self) -> String {
        match self {
            Principal::User(u) => format!("user {} ({})", u.name, u.role.as_str()),
            Principal::Key(k) => format!("API key {} ({})", k.name, k.scope.as_str()),
        }
    }
}

/// A role named by a person (a form field, a command-line flag).
pub fn role(raw: &str) -> Result<Role, Error> {
    Role::parse(raw).ok_or_else(|| Error::invalid("role", "must be viewer, editor or admin"))
}

/// A key scope named by a person.
pub fn scope(raw: &str) -> Result<KeyScope, Error> {
    KeyScope::parse(raw).ok_or_else(|| Error::invalid("scope", "must be ingest or write"))
}

/// An admin may not disable their own account (and so lock out the last admin by accident).
/// `by` is who asks, when a signed-in user does; the command line may disable anyone.
pub fn may_disable(by: Option<&str>, name: &str) -> Result<(), Conflict> {
    if by == Some(name) {
        return Err(Conflict::DisableSelf);
    }
    Ok(())
}

/// Where to go after signing in (SPEC §7): `next` only when it is a path of this site — one
/// leading `/`, no `//` anywhere, no backslash (browsers read `/\host` as `//host`), no
/// control character (browsers drop a TAB or newline, so `/<TAB>/host` becomes `//host`; and a
/// header cannot carry them) — and `/` otherwise.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes_grant_what_the_spec_says() {
        use Permission::*;
        let all = [
            Read,
            PostEvents,
            ManageReleases,
            ManageCatalog,
            ManageAccess,
        ];
        let granted = |f: &dyn Fn(Permission) -> bool| -> Vec<Permission> {
            all.into_iter().filter(|p| f(*p)).collect()
        };
        assert_eq!(granted(&|p| Role::Viewer.allows(p)), vec![Read]);
        assert_eq!(
            granted(&|p| Role::Editor.allows(p)),
            vec![Read, ManageReleases]
        );
        assert_eq!(
            granted(&|p| Role::Admin.allows(p)),
            vec![Read, ManageReleases, ManageCatalog, ManageAccess]
        );
        assert_eq!(granted(&|p| KeyScope::Ingest.allows(p)), vec![PostEvents]);
        assert_eq!(
            granted(&|p| KeyScope::Write.allows(p)),
            vec![Read, PostEvents, ManageReleases, ManageCatalog]
        );
    }

    #[test]
    fn nobody_disables_themselves() {
        // (who asks, whom, allowed?)
        for (by, name, ok) in [
            (Some("ada"), "bob", true),
            (Some("ada"), "ada", false),
            (None, "ada", true),
        ] {
            assert_eq!(may_disable(by, name).is_ok(), ok, "{by:?} {name}");
        }
    }

    #[test]
    fn roles_and_scopes_named_by_people_parse_or_say_what_to_choose() {
        assert_eq!(role(" editor ").ok(), Some(Role::Editor));
        assert!(matches!(role("root"), Err(Error::Invalid(f)) if f[0].field == "role"));
        assert_eq!(scope("ingest").ok(), Some(KeyScope::Ingest));
        assert!(matches!(scope("admin"), Err(Error::Invalid(f)) if f[0].field == "scope"));
    }

    #[test]
    fn names_parse_back() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for k in KeyScope::ALL {
            assert_eq!(KeyScope::parse(k.as_str()), Some(k));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(KeyScope::parse("admin"), None);
    }

    #[test]
    fn only_paths_of_this_site_are_followed_after_sign_in() {
        let table: &[(&str, &str)] = &[
            ("/releases/42", "/releases/42"),
            (
                "/releases?status=draft&q=a%20b",
                "/releases?status=draft&q=a%20b",
            ),
            ("/r\u{e9}sum\u{e9}", "/r\u{e9}sum\u{e9}"),
            ("/%09/evil.example/", "/%09/evil.example/"), // still encoded: a path here
            ("/", "/"),
            ("", "/"),
            ("releases", "/"),
            ("//evil.example/", "/"),
            ("/\\evil.example/", "/"),
            ("/\\/evil.example/", "/"),
            ("\\\\evil.example", "/"),
            ("/\t/evil.example/", "/"),
            ("/\t\t/evil.example/", "/"),
            ("/\r\n/evil.example", "/"),
            ("/ok\nSet-Cookie: x=1", "/"),
            ("/a//b", "/"),
            ("/\u{7f}", "/"),
            ("/\u{85}x", "/"),
            ("/\0", "/"),
            ("https://evil.example/", "/"),
            ("javascript:alert(1)", "/"),
            ("http:/evil.example", "/"),
        ];
        for (next, want) in table {
            assert_eq!(safe_next(Some(next)), *want, "{next:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
