//! A thin builder over `axum::Router` that also records every (method, path) it registers,
//! so tests can walk the real route table (e.g. to prove every tenant route answers 403 to
//! non-members) instead of a hand-kept list that would silently miss new routes.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};

use super::state::AppState;
use crate::auth::role::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub method: Method,
    pub path: String,
}

#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteEntry>,
}

impl Routes {
    pub fn new() -> Routes {
        Routes::default()
    }

    fn add(mut self, method: Method, path: &str, route: MethodRouter<AppState>) -> Routes {
        self.table.push(RouteEntry {
            method,
            path: path.to_owned(),
        });
        self.router = self.router.route(path, route);
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Routes {
        self.add(Method::GET, path, get(h))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Routes {
        self.add(Method::POST, path, post(h))
    }

    /// A POST whose body may be up to `limit` bytes (the default is 2 MiB).
    pub fn post_large<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, limit: usize) -> Routes {
        self.add(Method::POST, path, post(h).layer(DefaultBodyLimit::max(limit)))
    }

    /// A large POST of a tenant route that only `role` may make: the role is checked before
    /// any of the body is read, so a caller who may not upload cannot make the server wait
    /// for (or hold) megabytes. Only for routes under the tenant guard.
    pub fn post_large_as<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        h: H,
        limit: usize,
        role: Role,
    ) -> Routes {
        let route = post(h)
            .layer(DefaultBodyLimit::max(limit))
            .route_layer(axum::middleware::from_fn(move |req, next| {
                crate::auth::tenant_guard::require_before_body(role, req, next)
            }));
        self.add(Method::POST, path, route)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Routes {
        self.add(Method::DELETE, path, delete(h))
    }

    /// Applies `f` (e.g. a `route_layer`) to the routes registered so far.
    pub fn map_router(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Routes {
        self.router = f(self.router);
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteEntry>) {
        (self.router, self.table)
    }
}
