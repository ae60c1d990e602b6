//! The crawl's work queue: one pool of jobs shared by the workers, programmes served before
//! race objects, ending when nothing is queued and nothing that could queue more (the planner, a
//! running job) is left. Every job holds its day's [`Ticket`], the day's place in the planning
//! window.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit};

use crate::day::Day;
use crate::lake::ObjectKey;
use crate::pmu::discovery::Race;

/// A day's place in the planning window: each job of the day holds a clone, and the day leaves
/// the window (letting the planner take the next one) when the last clone is dropped.
pub(super) type Ticket = Arc<OwnedSemaphorePermit>;

/// One unit of work for the pool.
pub(super) enum Job {
    Programme {
        day: Day,
        ticket: Ticket,
    },
    Object {
        key: ObjectKey,
        race: Arc<Race>,
        ticket: Ticket,
    },
}

/// The work queue shared by the workers: programmes before race objects. It ends when both
/// lists are empty and nothing that could add to them (the planner, a running job) is left.
pub(super) struct Queue {
    state: Mutex<QueueState>,
    notify: Notify,
}

struct QueueState {
    programmes: VecDeque<Job>,
    objects: VecDeque<Job>,
    /// The planner plus the jobs being run.
    open: usize,
}

impl Queue {
    pub(super) fn new() -> Queue {
        let state = QueueState {
            programmes: VecDeque::new(),
            objects: VecDeque::new(),
            open: 1,
        };
        Queue {
            state: Mutex::new(state),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().expect("queue lock is never poisoned")
    }

    pub(super) fn push(&self, job: Job) {
        {
            let mut s = self.lock();
            match job {
                Job::Programme { .. } => s.programmes.push_back(job),
                Job::Object { .. } => s.objects.push_back(job),
            }
        }
        self.notify.notify_waiters();
    }

    pub(super) async fn next(&self) -> Option<Job> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if let Some(job) = s.programmes.pop_front().or_else(|| s.objects.pop_front()) {
                    s.open += 1;
                    return Some(job);
                }
                if s.open == 0 {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The planner or a job is done (after pushing what it found).
    pub(super) fn finish(&self) {
        let done = {
            let mut s = self.lock();
            s.open -= 1;
            s.open == 0
        };
        if done {
            self.notify.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::{RaceId, Stage};

    #[tokio::test]
    async fn queue_serves_programmes_first_and_ends_when_nothing_is_open() {
        let day: Day = "05112025".parse().unwrap();
        let race = Arc::new(Race {
            id: RaceId::new(1, 1).unwrap(),
            statut: None,
            rapports_definitifs_disponibles: false,
            arrivee_definitive: false,
        });
        let window = Arc::new(tokio::sync::Semaphore::new(1));
        let ticket = Arc::new(Arc::clone(&window).try_acquire_owned().unwrap());
        let q = Queue::new();
        q.push(Job::Object {
            key: ObjectKey::race(day, race.id, Stage::Rapports),
            race,
            ticket: Arc::clone(&ticket),
        });
        q.push(Job::Programme { day, ticket });
        q.finish();
        assert_eq!(window.available_permits(), 0);
        assert!(matches!(q.next().await, Some(Job::Programme { .. })));
        assert!(matches!(q.next().await, Some(Job::Object { .. })));
        q.finish();
        q.finish();
        assert!(q.next().await.is_none());
        assert_eq!(
            window.available_permits(),
            1,
            "the day left the window with its last job"
        );
    }
}
