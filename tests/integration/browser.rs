//! End to end in a real browser: the release workflow of SPEC §6 in headless Chromium with
//! JavaScript turned off, driven through chromedriver (WebDriver) with fantoccini.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `chromium`, `chromium-driver`).
//! Without them the test prints why and passes, except under CI (`CI=true`), where it fails.
//! The browser never downloads anything: it is the system one, started offline with a throwaway
//! profile, and chromedriver is started (and killed, with its Chromium) by the test itself.
#![cfg(unix)]

use crate::common;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use releaseboard::domain::access::Role;
use serde_json::{json, Value};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one wait (driver start, page, element, text) may take: generous, the machine
/// may be busy compiling.
const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_is_planned_in_the_browser_with_javascript_turned_off() {
    if !browser_available() {
        return;
    }
    let app = common::spawn_app().await;

    // Deployments reported by CD tools: two products, three environments.
    app.deploy_ok("billing-api", "1.3.9", "Production", "completed")
        .await;
    app.deploy_ok("billing-api", "1.4.0", "Dev", "completed")
        .await;
    app.deploy_ok("billing-api", "1.4.0", "Staging", "failed")
        .await;
    app.deploy_ok("web-frontend", "2.0.0", "Dev", "completed")
        .await;
    app.deploy_ok("web-frontend", "2.0.1", "Dev", "started")
        .await;

    // An editor, who signs in with the form below.
    common::login_as(&app.db, "maria", Role::Editor).await;

    let driver = ChromeDriver::start(&app.anon).await;
    let browser = driver.session().await;

    // Scripting really is off: a page's <noscript> content renders and its script never runs.
    browser
        .goto(&data_url(
            "<title>scripting off</title><noscript><p id=\"noscript\">no script</p></noscript>\
             <script>document.title = 'scripting on'</script>",
        ))
        .await
        .expect("opening a data: page");
    wait_for(&browser, "#noscript").await;
    assert_eq!(
        browser.title().await.expect("title"),
        "scripting off",
        "JavaScript must be disabled"
    );

    // The form page asks a visitor to sign in first, then comes back.
    browser
        .goto(&app.url("/releases/new"))
        .await
        .expect("opening /releases/new");
    wait_for(&browser, "form #name")
        .await
        .send_keys("maria")
        .await
        .expect("typing the user name");
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(
        (url.path(), url.query()),
        ("/login", Some("next=%2Freleases%2Fnew")),
        "sent to the sign-in page"
    );
    wait_for(&browser, "form #password")
        .await
        .send_keys(common::TEST_PASSWORD)
        .await
        .expect("typing the password");
    click(&browser, "//form//button[normalize-space(.)='Sign in']").await;
    wait_for_text(&browser, "p.flash", "Signed in as maria.").await;
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(url.path(), "/releases/new", "back on the form page");

    // Create the release with the plain HTML form.
    wait_for(&browser, "form #name")
        .await
        .send_keys("Spring launch")
        .await
        .expect("typing the name");
    wait_for(&browser, "form #description")
        .await
        .send_keys("Billing and web together")
        .await
        .expect("typing the description");
    click(
        &browser,
        "//form//button[normalize-space(.)='Create release']",
    )
    .await;
    wait_for_text(&browser, "p.flash", "Release “Spring launch” created.").await;

    let release_url = browser.current_url().await.expect("current URL");
    let release_id = release_url
        .path()
        .strip_prefix("/releases/")
        .expect("landed on a release page")
        .to_string();
    assert!(
        uuid::Uuid::parse_str(&release_id).is_ok(),
        "release page URL {release_url}"
    );
    assert_eq!(text(&browser, "h1 .badge").await, "Draft");
    assert_eq!(
        text(&browser, "p.description").await,
        "Billing and web together"
    );

    // The add-version form suggests every product and every version string it knows.
    assert_eq!(
        datalist(&browser, "product_name").await,
        ["billing-api", "web-frontend"]
    );
    assert_eq!(
        datalist(&browser, "version").await,
        ["1.3.9", "1.4.0", "2.0.0", "2.0.1"]
    );

    add_version(&browser, "billing-api", "1.4.0").await;
    wait_for_text(&browser, "#versions p.flash", "Added billing-api 1.4.0.").await;
    assert_fragment(&browser, "versions").await;
    add_version(&browser, "web-frontend", "2.0.1").await;
    wait_for_text(&browser, "#versions p.flash", "Added web-frontend 2.0.1.").await;
    assert_eq!(
        texts(&browser, ".release-matrix tbody th > a").await,
        ["billing-api", "web-frontend"]
    );

    // A second version of a product is refused next to the form, with what was typed kept.
    add_version(&browser, "billing-api", "1.3.9").await;
    wait_for_text(
        &browser,
        "#versions .field-error",
        "already contains billing-api 1.4.0",
    )
    .await;
    assert_eq!(
        attr(
            &wait_for(&browser, "#versions input#version").await,
            "value"
        )
        .await,
        "1.3.9"
    );

    // Remove one with its row's Remove button, through its confirmation page.
    click(
        &browser,
        "//table//button[@aria-label='Remove web-frontend 2.0.1']",
    )
    .await;
    wait_for_text(&browser, "h1", "Remove web-frontend 2.0.1").await;
    click(
        &browser,
        "//form//button[normalize-space(.)='Remove web-frontend 2.0.1']",
    )
    .await;
    wait_for_text(&browser, "#versions p.flash", "Removed web-frontend 2.0.1.").await;
    assert_eq!(
        texts(&browser, ".release-matrix tbody th > a").await,
        ["billing-api"]
    );
    assert!(
        browser
            .find_all(Locator::Css("td[data-product='web-frontend']"))
            .await
            .expect("matrix cells")
            .is_empty(),
        "a removed version leaves the matrix"
    );
    add_version(&browser, "web-frontend", "2.0.0").await;
    wait_for_text(&browser, "#versions p.flash", "Added web-frontend 2.0.0.").await;

    // Replace it with its row's Replace link: one change.
    click(&browser, "//a[@aria-label='Replace web-frontend 2.0.0']").await;
    wait_for(&browser, "form input#version")
        .await
        .send_keys("2.0.1")
        .await
        .expect("typing the new version");
    click(&browser, "//form//button[normalize-space(.)='Replace']").await;
    wait_for_text(
        &browser,
        "#versions p.flash",
        "Replaced web-frontend 2.0.0 by 2.0.1.",
    )
    .await;

    // Change the status with its button.
    click(
        &browser,
        "//section[@id='status']//button[normalize-space(.)='Start (in progress)']",
    )
    .await;
    wait_for_text(
        &browser,
        "#status p.flash",
        "“Spring launch” is now in progress.",
    )
    .await;
    assert_fragment(&browser, "status").await;
    assert_eq!(text(&browser, "h1 .badge").await, "In progress");
    assert_eq!(
        texts(&browser, ".status-buttons button").await,
        ["Back to draft", "Complete (not ready)…", "Cancel release…"]
    );

    // Cancelling asks first; going back changes nothing.
    click(
        &browser,
        "//section[@id='status']//button[normalize-space(.)='Cancel release…']",
    )
    .await;
    wait_for_text(&browser, "h1", "Cancel “Spring launch”?").await;
    click(
        &browser,
        "//a[normalize-space(.)='Go back, change nothing']",
    )
    .await;
    wait_for(&browser, "#status").await;
    assert_eq!(text(&browser, "h1 .badge").await, "In progress");

    // The matrix: environments in order, one cell per version and environment, each carrying
    // the state of that exact version there, as data and as text, with its column's progress.
    assert_eq!(
        texts(&browser, "table.matrix thead th .env-name").await,
        ["Dev", "Staging", "Production"]
    );
    assert_eq!(
        texts(&browser, "table.matrix thead th .col-progress").await,
        ["1/2", "0/2", "0/2"]
    );
    assert_eq!(
        browser
            .find_all(Locator::Css("table.matrix td[data-state]"))
            .await
            .expect("matrix cells")
            .len(),
        6
    );
    let expected = [
        ("billing-api", "1.4.0", "Dev", "deployed", "Deployed"),
        ("billing-api", "1.4.0", "Staging", "failed", "Failed"),
        (
            "billing-api",
            "1.4.0",
            "Production",
            "not_deployed",
            "Not deployed",
        ),
        ("web-frontend", "2.0.1", "Dev", "in_progress", "In progress"),
        (
            "web-frontend",
            "2.0.1",
            "Staging",
            "not_deployed",
            "Not deployed",
        ),
        (
            "web-frontend",
            "2.0.1",
            "Production",
            "not_deployed",
            "Not deployed",
        ),
    ];
    for (product, version, environment, state, label) in expected {
        let cell = wait_for(
            &browser,
            &format!("table.matrix td[data-product='{product}'][data-environment='{environment}']"),
        )
        .await;
        let at = format!("{product} in {environment}");
        assert_eq!(attr(&cell, "data-state").await, state, "state of {at}");
        assert_eq!(
            attr(&cell, "data-version").await,
            version,
            "version of {at}"
        );
        let shown = cell.text().await.expect("cell text");
        assert!(shown.contains(label), "{at} shows {shown:?}, not {label:?}");
        let title = attr(&cell, "title").await;
        assert!(
            title.starts_with(&format!("{product} {version} in {environment}: {label}")),
            "title of {at}: {title:?}"
        );
    }

    // The timeline lists every action, oldest first.
    let timeline = texts(&browser, "ol.timeline li").await;
    let actions = [
        "created the release",
        "added billing-api 1.4.0",
        "added web-frontend 2.0.1",
        "removed web-frontend 2.0.1",
        "added web-frontend 2.0.0",
        "replaced web-frontend 2.0.0 by 2.0.1",
        "changed the status from Draft to In progress",
    ];
    assert_eq!(timeline.len(), actions.len(), "timeline: {timeline:#?}");
    for (entry, action) in timeline.iter().zip(actions) {
        assert!(entry.ends_with(action), "timeline: {timeline:#?}");
    }

    // The same page, loaded again, no longer shows the one-time flash message.
    browser
        .goto(release_url.as_str())
        .await
        .expect("reloading the release page");
    wait_for(&browser, "ol.timeline").await;
    assert!(
        browser
            .find_all(Locator::Css("p.flash"))
            .await
            .expect("flash")
            .is_empty(),
        "the flash message shows once"
    );

    let shot = browser.screenshot().await.expect("screenshot");
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let file = dir.join("release-page.png");
    std::fs::write(&file, &shot).expect("writing the screenshot");
    println!("screenshot of the release page: {}", file.display());

    // What the browser did is what the API sees.
    let release = app.get_json(&format!("/api/releases/{release_id}")).await;
    assert_eq!(release["status"], "in_progress");
    assert_eq!(release["version_count"], 2);

    browser.close().await.expect("closing the browser session");
    drop(driver);
}

