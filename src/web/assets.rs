//! Static files, embedded in the binary. URLs carry a content hash (`?v=`), so responses can
//! be cached for a year and a new build is still picked up at once.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/htmx.min.js"),
    },
    Asset {
        name: "sse.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/sse.min.js"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/app.js"),
    },
    Asset {
        name: "pico.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/pico.min.css"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/app.css"),
    },
];

/// A short hash of every asset together: one version for all, computed once.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        for a in ASSETS {
            h.update(a.body);
        }
        hex::encode(&h.finalize()[..6])
    })
}

/// The URL to reference an asset from a page.
pub fn url(name: &str) -> String {
    format!("/assets/{name}?v={}", version())
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
