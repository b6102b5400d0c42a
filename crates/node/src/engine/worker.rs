//! A worker thread that alone owns a resource and runs calls on it one at a time, in arrival
//! order. The engine has two: the store's (every SQLite call) and the secret store's (every
//! keyring write of the group seeds, which may be a slow D-Bus call).
//!
//! No lock guards the resource and no async task ever waits on it: an async caller awaits the
//! answer, a blocking caller (the gossip driver's thread) waits on a channel. Calls run in the
//! order they arrived, so a burst of API reads cannot starve the driver (a `Mutex` promises no
//! order), and at most one thread is busy with the resource however many callers wait.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::thread::{JoinHandle, ThreadId};

use crate::error::Error;

/// What a call runs with: the resource, and the hook to run on it before answering.
type Held<'a, S> = (&'a mut S, &'a dyn Fn(&S));

/// One call: run with the resource, or with `None` once an earlier call panicked.
type Job<S> = Box<dyn FnOnce(Option<Held<'_, S>>) + Send>;

/// Handle to the thread that owns a resource; dropping it stops the thread, which then drops
/// the resource (the store closes).
pub struct Worker<S> {
    /// What the resource is, for errors ("store", "secret store").
    what: &'static str,
    tx: Option<mpsc::Sender<Job<S>>>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
}

/// The worker that owns the store.
pub type StoreWorker = Worker<mayros_sync_store::Store>;

impl<S> std::fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("what", &self.what)
            .field("thread", &self.thread_id)
            .finish_non_exhaustive()
    }
}

/// Why a call of a `what` never ran or has no answer.
fn refused(what: &str, why: &str) -> Error {
    Error::Task(format!("{what} call refused: {why}"))
}

impl<S: Send + 'static> Worker<S> {
    /// Starts a thread named `thread` that owns `resource` (a `what`) from now on.
    pub fn start(what: &'static str, thread: &str, resource: S) -> Result<Worker<S>, Error> {
        Worker::start_observed(what, thread, resource, |_| {})
    }

    /// [`Worker::start`], with `observe` run on the resource after each call, before its
    /// answer is sent (to publish a figure other threads read without a call, like the
    /// store's change counter).
    pub fn start_observed(
        what: &'static str,
        thread: &str,
        resource: S,
        observe: impl Fn(&S) + Send + 'static,
    ) -> Result<Worker<S>, Error> {
        let (tx, rx) = mpsc::channel::<Job<S>>();
        let handle = std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || serve(what, resource, rx, observe))
            .map_err(|e| Error::Task(format!("cannot start the {what} thread: {e}")))?;
        Ok(Worker {
            what,
            tx: Some(tx),
            thread_id: handle.thread().id(),
            thread: Some(handle),
        })
    }

    fn submit(&self, job: Job<S>) -> Result<(), Error> {
        let what = self.what;
        if std::thread::current().id() == self.thread_id {
            // The worker would wait for itself.
            return Err(refused(
                what,
                &format!("a {what} call was made from inside a {what} call"),
            ));
        }
        let stopped = || refused(what, &format!("the {what} thread has stopped"));
        match &self.tx {
            Some(tx) => tx.send(job).map_err(|_| stopped()),
            None => Err(stopped()),
        }
    }

    /// The job that runs `f` and hands its result to `reply`.
    fn job<R, F>(&self, f: F, reply: impl FnOnce(Result<R, Error>) + Send + 'static) -> Job<S>
    where
        F: FnOnce(&mut S) -> Result<R, Error> + Send + 'static,
    {
        let what = self.what;
        Box::new(move |resource: Option<Held<'_, S>>| {
            reply(match resource {
                Some((r, observe)) => {
                    let out = f(r);
                    // Before the answer: a caller that acts on it sees the figure updated.
                    observe(r);
                    out
                }
                None => Err(refused(
                    what,
                    &format!("an earlier {what} call panicked and may have left it mid-change; restart the engine"),
                )),
            })
        })
    }

    fn panicked(&self) -> Error {
        refused(self.what, &format!("the {} call panicked", self.what))
    }

    /// Runs `f` on the resource and waits for it on the calling thread (never an async task).
    pub fn call<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&mut S) -> Result<R, Error> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(self.job(f, move |r| {
            let _ = reply.send(r);
        }))?;
        answer.recv().map_err(|_| self.panicked())?
    }

    /// Runs `f` on the resource; the async caller waits without holding a runtime thread.
    pub async fn call_async<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&mut S) -> Result<R, Error> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(self.job(f, move |r| {
            let _ = reply.send(r);
        }))?;
        answer.await.map_err(|_| self.panicked())?
    }
}

impl<S> Drop for Worker<S> {
    fn drop(&mut self) {
        // Closing the queue ends the thread once the calls already queued are done; waiting
        // for it means the store is closed when the engine is gone (a restart can reopen it).
        self.tx = None;
        if let Some(t) = self.thread.take() {
            if std::thread::current().id() != self.thread_id {
                let _ = t.join();
            }
        }
    }
}