/// The release page at real size (SPEC §6, 200 products × 12 environments) on a wall screen
/// and on a phone, JavaScript off. The page runs no script; the test reads the layout through
/// WebDriver (`execute` runs in the driver, not as the page's script).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_page_works_at_200_by_12_on_a_wide_screen_and_on_a_phone() {
    if !browser_available() {
        return;
    }
    // The dataset is written before the server starts, as `releaseboard seed` does.
    let dir = tempfile::tempdir().expect("temp dir");
    let database = common::fresh_database(&dir);
    let target = database.clone();
    tokio::task::spawn_blocking(move || {
        let ctx = releaseboard::service::Context::open(&target, 1).expect("opening the database");
        let options = releaseboard::service::seed::SeedOptions {
            products: 200,
            environments: 12,
            releases: 0,
            deployments: 20_000,
        };
        releaseboard::service::seed::seed(&ctx, &options).expect("seeding 200 × 12")
    })
    .await
    .expect("the seed task");
    let app = common::spawn_app_on(database, dir).await;
    let release = app.create_release("Wall screen").await;
    for p in 0..200 {
        let product = format!("service-{p:04}");
        assert_eq!(app.add_to_release(&release, &product, "1.0.2").await, 201);
    }
    let matrix = app
        .get_json(&format!("/api/releases/{release}/matrix"))
        .await;
    assert_eq!(matrix["rows"].as_array().map(Vec::len), Some(200));
    assert_eq!(matrix["environments"].as_array().map(Vec::len), Some(12));

    common::login_as(&app.db, "maria", Role::Editor).await;
    let driver = ChromeDriver::start(&app.anon).await;
    let browser = driver.session().await;
    browser
        .goto(&app.url("/login"))
        .await
        .expect("opening the sign-in page");
    wait_for(&browser, "form #name")
        .await
        .send_keys("maria")
        .await
        .expect("typing");
    wait_for(&browser, "form #password")
        .await
        .send_keys(common::TEST_PASSWORD)
        .await
        .expect("typing");
    click(&browser, "//form//button[normalize-space(.)='Sign in']").await;
    wait_for_text(&browser, "p.flash", "Signed in as maria.").await;
    let page = app.url(&format!("/releases/{release}"));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).expect("screenshot dir");

    // A wall screen, 1,400 × 1,000.
    viewport(&browser, 1400, 1000).await;
    browser.goto(&page).await.expect("opening the release page");
    wait_for(&browser, "table.release-matrix").await;
    let first_screen: Value = measure(
        &browser,
        "const bottom = s => document.querySelector(s).getBoundingClientRect().bottom;
         return {form: bottom('#versions form'), status: bottom('#status .status-buttons'),
                 height: innerHeight, page: document.documentElement.scrollWidth, width: innerWidth};",
    )
    .await;
    let height = first_screen["height"].as_f64().expect("height");
    for part in ["form", "status"] {
        let bottom = first_screen[part].as_f64().expect("a bottom");
        assert!(
            bottom <= height,
            "{part} ends at {bottom}, below the first screen ({height}): {first_screen}"
        );
    }
    assert!(
        num(&first_screen["page"]) <= num(&first_screen["width"]),
        "the page itself does not scroll sideways: {first_screen}"
    );
    std::fs::write(
        shots.join("release-page-1400.png"),
        browser.screenshot().await.expect("shot"),
    )
    .expect("writing the screenshot");

    // A refused add (a second version of a product) says why next to the form, on the first
    // screen, with what was typed kept.
    add_version(&browser, "service-0000", "1.0.1").await;
    wait_for_text(
        &browser,
        "#versions .field-error",
        "already contains service-0000 1.0.2",
    )
    .await;
    let refused: Value = measure(
        &browser,
        "return {error: document.querySelector('#versions .field-error').getBoundingClientRect().bottom,
                 height: innerHeight, version: document.querySelector('#versions input#version').value};",
    )
    .await;
    assert!(
        num(&refused["error"]) <= num(&refused["height"]),
        "the conflict is on the first screen: {refused}"
    );
    assert_eq!(refused["version"], "1.0.1");
    browser.goto(&page).await.expect("opening the release page");
    wait_for(&browser, "table.release-matrix").await;

    // Scrolled fully right: the product and version of every visible row are still on screen.
    let right: Value = measure(
        &browser,
        "const box = document.querySelector('.matrix-scroll');
         box.scrollLeft = box.scrollWidth;
         const b = box.getBoundingClientRect();
         const rows = [...box.querySelectorAll('tbody tr')].filter(r => {
           const t = r.getBoundingClientRect(); return t.bottom > b.top && t.top < b.bottom; });
         const hidden = rows.map(r => r.querySelector('th')).filter(th => {
           const t = th.getBoundingClientRect();
           return t.left < b.left - 1 || t.right > b.right + 1 || !th.textContent.includes('1.0.2'); })
           .map(th => th.textContent.trim());
         const last = box.querySelector('tbody tr td:last-child').getBoundingClientRect();
         return {scrolled: box.scrollLeft, visible: rows.length, hidden,
                 lastInView: last.right <= b.right + 1 && last.left >= b.left};",
    )
    .await;
    assert!(
        right["scrolled"].as_f64() > Some(0.0),
        "the matrix is wider than the screen: {right}"
    );
    assert_eq!(
        right["lastInView"], true,
        "scrolled to the last column: {right}"
    );
    assert!(right["visible"].as_u64() > Some(3), "{right}");
    assert_eq!(
        right["hidden"],
        json!([]),
        "rows without their product column in view"
    );

    // Scrolled down: the header row stays in view, above the rows.
    let down: Value = measure(
        &browser,
        "const box = document.querySelector('.matrix-scroll');
         box.scrollTop = box.scrollHeight / 2;
         const b = box.getBoundingClientRect();
         const head = box.querySelector('thead th:last-child').getBoundingClientRect();
         return {scrolled: box.scrollTop, top: head.top - b.top, inView: head.top >= b.top - 1 && head.bottom <= b.bottom,
                 text: box.querySelector('thead th:last-child').textContent.trim()};",
    )
    .await;
    assert!(down["scrolled"].as_f64() > Some(0.0), "{down}");
    assert_eq!(down["inView"], true, "the header row stays in view: {down}");
    assert!(
        down["top"].as_f64().is_some_and(|t| t.abs() <= 2.0),
        "at the top of the box: {down}"
    );
    std::fs::write(
        shots.join("release-page-1400-scrolled.png"),
        browser.screenshot().await.expect("shot"),
    )
    .expect("writing the screenshot");

    // A phone, 390 × 844: cards, production first, nothing sideways.
    viewport(&browser, 390, 844).await;
    browser.goto(&page).await.expect("opening the release page");
    wait_for(&browser, "table.release-matrix").await;
    let phone: Value = measure(
        &browser,
        "const rows = [...document.querySelectorAll('.release-matrix tbody tr')];
         const unreadable = rows.filter(r => {
           const prod = [...r.querySelectorAll('td.env-production')];
           if (prod.length === 0) return true;
           return prod.some(td => { const t = td.getBoundingClientRect();
             return t.width === 0 || t.left < 0 || t.right > innerWidth
               || !td.innerText.includes('production') || !td.innerText.match(/Deployed|In progress|Failed|Not deployed/); });
         }).map(r => r.querySelector('th').textContent.trim());
         const firstCard = rows[0].getBoundingClientRect();
         const firstProd = rows[0].querySelector('td.env-production').getBoundingClientRect();
         const firstDev = rows[0].querySelector('td.env-dev').getBoundingClientRect();
         return {page: document.documentElement.scrollWidth, width: innerWidth, rows: rows.length, unreadable,
                 productionFirst: firstProd.top < firstDev.top, cardWidth: firstCard.width};",
    )
    .await;
    assert_eq!(phone["rows"], 200, "{phone}");
    assert!(
        num(&phone["page"]) <= num(&phone["width"]),
        "the page does not scroll sideways on a phone: {phone}"
    );
    assert_eq!(
        phone["unreadable"],
        json!([]),
        "versions whose Production state is off screen"
    );
    assert_eq!(phone["productionFirst"], true, "{phone}");
    std::fs::write(
        shots.join("release-page-390.png"),
        browser.screenshot().await.expect("shot"),
    )
    .expect("writing the screenshot");
    browser
        .goto(&format!("{page}#matrix"))
        .await
        .expect("opening the matrix");
    wait_for(&browser, "table.release-matrix").await;
    std::fs::write(
        shots.join("release-page-390-cards.png"),
        browser.screenshot().await.expect("shot"),
    )
    .expect("writing the screenshot");
    println!(
        "screenshots of the release page at size: {}",
        shots.display()
    );

    // From the dashboard, what to promote from the last staging to the first production
    // environment: the compare page's figures are the API's.
    viewport(&browser, 1400, 1000).await;
    browser
        .goto(&app.url("/"))
        .await
        .expect("opening the dashboard");
    click(
        &browser,
        "//a[normalize-space(.)='staging-09 → production-10']",
    )
    .await;
    wait_for(&browser, "table.compare").await;
    let api = app
        .get_json("/api/compare/environments?from=staging-09&to=production-10")
        .await;
    let products = api["products"].as_array().expect("products");
    let differing = products.iter().filter(|p| p["differs"] == true).count();
    assert_eq!(
        text(&browser, "p.summary").await,
        format!(
            "{differing} of {} products differ between staging-09 and production-10.",
            products.len()
        )
    );
    let first_row = wait_for(&browser, "table.compare tbody tr").await;
    assert_eq!(
        attr(&first_row, "data-product").await,
        products[0]["product_name"].as_str().expect("a name")
    );

    browser.close().await.expect("closing the browser session");
}

