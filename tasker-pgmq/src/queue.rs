//! Queue names and messages. A step goes to PGMQ queue `worker_<queue>_queue` (the seed
//! system's naming), where `<queue>` is the step's template `queue`, else the namespace; its
//! message names the step and attempt, and its W3C `traceparent` rides in PGMQ's headers.

use serde_json::{Value, json};
use sqlx::PgConnection;
use tasker_shared::workflow::{Action, ReadyStep, StepTemplate, TaskTemplate};

use crate::error::DbError;

/// PGMQ refuses longer queue names.
const MAX_PGMQ_NAME: usize = 47;

/// The step's queue: its template `queue`, else the template's namespace.
pub fn step_queue<'a>(template: &'a TaskTemplate, step: &'a StepTemplate) -> &'a str {
    step.queue.as_deref().unwrap_or(&template.namespace)
}

/// `worker_<queue>_queue`, refusing a name PGMQ would refuse, with what is allowed.
pub fn pgmq_queue_name(queue: &str) -> Result<String, DbError> {
    let name = format!("worker_{queue}_queue");
    let valid = !queue.is_empty()
        && queue
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid || name.len() > MAX_PGMQ_NAME {
        return Err(DbError::BadQueue {
            queue: queue.to_owned(),
            reason: format!(
                "a queue is lowercase letters, digits and _, at most {} characters (it becomes PGMQ queue worker_<queue>_queue)",
                MAX_PGMQ_NAME - "worker__queue".len()
            ),
        });
    }
    Ok(name)
}

/// Declares the step queue: creates it in PGMQ if it does not exist, and records it, so
/// `submit` knows a worker means to serve it. Idempotent.
pub(crate) async fn ensure_queue(conn: &mut PgConnection, queue: &str) -> Result<String, DbError> {
    let name = pgmq_queue_name(queue)?;
    let known: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tasker.queues WHERE name = $1)")
            .bind(queue)
            .fetch_one(&mut *conn)
            .await?;
    if !known {
        sqlx::query("SELECT pgmq.create($1)")
            .bind(&name)
            .execute(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO tasker.queues (name) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(queue)
            .execute(&mut *conn)
            .await?;
    }
    Ok(name)
}

/// Declares `queues` (as `serve` and `migrate --queue` do); returns their PGMQ names.
pub async fn declare_queues(
    pool: &sqlx::PgPool,
    queues: &[String],
) -> Result<Vec<String>, DbError> {
    let mut conn = pool.acquire().await?;
    let mut names = Vec::with_capacity(queues.len());
    for q in queues {
        names.push(ensure_queue(&mut conn, q).await?);
    }
    Ok(names)
}

/// Refuses a template with a step whose queue was never declared (by `serve --queue` or
/// `migrate --queue`): a typo there would leave the task waiting for a worker that never
/// comes.
pub(crate) async fn check_declared(
    conn: &mut PgConnection,
    template: &TaskTemplate,
) -> Result<(), DbError> {
    let known: Vec<String> = sqlx::query_scalar("SELECT name FROM tasker.queues ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    for step in &template.steps {
        let queue = step_queue(template, step);
        if !known.iter().any(|k| k == queue) {
            return Err(DbError::UnknownQueue {
                step: step.name.clone(),
                queue: queue.to_owned(),
                known: if known.is_empty() {
                    "none yet".to_owned()
                } else {
                    known.join(", ")
                },
            });
        }
    }
    Ok(())
}

/// The message body of one step attempt.
pub(crate) fn message(ready: &ReadyStep) -> Value {
    json!({
        "task_uuid": ready.message.task_uuid,
        "step_uuid": ready.message.step_uuid,
        "correlation_id": ready.message.correlation_id,
        "attempt": ready.sequence.workflow_step.attempt,
    })
}

/// The template queue of a ready step (its `queue`, else the namespace).
pub(crate) fn queue_of<'a>(
    template: &'a TaskTemplate,
    ready: &ReadyStep,
) -> Result<&'a str, DbError> {
    let name = &ready.sequence.workflow_step.name;
    template
        .steps
        .iter()
        .find(|s| &s.name == name)
        .map(|s| step_queue(template, s))
        .ok_or_else(|| DbError::Invalid(format!("a ready step {name:?} is not in its template")))
}

