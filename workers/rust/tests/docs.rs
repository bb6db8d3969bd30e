//! The docs run as written. Every code block of README.md and docs/*.md is run here, in
//! the order a reader meets it, or carries `<!-- fragment: reason -->`; docs/rust.md's Rust
//! is also compiled and run by rustdoc (`RustGuide` in src/lib.rs).
//!
//! Each guide runs in a new project under `target/docs-examples/`, beside a `tasker-core`
//! link to this checkout, from its install block on, in an environment with nothing of
//! this test's. Its first example runs twice: with nothing on `localhost:4318` (it must
//! still print its result, exit 0 and WARN exactly once about the unexported spans), and
//! with a real collector there (no WARN, and the printed trace arrives whole). Run by
//! `make test-docs` (feature `polyglot`: distributed.md's three-language block uses the
//! installed gem and wheel).

mod doc_blocks;

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use doc_blocks::session::{Output, Session};
use doc_blocks::{Block, CODE, Mark, parse};
use tasker_testkit::{Collector, PgCluster};

/// Pages whose blocks a test below runs; a code block elsewhere must be a fragment.
const RUN: &[&str] = &[
    "README.md",
    "docs/distributed.md",
    "docs/python.md",
    "docs/ruby.md",
    "docs/rust.md",
    "docs/wasm.md",
];

/// The examples' endpoint, `localhost:4318`; one test at a time may listen there.
const OTLP_HTTP: &str = "127.0.0.1:4318";
static PORT_4318: Mutex<()> = Mutex::new(());

const INSTALL: Duration = Duration::from_secs(20 * 60);
const EXAMPLE: Duration = Duration::from_secs(5 * 60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository")
}

fn page(name: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(repo().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    parse(name, &text)
}

fn pages() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    names.sort();
    names.insert(0, "README.md".to_owned());
    names
}

#[test]
#[allow(
    clippy::print_stdout,
    reason = "the counts per page are the test's report"
)]
fn every_code_block_is_run_or_marked_a_fragment() {
    let mut unrun = Vec::new();
    println!(
        "{:<24} {:>4} {:>9} {:>6}",
        "page", "run", "fragment", "files"
    );
    for name in pages() {
        let blocks = page(&name);
        let code = |b: &&Block| CODE.contains(&b.lang.as_str());
        let fragments = blocks
            .iter()
            .filter(code)
            .filter(|b| matches!(b.mark, Mark::Fragment(_)))
            .count();
        let files = blocks
            .iter()
            .filter(|b| matches!(b.mark, Mark::File(_)))
            .count();
        let run: Vec<&Block> = blocks
            .iter()
            .filter(code)
            .filter(|b| b.mark == Mark::Run)
            .collect();
        if !RUN.contains(&name.as_str()) {
            unrun.extend(
                run.iter()
                    .map(|b| format!("{}: a {} block that nothing runs", b.at(), b.lang)),
            );
        }
        for b in &run {
            if b.lang == "html"
                || (b.lang == "rust" && name != "docs/rust.md")
                || b.info.contains("ignore")
            {
                unrun.push(format!(
                    "{}: a {} block this runner cannot run",
                    b.at(),
                    b.info
                ));
            }
        }
        println!("{name:<24} {:>4} {fragments:>9} {files:>6}", run.len());
    }
    assert!(
        unrun.is_empty(),
        "mark each with <!-- fragment: reason --> or run it:\n{}",
        unrun.join("\n")
    );
}

/// How a guide's first example is run, once it is written to `file`.
struct First {
    lang: &'static str,
    file: &'static str,
    command: &'static [&'static str],
}

/// Runs a page's blocks in order; the first example (per `first`) both ways.
fn run_page(session: &mut Session, blocks: &[Block], first: Option<&First>) {
    let mut first_done = false;
    for b in blocks {
        match &b.mark {
            Mark::Fragment(_) => {}
            Mark::File(name) => {
                session.write(name, &b.text);
                if let Some(f) = first.filter(|f| f.file == name && !first_done) {
                    first_done = true;
                    both_ways(session, b, f);
                }
            }
            Mark::Run if !CODE.contains(&b.lang.as_str()) => {} // output, data, diagrams
            Mark::Run => match b.lang.as_str() {
                "bash" | "sh" | "shell" => {
                    session.shell(b, INSTALL).assert_ok(b);
                }
                "rust" => {} // rustdoc runs it
                lang => {
                    let f = first
                        .filter(|f| f.lang == lang && !first_done)
                        .unwrap_or_else(|| {
                            panic!("{}: no way to run a second {lang} block", b.at())
                        });
                    first_done = true;
                    session.write(f.file, &b.text);
                    both_ways(session, b, f);
                }
            },
        }
    }
    assert!(
        first.is_none() || first_done,
        "the page has no first example"
    );
}

