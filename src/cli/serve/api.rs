//! The API's work, done on one worker thread that owns the page's
//! [`Api`] (its training sessions: the tape is per-thread, and the CPU time
//! is here, not on the thread that talks to clients). The work itself is
//! the library's, [`micrograd::page`], as in the static site.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use micrograd::page::{Api, Call};
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;

/// A request for the worker, and where its answer goes.
struct Job {
    call: Call,
    body: Json,
    reply: oneshot::Sender<Answer>,
}

/// The handle on the worker thread: requests go in, answers come back.
pub struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread; it owns every session and ends with the process.
    pub fn start() -> std::io::Result<Worker> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("serve-worker".into())
            .spawn(move || {
                let mut api = Api::default();
                for job in inbox {
                    let answer = catch_unwind(AssertUnwindSafe(|| api.call(job.call, &job.body)))
                        .map(|r| match r {
                            Ok(json) => Answer::json(json),
                            Err(no) => Answer::error(no.status, no.message),
                        })
                        .unwrap_or_else(|_| {
                            Answer::error(500, "the server failed on this request")
                        });
                    let _ = job.reply.send(answer); // the client may have gone
                }
            })?;
        Ok(Worker { jobs })
    }

    /// Does `call` with `body` on the worker thread and waits (without
    /// blocking other clients) for its answer.
    pub async fn call(&self, call: Call, body: Json) -> Answer {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job { call, body, reply }).is_err() {
            return Answer::error(500, "the server's worker has stopped");
        }
        answer
            .await
            .unwrap_or_else(|_| Answer::error(500, "the server's worker has stopped"))
    }
}

/// A response to send: a status and a JSON body, or the page.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub html: bool,
}

impl Answer {
    pub fn json(v: Json) -> Answer {
        Answer {
            status: 200,
            body: v.to_string(),
            html: false,
        }
    }

    pub fn error(status: u16, message: impl Into<String>) -> Answer {
        Answer {
            status,
            body: json!({ "error": message.into() }).to_string(),
            html: false,
        }
    }
}
