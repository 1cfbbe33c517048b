//! Name search (SPEC §4 `q`, "name contains"), case-insensitive in every script.
//!
//! SQLite's `lower()` and `LIKE` fold ASCII only, and PostgreSQL's depend on the database's
//! collation, so neither can be trusted to find `Релиз 2` for `релиз`. Instead the application
//! stores each release name folded ([`fold`]) beside the name and matches the folded query
//! against it with `LIKE` (`store::releases`); [`matches`] is that rule in Rust, and a test
//! holds the SQL to it (`tests/integration/rules_in_sql.rs`).

/// The form a name is searched in: Unicode default case folding (`ß` → `ss`, final `ς` → `σ`,
/// Cyrillic, Greek, Armenian … as well as ASCII), so that any two spellings that differ only by
/// case fold to the same text.
pub fn fold(text: &str) -> String {
    caseless::default_case_fold_str(text)
}

/// Whether a name contains the query, ignoring case (an empty query matches everything).
pub fn matches(name: &str, query: &str) -> bool {
    fold(name).contains(&fold(query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_whatever_their_case_and_script() {
        // (name, query, found?)
        let table = [
            ("Релиз 2", "релиз", true),
            ("Релиз 2", "РЕЛИЗ", true),
            ("релиз 2", "Релиз", true),
            ("User Platform v2.0", "platform", true),
            ("User Platform v2.0", "PLATFORM V2", true),
            ("Straße", "STRASSE", true),
            ("ΟΔΥΣΣΕΥΣ", "οδυσσευς", true),
            ("Ünïcode", "üNÏ", true),
            ("Release 1", "релиз", false),
            ("Q4 Sprint 3", "sprint 4", false),
            ("anything", "", true),
        ];
        for (name, query, found) in table {
            assert_eq!(matches(name, query), found, "{name:?} ∋ {query:?}");
        }
    }

    #[test]
    fn folding_is_stable() {
        for s in ["Релиз", "ΣΑΣ", "Straße", "abc"] {
            assert_eq!(fold(&fold(s)), fold(s), "{s}");
        }
    }
}
