//! Error pages and toasts.

use axum::http::StatusCode;
use maud::{Markup, html};

use super::layout::bare;

pub fn page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    bare(
        title,
        None,
        None,
        html! {
            article.pv-narrow {
                header { strong { (status.as_u16()) " · " (title) } }
                p { (message) }
                footer { a href="/" { "Back to the dashboard" } }
            }
        },
    )
}

pub fn toast(message: &str) -> Markup {
    html! { div.pv-flash.error role="alert" { (message) } }
}
