//! `assert_conventions` on small shell-script demos: one that keeps the conventions
//! passes; one whose usage is wider than 100 columns, on `--help` or on a usage error, is
//! caught with a message naming the invocation and the long line.

use std::path::PathBuf;

/// A script `NAME` in a directory of its own, removed when dropped (a failed assertion
/// unwinds through the drop too).
struct Script {
    dir: PathBuf,
    path: PathBuf,
}

impl Script {
    /// A demo that prints `usage: NAME USAGE` on standard output for `--help` (exit 0), and
    /// `NAME: bad argument` then the same usage on standard error otherwise (exit 2).
    fn new(name: &str, help_usage: &str, error_usage: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "proctest-args-{}-{name}-{}",
            std::process::id(),
            help_usage.len() * 1000 + error_usage.len()
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let path = dir.join(name);
        let body = format!(
            "#!/bin/sh\n\
             case \"$1\" in --help) printf 'usage: {name} %s\\n' '{help_usage}'; exit 0;; esac\n\
             echo '{name}: bad argument' >&2\n\
             printf 'usage: {name} %s\\n' '{error_usage}' >&2\n\
             exit 2\n"
        );
        // Written by a child process, not by this one: a file this process held open for
        // writing could be inherited by a child another test forks meanwhile, and running
        // the script would then fail with ETXTBSY ("Text file busy") until that child execs.
        let mut writer = std::process::Command::new("sh")
            .args(["-c", "cat > \"$0\" && chmod 755 \"$0\""])
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sh writes the script");
        std::io::Write::write_all(&mut writer.stdin.take().expect("piped"), body.as_bytes())
            .expect("the script's text");
        assert!(
            writer.wait().expect("sh ends").success(),
            "the script is written"
        );
        Self { dir, path }
    }

    fn program(&self) -> &str {
        self.path.to_str().expect("a UTF-8 path")
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A usage of `width` columns once printed after `usage: demo `.
fn usage_of(width: usize) -> String {
    format!("N   ({})", "x".repeat(width - "usage: demo N   ()".len()))
}

#[test]
fn a_demo_within_100_columns_passes() {
    let script = Script::new("demo", &usage_of(100), &usage_of(100));
    proctest::args::assert_conventions(script.program(), &[&["--bogus"], &["-3"]]);
}

#[test]
#[should_panic(expected = "`demo --help`: line 1 of standard output is 101 columns wide")]
fn a_help_wider_than_100_columns_is_caught() {
    let script = Script::new("demo", &usage_of(101), &usage_of(100));
    proctest::args::assert_conventions(script.program(), &[&["--bogus"]]);
}

#[test]
#[should_panic(expected = "`demo abc`: line 2 of standard error is 120 columns wide")]
fn a_usage_error_wider_than_100_columns_is_caught() {
    let script = Script::new("demo", &usage_of(100), &usage_of(120));
    proctest::args::assert_conventions(script.program(), &[&["abc"]]);
}
