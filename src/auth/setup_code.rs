//! The one-time code that opens the first-run setup page. Without it the page belonged to
//! whoever reached a fresh server first (or a web page rebinding its DNS name to it). A new
//! code is made at every start and written to the server's log while no account exists,
//! which only the person running the server reads; setup closes for good once an account
//! exists, so the code is used once. `user add` on the command line needs none.

/// Crockford's base 32: no I, L, O or U to misread; 20 characters carry 100 random bits.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 20;

pub struct SetupCode(String);

impl SetupCode {
    /// A fresh random code, shown in groups of four: `7K3M-…`.
    pub fn generate() -> SetupCode {
        let mut bytes = [0u8; LENGTH];
        // The OS generator failing means the machine is unusable for crypto; nothing to recover.
        getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
        let mut code = String::with_capacity(LENGTH + LENGTH / 4);
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            // 256 is a multiple of 32: every character is equally likely.
            code.push(char::from(ALPHABET[usize::from(b % 32)]));
        }
        SetupCode(code)
    }

    /// The code, for the start-up log line (and for tests, which read it here instead).
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Whether `typed` is this code, as a person copies it: case, spaces and dashes do not
    /// matter. Compared in constant time.
    pub fn matches(&self, typed: &str) -> bool {
        let canonical = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect()
        };
        super::token::equal(&canonical(typed), &canonical(&self.0))
    }
}

/// Never printed by accident (`{:?}` of the state).
impl std::fmt::Debug for SetupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetupCode(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_as_people_type_it_and_nothing_else() {
        let code = SetupCode::generate();
        let shown = code.reveal().to_owned();
        assert_eq!(shown.len(), 24, "{shown}");
        assert_eq!(shown.matches('-').count(), 4, "{shown}");
        assert!(code.matches(&shown));
        assert!(code.matches(&format!("  {}  ", shown.to_lowercase().replace('-', " "))));
        assert!(!code.matches(""));
        assert!(!code.matches(&shown[..23]));
        assert_ne!(SetupCode::generate().reveal(), shown, "a new code each time");
        assert_eq!(format!("{code:?}"), "SetupCode(…)");
    }
}