/// Sizes the window so that the page's viewport is `width` × `height` CSS pixels.
async fn viewport(browser: &Client, width: u32, height: u32) {
    browser
        .set_window_size(width, height)
        .await
        .expect("window size");
    let inner: Value = measure(browser, "return [innerWidth, innerHeight];").await;
    let (w, h) = (
        inner[0].as_u64().unwrap_or(0),
        inner[1].as_u64().unwrap_or(0),
    );
    let grow = |want: u32, got: u64| want + (u64::from(want).saturating_sub(got)) as u32;
    browser
        .set_window_size(grow(width, w), grow(height, h))
        .await
        .expect("window size");
}

/// A number a measuring script returned (a missing one fails the test, never passes it).
fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number, not {v}"))
}

/// Runs a measuring script in the driver and returns what it returns.
async fn measure(browser: &Client, script: &str) -> Value {
    browser
        .execute(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("measuring {script:?}: {e}"))
}

/// Whether Chromium and chromedriver are installed; says why not, and fails under CI.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!(
        "{} not found (Debian packages: chromium, chromium-driver)",
        missing.join(" and ")
    );
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(!ci, "CI=true, so the browser test must run, but {reason}");
    // Straight to stderr, past the test harness's capture: a skip must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED browser test: {reason}");
    false
}

