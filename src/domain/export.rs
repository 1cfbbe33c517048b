//! Exports (SPEC §11): what a release's notes, its CSV and its feeds may print, and when an
//! environment was fully reached. Pure functions; the faces write the formats.

use std::borrow::Cow;

/// A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (CSV
/// injection): such cells are prefixed with `'`, which spreadsheets show as text.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Text for a Markdown table cell or heading: the characters Markdown would read as markup
/// (emphasis, code, links, HTML, the table's `|`) are escaped with `\`, and line breaks become
/// spaces (a table row is one line).
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '+'
            | '-' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// When an environment was fully reached by a release: when the last of its versions first
/// completed a deployment there — `None` while one has not, and for an empty release.
pub fn fully_reached<T: Ord + Copy>(firsts: impl IntoIterator<Item = Option<T>>) -> Option<T> {
    let mut latest: Option<T> = None;
    for first in firsts {
        let first = first?;
        latest = Some(latest.map_or(first, |l| l.max(first)));
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_made_text() {
        let table = [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("user-service", "user-service"),
            ("1.2.3", "1.2.3"),
            ("", ""),
            (" =1", " =1"),
        ];
        for (cell, want) in table {
            assert_eq!(spreadsheet_safe(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn markdown_markup_is_escaped() {
        let table = [
            ("api", "api"),
            ("a|b", "a\\|b"),
            ("*bold* _it_", "\\*bold\\* \\_it\\_"),
            ("[x](javascript:y)", "\\[x\\]\\(javascript:y\\)"),
            ("<script>", "\\<script\\>"),
            ("two\nlines", "two lines"),
            ("1.2.3-rc", "1.2.3\\-rc"),
        ];
        for (text, want) in table {
            assert_eq!(markdown_text(text), want, "{text:?}");
        }
    }

    #[test]
    fn an_environment_is_fully_reached_when_its_last_version_first_got_there() {
        assert_eq!(fully_reached([Some(3), Some(5), Some(4)]), Some(5));
        assert_eq!(fully_reached([Some(3), None]), None);
        assert_eq!(fully_reached::<i32>([]), None);
        assert_eq!(fully_reached([Some(7)]), Some(7));
    }
}