/// The worker's loop: one call at a time until every handle is gone.
fn serve<S>(what: &str, mut resource: S, rx: mpsc::Receiver<Job<S>>, observe: impl Fn(&S)) {
    let mut poisoned = false;
    while let Ok(job) = rx.recv() {
        if poisoned {
            job(None);
            continue;
        }
        let run =
            std::panic::catch_unwind(AssertUnwindSafe(|| job(Some((&mut resource, &observe)))));
        if run.is_err() {
            tracing::error!("a {what} call panicked; refusing further {what} calls");
            poisoned = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mayros_sync_proto::model::{Triple, Value};
    use mayros_sync_store::{NewTriple, Store, WriteContext};
    use std::sync::Arc;

    fn worker() -> StoreWorker {
        let store = Store::open_in_memory().expect("in-memory store");
        Worker::start("store", "mayros-store", store).expect("worker")
    }

    /// Writes the triple `(s<i>, p, o)` as a local write.
    fn put(s: &mut Store, i: u64) -> Result<(), Error> {
        let triple = Triple::new(&format!("s{i}"), "p", Value::String("o".into()))
            .map_err(|e| Error::Task(e.to_string()))?;
        let ctx = WriteContext {
            wall_ms: 1_000 + i,
            author: "a".repeat(64),
        };
        s.insert(&NewTriple::new(triple), &ctx)?;
        Ok(())
    }

    #[test]
    fn blocking_calls_see_each_others_writes_in_order() {
        let w = worker();
        for i in 0..20 {
            w.call(move |s| put(s, i)).expect("write");
        }
        let n = w
            .call(|s| s.triple_count().map_err(Error::Store))
            .expect("count");
        assert_eq!(n, 20);
    }

    #[tokio::test]
    async fn async_callers_run_one_at_a_time_on_one_thread() {
        let w = Arc::new(worker());
        let mut calls = Vec::new();
        for i in 0..32u64 {
            let w = Arc::clone(&w);
            calls.push(tokio::spawn(async move {
                w.call_async(move |s| {
                    put(s, i)?;
                    Ok(std::thread::current().name().map(str::to_owned))
                })
                .await
            }));
        }
        for c in calls {
            let thread = c.await.expect("task").expect("call");
            assert_eq!(thread.as_deref(), Some("mayros-store"));
        }
        let n = w
            .call_async(|s| s.triple_count().map_err(Error::Store))
            .await
            .expect("count");
        assert_eq!(n, 32);
    }

    #[test]
    fn a_call_from_inside_a_call_is_refused_not_deadlocked() {
        let w = Arc::new(worker());
        let inner = Arc::clone(&w);
        let nested = w
            .call(move |_| Ok(inner.call(|s| s.triple_count().map_err(Error::Store))))
            .expect("outer call");
        let err = nested.expect_err("the nested call must be refused");
        assert!(
            err.to_string()
                .contains("a store call was made from inside a store call"),
            "{err}"
        );
    }

    #[test]
    fn a_panic_poisons_the_resource_and_later_calls_say_why() {
        let w = worker();
        let err = w
            .call::<(), _>(|_| panic!("boom"))
            .expect_err("a panicking call has no answer");
        assert!(err.to_string().contains("the store call panicked"), "{err}");
        let later = w
            .call(|s| s.triple_count().map_err(Error::Store))
            .expect_err("the store is poisoned");
        assert!(
            later.to_string().contains("an earlier store call panicked"),
            "{later}"
        );
    }

    #[test]
    fn the_observed_change_counter_is_current_when_a_call_answers() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let seen = Arc::new(AtomicU64::new(0));
        let publish = Arc::clone(&seen);
        let store = Store::open_in_memory().expect("in-memory store");
        let w = Worker::start_observed("store", "mayros-store", store, move |s: &Store| {
            publish.store(s.total_changes(), Ordering::Release)
        })
        .expect("worker");
        let before = w.call(|s| Ok(s.total_changes())).expect("read");
        assert_eq!(
            seen.load(Ordering::Acquire),
            before,
            "a read changes nothing"
        );
        w.call(|s| put(s, 1)).expect("write");
        let after = seen.load(Ordering::Acquire);
        assert!(
            after > before,
            "the write is counted before its caller hears back"
        );
        w.call(|s| s.triple_count().map_err(Error::Store))
            .expect("read");
        assert_eq!(
            seen.load(Ordering::Acquire),
            after,
            "a read leaves it as it was"
        );
    }

    #[test]
    fn dropping_the_worker_closes_the_store_so_it_can_be_reopened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let store = Store::open(&path).expect("open");
        let w = Worker::start("store", "mayros-store", store).expect("worker");
        w.call(|s| put(s, 0)).expect("write");
        drop(w);
        let again = Store::open(&path).expect("reopen");
        assert_eq!(again.triple_count().expect("count"), 1);
    }
}