fn listening(addr: &str) -> bool {
    let addr: SocketAddr = addr.parse().expect("an address");
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn both_ways(session: &mut Session, block: &Block, first: &First) {
    let (program, args) = first.command.split_first().expect("a command");
    assert!(
        !listening(OTLP_HTTP),
        "something else listens on {OTLP_HTTP}: the examples' endpoint must be free for this test"
    );
    let without = session.run("without a collector", program, args, EXAMPLE);
    without.assert_ok(block);
    let warned = without.unexported_warnings();
    assert_eq!(
        warned.len(),
        1,
        "{}: one WARN without a collector\n{without}",
        block.at()
    );

    let collector = Collector::start_on(OTLP_HTTP.parse().expect("an address"));
    let with = session.run("with a collector", program, args, EXAMPLE);
    with.assert_ok(block);
    assert_eq!(
        with.unexported_warnings(),
        Vec::<&str>::new(),
        "{}: no WARN\n{with}",
        block.at()
    );
    arrived_whole(&collector, &with, block);
}

/// The trace the run printed reached the collector: its root and a span per step and
/// completion of the four-step example.
fn arrived_whole(collector: &Collector, run: &Output, block: &Block) {
    let trace = run
        .trace_id()
        .unwrap_or_else(|| panic!("{}: no trace id printed\n{run}", block.at()));
    let spans = collector.wait_for(Duration::from_secs(15), |s| {
        s.iter().filter(|s| s.trace_id == trace).count() >= 9
    });
    let mine: Vec<_> = spans.iter().filter(|s| s.trace_id == trace).collect();
    let named = |n: &str| mine.iter().filter(|s| s.name == n).count();
    assert_eq!(
        (
            named("worker.task_execution"),
            named("worker.step_execution"),
            named("worker.step_completion_received")
        ),
        (1, 4, 4),
        "{}: the trace {trace} at the collector: {:?}",
        block.at(),
        mine.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

/// Runs the guide `page` in a new project named `name`, beside a `tasker-core` link to
/// this checkout, once `prepare` has set up what the guide says the reader has.
fn guide(name: &str, page_name: &str, first: First, prepare: impl FnOnce(&mut Session)) {
    let _port = PORT_4318.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = Session::fresh(repo().join("target/docs-examples").join(name));
    std::os::unix::fs::symlink(repo(), s.dir.join("tasker-core")).expect("link the checkout");
    prepare(&mut s);
    run_page(&mut s, &page(page_name), Some(&first));
}

fn shared_target(s: &mut Session) {
    s.set(
        "CARGO_TARGET_DIR",
        repo().join("target").display().to_string(),
    );
}

#[test]
fn the_python_guide_runs_as_written() {
    let first = First {
        lang: "python",
        file: "first_handler.py",
        command: &["python", "first_handler.py"],
    };
    guide("python", "docs/python.md", first, |s| {
        // "with your project's virtualenv active"
        let venv = s.dir.join("venv");
        let path = venv.display().to_string();
        s.run(
            "make the project's venv",
            "python3",
            &["-m", "venv", &path],
            INSTALL,
        )
        .assert_success();
        s.prepend_path(&venv.join("bin"));
        s.set("VIRTUAL_ENV", path);
        s.set("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    });
}

#[test]
fn the_ruby_guide_runs_as_written() {
    let first = First {
        lang: "ruby",
        file: "first_handler.rb",
        command: &["ruby", "first_handler.rb"],
    };
    guide("ruby", "docs/ruby.md", first, |s| {
        let gems = s.dir.join("gems");
        s.set("GEM_HOME", gems.display().to_string());
        s.prepend_path(&gems.join("bin"));
        // The guide's own advice: reinstalls take seconds with a shared target directory.
        shared_target(s);
    });
}

#[test]
fn the_javascript_guide_runs_as_written() {
    let first = First {
        lang: "js",
        file: "first_handler.mjs",
        command: &["node", "first_handler.mjs"],
    };
    guide("wasm", "docs/wasm.md", first, |s| {
        s.set("npm_config_audit", "false");
        s.set("npm_config_fund", "false");
    });
}

#[test]
fn the_rust_guide_runs_as_written() {
    let first = First {
        lang: "rust",
        file: "src/main.rs",
        command: &["cargo", "run", "-q"],
    };
    guide("rust", "docs/rust.md", first, |s| {
        // This checkout's lock file and build directory: the versions it was tested with,
        // and no second build of every dependency.
        std::fs::copy(repo().join("Cargo.lock"), s.dir.join("Cargo.lock"))
            .expect("copy Cargo.lock");
        shared_target(s);
        s.set("CARGO_PROFILE_DEV_DEBUG", "line-tables-only");
    });
}

#[test]
fn the_readme_runs_as_written() {
    let _port = PORT_4318.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = Session::in_dir(repo(), repo().join("target/docs-examples/readme"));
    run_page(&mut s, &page("README.md"), None);
}

#[test]
fn the_distributed_guide_runs_as_written() {
    let _port = PORT_4318.lock().unwrap_or_else(|e| e.into_inner());
    let pg = PgCluster::start();
    let _collector = Collector::start_on(OTLP_HTTP.parse().expect("an address"));
    let mut s = Session::in_dir(repo(), repo().join("target/docs-examples/distributed"));
    s.set("DATABASE_URL", pg.url()); // "DATABASE_URL names your PostgreSQL"
    run_page(&mut s, &page("docs/distributed.md"), None);
}
