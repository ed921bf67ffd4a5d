//! A helper of proctest's own tests: runs `sh -c SCRIPT` as a demo under the watchdog
//! (60 s) and prints how it ended. The test kills this process while the demo runs, to
//! check that the demo's process group does not outlive its test process.

use proctest::Demo;
use proctest::args::Args;
use std::time::Duration;

const USAGE: &str = "guarded_demo SCRIPT   (a shell script run as the demo, for proctest's tests)";

fn main() {
    let mut args = Args::from_env("guarded_demo", USAGE);
    let script = args
        .positional()
        .unwrap_or_else(|| args.fail("missing the SCRIPT"));
    args.finish();
    match Demo::new("sh")
        .args(["-c", &script])
        .timeout(Duration::from_secs(60))
        .run()
    {
        Ok(run) => println!("finished: {}", run.status),
        Err(hang) => println!("{hang}"),
    }
}