/// A step message's PGMQ headers: its W3C `traceparent`.
fn headers(ready: &ReadyStep) -> Value {
    match &ready.message.traceparent {
        Some(tp) => json!({ "traceparent": tp }),
        None => json!({}),
    }
}

/// Sends a step attempt that the sending worker keeps: inserted as PGMQ's read would leave
/// it (read once, hidden for `vt_secs`), with no wake-up, since nobody else should take it
/// unless this worker is lost. Returns the PGMQ queue name and the message id.
pub(crate) async fn send_claimed(
    conn: &mut PgConnection,
    queue: &str,
    ready: &ReadyStep,
    vt_secs: i32,
) -> Result<(String, i64), DbError> {
    let name = pgmq_queue_name(queue)?;
    // The columns PGMQ's own send and read write (pgmq 1.11's queue table).
    let id: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO pgmq.q_{name} (vt, read_ct, last_read_at, message, headers)
         VALUES (clock_timestamp() + make_interval(secs => $1), 1, clock_timestamp(), $2, $3)
         RETURNING msg_id"
    ))
    .bind(f64::from(vt_secs))
    .bind(message(ready))
    .bind(headers(ready))
    .fetch_one(&mut *conn)
    .await?;
    Ok((name, id))
}

/// The steps a transition of the task machine made ready.
pub(crate) fn dispatched(actions: &[Action]) -> Vec<&ReadyStep> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dispatch(ready) => Some(&**ready),
            Action::Finished(_) => None,
        })
        .collect()
}

/// Sends step attempts, each to its queue, in the caller's transaction: one statement per
/// queue. Each queue was declared before its task was accepted (see [`check_declared`]).
pub(crate) async fn send_all(
    conn: &mut PgConnection,
    template: &TaskTemplate,
    ready: &[&ReadyStep],
) -> Result<(), DbError> {
    let mut by_queue: Vec<(&str, Vec<&ReadyStep>)> = Vec::new();
    for r in ready {
        let queue = queue_of(template, r)?;
        match by_queue.iter_mut().find(|(q, _)| *q == queue) {
            Some((_, list)) => list.push(r),
            None => by_queue.push((queue, vec![r])),
        }
    }
    for (queue, list) in by_queue {
        let name = pgmq_queue_name(queue)?;
        // The wake-up rides in the same statement: PostgreSQL delivers it at commit, once per
        // channel per transaction, and only if the transaction commits.
        sqlx::query(
            "SELECT count(*) FROM pgmq.send_batch($1, $2::jsonb[], $3::jsonb[]) AS id, pg_notify($4, '') AS woken",
        )
        .bind(&name)
        .bind(list.iter().map(|r| message(r)).collect::<Vec<Value>>())
        .bind(list.iter().map(|r| headers(r)).collect::<Vec<Value>>())
        .bind(channel(&name))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The notification channel of a PGMQ queue: the one PGMQ's own insert trigger uses, so a
/// worker is also woken by producers that enable it.
pub(crate) fn channel(pgmq_name: &str) -> String {
    format!("pgmq.q_{pgmq_name}.INSERT")
}

#[cfg(test)]
mod tests {
    use super::pgmq_queue_name;

    #[test]
    fn queue_names_follow_the_seed_and_pgmq_limits() {
        assert_eq!(
            pgmq_queue_name("linear_workflow").expect("valid"),
            "worker_linear_workflow_queue"
        );
        let long = "q".repeat(35);
        assert!(pgmq_queue_name(&long[..34]).is_ok());
        assert_eq!(
            pgmq_queue_name(&long).expect_err("too long").to_string(),
            format!(
                "queue {long:?} cannot be used: a queue is lowercase letters, digits and _, at most 34 characters (it becomes PGMQ queue worker_<queue>_queue)"
            )
        );
        assert!(pgmq_queue_name("Has-Dash").is_err());
    }
}
