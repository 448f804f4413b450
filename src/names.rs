//! Names people type (tenants, backup sets, tokens): shown in pages, logs, CSV-like exports
//! and terminals, so they must not carry characters that change how text around them reads.

use crate::error::AppError;

/// Control characters (NUL, tab, CR/LF, escape, C1) and the Unicode bidi controls that can
/// make a name display reversed or spoof the text after it ("Trojan Source").
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
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
            "the {what} name contains a control or text-direction character (e.g. a line break); type it again without"
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
        ] {
            assert!(check(bad, "tenant", 100).is_err(), "{bad:?}");
        }
        assert!(check("", "tenant", 100).is_err());
        assert!(check(&"x".repeat(101), "tenant", 100).is_err());
    }
}
