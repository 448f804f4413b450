//! Names people type (tenants, backup sets, tokens): shown in pages, logs, CSV-like exports
//! and terminals, so they must not carry characters that change how text around them reads.

use crate::error::AppError;

/// Control characters (Cc: NUL, tab, CR/LF, escape, C1), line and paragraph separators
/// (Zl, Zp: U+2028, U+2029) and format characters (Cf: the bidi controls that make a name
/// display reversed or spoof the text after it, "Trojan Source", and the invisible ones that
/// make two names look alike: zero-width space and joiners, the byte order mark, soft
/// hyphen, tags). Rust's `char` knows no general category, so Cf is listed here (Unicode 15).
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// The trimmed name, or an error naming `what` and the rule.
pub fn check(raw: &str, what: &str, max_chars: usize) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > max_chars {
        return Err(AppError::Invalid(format!(
            "give the {what} a name of 1 to {max_chars} characters"
        )));
    }
    if name.chars().any(is_forbidden) {
        return Err(AppError::Invalid(format!(
            "the {what} name contains a control, separator, invisible or text-direction character (e.g. a line break or a zero-width space); type it again without"
        )));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_refused_ordinary_text_is_kept() {
        assert_eq!(
            check("  Zürich – Büro 2 ", "tenant", 100).expect("ok"),
            "Zürich – Büro 2"
        );
        for bad in [
            "a\0b",
            "a\r\nb",
            "a\nb",
            "a\tb",
            "a\u{202E}b",
            "a\u{2066}b",
            "a\u{1b}[31m",
            "a\u{2028}b",
            "a\u{2029}b",
            "a\u{200B}b",
            "a\u{200D}b",
            "\u{FEFF}ab",
            "a\u{00AD}b",
            "a\u{E0041}b",
        ] {
            assert!(check(bad, "tenant", 100).is_err(), "{bad:?}");
        }
        assert!(check("", "tenant", 100).is_err());
        assert!(check(&"x".repeat(101), "tenant", 100).is_err());
    }
}
