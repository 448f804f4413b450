//! Body extractors whose rejections are `AppError`s, so a bad body gets the same JSON error
//! shape (API) or error page (forms) as every other failure.

use axum::extract::FromRequest;

use crate::error::AppError;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct Form<T>(pub T);
