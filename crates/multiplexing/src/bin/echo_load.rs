//! Load generator for `multiplexing/echo_server` and `multiplexing/edge_triggered`.
//!
//! Starts the `echo_server` binary (with `--edge` when given), connects CLIENTS clients
//! (1,000 by default) so that they are all open at once, and drives them from one
//! thread with `poll`. Every client sends its whole message first, then shuts down its
//! sending side, then reads its echo until the server closes the connection, so the
//! server has to hold what a full socket did not take. Every hundredth client sends a
//! big message: 1 MiB (64 KiB with `--edge`, small enough to sit in the socket's
//! buffers whatever the server does, so that "data left unread" shows instead of a
//! hang); the others send 1 to 4,096 bytes. Then it checks every echoed byte, that the
//! server's descriptor count is back to its baseline, and that the server exits cleanly
//! and removes its socket file.
//!
//! Usage: `echo_load [--edge] [CLIENTS]`, CLIENTS from 1 to 5000.

use multiplexing::{fds, usage};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{ChildStdout, Command, ExitCode, Stdio};

const USAGE: &str = "echo_load [--edge] [CLIENTS]   (CLIENTS: 1 to 5000, default 1000)";
const NEXT: &str = "then run `just check multiplexing/echo_server`";

/// One client and where it stands.
struct Client {
    stream: UnixStream,
    message: Vec<u8>,
    sent: usize,
    echo: Vec<u8>,
    /// The server closed the connection (or it failed): nothing more will come.
    done: bool,
    /// Why the connection failed, if it did.
    error: Option<String>,
}

fn message(client: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| ((client * 7 + j * 13 + j / 251) % 256) as u8)
        .collect()
}

fn message_len(client: usize, big: usize) -> usize {
    if client % 100 == 0 {
        big
    } else {
        1 + (client * 37) % 4096
    }
}

fn read_line(from: &mut BufReader<ChildStdout>) -> Result<String, String> {
    let mut line = String::new();
    match from.read_line(&mut line) {
        Ok(0) => Err("the server's output ended early (did it crash? see its error above)".into()),
        Ok(_) => Ok(line.trim_end().to_owned()),
        Err(err) => Err(format!("cannot read the server's output: {err}")),
    }
}

fn fd_count(line: &str) -> Result<usize, String> {
    line.strip_prefix("fds ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("the server answered {line:?} instead of `fds N`"))
}

/// Drives every client until the server has closed all of them. `on_all_sent` runs
/// once, when the last client has sent its last byte.
fn drive(clients: &mut [Client], mut on_all_sent: impl FnMut()) -> Result<(), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut announced = false;
    loop {
        let sending = clients
            .iter()
            .filter(|c| !c.done && c.sent < c.message.len())
            .count();
        if sending == 0 && !announced {
            announced = true;
            on_all_sent();
        }
        let active: Vec<usize> = (0..clients.len()).filter(|&i| !clients[i].done).collect();
        if active.is_empty() {
            return Ok(());
        }
        let ready: Vec<(usize, PollFlags)> = {
            let mut watched: Vec<PollFd<'_>> = active
                .iter()
                .map(|&i| {
                    let c = &clients[i];
                    let events = if c.sent < c.message.len() {
                        PollFlags::POLLOUT
                    } else {
                        PollFlags::POLLIN
                    };
                    PollFd::new(c.stream.as_fd(), events)
                })
                .collect();
            match poll(&mut watched, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(err) => return Err(format!("poll failed: {err}")),
            }
            active
                .iter()
                .zip(&watched)
                .filter_map(|(&i, fd)| fd.revents().filter(|r| !r.is_empty()).map(|r| (i, r)))
                .collect()
        };
        for (i, _) in ready {
            let c = &mut clients[i];
            if c.sent < c.message.len() {
                match c.stream.write(&c.message[c.sent..]) {
                    Ok(n) => {
                        c.sent += n;
                        if c.sent == c.message.len() {
                            let _ = c.stream.shutdown(Shutdown::Write);
                        }
                    }
                    Err(err)
                        if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    }
                    Err(err) => {
                        c.error = Some(format!(
                            "writing failed after {} of {} bytes: {err}",
                            c.sent,
                            c.message.len()
                        ));
                        c.done = true;
                    }
                }
            } else {
                match c.stream.read(&mut buf) {
                    Ok(0) => c.done = true,
                    Ok(n) => c.echo.extend_from_slice(&buf[..n]),
                    Err(err)
                        if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    }
                    Err(err) => {
                        c.error = Some(format!("reading the echo failed: {err}"));
                        c.done = true;
                    }
                }
            }
        }
    }
}

