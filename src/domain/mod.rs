//! The rules of releaseboard, with no I/O: every rule lives in exactly one function here, is
//! table-tested beside it, and is called by the service layer (`service`) for every face
//! alike. Nothing here imports anything of the crate outside `domain`.
//!
//! - `catalog`, `deployment`, `release`: the records, the commands that create or change them
//!   (parsed from any face's input), and their rules;
//! - `status`, `environment`, `matrix`, `read_models`, `search`, `access`, `throttle`,
//!   `export`, `compare`, `insight`: one concern each;
//! - `error`: what a use case can fail with, which every face maps once.

pub mod access;
pub mod catalog;
pub mod compare;
pub mod deployment;
pub mod environment;
pub mod error;
pub mod export;
pub mod insight;
pub mod matrix;
pub mod read_models;
pub mod release;
pub mod search;
pub mod status;
pub mod throttle;
pub mod validate;

pub use environment::EnvType;
pub use error::{Conflict, Entity, Error, FieldError, Missing};
pub use matrix::CellState;
pub use release::ReleaseStatus;
pub use status::{DeploymentStatus, Transition};
