//! Exports (SPEC §11): what a release's notes, its CSV and its feeds may print. Pure
//! functions; the faces write the formats (when an environment was fully reached is
//! `domain::insight`'s).

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
}
