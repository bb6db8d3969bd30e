//! The distributed path across languages, on the INSTALLED gem and wheel: Ruby, Python and
//! Rust processes serving one PostgreSQL's queues, with a real collector. Run by
//! `make test-polyglot` (feature `polyglot`), which installs the gem and the wheel first and
//! names them: `TASKER_GEM_HOME` (the gem's GEM_HOME) and `TASKER_PYTHON` (the venv's
//! python). The workers are `tests/polyglot/worker.rb` and `worker.py`, as a user writes them.

mod common;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    command, json_of, migrated, serve, status, submit, template_file, traced_env, wait_until,
};
use tasker_testkit::{Collector, PgCluster};

#[derive(Clone, Copy, Debug)]
enum Lang {
    Ruby,
    Python,
}

impl Lang {
    fn queue(self) -> &'static str {
        match self {
            Lang::Ruby => "ruby_q",
            Lang::Python => "python_q",
        }
    }

    fn handler(self) -> &'static str {
        match self {
            Lang::Ruby => "ruby_double",
            Lang::Python => "python_add_one",
        }
    }

    fn service(self) -> &'static str {
        match self {
            Lang::Ruby => "polyglot-ruby",
            Lang::Python => "polyglot-python",
        }
    }

    /// A serving process of this language on its queue, in `mode` (`fork`: served from a
    /// child; `stop`: another thread stops the worker once a step has run).
    fn serve(self, env: &[(&str, String)], extra: &[(&str, String)], mode: Option<&str>) -> Child {
        let mut cmd = self.script("worker", env, extra);
        cmd.arg(self.queue()).args(mode);
        cmd.spawn().expect("spawn the worker")
    }

    /// This language's `Client` submitting `template` with `context` as service
    /// `submitter`, then waiting for the task; its stdout is piped.
    fn submit(
        self,
        env: &[(&str, String)],
        template: &std::path::Path,
        context: &str,
    ) -> Submitting {
        let mut cmd = self.script(
            "submit",
            env,
            &[("OTEL_SERVICE_NAME", "submitter".to_owned())],
        );
        cmd.arg(template).arg(context);
        let mut child = cmd.spawn().expect("spawn the submitter");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a line").expect("read");
        let submitted: serde_json::Value = serde_json::from_str(&first).expect("JSON");
        let field = |k: &str| submitted[k].as_str().expect(k).to_owned();
        Submitting {
            task_uuid: field("task_uuid"),
            trace_id: field("trace_id"),
            child,
            lines,
        }
    }

    /// `tests/polyglot/<name>.rb` or `.py`, run by the installed gem or the venv's python.
    fn script(self, name: &str, env: &[(&str, String)], extra: &[(&str, String)]) -> Command {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/polyglot");
        let mut cmd = match self {
            Lang::Ruby => {
                let mut c = Command::new("ruby");
                c.env("GEM_HOME", required("TASKER_GEM_HOME"));
                c
            }
            Lang::Python => Command::new(required("TASKER_PYTHON")),
        };
        cmd.arg(dir.join(match self {
            Lang::Ruby => format!("{name}.rb"),
            Lang::Python => format!("{name}.py"),
        }));
        cmd.env_remove("TASKER_DATABASE_URL")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env.iter().chain(extra) {
            cmd.env(k, v);
        }
        cmd
    }
}

/// A submitter process that has printed its task's ids and waits for the task's end.
struct Submitting {
    task_uuid: String,
    trace_id: String,
    child: Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Submitting {
    /// The result the submitter printed once `wait_task` returned (with `status_again`, what
    /// `task_status` said then).
    fn result(mut self) -> serde_json::Value {
        let line = self.lines.next().expect("a result line").expect("read");
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "the submitter exited {status:?}");
        serde_json::from_str(&line).expect("JSON")
    }
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run these tests through `make test-polyglot`, which installs the gem and the wheel")
    })
}

fn finished(env: &[(&str, String)], task_uuid: &str, limit: Duration) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let s = status(env, task_uuid);
        if s["status"] != "running" || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: signals a child process this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

