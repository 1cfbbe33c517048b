//! The migrations are embedded at compile time (`embed_migrations!` in `src/store/pool.rs`):
//! without this, an incremental build would not notice a new or edited migration and would
//! ship the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
