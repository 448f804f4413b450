//! Scheduled backups. `cron` validates expressions; `fire` is what one trigger does; this
//! file keeps tokio-cron-scheduler's jobs in step with the `schedules` table.
//!
//! Times are UTC. A trigger missed while the server was down (the next time after the last
//! fire lies in the past) fires once at start, however many were missed; so does a trigger
//! that the server stopped in the middle of, before it had made its backup set (a set that
//! exists has a capture run, which the run engine resumes by itself).

pub mod cron;
pub mod fire;
pub mod manage;

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use chrono::Utc;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::clock;
use crate::db::schedules::{self, Schedule};
use crate::runs::Engine;
use cron::CronExpr;

pub struct Scheduler {
    pub(crate) engine: Engine,
    jobs: JobScheduler,
    /// schedule id → the scheduler's job id.
    registered: Mutex<HashMap<String, Uuid>>,
    /// Refuses expressions firing more often than this (`PV_SCHEDULE_MIN_INTERVAL_SECS`).
    pub min_interval_secs: u64,
    me: Weak<Scheduler>,
}

impl Scheduler {
    pub async fn new(engine: Engine, min_interval_secs: u64) -> anyhow::Result<Arc<Scheduler>> {
        let jobs = JobScheduler::new().await?;
        Ok(Arc::new_cyclic(|me| Scheduler {
            engine,
            jobs,
            registered: Mutex::new(HashMap::new()),
            min_interval_secs,
            me: me.clone(),
        }))
    }

    /// Registers every enabled schedule, fires the ones that missed a trigger, and runs
    /// until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        let all = self.engine.db.read(schedules::list_enabled).await?;
        for s in &all {
            let interrupted = match s.last_fired_at.clone() {
                Some(at) => {
                    let id = s.id.clone();
                    !self
                        .engine
                        .db
                        .read(move |c| schedules::has_set_since(c, &id, &at))
                        .await?
                }
                None => false,
            };
            if let Err(e) = self.register(s).await {
                tracing::error!(schedule = %s.id, error = %e, "could not register a schedule; it will not fire");
            }
            if missed(s) || interrupted {
                tracing::info!(schedule = %s.id, tenant = %s.tenant_id, "a scheduled backup was missed or cut short while the server was down; running it now");
                self.trigger(&s.id);
            }
        }
        self.jobs.start().await?;
        shutdown.cancelled().await;
        let mut jobs = self.jobs.clone();
        jobs.shutdown().await?;
        Ok(())
    }

    /// Adds (or replaces) the job of `s`; disabled schedules only lose their job.
    pub async fn register(&self, s: &Schedule) -> anyhow::Result<()> {
        self.unregister(&s.id).await;
        if !s.enabled {
            return Ok(());
        }
        let (me, id) = (self.me.clone(), s.id.clone());
        let job = Job::new_async(s.cron.as_str(), move |_, _| {
            let (me, id) = (me.clone(), id.clone());
            Box::pin(async move {
                if let Some(me) = me.upgrade() {
                    me.trigger(&id);
                }
            })
        })?;
        let job_id = self.jobs.add(job).await?;
        self.registered.lock().await.insert(s.id.clone(), job_id);
        Ok(())
    }

    pub async fn unregister(&self, schedule_id: &str) {
        if let Some(job_id) = self.registered.lock().await.remove(schedule_id)
            && let Err(e) = self.jobs.remove(&job_id).await
        {
            tracing::warn!(schedule = %schedule_id, error = %e, "could not remove a schedule's job");
        }
    }

    /// Fires a schedule in the background: the trigger never waits for Graph.
    fn trigger(&self, schedule_id: &str) {
        let (engine, id) = (self.engine.clone(), schedule_id.to_owned());
        tokio::spawn(async move { fire::fire(&engine, &id).await });
    }
}

/// True when a trigger came due after the schedule last fired (or was created) and before now.
fn missed(s: &Schedule) -> bool {
    let Some(expr) = CronExpr::stored(&s.cron) else {
        return false;
    };
    let since = s.last_fired_at.as_deref().unwrap_or(&s.created_at);
    clock::parse_time(since)
        .and_then(|t| expr.first_after(t))
        .is_some_and(|due| due <= Utc::now())
}
