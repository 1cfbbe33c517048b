//! What every request handler shares: the use cases' context and the configuration. It lives
//! below the faces (they import it; it imports none of them), so the module graph has no cycle.

use crate::config::Config;
use crate::service::Context;

/// Shared, read-only state of every request handler (`web::Data<AppState>`).
#[derive(Clone)]
pub struct AppState {
    pub ctx: Context,
    pub config: Config,
}
