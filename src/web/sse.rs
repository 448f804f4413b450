//! Server-sent events. Each stream subscribes to the progress hub *before* reading the
//! current state, sends that state first (so a reconnecting page is never stale), then
//! re-renders on every relevant event. The first change after a quiet spell goes out at
//! once; the rest of a burst waits until `COALESCE` after the last send and goes out as
//! one, so a 10,000-item run costs each subscriber at most twenty sends per second. Streams
//! of the same page share one render per change (`FragmentCache`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::state::AppState;
use crate::auth::caller::{Caller, Via};
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::runs::{self, Run};
use crate::db::{memberships, sessions, tenants};
use crate::error::AppError;
use crate::runs::access::load_run;
use crate::runs::progress::Progress;
use crate::views::runs::{ITEMS_PER_PAGE, active_list, active_summary, bell, item_filter, item_rows, summary};

const COALESCE: Duration = Duration::from_millis(50);
/// Every stream ends after this long; a live page reconnects at once (the htmx extension
/// retries after 0.5 s) and gets a fresh snapshot. Browsers allow only six HTTP/1.1
/// connections per host, and a page they keep in memory after navigation can keep its
/// streams open: bounding a stream's life bounds how long such a page can starve new ones.
const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(20);

/// What a run's event stream carries from one step to the next.
struct RunStream {
    engine: crate::runs::Engine,
    fragments: Arc<FragmentCache>,
    last_sent: Instant,
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

/// `stream`, ended at `MAX_STREAM_LIFETIME` or as soon as `revoked` resolves.
fn sse(
    stream: impl Stream<Item = Event> + Send + 'static,
    revoked: impl std::future::Future<Output = ()> + Send + 'static,
) -> EventStream {
    let end = async move {
        tokio::select! {
            () = tokio::time::sleep(MAX_STREAM_LIFETIME) => {}
            () = revoked => {}
        }
    };
    let bounded = stream.take_until(end);
    let boxed: BoxedEvents = Box::pin(bounded.map(Ok));
    Sse::new(boxed).keep_alive(KeepAlive::default())
}

/// What a stream's right to go on depends on: the session and the user's standing.
#[derive(PartialEq, Eq)]
struct Standing {
    disabled: bool,
    superadmin: bool,
    /// (tenant id, role), sorted by tenant.
    memberships: Vec<(String, String)>,
}

impl Standing {
    fn role_in(&self, tenant_id: &str) -> Option<Role> {
        let member = self
            .memberships
            .iter()
            .find(|(t, _)| t == tenant_id)
            .map(|(_, r)| r.as_str());
        Role::effective(self.superadmin, member)
    }
}

/// `None` when the session is gone (signed out, ended by a reset) or cannot be read.
async fn standing(state: &AppState, caller: &Caller) -> Option<Standing> {
    let Via::Session(session) = &caller.via else {
        return None;
    };
    let hash = session.token_hash.clone();
    state
        .db
        .read(move |c| {
            let Some(row) = sessions::get(c, &hash)? else {
                return Ok(None);
            };
            let memberships = memberships::list_for_user(c, &row.user.id)?
                .into_iter()
                .map(|m| (m.tenant_id, m.role))
                .collect();
            Ok(Some(Standing {
                disabled: row.user.disabled,
                superadmin: row.user.superadmin,
                memberships,
            }))
        })
        .await
        .ok()
        .flatten()
}

/// Resolves once the caller may no longer see what the stream shows: the session ended, the
/// user was disabled, or (for a tenant's stream) their role there is not `tenant`'s role any
/// more; for the all-tenants widget, once any membership changed. Woken by
/// `Db::access_changed`, so a stream ends right after the change, not at its lifetime limit.
async fn access_lost(state: AppState, caller: Caller, tenant: Option<(String, Role)>) {
    let mut changes = state.db.watch_access();
    let first = standing(&state, &caller).await;
    let holds = |now: &Option<Standing>| match (now, &tenant) {
        (None, _) => false,
        (Some(s), _) if s.disabled => false,
        (Some(s), Some((tid, role))) => s.role_in(tid) == Some(*role),
        (Some(s), None) => first.as_ref() == Some(s),
    };
    if !holds(&first) {
        return;
    }
    while changes.changed().await.is_ok() {
        if !holds(&standing(&state, &caller).await) {
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Waits for the next event that `wanted` accepts, then for the rest of `COALESCE` since
/// `last_sent` (nothing when the stream was quiet: the first change of a burst goes out at
/// once), then drains the burst behind it. Returns the newest sequence number it saw, or
/// `None` when the hub is gone (shutdown).
async fn next_change(
    rx: &mut tokio::sync::broadcast::Receiver<Progress>,
    wanted: &(dyn Fn(&Progress) -> bool + Sync),
    last_sent: Instant,
) -> Option<u64> {
    let mut seen = loop {
        match rx.recv().await {
            Ok(p) if wanted(&p) => break p.seq,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => break u64::MAX, // missed some: re-read everything
            Err(RecvError::Closed) => return None,
        }
    };
    let wait = COALESCE.saturating_sub(last_sent.elapsed());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    loop {
        match rx.try_recv() {
            Ok(p) if wanted(&p) => seen = seen.max(p.seq),
            Ok(_) => {}
            Err(TryRecvError::Lagged(_)) => seen = u64::MAX,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return Some(seen),
        }
    }
}

/// One page of a run as its stream sends it.
#[derive(Clone)]
struct Rendered {
    /// Every event up to this one had been published when the page was read.
    seq: u64,
    summary: Arc<str>,
    items: Arc<str>,
    filter: Arc<str>,
    /// The final status, once the run is finished.
    done: Option<String>,
}

type FragmentKey = (String, u32, Option<&'static str>);

/// Fragments shared by every stream showing the same page of the same run: 500 people
/// watching one run cost one database read and one render per change, not 500.
#[derive(Default)]
pub struct FragmentCache {
    slots: std::sync::Mutex<HashMap<FragmentKey, Arc<tokio::sync::Mutex<Option<Rendered>>>>>,
    /// Pages read and rendered so far (`/metrics`).
    renders: std::sync::atomic::AtomicU64,
}

/// Pages cached at most; beyond it the cache starts again (runs end, pages move on).
const MAX_CACHED_PAGES: usize = 512;

impl FragmentCache {
    pub fn renders(&self) -> u64 {
        self.renders.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The page as fresh as every event up to `seen` (u64::MAX: re-read now).
    async fn page(&self, engine: &crate::runs::Engine, key: &FragmentKey, seen: u64) -> Option<Rendered> {
        let slot = {
            let mut slots = self.slots.lock().ok()?;
            if slots.len() >= MAX_CACHED_PAGES && !slots.contains_key(key) {
                slots.clear();
            }
            slots.entry(key.clone()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        if let Some(r) = cached.as_ref().filter(|r| seen != u64::MAX && r.seq >= seen) {
            return Some(r.clone());
        }
        // Read the sequence before the database: the page then reflects at least that much.
        let seq = engine.hub.current_seq();
        self.renders.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (id, offset, show) = key.clone();
        let (run, items, names) = engine
            .db
            .read(move |c| {
                let Some(run) = runs::get(c, &id)? else {
                    return Ok((None, Vec::new(), crate::views::diff::Names::default()));
                };
                let items = runs::items_with_status(c, &id, show, ITEMS_PER_PAGE, offset)?;
                let names = super::names::for_items(c, &run.tenant_id, &items)?;
                Ok((Some(run), items, names))
            })
            .await
            .ok()?;
        let run = run?;
        let base = format!("/t/{}/runs/{}", run.tenant_id, run.id);
        let rendered = Rendered {
            seq,
            summary: summary(&run).into_string().into(),
            items: item_rows(&run, &items, &names).into_string().into(),
            filter: item_filter(&base, &run, show).into_string().into(),
            done: run.is_terminal().then_some(run.status),
        };
        *cached = Some(rendered.clone());
        Some(rendered)
    }
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
    let revoked = access_lost(
        state.clone(),
        access.caller.clone(),
        Some((access.tenant.id.clone(), access.role)),
    );
    let offset = (q.page.unwrap_or(1).max(1) - 1) * ITEMS_PER_PAGE;
    let start = RunStream {
        engine: state.engine.clone(),
        fragments: state.fragments.clone(),
        last_sent: Instant::now(),
        run_id: run.id,
        show: super::runs::showable(q.show.as_deref()),
        offset,
        rx,
        first: true,
    };
    let stream = stream::unfold(Some(start), |s| async move {
        let mut s = s?;
        let seen = if s.first {
            s.engine.hub.current_seq()
        } else {
            let id = s.run_id.clone();
            next_change(&mut s.rx, &move |p: &Progress| p.run_id == id, s.last_sent).await?
        };
        let key = (s.run_id.clone(), s.offset, s.show);
        let page = s.fragments.page(&s.engine, &key, seen).await?;
        let mut events = vec![
            Event::default().event("summary").data(&*page.summary),
            Event::default().event("items").data(&*page.items),
            Event::default().event("filter").data(&*page.filter),
        ];
        s.last_sent = Instant::now();
        let next = if let Some(status) = page.done {
            events.push(Event::default().event("done").data(status));
            None
        } else {
            s.first = false;
            Some(s)
        };
        Some((stream::iter(events), next))
    })
    .flatten();
    Ok(sse(stream, revoked))
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
    let revoked = access_lost(state.clone(), caller.clone(), None);
    let start = (state, caller, rx, true, Instant::now());
    let stream = stream::unfold(start, |(state, caller, mut rx, first, last_sent)| async move {
        if !first {
            let visible = tenant_ids(&state, &caller).await.ok()?;
            next_change(&mut rx, &move |p: &Progress| visible.contains(&p.tenant_id), last_sent).await?;
        }
        let active = active_runs(&state, &caller).await.ok()?;
        let user_id = caller.user.id.clone();
        let unread = state
            .db
            .read(move |c| crate::db::notifications::unread_count(c, &user_id))
            .await
            .ok()?;
        let events = [
            Event::default()
                .event("active-summary")
                .data(active_summary(&active).into_string()),
            Event::default()
                .event("active-list")
                .data(active_list(&active).into_string()),
            Event::default().event("bell").data(bell(unread).into_string()),
        ];
        Some((stream::iter(events), (state, caller, rx, false, Instant::now())))
    })
    .flatten();
    Ok(sse(stream, revoked))
}

async fn tenant_ids(state: &AppState, caller: &Caller) -> Result<Vec<String>, AppError> {
    let (user_id, all) = (caller.user.id.clone(), caller.user.superadmin);
    let list = state.db.read(move |c| tenants::visible_to(c, &user_id, all)).await?;
    Ok(list.into_iter().map(|t| t.id).collect())
}
