//! "Something changed": the one place where every use case announces what it changed, once it
//! has committed, whichever face asked for it (API, form, command line). Live pages, webhooks
//! and metrics listen here instead of hooking into each face.
//!
//! Announcements are best effort and in process: a listener that falls behind misses some
//! (`broadcast` drops the oldest), and nothing is built when nobody listens. What must survive a
//! crash (a webhook delivery) is written with the change, in its transaction, instead.

use crate::domain::{DeploymentStatus, ReleaseStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A deployment was created or moved on (an event that changed nothing is no change).
    Deployment {
        id: String,
        product_id: String,
        version_id: String,
        environment_id: String,
        status: DeploymentStatus,
    },
    /// A version was registered by a build event.
    Version { id: String, product_id: String },
    /// A release was created, edited, moved to another status, or its version list changed.
    Release { id: String, what: ReleaseChange },
    /// A product or an environment was created, changed or deleted.
    Catalog,
}

/// What happened to a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseChange {
    Created,
    Edited,
    StatusChanged {
        from: ReleaseStatus,
        to: ReleaseStatus,
    },
    VersionAdded {
        version_id: String,
    },
    VersionRemoved {
        version_id: String,
    },
    /// A product's version `was` replaced by `version_id`, in one change.
    VersionReplaced {
        was: String,
        version_id: String,
    },
}

/// Where changes are announced; clones share one channel.
#[derive(Clone)]
pub struct Changes {
    sender: broadcast::Sender<Change>,
    /// How many changes were announced: what caches of this process compare to know whether
    /// something changed since they were filled (one relaxed add per change).
    announced: Arc<AtomicU64>,
}

impl Default for Changes {
    fn default() -> Self {
        Changes::new()
    }
}

/// How many announcements a slow listener may lag behind before it misses the oldest.
const BACKLOG: usize = 1024;

impl Changes {
    pub fn new() -> Changes {
        Changes {
            sender: broadcast::channel(BACKLOG).0,
            announced: Arc::default(),
        }
    }

    /// How many changes this process has announced so far.
    pub fn announced(&self) -> u64 {
        self.announced.load(Ordering::Relaxed)
    }

    /// Every change announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    /// Announces a change; `change` is only built when someone listens (the event path
    /// announces thousands a second).
    pub(crate) fn announce(&self, change: impl FnOnce() -> Change) {
        self.announced.fetch_add(1, Ordering::Relaxed);
        if self.sender.receiver_count() > 0 {
            // An error means every listener has gone meanwhile: nobody to tell.
            let _ = self.sender.send(change());
        }
    }
}
