//! Durable jobs: texts queued over HTTP, stored before they are acknowledged, processed by a
//! bounded pool of workers, and answered by id — also after the process was killed.
//!
//! The queue is generic; what a job does is a [`JobProcessor`] (today the rule-based
//! sentiment analyzer, [`sentiment::RuleBasedSentiment`]). One concern per module:
//! - [`config`]: the `[sentiment.jobs]` section ([`JobsConfig`]);
//! - [`input`]: the request body and its checks; [`model`]: ids, statuses, rows;
//! - [`store`]: the SQLite store (`<data_dir>/jobs.sqlite`) and its Bulwark dependency;
//! - [`queue`]: [`JobQueue`] — bounded admission, status, start-up recovery, graceful stop;
//! - `worker`: claim, process, write once; [`processor`]: the processing seam;
//! - [`error`]: how failures reach the wire; [`routes`]: the HTTP routes; [`metrics`]: the
//!   `bulwark_jobs_*` series.
//!
//! ```
//! use bulwark_runtime::prelude::*;
//! use bulwark_services::jobs::{JobQueue, JobRequest, JobStatus, JobsConfig};
//! use bulwark_services::jobs::sentiment::RuleBasedSentiment;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data_dir = tempfile::tempdir()?;
//! let runtime = Runtime::builder().build().await?;
//! let queue = JobQueue::start(
//!     &runtime, &JobsConfig::default(), data_dir.path(), RuleBasedSentiment::default(), None,
//! ).await?;
//! let ctx = CallContext::untracked();
//! let request = JobRequest { texts: vec!["What a lovely day".into()], idempotency_key: None };
//! let job = queue.submit(&ctx, request.check().map_err(|_| "invalid")?).await?;
//! loop {
//!     let record = queue.get(&ctx, job.id).await?;
//!     if record.status == JobStatus::Done {
//!         assert_eq!(record.results.unwrap()[0]["label"], "positive");
//!         break;
//!     }
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//! }
//! queue.shutdown().await;
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod error;
pub mod input;
pub mod metrics;
pub mod model;
pub mod processor;
pub mod queue;
pub mod routes;
pub mod sentiment;
pub mod store;
mod worker;

pub use config::JobsConfig;
pub use error::JobError;
pub use input::{CheckedRequest, JobRequest};
pub use model::{JobId, JobRecord, JobStatus};
pub use processor::{JobProcessor, ProcessError};
pub use queue::{JobQueue, JobsStartError, Submitted};
