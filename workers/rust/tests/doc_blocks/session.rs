//! Running a page's blocks as a reader would: in a project directory, in a clean
//! environment, each command in its own process group so that what it left in the
//! background (`serve &`) is stopped when it ends.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Block;

/// The line every host logs, once, when spans could not be exported.
pub const UNEXPORTED_WARN: &str = "Telemetry was not fully exported";

/// Variables a user's shell has that matter here; everything else (cargo's, make's, a
/// test's `OTEL_*`) is left out, as it would be in a new terminal.
const KEPT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TERM",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "PYENV_ROOT",
];

/// A directory and the environment the page's commands run in.
#[derive(Debug)]
pub struct Session {
    pub dir: PathBuf,
    scratch: PathBuf,
    env: Vec<(String, String)>,
    runs: usize,
}

/// What one command did.
#[derive(Debug)]
pub struct Output {
    pub what: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics, with everything it printed, unless it exited 0 and printed what `block`
    /// says it prints.
    pub fn assert_ok(&self, block: &Block) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "{}: {} failed\n{self}",
            block.at(),
            self.what
        );
        for p in &block.prints {
            assert!(
                self.stdout.contains(p.as_str()),
                "{}: {} did not print {p:?}\n{self}",
                block.at(),
                self.what
            );
        }
        self
    }

    /// Panics, with everything it printed, unless it exited 0.
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{} failed\n{self}", self.what);
        self
    }

    /// The lines (stdout and stderr) that carry the unexported-spans WARN.
    pub fn unexported_warnings(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .filter(|l| l.contains(UNEXPORTED_WARN))
            .collect()
    }

    /// The first 32-hex-digit word of stdout: the trace id an example prints.
    pub fn trace_id(&self) -> Option<String> {
        self.stdout
            .split(|c: char| !c.is_ascii_alphanumeric())
            .find(|w| w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_owned)
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Session {
    /// A new, empty project directory `dir` (removed first if it exists).
    pub fn fresh(dir: PathBuf) -> Self {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove the old project");
        }
        std::fs::create_dir_all(&dir).expect("create the project");
        let scratch = dir.join(".docs-run");
        Self::in_dir(dir, scratch)
    }

    /// A session in an existing directory (the repository root), keeping its scripts and
    /// outputs in `scratch`, emptied first.
    pub fn in_dir(dir: PathBuf, scratch: PathBuf) -> Self {
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch).expect("empty the scratch directory");
        }
        std::fs::create_dir_all(&scratch).expect("create the scratch directory");
        let env = KEPT
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
            .chain([("NO_COLOR".to_owned(), "1".to_owned())])
            .collect();
        Self {
            dir,
            scratch,
            env,
            runs: 0,
        }
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.into()));
    }

    /// Puts `dir` first on PATH.
    pub fn prepend_path(&mut self, dir: &Path) {
        let path = self.var("PATH").unwrap_or_default();
        self.set("PATH", format!("{}:{path}", dir.display()));
    }

    pub fn var(&self, key: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Writes `text` as `name` in the project.
    pub fn write(&self, name: &str, text: &str) {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the file's directory");
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Runs a shell block with `bash -euo pipefail`, as a script file, in the state the
    /// page's earlier blocks left: what they exported stays exported, as in one terminal.
    pub fn shell(&mut self, block: &Block, timeout: Duration) -> Output {
        let script = self.scratch(&format!("line{}.sh", block.line));
        let state = self.scratch("exports.sh").display().to_string();
        let text = format!(
            "if [ -f '{state}' ]; then . '{state}'; fi\n{}export -p > '{state}'\n",
            block.text
        );
        std::fs::write(&script, text).expect("write the script");
        let script = script.display().to_string();
        self.run(
            &format!("the {} block", block.lang),
            "bash",
            &["-euo", "pipefail", &script],
            timeout,
        )
    }

    /// Runs `program args` in the project and waits for it; stops its process group after
    /// it ends (or at `timeout`, then panics).
    pub fn run(&mut self, what: &str, program: &str, args: &[&str], timeout: Duration) -> Output {
        self.runs += 1;
        let out = self.scratch(&format!("{}.stdout", self.runs));
        let err = self.scratch(&format!("{}.stderr", self.runs));
        let file = |p: &Path| std::fs::File::create(p).expect("create an output file");
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file(&out))
            .stderr(file(&err))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let group = child.id() as i32;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        stop_group(group);
        let _ = child.wait();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let output = Output {
            what: format!("`{program} {}` ({what})", args.join(" ")),
            code: status.and_then(|s| s.code()),
            stdout: read(&out),
            stderr: read(&err),
        };
        assert!(
            status.is_some(),
            "{} took over {timeout:?}\n{output}",
            output.what
        );
        output
    }

    fn scratch(&self, name: &str) -> PathBuf {
        self.scratch.join(name)
    }
}

/// SIGTERM to what is left of the group, then SIGKILL to what ignores it.
fn stop_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created.
    let alive = |sig| unsafe { libc::kill(-group, sig) } == 0;
    if !alive(libc::SIGTERM) {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !alive(0) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    alive(libc::SIGKILL);
}