/// What went wrong with one client's echo, if anything.
fn check(index: usize, c: &Client) -> Option<String> {
    if let Some(err) = &c.error {
        return Some(format!("client {index}: {err}"));
    }
    if c.echo == c.message {
        return None;
    }
    let same = c
        .echo
        .iter()
        .zip(&c.message)
        .take_while(|(a, b)| a == b)
        .count();
    Some(if same == c.echo.len() {
        format!(
            "client {index} sent {} bytes and got only {} back before the server closed the connection",
            c.message.len(),
            c.echo.len()
        )
    } else {
        format!(
            "client {index} sent {} bytes and got {} back, wrong from byte {same} on (bytes went missing)",
            c.message.len(),
            c.echo.len()
        )
    })
}

/// Why the run failed before the server was stopped.
enum Failure {
    /// Some clients' echoes were wrong: one line each.
    Echo(Vec<String>),
    /// Anything else, in a sentence.
    Other(String),
}

impl From<String> for Failure {
    fn from(msg: String) -> Self {
        Self::Other(msg)
    }
}

fn run(edge: bool, count: usize) -> Result<(), String> {
    fds::raise_nofile(u64::try_from(count).expect("small") + 64)
        .map_err(|msg| format!("{count} clients need as many descriptors: {msg}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own binary: {e}"))?;
    let server_exe = exe.with_file_name("echo_server");
    let mut command = Command::new(&server_exe);
    if edge {
        command.arg("--edge");
    }
    let mut server = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {}: {e} (build it with `cargo build -p multiplexing`)",
                server_exe.display()
            )
        })?;
    let mut control = server.stdin.take().expect("piped");
    let mut answers = BufReader::new(server.stdout.take().expect("piped"));
    let outcome = (|| -> Result<PathBuf, Failure> {
        let listening = read_line(&mut answers)?;
        let path = PathBuf::from(listening.strip_prefix("listening on ").ok_or_else(|| {
            format!("the server said {listening:?} instead of `listening on PATH`")
        })?);
        let baseline = fd_count(&read_line(&mut answers)?)?;
        println!(
            "server: {} epoll",
            if edge {
                "edge-triggered"
            } else {
                "level-triggered"
            }
        );
        let big = if edge { 64 * 1024 } else { 1024 * 1024 };
        let mut clients = Vec::with_capacity(count);
        for i in 0..count {
            let stream = UnixStream::connect(&path)
                .map_err(|e| format!("client {i} cannot connect: {e}"))?;
            stream
                .set_nonblocking(true)
                .map_err(|e| format!("client {i}: {e}"))?;
            clients.push(Client {
                stream,
                message: message(i, message_len(i, big)),
                sent: 0,
                echo: Vec::new(),
                done: false,
                error: None,
            });
        }
        println!("{count} clients connected at once");
        drive(&mut clients, || {
            // The server's stdin: a failure shows up as the server's own exit.
            let _ = control.write_all(b"sent\n");
        })
        .map_err(Failure::Other)?;
        let failures: Vec<String> = clients
            .iter()
            .enumerate()
            .filter_map(|(i, c)| check(i, c))
            .collect();
        if !failures.is_empty() {
            return Err(Failure::Echo(failures));
        }
        let bigs = clients.iter().filter(|c| c.message.len() == big).count();
        println!(
            "{count} echoes checked byte for byte: {bigs} of {big} bytes, {} of 1 to 4096 bytes",
            count - bigs
        );
        drop(clients);
        control
            .write_all(b"fds\n")
            .map_err(|e| Failure::Other(format!("cannot talk to the server: {e}")))?;
        let after = fd_count(&read_line(&mut answers)?)?;
        if after != baseline {
            return Err(Failure::Other(format!(
                "the server has {after} descriptors open after every client left, {baseline} before the first came: it does not close finished connections"
            )));
        }
        println!("server descriptors after every client left: back to its baseline");
        Ok(path)
    })();
    drop(control);
    let status = server
        .wait()
        .map_err(|e| format!("waiting for the server: {e}"))?;
    let path = match outcome {
        Ok(path) => path,
        Err(Failure::Other(msg)) => return Err(msg),
        Err(Failure::Echo(failures)) => {
            let mut text = format!(
                "{} of {count} clients did not get their whole message back:\n",
                failures.len()
            );
            for failure in failures.iter().take(5) {
                text.push_str(&format!("  {failure}\n"));
            }
            text.push_str(if status.success() {
                "The server closed these connections before echoing everything: it dropped bytes. write() takes only what fits in the client's socket (a partial write, or WouldBlock); the rest must wait in the connection until epoll reports EPOLLOUT, and a connection must stay open after the client's end of file until its pending bytes are written."
            } else {
                "The server failed (its error is above), which closed these connections."
            });
            return Err(text);
        }
    };
    if !status.success() {
        return Err(format!(
            "the server ended with {status} (see its error above)"
        ));
    }
    if path.exists() {
        return Err(format!(
            "the server left its socket file {}",
            path.display()
        ));
    }
    println!("server exited cleanly and removed its socket file");
    Ok(())
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = usage::args("echo_load", USAGE, NEXT);
    let edge = args.flag("--edge");
    let count = usage::number_arg(&mut args, 1000, "CLIENTS", 1..=5000);
    match run(edge, usize::try_from(count).expect("small")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            let _ = io::stdout().flush();
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
