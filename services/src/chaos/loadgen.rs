//! An open-loop load generator: requests start at a fixed arrival rate whatever the server does,
//! so a slow server cannot hide its latency by slowing the client down (closed-loop generators
//! suffer from coordinated omission). In-flight requests are bounded — a request that finds the
//! bound full is counted as `NotSent`, never queued.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior};

use super::record::{Outcome, Tally};
use super::scenario::{Scenario, Traffic};

/// How long after its deadline a request is given up on (its answer would count as late).
const GRACE: Duration = Duration::from_secs(1);

/// What a job submission produced: the job id the service accepted.
pub type AcceptedJobs = Arc<Mutex<Vec<String>>>;

/// Where the traffic goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The HTTP client (its pool is reused across requests).
    pub client: reqwest::Client,
}

/// Counters shared by the request tasks; read once per second for the progress line.
#[derive(Debug, Default)]
pub struct Live {
    total: Mutex<Tally>,
    second: Mutex<Tally>,
}

impl Live {
    fn record(&self, outcome: &Outcome, latency: Duration, deadline: Duration) {
        for tally in [&self.total, &self.second] {
            tally
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(outcome, latency, deadline);
        }
    }

    /// The tally of the last second (reset).
    pub fn take_second(&self) -> Tally {
        std::mem::take(&mut *self.second.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The tally of the whole run so far.
    pub fn total(&self) -> Tally {
        self.total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Weighted round robin over the traffic mix: deterministic, so two runs send the same mix.
fn schedule(traffic: &[Traffic]) -> Vec<usize> {
    let mut order = Vec::new();
    for (i, t) in traffic.iter().enumerate() {
        order.extend(std::iter::repeat_n(i, t.weight as usize));
    }
    order
}

/// Drives `scenario`'s traffic at `target` for its duration; answers when every request has
/// ended. Job ids accepted by the service are pushed to `jobs`.
pub async fn run(scenario: &Scenario, target: &Target, live: &Arc<Live>, jobs: &AcceptedJobs) {
    let period = Duration::from_secs_f64(1.0 / f64::from(scenario.rps.max(1)));
    let deadline = scenario.deadline;
    let bound = (scenario.rps as usize) * 4 + 64;
    let in_flight = Arc::new(Semaphore::new(bound));
    let order = schedule(&scenario.traffic);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let end = Instant::now() + scenario.duration;
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0usize;
    loop {
        tick.tick().await;
        if Instant::now() >= end {
            break;
        }
        let traffic = &scenario.traffic[order[n % order.len()]];
        let body = traffic.body_for(n as u64);
        let job = traffic.job;
        let route = traffic.route.clone();
        n += 1;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            live.record(&Outcome::NotSent, Duration::ZERO, deadline);
            continue;
        };
        let (target, live, jobs) = (target.clone(), Arc::clone(live), Arc::clone(jobs));
        let key = format!("chaos-{n}");
        tasks.spawn(async move {
            let request = Request { route, body, job };
            let (outcome, latency) = send(&target, request, deadline, &key, &jobs).await;
            live.record(&outcome, latency, deadline);
            drop(permit);
        });
        // Reap finished tasks so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// One request to send.
struct Request {
    route: String,
    body: serde_json::Value,
    job: bool,
}

/// Sends one request and classifies its answer. A job submission that fails at the transport
/// level is resubmitted with the same idempotency key until its deadline (as a real client
/// would), so a crash between accepting and answering cannot lose it.
async fn send(
    target: &Target,
    traffic: Request,
    deadline: Duration,
    key: &str,
    jobs: &AcceptedJobs,
) -> (Outcome, Duration) {
    let start = Instant::now();
    let mut body = traffic.body;
    if traffic.job {
        body["idempotency_key"] = serde_json::Value::from(key);
    }
    let url = format!("{}{}", target.base_url, traffic.route);
    loop {
        let request = target
            .client
            .post(&url)
            .header("x-request-timeout", deadline.as_millis().to_string())
            .header("x-correlation-id", key)
            .timeout(deadline + GRACE)
            .json(&body);
        let outcome = match request.send().await {
            Ok(response) => classify(response, traffic.job, jobs).await,
            Err(e) if e.is_timeout() => Outcome::NoAnswer,
            Err(_) => Outcome::Transport,
        };
        let retry = traffic.job && outcome == Outcome::Transport && start.elapsed() < deadline;
        if !retry {
            return (outcome, start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn classify(response: reqwest::Response, job: bool, jobs: &AcceptedJobs) -> Outcome {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    if (200..300).contains(&status) {
        if job && let Some(id) = body.get("job_id").and_then(|v| v.as_str()) {
            jobs.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(id.to_owned());
        }
        let degraded = body.get("degraded").and_then(serde_json::Value::as_bool) == Some(true);
        return Outcome::Answered { degraded };
    }
    let code = body
        .get("error_code")
        .and_then(|v| v.as_str())
        .unwrap_or("UNKNOWN")
        .to_owned();
    Outcome::Refused { status, code }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_follows_the_weights() {
        let t = |weight| Traffic {
            route: "/x".into(),
            weight,
            body: serde_json::Value::Null,
            job: false,
            vary: 1,
        };
        assert_eq!(schedule(&[t(3), t(1), t(0)]), vec![0, 0, 0, 1]);
    }
}