fn exited_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn a_task_across_ruby_python_and_rust_processes_completes_as_one_trace() {
    let pg = PgCluster::start();
    let collector = Collector::start();
    let env = traced_env(&pg, &collector);
    json_of(command(&env).args([
        "migrate", "--queue", "ruby_q", "--queue", "python_q", "--queue", "rust_q",
    ]));
    let (ruby_ctx, python_ctx) = (marker("ruby-ctx"), marker("python-ctx"));
    let mut ruby = Lang::Ruby.serve(
        &env,
        &[("TASKER_STARTED_FILE", ruby_ctx.display().to_string())],
        None,
    );
    let mut python = Lang::Python.serve(
        &env,
        &[("TASKER_STARTED_FILE", python_ctx.display().to_string())],
        None,
    );
    let rust = serve(&env, "rust_q", "polyglot-rust");

    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates/three_languages.yaml");
    // Ruby's Client submits and waits: the task's root span is that process's.
    let submitting = Lang::Ruby.submit(&env, &template, r#"{"n": 3}"#);
    let (task_uuid, trace_id) = (submitting.task_uuid.clone(), submitting.trace_id.clone());
    let waited = submitting.result();
    assert_eq!(waited["status"], "complete", "{waited:#}");
    assert_eq!(waited["status_again"], "complete");
    assert_eq!(waited["trace_id"], trace_id.as_str());
    assert_eq!(waited["step_results"]["squared"], 49);

    let done = finished(&env, &task_uuid, Duration::from_secs(60));
    assert_eq!(done["status"], "complete", "{done:#}");
    assert_eq!(done["step_results"]["doubled"], 6, "Ruby doubled 3");
    assert_eq!(done["step_results"]["plus_one"], 7, "Python got Ruby's 6");
    assert_eq!(done["step_results"]["squared"], 49, "Rust got Python's 7");

    for child in [&ruby, &python] {
        signal(child, libc::SIGTERM);
    }
    for (name, child) in [("ruby", &mut ruby), ("python", &mut python)] {
        let status = exited_within(child, Duration::from_secs(20)).expect("exits on SIGTERM");
        assert!(status.success(), "{name} exited {status:?}");
    }
    common::terminate(rust);

    let spans = common::trace_of(&collector, &trace_id, 3);
    let mine: Vec<_> = spans.iter().collect();
    let named = |n: &str| mine.iter().filter(|s| s.name == n).collect::<Vec<_>>();
    let roots = named("worker.task_execution");
    assert_eq!(roots.len(), 1, "{mine:#?}");
    assert_eq!(roots[0].resource["service.name"], "submitter");
    let execs = named("worker.step_execution");
    let mut services: Vec<&str> = execs
        .iter()
        .map(|s| s.resource["service.name"].as_str())
        .collect();
    services.sort_unstable();
    assert_eq!(
        services,
        ["polyglot-python", "polyglot-ruby", "polyglot-rust"],
        "one execution span per process, all in the task's one trace"
    );
    for e in &execs {
        assert_eq!(e.parent_id, roots[0].span_id, "{e:#?}");
    }
    let completions = named("worker.step_completion_received");
    assert_eq!(completions.len(), 3, "{mine:#?}");
    for c in completions {
        assert!(
            execs
                .iter()
                .any(|e| c.links.iter().any(|l| l.span_id == e.span_id)),
            "every completion links to its execution: {c:#?}"
        );
    }
    // Each handler's context carried the ids of its own process's execution span.
    for (file, service, step) in [
        (&ruby_ctx, "polyglot-ruby", "doubled"),
        (&python_ctx, "polyglot-python", "plus_one"),
    ] {
        let seen = std::fs::read_to_string(file).expect("the handler wrote its context");
        let exec = execs
            .iter()
            .find(|e| e.resource["service.name"] == service)
            .expect("execution");
        assert_eq!(
            seen,
            format!("{step} {} {}", exec.trace_id, exec.span_id),
            "{service}'s handler saw its execution span"
        );
    }
}

fn one_step(lang: Lang) -> PathBuf {
    template_file(
        &format!("one_{lang:?}.yaml"),
        &format!(
            "namespace: polyglot\nname: one_step\nsteps:\n  - {{name: only, handler: {}, queue: {}, timeout_ms: 3000, max_attempts: 2}}\n",
            lang.handler(),
            lang.queue()
        ),
    )
}

fn marker(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tasker-polyglot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

const SLOW: &str = r#"{"n": 5, "ruby_sleep_ms": 1500, "python_sleep_ms": 1500}"#;

fn killed_mid_step_is_redelivered(lang: Lang) {
    let (_pg, env) = migrated(&[lang.queue()]);
    let started = marker(&format!("{lang:?}-kill"));
    let mut doomed = Lang::serve(
        lang,
        &env,
        &[("TASKER_STARTED_FILE", started.display().to_string())],
        None,
    );
    let task_uuid = submit(&env, &one_step(lang), SLOW);
    assert!(
        wait_until(Duration::from_secs(30), || started.exists()),
        "the handler never started"
    );
    doomed.kill().expect("SIGKILL");
    let _ = doomed.wait();

    let mut rescuer = Lang::serve(lang, &env, &[], None);
    let done = finished(&env, &task_uuid, Duration::from_secs(40));
    assert_eq!(done["status"], "complete", "{done:#}");
    assert_eq!(done["steps"]["only"]["attempts"], 2, "{done:#}");
    signal(&rescuer, libc::SIGTERM);
    let status = exited_within(&mut rescuer, Duration::from_secs(20)).expect("exits");
    assert!(status.success());
}

/// How a serving process is told to stop.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ending {
    /// SIGINT to the process.
    Sigint,
    /// SIGINT to a parent whose forked child serves.
    SigintForked,
    /// `worker.stop` from another thread of the process.
    StopFromAThread,
}

fn drains_and_exits_0(lang: Lang, ending: Ending) {
    let pg = PgCluster::start();
    let collector = Collector::start();
    let env = traced_env(&pg, &collector);
    json_of(command(&env).args(["migrate", "--queue", lang.queue()]));
    let started = marker(&format!("{lang:?}-{ending:?}"));
    let mode = match ending {
        Ending::Sigint => None,
        Ending::SigintForked => Some("fork"),
        Ending::StopFromAThread => Some("stop"),
    };
    let mut worker = Lang::serve(
        lang,
        &env,
        &[("TASKER_STARTED_FILE", started.display().to_string())],
        mode,
    );
    // The other language's Client submits: both clients export their task's root span.
    let other = match lang {
        Lang::Ruby => Lang::Python,
        Lang::Python => Lang::Ruby,
    };
    let submitting = other.submit(&env, &one_step(lang), SLOW);
    let (task_uuid, trace_id) = (submitting.task_uuid.clone(), submitting.trace_id.clone());
    assert!(
        wait_until(Duration::from_secs(30), || started.exists()),
        "the handler never started"
    );
    if ending != Ending::StopFromAThread {
        signal(&worker, libc::SIGINT);
    }
    let exit = exited_within(&mut worker, Duration::from_secs(30)).expect("exits");
    assert!(exit.success(), "exited {exit:?}");
    let done = status(&env, &task_uuid);
    assert_eq!(
        done["status"], "complete",
        "the held step was finished: {done:#}"
    );
    assert_eq!(done["steps"]["only"]["attempts"], 1, "{done:#}");
    assert_eq!(submitting.result()["status"], "complete");

    let spans = collector.wait_for(Duration::from_secs(15), |s| {
        s.iter()
            .any(|x| x.trace_id == trace_id && x.name == "worker.step_completion_received")
    });
    let exec = spans
        .iter()
        .find(|s| s.trace_id == trace_id && s.name == "worker.step_execution")
        .unwrap_or_else(|| panic!("no execution span arrived: {spans:#?}"));
    assert_eq!(exec.resource["service.name"], lang.service());
    let root = spans
        .iter()
        .find(|s| s.trace_id == trace_id && s.name == "worker.task_execution")
        .unwrap_or_else(|| panic!("the {other:?} client's root span never arrived: {spans:#?}"));
    assert_eq!(root.resource["service.name"], "submitter");
    assert_eq!(exec.parent_id, root.span_id);
}

#[test]
fn a_ruby_worker_killed_mid_step_has_its_step_redelivered_and_the_task_completes() {
    killed_mid_step_is_redelivered(Lang::Ruby);
}

#[test]
fn a_python_worker_killed_mid_step_has_its_step_redelivered_and_the_task_completes() {
    killed_mid_step_is_redelivered(Lang::Python);
}

#[test]
fn sigint_to_a_serving_ruby_process_drains_its_step_and_exits_0() {
    drains_and_exits_0(Lang::Ruby, Ending::Sigint);
}

#[test]
fn sigint_to_a_serving_python_process_drains_its_step_and_exits_0() {
    drains_and_exits_0(Lang::Python, Ending::Sigint);
}

#[test]
fn a_forked_ruby_child_serves_and_its_spans_arrive() {
    drains_and_exits_0(Lang::Ruby, Ending::SigintForked);
}

#[test]
fn a_forked_python_child_serves_and_its_spans_arrive() {
    drains_and_exits_0(Lang::Python, Ending::SigintForked);
}

#[test]
fn worker_stop_from_another_ruby_thread_ends_serve_after_its_step() {
    drains_and_exits_0(Lang::Ruby, Ending::StopFromAThread);
}

#[test]
fn worker_stop_from_another_python_thread_ends_serve_after_its_step() {
    drains_and_exits_0(Lang::Python, Ending::StopFromAThread);
}
