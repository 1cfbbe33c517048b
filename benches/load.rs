//! Load generator for releaseboard: drives a running server with N concurrent connections for
//! T seconds and prints requests/s, latency percentiles, errors and the server's RSS.
//!
//!     cargo bench --bench load -- --url http://127.0.0.1:8080 --scenario ingest-unique \
//!         --connections 32 --duration 30 --server-pid $(pgrep -f 'releaseboard serve') \
//!         --api-key "$(releaseboard api-key create bench --scope ingest)"
//!
//! Scenarios: ingest-unique, ingest-repeat, release-page, dashboard, state-api, releases-list,
//! history, compare-environments, health, signin-flood (wrong passwords for made-up names, each connection from its
//! own loopback address 127.0.0.N; answered 401/429/503, all counted as served). `--rate`
//! paces a scenario to so many requests a second in all. See docs/performance.md for the method
//! and the figures.

use clap::{Parser, ValueEnum};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Scenario {
    /// Deployment events, each for a new (product, environment) pair.
    IngestUnique,
    /// Deployment events over 20 products × 4 environments, again and again.
    IngestRepeat,
    /// GET /releases/{id}: the release page (HTML).
    ReleasePage,
    /// GET /: the dashboard with the state matrix (HTML).
    Dashboard,
    /// GET /api/state/: the state matrix (JSON).
    StateApi,
    /// GET /releases: the release list (HTML).
    ReleasesList,
    /// GET /releases/history (HTML).
    History,
    /// GET /compare/environments?from=…&to=… (HTML): what to promote next.
    CompareEnvironments,
    /// GET /api/health.
    Health,
    /// POST /login with a wrong password for a made-up name, from many addresses.
    SigninFlood,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Release for release-page (default: the first in-progress release, else the newest).
    #[arg(long)]
    release_id: Option<String>,
    /// compare-environments: the two environments (the seed's last staging and first
    /// production ones with `--environments 10`).
    #[arg(long, default_value = "staging-08")]
    compare_from: String,
    #[arg(long, default_value = "production-09")]
    compare_to: String,
    /// The server's pid, to report its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Requests a second in all (paced), instead of as fast as the server answers.
    #[arg(long)]
    rate: Option<f64>,
    /// API key for the ingest scenarios (`releaseboard api-key create bench --scope ingest`).
    #[arg(long, env = "RELEASEBOARD_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Cargo passes --bench to bench targets; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A client that connects from `ip`, a loopback address (Linux routes all of 127/8 to the
/// loopback device).
fn client_at(ip: std::net::Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(ip))
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .expect("client")
}

/// A client that connects from 127.a.b.c, a in 1..=254: one address per sign-in attempt.
fn from_address(n: u64) -> reqwest::Client {
    let [_, _, _, _, _, a, b, c] = n.to_be_bytes();
    client_at(std::net::Ipv4Addr::new(127, 1 + a % 254, b, c.max(1)))
}

fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn pick_release(client: &reqwest::Client, url: &str) -> String {
    for q in ["?status=in_progress&limit=1", "?limit=1"] {
        let list: serde_json::Value = client
            .get(format!("{url}/api/releases/{q}"))
            .send()
            .await
            .expect("server reachable")
            .json()
            .await
            .expect("JSON list");
        if let Some(id) = list.get(0).and_then(|r| r["id"].as_str()) {
            return id.to_string();
        }
    }
    panic!("no release in the database: seed it first (releaseboard seed)");
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = &args.api_key {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {key}")
                .parse()
                .expect("a key fit for a header"),
        );
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(args.connections)
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let release_id = if args.scenario == Scenario::ReleasePage {
        match &args.release_id {
            Some(id) => id.clone(),
            None => pick_release(&client, &args.url).await,
        }
    } else {
        String::new()
    };
    let errors = Arc::new(AtomicU64::new(0));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let run_tag = std::process::id();

    // Samples the server's memory while the load runs.
    let sampler = args.server_pid.map(|pid| {
        let peak = peak_rss.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                if let Some(mb) = rss_mb(pid) {
                    peak.fetch_max((mb * 10.0) as u64, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });

    let started = Instant::now();
    let mut tasks = Vec::new();
    // Each connection waits this long between its requests when the load is paced.
    let interval = args
        .rate
        .map(|r| Duration::from_secs_f64(args.connections as f64 / r.max(0.001)));
    for worker in 0..args.connections {
        let client = if args.scenario == Scenario::SigninFlood {
            // Its own address, so that the per-address limit sees many clients.
            client_at(std::net::Ipv4Addr::new(
                127,
                0,
                (2 + worker / 250) as u8,
                (1 + worker % 250) as u8,
            ))
        } else {
            client.clone()
        };
        let url = args.url.clone();
        let errors = errors.clone();
        let release_id = release_id.clone();
        let compare_path = format!(
            "/compare/environments?from={}&to={}",
            args.compare_from, args.compare_to
        );
        let scenario = args.scenario;
        let args_connections = args.connections;
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::with_capacity(100_000);
            let mut i: u64 = 0;
            // Paced connections start spread over one interval.
            let mut next = Instant::now()
                + interval.map_or(Duration::ZERO, |d| {
                    d.mul_f64(worker as f64 / args_connections as f64)
                });
            while Instant::now() < deadline {
                if let Some(d) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += d;
                }
                i += 1;
                let req = match scenario {
                    Scenario::IngestUnique => client
                        .post(format!("{url}/api/deployment-events/"))
                        .json(&json!({
                            "product_name": format!("bench-{run_tag}-{worker}-{i}"),
                            "version": "1.0.0",
                            "environment_name": format!("env-{}", i % 8),
                            "status": "success",
                        })),
                    Scenario::IngestRepeat => {
                        let environment =
                            ["Dev", "Test", "Staging", "Production"][(i % 4) as usize];
                        client
                            .post(format!("{url}/api/deployment-events/"))
                            .json(&json!({
                                "product_name": format!("repeat-{}", (worker as u64 + i) % 20),
                                "version": format!("2.0.{}", i % 5),
                                "environment_name": environment,
                                "status": "success",
                            }))
                    }
                    Scenario::ReleasePage => client.get(format!("{url}/releases/{release_id}")),
                    Scenario::Dashboard => client.get(format!("{url}/")),
                    Scenario::StateApi => client.get(format!("{url}/api/state/")),
                    Scenario::ReleasesList => client.get(format!("{url}/releases")),
                    Scenario::History => client.get(format!("{url}/releases/history")),
                    Scenario::CompareEnvironments => client.get(format!("{url}{compare_path}")),
                    Scenario::Health => client.get(format!("{url}/api/health")),
                    // Each attempt from an address of its own (127.1.0.0/16 and up), so that
                    // neither the per-name nor the per-address limit stops the flood.
                    Scenario::SigninFlood => from_address(worker as u64 * 1_000_003 + i)
                        .post(format!("{url}/login"))
                        .header(reqwest::header::COOKIE, "rb_login=flood")
                        .form(&[
                            ("csrf_token", "flood"),
                            ("name", &format!("flood-{run_tag}-{worker}-{i}")),
                            ("password", "not the password"),
                        ]),
                };
                let t = Instant::now();
                let ok = match req.send().await {
                    Ok(res) => {
                        let ok = res.status().is_success()
                            || (scenario == Scenario::SigninFlood
                                && matches!(res.status().as_u16(), 401 | 429 | 503));
                        // Read the whole body: the time to the last byte is what users wait.
                        ok && res.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut all: Vec<u32> = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(s) = sampler {
        let _ = s.await;
    }
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let idx = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[idx] as f64 / 1000.0
    };
    let rss = match args.server_pid {
        Some(_) => format!(
            "{:.1} MB peak",
            peak_rss.load(Ordering::Relaxed) as f64 / 10.0
        ),
        None => "n/a (pass --server-pid)".into(),
    };
    println!(
        "scenario={:?} connections={} duration={:.1}s requests={} rps={:.0} p50={:.2}ms p99={:.2}ms max={:.2}ms errors={} server_rss={}",
        args.scenario,
        args.connections,
        elapsed,
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.last().map(|m| *m as f64 / 1000.0).unwrap_or(0.0),
        errors.load(Ordering::Relaxed),
        rss
    );
}
