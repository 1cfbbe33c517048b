//! Compare (SPEC §13): two environments, or two releases, product by product. A product
//! differs when the two sides hold different versions (one side holding none included); the
//! products that differ come first — the versions to promote — then the rest, each group by
//! product name.

use std::cmp::Ordering;

/// Whether two sides differ: by version id, a missing side included.
pub fn differs(a: Option<&str>, b: Option<&str>) -> bool {
    a != b
}

/// The order of a comparison's rows: differing first, then by product name (bytes, so both
/// databases give the same order).
pub fn order(a: (bool, &str), b: (bool, &str)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_differs_when_its_sides_hold_different_versions() {
        assert!(!differs(Some("v1"), Some("v1")));
        assert!(differs(Some("v1"), Some("v2")));
        assert!(differs(Some("v1"), None));
        assert!(differs(None, Some("v1")));
        assert!(!differs(None, None));
    }

    #[test]
    fn differing_products_come_first_then_by_name() {
        let mut rows = vec![(false, "api"), (true, "web"), (false, "auth"), (true, "db")];
        rows.sort_by(|a, b| order(*a, *b));
        assert_eq!(
            rows,
            [(true, "db"), (true, "web"), (false, "api"), (false, "auth")]
        );
    }
}
