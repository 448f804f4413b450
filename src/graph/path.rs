//! Graph ids and the paths built from them.
//!
//! An id reaches us from outside the process: a Graph answer, an imported zip, a document a
//! restore writes back. Spliced into `{collection}/{id}` as it came, `../deviceConfigurations/
//! …/getOmaSettingPlainTextValue(…)` turned a "device category" read into any GET the app
//! registration may make (dot segments resolve before the request leaves). So every id that
//! goes into a path passes [`id`] first, and every path is built here, one checked segment
//! at a time.

use serde_json::json;

use super::error::{ErrorCode, GraphError};

/// Intune's ids are GUIDs or composites of GUIDs and names (`{guid}_DefaultWindows10…`),
/// scope tags are small integers; none comes close to this.
pub const MAX_ID_LEN: usize = 200;

/// Whether `id` is a Graph object id: 1 to [`MAX_ID_LEN`] characters of `[A-Za-z0-9_-]`.
/// GUIDs are a subset. No `/`, `\`, `.`, `?`, `#`, `%`, quote or space can pass, so an id is
/// always exactly one path segment and one quoted OData key.
pub fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `id`, if it is a Graph object id (see [`is_id`]); else an error that names no part of it
/// beyond a safe prefix (it may be hostile).
pub fn id(id: &str) -> Result<&str, GraphError> {
    if is_id(id) {
        Ok(id)
    } else {
        Err(GraphError::new(
            ErrorCode::GraphBadRequest,
            "an object id is not a Graph id (only letters, digits, '-' and '_'); the request was not sent",
            &json!({"reason": "invalid id"}),
        ))
    }
}

/// `{base}/{id}` with `id` checked.
pub fn under(base: &str, object_id: &str) -> Result<String, GraphError> {
    Ok(format!("{base}/{}", id(object_id)?))
}

/// `{base}/{id}/{rest}` with `id` checked; `rest` is ours (a literal of the code).
pub fn child(base: &str, object_id: &str, rest: &str) -> Result<String, GraphError> {
    Ok(format!("{base}/{}/{rest}", id(object_id)?))
}

/// A key that is not an object id (a setting definition id such as
/// `com.apple.managedclient.preferences_enforcement`) as one percent-encoded path segment.
/// A segment of dots only is refused: URL parsers resolve `.`, `..` and `%2e%2e` alike.
pub fn segment(key: &str) -> Result<String, GraphError> {
    if key.is_empty() || key.len() > 1024 || key.bytes().all(|b| b == b'.') {
        return Err(GraphError::new(
            ErrorCode::GraphBadRequest,
            "a key is empty, too long or a dot segment; the request was not sent",
            &json!({"reason": "invalid path segment"}),
        ));
    }
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            use std::fmt::Write as _;
            let _ = write!(out, "%{b:02X}");
        }
    }
    Ok(out)
}

/// A query parameter's value (an OData `$filter` with a display name in it), percent-encoded
/// whole: a name holding `&`, `#`, `+` or `%` stays inside its parameter.
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'\'' | b'(' | b')' | b'$') {
            out.push(char::from(b));
        } else {
            use std::fmt::Write as _;
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Whether a relative path we are about to request has a segment a URL parser would resolve
/// or reinterpret (`.`, `..`, their percent-encoded forms, a backslash, a fragment, an
/// encoded slash). The last line of defence: every path is built from checked ids, and this
/// refuses the request if one was not.
pub fn is_safe_relative(path: &str) -> bool {
    let (path, _query) = path.split_once('?').unwrap_or((path, ""));
    !path.contains(['\\', '#'])
        && path.split('/').all(|s| {
            let lower = s.to_ascii_lowercase();
            !s.is_empty()
                && !lower.contains("%2f")
                && !lower.contains("%5c")
                && lower.replace("%2e", ".").bytes().any(|b| b != b'.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_guids_and_composites_only() {
        for ok in [
            "6f1c7b54-5b1b-4b6e-9a0e-2f4d5f6a7b8c",
            "0",
            "T_0b4b2b1a-1111-2222-3333-444455556666",
            "6f1c7b54-5b1b-4b6e-9a0e-2f4d5f6a7b8c_DefaultWindows10EnrollmentCompletionPageConfiguration",
        ] {
            assert!(is_id(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".",
            "../deviceConfigurations/x/getOmaSettingPlainTextValue(secretReferenceValueId='r')",
            "a/b",
            "a\\b",
            "a?b",
            "a#b",
            "a%2fb",
            "%2e%2e",
            "a b",
            "a'b",
            "a.b",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(!is_id(bad), "{bad}");
            assert!(id(bad).is_err());
            assert!(under("deviceManagement/deviceCategories", bad).is_err());
        }
    }

    #[test]
    fn segments_encode_and_refuse_dot_segments() {
        assert_eq!(segment("com.apple.a_b").expect("ok"), "com.apple.a_b");
        assert_eq!(segment("a/b?c").expect("ok"), "a%2Fb%3Fc");
        for bad in ["", ".", "..", "..."] {
            assert!(segment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unsafe_relative_paths_are_recognised() {
        assert!(is_safe_relative(
            "deviceManagement/deviceCategories/abc?$expand=assignments"
        ));
        assert!(is_safe_relative(
            "deviceManagement/deviceConfigurations/abc/getOmaSettingPlainTextValue(secretReferenceValueId='r')"
        ));
        for bad in [
            "deviceManagement/deviceCategories/../deviceConfigurations/x",
            "deviceManagement/deviceCategories/%2e%2e/x",
            "deviceManagement/deviceCategories/.%2E/x",
            "deviceManagement/deviceCategories/./x",
            "deviceManagement//x",
            "deviceManagement/a%2Fb",
            "deviceManagement/a\\..\\b",
            "deviceManagement/a#frag",
        ] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}
