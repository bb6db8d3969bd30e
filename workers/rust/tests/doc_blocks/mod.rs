//! The code blocks of a Markdown page, with the marks that say what to do with each.
//!
//! Marks are HTML comments, invisible where the page is read:
//! - `<!-- fragment: reason -->` on the line before a fence: not run, for the reason given;
//! - `<!-- file: NAME -->` on the line before a fence: the example's file, written as NAME
//!   into the example's project (a template, a `Cargo.toml`, a `src/main.rs`);
//! - `<!-- prints: TEXT -->` on the lines right after a fence: what its run must print.

pub mod session;

/// What a block is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Run as written.
    Run,
    /// Not run; the reason is shown where the block is.
    Fragment(String),
    /// Written into the example's project under this name.
    File(String),
}

/// One fenced block.
#[derive(Debug, Clone)]
pub struct Block {
    /// The page, relative to the repository (`docs/python.md`).
    pub page: String,
    /// The fence's line, 1-based.
    pub line: usize,
    /// The fence's language (`python`, `bash`, ...).
    pub lang: String,
    /// Everything after the backticks (`rust,ignore`).
    pub info: String,
    pub text: String,
    pub mark: Mark,
    /// Each must appear in the run's standard output.
    pub prints: Vec<String>,
}

impl Block {
    /// `docs/python.md:14`, for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.page, self.line)
    }
}

/// Languages whose blocks are programs or commands: each is run or marked a fragment.
pub const CODE: &[&str] = &[
    "python",
    "py",
    "ruby",
    "rb",
    "js",
    "javascript",
    "mjs",
    "ts",
    "typescript",
    "rust",
    "bash",
    "sh",
    "shell",
    "console",
    "html",
];

fn comment<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    Some(inner.strip_prefix(key)?.strip_prefix(':')?.trim())
}

/// Every fenced block of `markdown`, which is the page `page`.
///
/// Panics on a fence without a language or one that is never closed: a page that says what
/// it shows is a precondition of running it.
pub fn parse(page: &str, markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let info = info.trim().to_owned();
        let line = i + 1;
        assert!(
            !info.is_empty(),
            "{page}:{line}: a fence without a language"
        );
        let lang = info.split([',', ' ']).next().unwrap_or_default().to_owned();
        let before = if i > 0 { lines[i - 1] } else { "" };
        let mark = if let Some(reason) = comment(before, "fragment") {
            assert!(
                !reason.is_empty(),
                "{page}:{line}: a fragment needs a reason"
            );
            Mark::Fragment(reason.to_owned())
        } else if let Some(name) = comment(before, "file") {
            Mark::File(name.to_owned())
        } else {
            Mark::Run
        };
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .unwrap_or_else(|| panic!("{page}:{line}: the fence is never closed"));
        let text = lines[i + 1..end].join("\n") + "\n";
        let mut prints = Vec::new();
        let mut j = end + 1;
        while let Some(p) = lines.get(j).and_then(|l| comment(l, "prints")) {
            prints.push(p.to_owned());
            j += 1;
        }
        blocks.push(Block {
            page: page.to_owned(),
            line,
            lang,
            info,
            text,
            mark,
            prints,
        });
        i = j;
    }
    blocks
}

#[test]
fn marks_are_read_from_the_lines_around_a_fence() {
    let md = "x\n<!-- fragment: needs a cluster -->\n```sh\nls\n```\n\
              <!-- file: a.yaml -->\n```yaml\nk: v\n```\n\
              ```python\nprint(1)\n```\n<!-- prints: 1 -->\n<!-- prints: one -->\ntail\n";
    let b = parse("p.md", md);
    assert_eq!(b.len(), 3);
    assert_eq!(b[0].mark, Mark::Fragment("needs a cluster".into()));
    assert_eq!((b[0].line, b[0].lang.as_str()), (3, "sh"));
    assert_eq!(b[1].mark, Mark::File("a.yaml".into()));
    assert_eq!(b[1].text, "k: v\n");
    assert_eq!(b[2].mark, Mark::Run);
    assert_eq!(b[2].prints, ["1", "one"]);
}
