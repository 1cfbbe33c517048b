//! SPEC §3: "Every acknowledged (2xx) event is durable: it survives a crash or kill of the server
//! the moment after the response." The real binary is killed with SIGKILL in the middle of a
//! burst of events, restarted on the same database, and asked for every acknowledged event.

use crate::common;

use releaseboard::store::DbTarget;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const STARTUP_LINE: &str = "releaseboard listening on http://127.0.0.1:";

/// The server binary running as a child process; killed (SIGKILL) and reaped when dropped, so
/// a failing test never leaves a server behind.
struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts `releaseboard --bind 127.0.0.1:0 --database-url …` and waits for the line that
    /// names its port. The server's log goes to `log` (appended).
    fn start(database_url: &str, log: &Path) -> ServerProcess {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("server log file");
        let child = Command::new(env!("CARGO_BIN_EXE_releaseboard"))
            .args(["--bind", "127.0.0.1:0", "--database-url", database_url])
            .env_remove("DATABASE_URL")
            .env_remove("RELEASEBOARD_BIND")
            .env("RUST_LOG", "info,releaseboard::http=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting the releaseboard binary");
        let mut server = ServerProcess { child, port: 0 };

        // Read stdout on a thread for the whole life of the process: a full pipe would block
        // the server's own log writes.
        let stdout = server.child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(rest) = line
                    .find(STARTUP_LINE)
                    .map(|i| &line[i + STARTUP_LINE.len()..])
                {
                    let port = rest
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .unwrap_or("");
                    let _ = tx.send(port.parse::<u16>().ok());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Some(port)) => {
                    server.port = port;
                    return server;
                }
                Ok(None) => panic!("the startup line names no port; log: {}", read_log(log)),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!(
                            "the server exited with {status} on start; log: {}",
                            read_log(log)
                        );
                    }
                }
                Err(_) => panic!("no startup line within 60 s; log: {}", read_log(log)),
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL, then reap; asserts the process really died of the signal rather than exiting
    /// gracefully.
    fn kill_minus_nine(mut self) {
        self.child.kill().expect("sending SIGKILL");
        let status = self.child.wait().expect("reaping the server");
        assert_eq!(
            status.signal(),
            Some(9),
            "the server died of SIGKILL: {status}"
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates an ingest key with the real CLI, as an operator would; returns the key it printed.
fn create_key(database_url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_releaseboard"))
        .args([
            "api-key",
            "create",
            "durability",
            "--scope",
            "ingest",
            "--database-url",
            database_url,
        ])
        .env_remove("DATABASE_URL")
        .output()
        .expect("running releaseboard api-key create");
    assert!(
        out.status.success(),
        "api-key create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(key.starts_with("rb_"), "printed key: {key:?}");
    key
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// One event the server acknowledged with a 2xx.
#[derive(Debug, Clone)]
struct Acked {
    deployment_id: String,
    event_id: String,
    status: &'static str,
    invoke_id: String,
}

/// What one burst did: acknowledged events, deployments attempted, and any non-2xx answers.
#[derive(Default)]
struct Burst {
    acked: Vec<Acked>,
    /// invoke_ids whose first ("started") event was sent, answered or not.
    attempted: HashSet<String>,
    refused: Vec<String>,
    transport_errors: usize,
}

/// Eight clients post started/completed pairs (one invoke_id per pair) as fast as they can;
/// once `kill_after` events are acknowledged the server is SIGKILLed mid-burst.
async fn burst_then_kill(
    server: ServerProcess,
    key: &str,
    round: usize,
    kill_after: usize,
) -> Burst {
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse().expect("header value"),
    );
    let client = reqwest::Client::builder()
        .default_headers(auth)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    let acked_count = Arc::new(AtomicUsize::new(0));
    let burst = Arc::new(Mutex::new(Burst::default()));
    let started = Instant::now();

    let mut tasks = Vec::new();
    for task in 0..8 {
        let (client, acked_count, burst) = (client.clone(), acked_count.clone(), burst.clone());
        let url = server.url("/api/deployment-events/");
        tasks.push(tokio::spawn(async move {
            // A cap so that a server that never gets killed cannot loop forever.
            'pairs: for n in 0..2000 {
                let invoke_id = format!("ci-{round}-{task}-{n}");
                for status in ["started", "completed"] {
                    let body = json!({
                        "product_name": format!("durable-{task}"),
                        "version": format!("1.{round}.{n}"),
                        "environment_name": "Production",
                        "status": status,
                        "invoke_id": invoke_id,
                    });
                    if status == "started" {
                        lock(&burst).attempted.insert(invoke_id.clone());
                    }
                    let res = match client.post(&url).json(&body).send().await {
                        Ok(res) => res,
                        Err(_) => {
                            lock(&burst).transport_errors += 1;
                            break 'pairs;
                        }
                    };
                    let code = res.status();
                    let Ok(text) = res.text().await else {
                        // The status line arrived but not the body: the server died in between;
                        // not an acknowledgement a client could act on.
                        lock(&burst).transport_errors += 1;
                        break 'pairs;
                    };
                    if !code.is_success() {
                        lock(&burst)
                            .refused
                            .push(format!("{invoke_id} {status}: {code} {text}"));
                        break 'pairs;
                    }
                    let answer: Value = serde_json::from_str(&text).expect("2xx answer is JSON");
                    lock(&burst).acked.push(Acked {
                        deployment_id: answer["id"].as_str().expect("deployment id").to_string(),
                        event_id: answer["event_id"].as_str().expect("event_id").to_string(),
                        status,
                        invoke_id: invoke_id.clone(),
                    });
                    acked_count.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    while acked_count.load(Ordering::SeqCst) < kill_after {
        assert!(Instant::now() < deadline, "the burst made no progress");
        assert!(
            lock(&burst).refused.is_empty(),
            "refused during the burst: {:?}",
            lock(&burst).refused
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill_minus_nine();
    let at_kill = acked_count.load(Ordering::SeqCst);
    for t in tasks {
        t.await.expect("client task");
    }
    let burst = std::mem::take(&mut *lock(&burst));
    eprintln!(
        "round {round}: killed after {at_kill} acks ({:?}); finally {} acked, {} attempted \
         deployments, {} requests cut off",
        started.elapsed(),
        burst.acked.len(),
        burst.attempted.len(),
        burst.transport_errors
    );
    burst
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every acknowledged event is in its deployment's log with the status it reported, every
/// acknowledged completion left its deployment completed, and no deployment appeared that
/// was never asked for.
async fn assert_all_acknowledged_events_present(
    server: &ServerProcess,
    acked: &[Acked],
    attempted: usize,
) {
    let client = reqwest::Client::new();
    let mut by_deployment: HashMap<&str, Vec<&Acked>> = HashMap::new();
    for a in acked {
        by_deployment.entry(&a.deployment_id).or_default().push(a);
    }
    for (id, events) in &by_deployment {
        let res = client
            .get(server.url(&format!("/api/deployments/{id}")))
            .send()
            .await
            .expect("GET deployment");
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged deployment {id} ({events:?}) is gone"
        );
        let detail: Value = res.json().await.expect("deployment JSON");
        assert_eq!(
            detail["invoke_id"],
            events[0].invoke_id.as_str(),
            "{detail}"
        );
        let logged: HashMap<String, String> = detail["events"]
            .as_array()
            .unwrap_or_else(|| panic!("events of {id}: {detail}"))
            .iter()
            .map(|e| {
                let id = e["id"].as_str().expect("event id").to_string();
                let status = e["status"].as_str().expect("event status").to_string();
                (id, status)
            })
            .collect();
        for a in events {
            assert_eq!(
                logged.get(&a.event_id).map(String::as_str),
                Some(a.status),
                "acknowledged event {a:?} is missing from deployment {id}: {detail}"
            );
        }
        if events.iter().any(|a| a.status == "completed") {
            assert_eq!(detail["status"], "completed", "{detail}");
            assert!(detail["completed_at"].is_string(), "{detail}");
        } else {
            // Only "started" was acknowledged; the completion may or may not have landed.
            assert!(
                detail["status"] == "started" || detail["status"] == "completed",
                "{detail}"
            );
        }
    }

    let res = client
        .get(server.url("/api/deployments/?limit=1"))
        .send()
        .await
        .expect("GET deployments");
    let total: usize = res
        .headers()
        .get("X-Total-Count")
        .expect("X-Total-Count")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("a number");
    assert!(
        (by_deployment.len()..=attempted).contains(&total),
        "{total} deployments stored; {} acknowledged, {attempted} attempted",
        by_deployment.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_a_kill_minus_nine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match common::fresh_database(&dir) {
        DbTarget::Sqlite(path) => path,
        DbTarget::Postgres(url) => url,
    };
    let log = dir.path().join("server.log");
    let key = create_key(&database_url);

    let mut acked = Vec::new();
    let mut attempted = 0;
    let mut server = ServerProcess::start(&database_url, &log);
    // Twice: the second burst runs on a server that itself recovered from a kill.
    for round in 0..2 {
        let burst = burst_then_kill(server, &key, round, 300).await;
        assert!(
            burst.refused.is_empty(),
            "non-2xx answers: {:?}",
            burst.refused
        );
        assert!(
            burst.acked.len() >= 300,
            "{} acknowledged",
            burst.acked.len()
        );
        acked.extend(burst.acked);
        attempted += burst.attempted.len();

        server = ServerProcess::start(&database_url, &log);
        assert_all_acknowledged_events_present(&server, &acked, attempted).await;
    }
    drop(server);
}