/// A chromedriver process on a free port, in its own process group together with the Chromium
/// it starts. Dropping it (also when the test panics) kills the whole group, then removes the
/// browser profile.
struct ChromeDriver {
    child: Child,
    url: String,
    log: PathBuf,
    /// The Chromium profile and the driver log; removed after the processes are gone.
    dir: tempfile::TempDir,
}

impl ChromeDriver {
    async fn start(http: &reqwest::Client) -> ChromeDriver {
        let mut failures = Vec::new();
        // The free port is only free when checked: retry if another process takes it.
        for _ in 0..3 {
            match Self::try_start(http).await {
                Ok(driver) => return driver,
                Err(e) => failures.push(e),
            }
        }
        panic!("chromedriver did not start: {failures:#?}");
    }

    async fn try_start(http: &reqwest::Client) -> Result<ChromeDriver, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("chromedriver.log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawning {CHROMEDRIVER}: {e}"))?;
        let mut driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            dir,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(format!("exited with {status}: {}", driver.log_tail()));
            }
            if let Ok(res) = http.get(format!("{}/status", driver.url)).send().await {
                if let Ok(body) = res.json::<Value>().await {
                    if body["value"]["ready"] == true {
                        return Ok(driver);
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!("not ready within {WAIT:?}: {}", driver.log_tail()));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A WebDriver session: headless, offline Chromium on a fresh profile, JavaScript off.
    async fn session(&self) -> Client {
        let profile = self.dir.path().join("profile");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,1600",
                ],
                "prefs": { "profile.managed_default_content_settings.javascript": 2 },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are a JSON object")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("starting Chromium: {e}\n{}", self.log_tail()))
    }

    /// The end of chromedriver's log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!(
            "chromedriver log ({}), last lines:\n{tail}",
            self.log.display()
        )
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        // chromedriver leads its process group and Chromium stays in it: kill them all.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `data:` URL showing `html`.
fn data_url(html: &str) -> String {
    let mut url = String::from("data:text/html;charset=utf-8,");
    for b in html.bytes() {
        if b.is_ascii_alphanumeric() {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// A locator from a CSS selector, or an XPath when it starts with `/` or `(`.
fn locator(selector: &str) -> Locator<'_> {
    if selector.starts_with('/') || selector.starts_with('(') {
        Locator::XPath(selector)
    } else {
        Locator::Css(selector)
    }
}

/// Waits for an element to appear.
async fn wait_for(browser: &Client, selector: &str) -> Element {
    match browser
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(locator(selector))
        .await
    {
        Ok(element) => element,
        Err(e) => panic!(
            "waited {WAIT:?} for {selector:?} on {}: {e}",
            page_url(browser).await
        ),
    }
}

/// Waits until an element's text contains `expected` (a page loads after a form is sent).
async fn wait_for_text(browser: &Client, selector: &str, expected: &str) {
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    loop {
        if let Ok(element) = browser.find(locator(selector)).await {
            if let Ok(text) = element.text().await {
                if text.contains(expected) {
                    return;
                }
                last = Some(text);
            }
        }
        if Instant::now() > deadline {
            panic!(
                "waited {WAIT:?} for {selector:?} to contain {expected:?} on {}; \
                 its text was {last:?}",
                page_url(browser).await
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn page_url(browser: &Client) -> String {
    browser
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_else(|e| format!("(no URL: {e})"))
}

async fn click(browser: &Client, selector: &str) {
    wait_for(browser, selector)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {selector:?}: {e}"));
}

async fn text(browser: &Client, selector: &str) -> String {
    wait_for(browser, selector)
        .await
        .text()
        .await
        .expect("element text")
}

/// The text content of all elements matching a CSS selector, in document order, whitespace
/// collapsed (as in the HTML, not as CSS may transform it for display).
async fn texts(browser: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in browser
        .find_all(Locator::Css(css))
        .await
        .expect("finding elements")
    {
        let text = element
            .prop("textContent")
            .await
            .expect("element text")
            .unwrap_or_default();
        out.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    out
}

async fn attr(element: &Element, name: &str) -> String {
    element
        .attr(name)
        .await
        .expect("attribute")
        .unwrap_or_else(|| panic!("no {name} attribute"))
}

/// The suggestions of an input's `<datalist>`, in document order.
async fn datalist(browser: &Client, input: &str) -> Vec<String> {
    let field = wait_for(browser, &format!("form input[name='{input}']")).await;
    let list = attr(&field, "list").await;
    let mut out = Vec::new();
    for option in browser
        .find_all(Locator::Css(&format!("datalist[id='{list}'] option")))
        .await
        .expect("options")
    {
        out.push(attr(&option, "value").await);
    }
    out
}

/// The page came back to one of its sections (`#versions`, `#status`).
async fn assert_fragment(browser: &Client, section: &str) {
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(url.fragment(), Some(section), "{url}");
}

/// Types a product and a version into the add-version form and sends it.
async fn add_version(browser: &Client, product: &str, version: &str) {
    for (field, value) in [("product_name", product), ("version", version)] {
        let input = wait_for(browser, &format!("#versions input#{field}")).await;
        input.clear().await.expect("clearing the field");
        input.send_keys(value).await.expect("typing");
    }
    click(
        browser,
        "//section[@id='versions']//form//button[normalize-space(.)='Add version']",
    )
    .await;
}
