//! Server-sent events. Each stream subscribes to the progress hub *before* reading the
//! current state, sends that state first (so a reconnecting page is never stale), then
//! re-renders on every relevant event. Bursts are coalesced: after an event the stream
//! waits a moment and drains what else arrived, so a 10,000-item run costs each subscriber
//! at most a few renders per second.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::state::AppState;
use crate::auth::caller::Caller;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::runs::{self, Run};
use crate::db::tenants;
use crate::error::AppError;
use crate::runs::access::load_run;
use crate::runs::progress::Progress;
use crate::views::runs::{ITEMS_PER_PAGE, active_widget, item_filter, item_rows, summary};

const COALESCE: Duration = Duration::from_millis(100);
/// Every stream ends after this long; a live page reconnects at once (the htmx extension
/// retries after 0.5 s) and gets a fresh snapshot. Browsers allow only six HTTP/1.1
/// connections per host, and a page they keep in memory after navigation can keep its
/// streams open: bounding a stream's life bounds how long such a page can starve new ones.
const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(20);

/// What a run's event stream carries from one step to the next.
struct RunStream {
    db: crate::db::Db,
    run_id: String,
    offset: u32,
    rx: tokio::sync::broadcast::Receiver<Progress>,
    first: bool,
    show: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u32>,
    show: Option<String>,
}

type BoxedEvents = std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;
type EventStream = Sse<axum::response::sse::KeepAliveStream<BoxedEvents>>;

fn sse(stream: impl Stream<Item = Event> + Send + 'static) -> EventStream {
    let bounded = stream.take_until(tokio::time::sleep(MAX_STREAM_LIFETIME));
    let boxed: BoxedEvents = Box::pin(bounded.map(Ok));
    Sse::new(boxed).keep_alive(KeepAlive::default())
}

/// Waits for the next event that `wanted` accepts, then drains the burst behind it.
/// `None` when the hub is gone (shutdown).
async fn next_change(
    rx: &mut tokio::sync::broadcast::Receiver<Progress>,
    wanted: &(dyn Fn(&Progress) -> bool + Sync),
) -> Option<()> {
    loop {
        match rx.recv().await {
            Ok(p) if wanted(&p) => break,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => break, // missed some: re-read everything
            Err(RecvError::Closed) => return None,
        }
    }
    tokio::time::sleep(COALESCE).await;
    while !matches!(
        rx.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Empty | tokio::sync::broadcast::error::TryRecvError::Closed)
    ) {}
    Some(())
}

/// `/t/{tenant}/runs/{id}/events`: `summary` and `items` fragments, then `done`.
pub async fn run_events(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<EventStream, AppError> {
    let rx = state.engine.hub.subscribe();
    let run = load_run(&state.db, &access, &rid).await?;
    let offset = (q.page.unwrap_or(1).max(1) - 1) * ITEMS_PER_PAGE;
    let start = RunStream {
        db: state.db.clone(),
        run_id: run.id,
        show: super::runs::showable(q.show.as_deref()),
        offset,
        rx,
        first: true,
    };
    let stream = stream::unfold(Some(start), |s| async move {
        let mut s = s?;
        if !s.first {
            let id = s.run_id.clone();
            next_change(&mut s.rx, &move |p: &Progress| p.run_id == id).await?;
        }
        let (id, offset, show) = (s.run_id.clone(), s.offset, s.show);
        let (run, items) =
            s.db.read(move |c| {
                Ok((
                    runs::get(c, &id)?,
                    runs::items_with_status(c, &id, show, ITEMS_PER_PAGE, offset)?,
                ))
            })
            .await
            .ok()?;
        let run = run?;
        let mut events = vec![
            Event::default().event("summary").data(summary(&run).into_string()),
            Event::default().event("items").data(item_rows(&items).into_string()),
            Event::default()
                .event("filter")
                .data(item_filter(&format!("/t/{}/runs/{}", run.tenant_id, run.id), &run, show).into_string()),
        ];
        let next = if run.is_terminal() {
            events.push(Event::default().event("done").data(run.status));
            None
        } else {
            s.first = false;
            Some(s)
        };
        Some((stream::iter(events), next))
    })
    .flatten();
    Ok(sse(stream))
}

/// Active runs of the caller's tenants, with their tenant's name.
async fn active_runs(state: &AppState, caller: &Caller) -> Result<Vec<(Run, String)>, AppError> {
    let (user_id, all) = (caller.user.id.clone(), caller.user.superadmin);
    Ok(state
        .db
        .read(move |c| {
            let list = tenants::visible_to(c, &user_id, all)?;
            let ids: Vec<String> = list.iter().map(|t| t.id.clone()).collect();
            let names: std::collections::HashMap<String, String> = list.into_iter().map(|t| (t.id, t.name)).collect();
            Ok(runs::active_for_tenants(c, &ids)?
                .into_iter()
                .map(|r| {
                    let name = names.get(&r.tenant_id).cloned().unwrap_or_default();
                    (r, name)
                })
                .collect())
        })
        .await?)
}

/// `/events/active`: the header's progress widget, for every page.
pub async fn active_events(State(state): State<AppState>, caller: Caller) -> Result<EventStream, AppError> {
    let rx = state.engine.hub.subscribe();
    let stream = stream::unfold((state, caller, rx, true), |(state, caller, mut rx, first)| async move {
        if !first {
            let visible = tenant_ids(&state, &caller).await.ok()?;
            next_change(&mut rx, &move |p: &Progress| visible.contains(&p.tenant_id)).await?;
        }
        let active = active_runs(&state, &caller).await.ok()?;
        let event = Event::default()
            .event("active")
            .data(active_widget(&active).into_string());
        Some((event, (state, caller, rx, false)))
    });
    Ok(sse(stream))
}

async fn tenant_ids(state: &AppState, caller: &Caller) -> Result<Vec<String>, AppError> {
    let (user_id, all) = (caller.user.id.clone(), caller.user.superadmin);
    let list = state.db.read(move |c| tenants::visible_to(c, &user_id, all)).await?;
    Ok(list.into_iter().map(|t| t.id).collect())
}
