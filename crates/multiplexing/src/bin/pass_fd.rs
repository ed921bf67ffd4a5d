//! Demo of `multiplexing/pass_fd`: a process reads a file it never opened.
//!
//! The receiver (this process) binds a UNIX socket in a fresh temporary directory and
//! starts a sender (this binary again, with `--sender`). The sender connects, creates a
//! file next to the socket, writes a line into it, rewinds, unlinks it (the file has no
//! name any more) and sends the open descriptor with `send_fd`. The receiver checks who
//! is at the other end with `peer_credentials` (the sender's pid, our uid and gid),
//! receives the descriptor with `recv_fd` and reads the line through it. With
//! `--send none` the sender sends a byte without a descriptor; with `--send three`, three
//! descriptors where there is room for fewer: the receiver must report the error, and
//! leave no descriptor open either way.
//!
//! Usage: `pass_fd [--send one|none|three]`.

use multiplexing::{fds, pass_fd, usage};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::unistd::{getgid, getuid};
use proctest::audit::open_fds;
use std::io::{IoSlice, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "pass_fd [--send one|none|three]";
const NEXT: &str = "then run `just check multiplexing/pass_fd`";
const LINE: &str = "a line from a file the receiver never opened\n";

/// The sender's side: runs in the child process started by the receiver.
fn sender(socket: &Path, mode: &str) -> Result<(), String> {
    let stream = UnixStream::connect(socket).map_err(|e| format!("cannot connect: {e}"))?;
    let path = socket.with_file_name("secret.txt");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(LINE.as_bytes())
        .and_then(|()| file.rewind())
        .map_err(|e| format!("cannot write the file: {e}"))?;
    // From here on the file has no name: only descriptors lead to it.
    std::fs::remove_file(&path).map_err(|e| format!("cannot unlink the file: {e}"))?;
    let raw: RawFd = file.as_raw_fd();
    let sent = match mode {
        "one" => pass_fd::send_fd(stream.as_fd(), file.as_fd()),
        "none" => sendmsg::<()>(
            stream.as_raw_fd(),
            &[IoSlice::new(&[pass_fd::TAG])],
            &[],
            MsgFlags::empty(),
            None,
        )
        .map(drop),
        _ => sendmsg::<()>(
            stream.as_raw_fd(),
            &[IoSlice::new(&[pass_fd::TAG])],
            &[ControlMessage::ScmRights(&[raw, raw, raw])],
            MsgFlags::empty(),
            None,
        )
        .map(drop),
    };
    sent.map_err(|e| format!("sendmsg failed: {e}"))
}

/// The socket's directory, removed with its contents when dropped.
struct SocketDir(PathBuf);

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn receiver(mode: &str) -> Result<(), String> {
    let start = open_fds();
    let dir = SocketDir(std::env::temp_dir().join(format!("pass-fd-{}", std::process::id())));
    std::fs::create_dir(&dir.0).map_err(|e| format!("cannot create {}: {e}", dir.0.display()))?;
    let socket = dir.0.join("pass.sock");
    let listener = UnixListener::bind(&socket).map_err(|e| format!("cannot bind: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own binary: {e}"))?;
    let mut child = Command::new(exe)
        .arg("--sender")
        .arg(&socket)
        .arg(mode)
        .spawn()
        .map_err(|e| format!("cannot start the sender: {e}"))?;
    let outcome = (|| {
        let (stream, _) = listener
            .accept()
            .map_err(|e| format!("accept failed: {e}"))?;
        let creds = pass_fd::peer_credentials(stream.as_fd())
            .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
        let child_pid = i32::try_from(child.id()).expect("pids fit in i32");
        if creds.pid() != child_pid
            || creds.uid() != getuid().as_raw()
            || creds.gid() != getgid().as_raw()
        {
            return Err(format!(
                "SO_PEERCRED says pid {} uid {} gid {}, but the sender is pid {child_pid} uid {} gid {}",
                creds.pid(),
                creds.uid(),
                creds.gid(),
                getuid(),
                getgid()
            ));
        }
        println!("receiver: SO_PEERCRED: the peer is the sender we started, with our uid and gid");
        let before = open_fds();
        let received = pass_fd::recv_fd(stream.as_fd());
        let result = match received {
            Ok(fd) => {
                let mut file = std::fs::File::from(fd);
                let links = file
                    .metadata()
                    .map(|m| std::os::unix::fs::MetadataExt::nlink(&m));
                let mut text = String::new();
                file.read_to_string(&mut text)
                    .map_err(|e| format!("cannot read through the received descriptor: {e}"))?;
                println!("receiver: read through the received descriptor: {:?}", text);
                println!(
                    "receiver: the file has {} name(s) left: no path leads to it, only the descriptor",
                    links.unwrap_or(u64::MAX)
                );
                if text != LINE {
                    return Err("the file did not hold the sender's line".into());
                }
                Ok(())
            }
            Err(err) => Err(format!("recv_fd: {err}")),
        };
        let change = fds::describe_change(&before, &open_fds());
        println!("receiver: descriptors after the message: {change}");
        if change != "the same as at the start" {
            return Err(format!("descriptors leaked by recv_fd: {change}"));
        }
        result
    })();
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the sender: {e}"))?;
    outcome?;
    if !status.success() {
        return Err(format!("the sender ended with {status}"));
    }
    println!("receiver: sender reaped");
    drop(listener);
    drop(dir);
    if socket.exists() {
        return Err("the socket file is still there".into());
    }
    let change = fds::describe_change(&start, &open_fds());
    println!("receiver: descriptors at the end: {change}");
    Ok(())
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = usage::args("pass_fd", USAGE, NEXT);
    // `--sender SOCKET MODE`: this binary run again by the receiver, as the sending child.
    if args.flag("--sender") {
        let (socket, mode) = (args.positional(), args.positional());
        let (Some(socket), Some(mode)) = (socket, mode) else {
            args.fail("--sender SOCKET MODE is for the demo's own use")
        };
        args.finish();
        let result = sender(Path::new(&socket), &mode).map_err(|msg| format!("sender: {msg}"));
        return finish(result);
    }
    let mode = args.value("--send").unwrap_or_else(|| "one".to_owned());
    if let Some(other) = args.remaining().first() {
        args.fail(&format!("unexpected argument `{other}`"));
    }
    if !["one", "none", "three"].contains(&mode.as_str()) {
        args.fail(&format!("--send takes one, none or three, got `{mode}`"));
    }
    finish(receiver(&mode))
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
