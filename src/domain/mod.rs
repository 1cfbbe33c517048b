//! The rules of releaseboard, with no I/O: every rule lives in exactly one function here and is
//! used by the JSON API and the HTML pages alike.

pub mod environment;
pub mod matrix;
pub mod release;
pub mod status;
pub mod validate;

pub use environment::EnvType;
pub use matrix::CellState;
pub use release::ReleaseStatus;
pub use status::{DeploymentStatus, Transition};
