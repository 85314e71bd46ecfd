//! Pipe- and mqueue-server system tests: POSIX pipe and message-queue behaviour through
//! the real servers, with several processes and threads.

use crate::{ensure, exited, Outcome};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use userlib::abi::info::ThreadStateCode;
use userlib::abi::ipc::single_buffer_parts;
use userlib::abi::sched::{Policy, SchedParam};
use userlib::fs::{self, File};
use userlib::ipc::{Channel, Connection};
use userlib::mq::{self, MessageQueue};
use userlib::msg::{io_type, open_flags as of, Header, PIPE_BUF};
use userlib::{proc, process, sys, thread, time, Errno};

fn e(what: &'static str) -> impl Fn(Errno) -> String {
    move |err| format!("{what}: {err}")
}

/// Waits (up to a second) for the servers the boot image starts to attach their paths.
fn server_ready(path: &str) -> Outcome {
    for _ in 0..1000 {
        if proc::resolve(path).is_ok() {
            return Ok(());
        }
        time::sleep_ns(1_000_000);
    }
    Err(format!("no server at {path}"))
}

fn peer(args: &[&str], priority: u8) -> Result<u32, String> {
    process::spawn("proc-peer", args, Some(priority)).map_err(|e| format!("spawn {args:?}: {e}"))
}

/// Waits until thread `tid` of this process is REPLY-blocked (on a server).
fn until_reply_blocked(tid: u32) -> Outcome {
    for _ in 0..1000 {
        let me = process::id();
        let blocked = proc::pidin()
            .map_err(e("pidin"))?
            .iter()
            .any(|t| t.pid == me && t.tid == tid && t.state == ThreadStateCode::Reply as u8);
        if blocked {
            return Ok(());
        }
        time::sleep_ns(1_000_000);
    }
    Err(format!("thread {tid} never blocked"))
}

pub fn pipe_eof_epipe_and_nonblocking() -> Outcome {
    server_ready("/dev/pipe")?;
    let (reader, writer) = fs::pipe().map_err(e("pipe"))?;
    ensure!(writer.write(b"hello").map_err(e("write"))? == 5, "short write");
    let mut buffer = [0u8; 16];
    let n = reader.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"hello", "read {:?}", &buffer[..n]);
    ensure!(reader.write(b"x") == Err(Errno::EBADF), "wrote to the read end");
    ensure!(writer.read(&mut buffer) == Err(Errno::EBADF), "read the write end");
    // A READ asking for more than its reply buffer holds takes no more than it gets (the
    // rest was lost to every reader).
    ensure!(writer.write(b"abcdef").map_err(e("write"))? == 6, "short write");
    let mut two = [0u8; 2];
    let header = Header { size: 6, ..Header::new(io_type::READ) };
    let n = proc::request_on(reader.fd(), &header, &[], &mut two).map_err(e("read into 2 bytes"))?;
    ensure!(n == 2 && two == *b"ab", "a read of 6 into 2 bytes answered {n}, {two:?}");
    let n = reader.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"cdef", "after a read into 2 bytes: {:?}", &buffer[..n]);
    drop(writer);
    ensure!(reader.read(&mut buffer) == Ok(0), "no end of file after the last writer closed");
    let (reader, writer) = fs::pipe().map_err(e("pipe"))?;
    drop(reader);
    ensure!(writer.write(b"x") == Err(Errno::EPIPE), "no EPIPE without a reader");
    let (reader, writer) = fs::pipe_with(of::O_NONBLOCK).map_err(e("pipe"))?;
    ensure!(reader.read(&mut buffer) == Err(Errno::EAGAIN), "empty non-blocking read");
    let block = vec![1u8; PIPE_BUF];
    let mut total = 0;
    loop {
        match writer.write(&block) {
            Ok(n) => total += n,
            Err(Errno::EAGAIN) => break,
            Err(other) => return Err(format!("filling: {other}")),
        }
        ensure!(total < 1 << 20, "the pipe never filled");
    }
    ensure!(total >= PIPE_BUF, "took only {total} bytes");
    let listed = fs::read_dir("/dev/pipe").map_err(e("ls /dev/pipe"))?;
    ensure!(!listed.is_empty(), "ls /dev/pipe shows no pipe");
    Ok(())
}

static READ_ORDER: AtomicU32 = AtomicU32::new(0);

pub fn pipe_blocked_readers_wait_without_polling_and_wake_by_priority() -> Outcome {
    server_ready("/dev/pipe")?;
    let (reader, writer) = fs::pipe().map_err(e("pipe"))?;
    let fd = reader.fd();
    READ_ORDER.store(0, Ordering::SeqCst);
    let spawn_reader = |priority: u8, tag: u32| {
        thread::Builder::new()
            .sched(SchedParam { policy: Policy::Fifo, priority })
            .spawn(move || {
                let mut byte = [0u8; 1];
                let end = File::from_raw(fd);
                let got = end.read(&mut byte);
                let _ = end.into_raw(); // the test owns the descriptor
                if got == Ok(1) {
                    // Record which reader got which byte: tag * 10 + byte.
                    let _ = READ_ORDER.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                        Some(v * 100 + tag * 10 + (byte[0] - b'0') as u32)
                    });
                }
            })
            .map_err(e("thread"))
    };
    let low = spawn_reader(12, 1)?;
    until_reply_blocked(low.id())?;
    let high = spawn_reader(14, 2)?;
    until_reply_blocked(high.id())?;
    // Both wait in the server (REPLY-blocked): no busy waiting. The higher gets the first byte.
    writer.write(b"1").map_err(e("write"))?;
    writer.write(b"2").map_err(e("write"))?;
    high.join().map_err(e("join"))?;
    low.join().map_err(e("join"))?;
    let order = READ_ORDER.load(Ordering::SeqCst);
    ensure!(order == 21 * 100 + 12, "wake order {order} (want the priority-14 reader first)");
    drop(reader);
    Ok(())
}

pub fn pipe_megabytes_from_several_writers_arrive_whole() -> Outcome {
    server_ready("/dev/pipe")?;
    const WRITERS: usize = 3;
    const RECORDS: u32 = 100;
    let (reader, number) = fs::open_with("/dev/pipe", of::O_RDONLY | of::O_CREAT, 0, 0).map_err(e("pipe"))?;
    let number = format!("{number}");
    let mut pids = Vec::new();
    for w in 0..WRITERS {
        pids.push(peer(&["pipe-writer", &number, &format!("{}", w + 1), &format!("{RECORDS}")], 10)?);
    }
    let mut data = Vec::with_capacity(WRITERS * RECORDS as usize * PIPE_BUF);
    let mut chunk = vec![0u8; 3000]; // odd sizes on purpose
    loop {
        let n = reader.read(&mut chunk).map_err(e("read"))?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&chunk[..n]);
    }
    for pid in pids {
        ensure!(exited(pid)? == 0, "writer {pid} failed");
    }
    ensure!(data.len() == WRITERS * RECORDS as usize * PIPE_BUF, "{} bytes arrived", data.len());
    let mut next = [0u32; WRITERS];
    for record in data.chunks(PIPE_BUF) {
        let writer = record[PIPE_BUF - 1] as usize;
        ensure!((1..=WRITERS).contains(&writer), "bad record");
        ensure!(record[8..].iter().all(|b| *b as usize == writer), "a record was interleaved");
        let sequence = u32::from_le_bytes(record[..4].try_into().expect("4"));
        let sum = u32::from_le_bytes(record[4..8].try_into().expect("4"));
        let want = record[8..].iter().fold(0u32, |s, b| s.wrapping_mul(31).wrapping_add(*b as u32));
        ensure!(sum == want, "checksum");
        ensure!(sequence == next[writer - 1], "writer {writer}: record {sequence}, want {}", next[writer - 1]);
        next[writer - 1] += 1;
    }
    Ok(())
}

pub fn fifo_by_name_and_dying_clients() -> Outcome {
    server_ready("/dev/pipe")?;
    server_ready("/tmp")?; // (FIFOs are made where a file system keeps them)
    fs::mkfifo("/tmp/fifo").map_err(e("mkfifo"))?;
    ensure!(fs::mkfifo("/tmp/fifo") == Err(Errno::EEXIST), "made twice");
    ensure!(fs::mkfifo("/nosuch/fifo") == Err(Errno::ENOENT), "made where no directory is");
    // Only the server of a FIFO's directory has the pipe server make it (a review: any
    // program sent MKFIFO itself, and the pipe server, one of the system's programs,
    // attached the FIFO wherever it was told: over a queue of /dev/mqueue, a file of
    // /tmp, at a prefix kept for a server while it restarts).
    server_ready("/dev/mqueue")?;
    let pipe_server = fs::open(userlib::msg::PIPE_DIR, of::O_RDONLY, 0).map_err(e("open /dev/pipe"))?;
    let ramfs = proc::resolve("/tmp").map_err(e("resolve /tmp"))?.pid;
    for path in ["/tmp/by-anyone", "/dev/mqueue/by-anyone", "/by-anyone"] {
        let header = Header::new(userlib::msg::pipe_type::MKFIFO);
        let made = proc::request_on(pipe_server.fd(), &header, path.as_bytes(), &mut []);
        ensure!(made == Err(Errno::EPERM), "MKFIFO {path} from a program not its directory's server: {made:?}");
    }
    ensure!(proc::resolve("/tmp/by-anyone").map(|r| r.pid) == Ok(ramfs), "/tmp/by-anyone is not ramfs's");
    ensure!(proc::resolve("/by-anyone").is_err(), "/by-anyone was attached");
    let reader = fs::open("/tmp/fifo", of::O_RDONLY, 0).map_err(e("open reader"))?;
    let writer = fs::open("/tmp/fifo", of::O_WRONLY, 0).map_err(e("open writer"))?;
    writer.write_all(b"through a name").map_err(e("write"))?;
    let mut buffer = [0u8; 32];
    let n = reader.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"through a name", "read {:?}", &buffer[..n]);
    fs::unlink("/tmp/fifo").map_err(e("unlink"))?;
    ensure!(fs::open("/tmp/fifo", of::O_RDONLY, 0).err() == Some(Errno::ENOENT), "unlinked FIFO opens");
    writer.write(b"still open").map_err(e("write after unlink"))?;
    drop(writer);
    let n = reader.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"still open" && reader.read(&mut buffer) == Ok(0), "after unlink");
    // A write before any reader opened waits for one (it failed with EPIPE, its data
    // lost: `echo x > fifo` before `cat fifo`); a non-blocking write end without a
    // reader is ENXIO, as POSIX says.
    fs::mkfifo("/tmp/fifo2").map_err(e("mkfifo"))?;
    let nonblocking = fs::open("/tmp/fifo2", of::O_WRONLY | of::O_NONBLOCK, 0).err();
    ensure!(nonblocking == Some(Errno::ENXIO), "a non-blocking writer without a reader: {nonblocking:?}");
    let early = fs::open("/tmp/fifo2", of::O_WRONLY, 0).map_err(e("open early writer"))?.into_raw();
    let writing = thread::spawn(move || {
        let _ = File::from_raw(early).write_all(b"early");
    })
    .map_err(e("thread"))?;
    time::sleep_ns(5_000_000);
    let late = fs::open("/tmp/fifo2", of::O_RDONLY, 0).map_err(e("open late reader"))?;
    let n = late.read(&mut buffer).map_err(e("read early"))?;
    ensure!(&buffer[..n] == b"early", "the early write read {:?}", &buffer[..n]);
    writing.join().map_err(e("join"))?;
    ensure!(late.read(&mut buffer) == Ok(0), "its writer closed");
    fs::unlink("/tmp/fifo2").map_err(e("unlink"))?;
    // A reader killed while blocked: the server goes on, its close counted.
    let (reader, writer) = fs::open_with("/dev/pipe", of::O_RDONLY | of::O_CREAT, 0, 0).map_err(e("pipe"))?;
    let blocker = peer(&["pipe-block", &format!("{writer}")], 10)?;
    time::sleep_ns(5_000_000);
    proc::kill(blocker, 9).map_err(e("kill"))?;
    process::wait(blocker).map_err(e("wait"))?;
    drop(reader);
    let (reader, writer) = fs::pipe().map_err(e("pipe after a death"))?;
    writer.write(b"ok").map_err(e("write"))?;
    ensure!(reader.read(&mut buffer) == Ok(2), "the server stopped working");
    Ok(())
}

/// An address no program has mapped (programs are linked at 4 MiB).
const UNMAPPED: usize = 0x1000;

/// The errno of the last [`read_into_nowhere`] made on a thread of its own.
static NOWHERE_ERRNO: AtomicU32 = AtomicU32::new(0);

/// A `READ` of `size` bytes on `fd` whose reply buffer is unmapped: the server's answer
/// cannot reach it (as if the reader died just before). Stores the errno it fails with.
fn read_into_nowhere(fd: u32, size: usize) {
    let header = Header { size: size as u64, ..Header::new(io_type::READ) }.to_bytes();
    let (send_parts, reply_parts) = (single_buffer_parts(header.len()), single_buffer_parts(size));
    // SAFETY: the kernel only reads `header`, borrowed for the call; the reply would go
    // to UNMAPPED, which the kernel refuses to write (EFAULT): nothing of ours is written.
    let got = unsafe { sys::msg_sendv(fd, header.as_ptr() as usize, send_parts, UNMAPPED, reply_parts) };
    NOWHERE_ERRNO.store(got.err().map_or(0, |e| e.0), Ordering::SeqCst);
}

/// What a reader did not get goes to the next one: the pipe and mqueue servers give
/// back the bytes or message of an answer that failed (its reader died before the answer
/// reached it, or, here, its buffer was bad). They were lost.
pub fn what_a_reader_did_not_get_goes_to_the_next() -> Outcome {
    server_ready("/dev/pipe")?;
    server_ready("/dev/mqueue")?;
    let mut buffer = [0u8; 16];
    let (reader, writer) = fs::pipe().map_err(e("pipe"))?;
    let fd = reader.fd();
    NOWHERE_ERRNO.store(0, Ordering::SeqCst);
    let lost = thread::spawn(move || read_into_nowhere(fd, 4)).map_err(e("thread"))?;
    until_reply_blocked(lost.id())?;
    writer.write(b"kept").map_err(e("write"))?;
    lost.join().map_err(e("join"))?;
    ensure!(NOWHERE_ERRNO.load(Ordering::SeqCst) == Errno::EFAULT.0, "the bad read did not fail with EFAULT");
    let n = reader.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"kept", "the pipe's next read got {:?}", &buffer[..n]);
    let q = queue("/given-back", of::O_RDWR | of::O_CREAT, Some((4, 16)))?;
    let fd = q.file().fd();
    NOWHERE_ERRNO.store(0, Ordering::SeqCst);
    let lost = thread::spawn(move || read_into_nowhere(fd, 16)).map_err(e("thread"))?;
    until_reply_blocked(lost.id())?;
    q.send(b"kept", 3).map_err(e("send"))?;
    lost.join().map_err(e("join"))?;
    ensure!(NOWHERE_ERRNO.load(Ordering::SeqCst) == Errno::EFAULT.0, "the bad receive did not fail with EFAULT");
    let (n, priority) = q.receive(&mut buffer).map_err(e("receive"))?;
    ensure!(&buffer[..n] == b"kept" && priority == 3, "the queue's next receive got {:?} at {priority}", &buffer[..n]);
    mq::mq_unlink("/given-back").map_err(e("unlink"))?;
    Ok(())
}

fn queue(name: &str, flags: u32, attr: Option<(usize, usize)>) -> Result<MessageQueue, String> {
    mq::mq_open(name, flags, 0o600, attr).map_err(|err| format!("mq_open {name}: {err}"))
}

pub fn mq_priorities_sizes_and_attributes() -> Outcome {
    server_ready("/dev/mqueue")?;
    let q = queue("/orders", of::O_RDWR | of::O_CREAT | of::O_EXCL, Some((8, 64)))?;
    ensure!(
        mq::mq_open("/orders", of::O_RDWR | of::O_CREAT | of::O_EXCL, 0, None).err() == Some(Errno::EEXIST),
        "O_EXCL"
    );
    for (text, priority) in [(&b"a1"[..], 1), (b"b5", 5), (b"c1", 1), (b"d31", 31), (b"e5", 5)] {
        q.send(text, priority).map_err(e("send"))?;
    }
    let attr = q.attr().map_err(e("getattr"))?;
    ensure!((attr.maxmsg, attr.msgsize, attr.curmsgs) == (8, 64, 5), "attr {attr:?}");
    let mut buffer = [0u8; 64];
    let mut order = Vec::new();
    for _ in 0..5 {
        let (n, priority) = q.receive(&mut buffer).map_err(e("receive"))?;
        order.push((String::from_utf8_lossy(&buffer[..n]).into_owned(), priority));
    }
    let want = [("d31", 31), ("b5", 5), ("e5", 5), ("a1", 1), ("c1", 1)];
    ensure!(order.iter().map(|(t, p)| (t.as_str(), *p)).eq(want.iter().copied()), "order {order:?}");
    ensure!(q.send(&[0u8; 65], 0) == Err(Errno::EMSGSIZE), "oversized message");
    ensure!(q.receive(&mut [0u8; 63]) == Err(Errno::EMSGSIZE), "buffer below msgsize");
    ensure!(q.send(b"x", 32) == Err(Errno::EINVAL), "priority 32");
    q.set_attr(of::O_NONBLOCK).map_err(e("setattr"))?;
    ensure!(q.receive(&mut buffer) == Err(Errno::EAGAIN), "empty non-blocking receive");
    for _ in 0..8 {
        q.send(b"fill", 0).map_err(e("fill"))?;
    }
    ensure!(q.send(b"more", 0) == Err(Errno::EAGAIN), "full non-blocking send");
    ensure!(q.attr().map_err(e("getattr"))?.flags == of::O_NONBLOCK as u64, "flags");
    let reader = queue("/orders", of::O_RDONLY, None)?;
    ensure!(reader.send(b"x", 0) == Err(Errno::EBADF), "sent on a read-only descriptor");
    let writer = queue("/orders", of::O_WRONLY, None)?;
    ensure!(writer.receive(&mut buffer) == Err(Errno::EBADF), "received on a write-only descriptor");
    let deep = queue("/deep/er/queue", of::O_RDWR | of::O_CREAT, None)?;
    // Its name's leading components are directories, as QNX's are.
    let listed = fs::read_dir("/dev/mqueue").map_err(e("ls"))?;
    ensure!(listed.iter().any(|n| n == "orders") && listed.iter().any(|n| n == "deep"), "ls: {listed:?}");
    ensure!(!listed.iter().any(|n| n.contains('/')), "ls /dev/mqueue gives names holding a /: {listed:?}");
    let beneath = fs::read_dir("/dev/mqueue/deep/er").map_err(e("ls /dev/mqueue/deep/er"))?;
    ensure!(beneath == ["queue"], "ls /dev/mqueue/deep/er: {beneath:?}");
    let made = mq::mq_open("/deep", of::O_RDWR | of::O_CREAT, 0, None).err();
    ensure!(made == Some(Errno::EISDIR), "a queue made where a directory is: {made:?}");
    let made = mq::mq_open("/deep/er/queue/x", of::O_RDWR | of::O_CREAT, 0, None).err();
    ensure!(made == Some(Errno::ENOTDIR), "a queue made beneath a queue: {made:?}");
    let count = fs::open("/dev/mqueue/orders", of::O_RDONLY, 0).and_then(|f| f.stat()).map_err(e("stat"))?.size;
    ensure!(count == 8, "stat gives {count} messages, want 8");
    drop(deep);
    mq::mq_unlink("/deep/er/queue").map_err(e("unlink"))?;
    // Unlinked but open: it works on, and cannot be opened by name.
    mq::mq_unlink("/orders").map_err(e("unlink"))?;
    ensure!(mq::mq_open("/orders", of::O_RDONLY, 0, None).err() == Some(Errno::ENOENT), "unlinked queue opens");
    ensure!(reader.receive(&mut buffer).map(|(n, _)| n) == Ok(4), "the unlinked queue lost its messages");
    // The name is free at once: a new queue of that name is another queue.
    let again = queue("/orders", of::O_RDWR | of::O_CREAT | of::O_EXCL, Some((2, 16)))?;
    ensure!(again.attr().map_err(e("getattr"))?.curmsgs == 0, "the new /orders holds the old one's messages");
    ensure!(reader.attr().map_err(e("getattr"))?.curmsgs == 7, "the old /orders changed");
    drop(again);
    mq::mq_unlink("/orders").map_err(e("unlink"))?;
    ensure!(mq::mq_open("bad", of::O_RDONLY, 0, None).err() == Some(Errno::EINVAL), "a name without /");
    Ok(())
}

/// Makes things with `make(i)` (i = 0, 1, …) until it fails, at most `limit` times;
/// how many it made and the error it stopped at.
fn make_until_refused(limit: usize, mut make: impl FnMut(usize) -> Result<(), Errno>) -> (usize, Option<Errno>) {
    for i in 0..limit {
        if let Err(err) = make(i) {
            return (i, Some(err));
        }
    }
    (limit, None)
}

/// The servers bound what clients make of them — queues and their reserved bytes,
/// pipes — with errors, so that one client cannot make a server run out of memory
/// and lose everyone's queues or pipes; what is given back can be made again.
pub fn servers_bound_what_clients_make() -> Outcome {
    server_ready("/dev/mqueue")?;
    server_ready("/dev/pipe")?;
    server_ready("/tmp")?;
    // One queue may not reserve 64 MiB; 8 MiB queues run out of room within four.
    let refused = mq::mq_open("/huge", of::O_RDWR | of::O_CREAT, 0, Some((1024, 64 * 1024))).err();
    ensure!(refused == Some(Errno::ENOSPC), "a 64 MiB queue: {refused:?}");
    let big = |i: usize| mq::mq_open(&format!("/big-{i}"), of::O_RDWR | of::O_CREAT, 0, Some((512, 16 * 1024)));
    let (made, stopped) = make_until_refused(5, |i| big(i).map(drop));
    ensure!((1..=3).contains(&made) && stopped == Some(Errno::ENOSPC), "8 MiB queues: {made}, then {stopped:?}");
    mq::mq_unlink("/big-0").map_err(e("unlink"))?;
    ensure!(big(made).is_ok(), "the room of an unlinked queue is not given back");
    for i in 1..=made {
        mq::mq_unlink(&format!("/big-{i}")).map_err(e("unlink"))?;
    }
    // At most 1,024 queues; small ones stop at ENFILE.
    let (made, stopped) = make_until_refused(1100, |i| {
        mq::mq_open(&format!("/many-{i}"), of::O_RDWR | of::O_CREAT, 0, Some((1, 1))).map(drop)
    });
    let unlinked = (0..made).filter(|i| mq::mq_unlink(&format!("/many-{i}")).is_ok()).count();
    ensure!(made > 1000 && stopped == Some(Errno::ENFILE), "small queues: {made}, then {stopped:?}");
    ensure!(unlinked == made, "unlinked {unlinked} of {made} queues");
    let long = format!("/{}", "q".repeat(300));
    let refused = mq::mq_open(&long, of::O_RDWR | of::O_CREAT, 0, None).err();
    ensure!(refused == Some(Errno::ENAMETOOLONG), "a 300-byte name: {refused:?}");
    // At most 1,024 pipes (FIFOs here: they need no connection while closed).
    let (made, stopped) = make_until_refused(1100, |i| fs::mkfifo(&format!("/tmp/bound-{i}")));
    let unlinked = (0..made).filter(|i| fs::unlink(&format!("/tmp/bound-{i}")).is_ok()).count();
    ensure!(made > 1000 && stopped == Some(Errno::ENFILE), "FIFOs: {made}, then {stopped:?}");
    ensure!(unlinked == made, "unlinked {unlinked} of {made} FIFOs");
    let (reader, writer) = fs::pipe().map_err(e("a pipe once the FIFOs are gone"))?;
    writer.write(b"ok").map_err(e("write"))?;
    ensure!(reader.read(&mut [0u8; 4]) == Ok(2), "the pipe server stopped working");
    Ok(())
}

static RECEIVED_BY: AtomicU32 = AtomicU32::new(0);

pub fn mq_blocking_timed_and_notify() -> Outcome {
    server_ready("/dev/mqueue")?;
    let q = queue("/waits", of::O_RDWR | of::O_CREAT, Some((1, 16)))?;
    let mut buffer = [0u8; 16];
    let start = time::now_ns();
    let got = q.timed_receive(&mut buffer, start + 20_000_000);
    ensure!(got == Err(Errno::ETIMEDOUT), "timed receive on an empty queue: {got:?}");
    ensure!(time::now_ns() - start >= 20_000_000, "timed out early");
    q.send(b"full", 0).map_err(e("send"))?;
    let got = q.timed_send(b"more", 0, time::now_ns() + 10_000_000);
    ensure!(got == Err(Errno::ETIMEDOUT), "timed send on a full queue: {got:?}");
    ensure!(q.timed_send(b"x", 0, 0) == Err(Errno::ETIMEDOUT), "a deadline in the past");
    q.receive(&mut buffer).map_err(e("receive"))?;
    // A deadline in the past does not fail a call that can finish at once.
    q.timed_send(b"now", 0, 0).map_err(e("timed send with room, its deadline past"))?;
    let got = q.timed_receive(&mut buffer, 0).map(|(n, _)| n);
    ensure!(got == Ok(3), "timed receive of a waiting message, its deadline past: {got:?}");
    // Two blocked receivers: the higher-priority one gets the first message.
    RECEIVED_BY.store(0, Ordering::SeqCst);
    let fd = q.file().fd();
    let spawn_receiver = |priority: u8| {
        thread::Builder::new()
            .sched(SchedParam { policy: Policy::Fifo, priority })
            .spawn(move || {
                let mut buffer = [0u8; 16];
                let end = File::from_raw(fd);
                let header =
                    userlib::msg::Header { size: 16, ..userlib::msg::Header::new(userlib::msg::io_type::READ) };
                let got = userlib::proc::request_on(end.fd(), &header, &[], &mut buffer);
                let _ = end.into_raw();
                if got.is_ok() {
                    let _ = RECEIVED_BY
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v * 100 + buffer[0] as u32));
                }
            })
            .map_err(e("thread"))
    };
    let low = spawn_receiver(12)?;
    until_reply_blocked(low.id())?;
    let high = spawn_receiver(14)?;
    until_reply_blocked(high.id())?;
    q.send(&[14], 0).map_err(e("send"))?;
    q.send(&[12], 0).map_err(e("send"))?;
    high.join().map_err(e("join"))?;
    low.join().map_err(e("join"))?;
    let order = RECEIVED_BY.load(Ordering::SeqCst);
    ensure!(order == 14 * 100 + 12, "receivers woken as {order}, want the priority-14 one first");
    // mq_notify: one registration at a time, fired once when the empty queue gets a message.
    let channel = Channel::create(0).map_err(e("channel"))?;
    let me = Connection::attach(0, channel.chid()).map_err(e("attach"))?;
    let mut event = me.pulse_event(20, 5, 77);
    q.notify(Some(&mut event)).map_err(e("notify"))?;
    let mut twice = me.pulse_event(20, 5, 78);
    ensure!(q.notify(Some(&mut twice)) == Err(Errno::EBUSY), "registered twice (POSIX: EBUSY, the caller too)");
    let rival = peer(&["mq-notify", "/waits"], 10)?;
    ensure!(exited(rival)? == Errno::EBUSY.0, "a second registration was accepted");
    q.send(b"wake", 0).map_err(e("send"))?;
    let pulse = channel.receive_pulse().map_err(e("notification"))?;
    ensure!(pulse.code == 5 && pulse.value == 77, "pulse {} {}", pulse.code, pulse.value);
    let again = peer(&["mq-notify", "/waits"], 10)?;
    ensure!(exited(again)? == 0, "the registration was not gone after it fired");
    q.receive(&mut buffer).map_err(e("receive"))?;
    // Asked again after each notification, more times than a process may hold event
    // registrations (256): each new one replaces the last (they were never withdrawn).
    for round in 0..300u64 {
        let mut event = me.pulse_event(20, 5, round);
        q.notify(Some(&mut event)).map_err(|er| format!("notify #{round}: {er}"))?;
        q.send(b"n", 0).map_err(e("send"))?;
        let pulse = channel.receive_pulse().map_err(e("notification"))?;
        ensure!(pulse.value == round, "notification {} for round {round}", pulse.value);
        q.receive(&mut buffer).map_err(e("receive"))?;
    }
    // Closing another descriptor of the queue keeps the registration made through `q`.
    let mut event = me.pulse_event(20, 5, 1000);
    q.notify(Some(&mut event)).map_err(e("notify"))?;
    drop(queue("/waits", of::O_RDONLY, None)?);
    q.send(b"n", 0).map_err(e("send"))?;
    userlib::ipc::timeout(userlib::ipc::timeout_states::RECEIVE, 1_000_000_000).map_err(e("timeout"))?;
    let pulse = channel.receive_pulse().map_err(e("notification after closing another descriptor"))?;
    ensure!(pulse.value == 1000, "notification {}, want 1000", pulse.value);
    q.receive(&mut buffer).map_err(e("receive"))?;
    // A receiver killed while blocked: the server goes on.
    let blocker = peer(&["mq-block", "/waits"], 10)?;
    time::sleep_ns(5_000_000);
    proc::kill(blocker, 9).map_err(e("kill"))?;
    process::wait(blocker).map_err(e("wait"))?;
    q.send(b"after", 0).map_err(e("send after a death"))?;
    let (n, _) = q.receive(&mut buffer).map_err(e("receive after a death"))?;
    ensure!(&buffer[..n] == b"after", "the message went to the dead receiver");
    mq::mq_unlink("/waits").map_err(e("unlink"))?;
    Ok(())
}

/// Asks the server of directory `dir` itself (userlib refuses such a path) to do
/// `subtype` on `path` in it; its answer.
fn raw_connect(dir: &str, subtype: u16, flags: u32, path: &[u8]) -> Result<u64, Errno> {
    let owner = proc::resolve(dir)?;
    let connection = Connection::attach(owner.pid, owner.chid)?;
    let header =
        Header { subtype, arg: flags, offset: 0o600, extra: owner.handle as u64, ..Header::new(io_type::CONNECT) };
    let mut message = header.to_bytes().to_vec();
    message.extend_from_slice(path);
    connection.send(&message, &mut [])
}

/// A path holding a NUL, sent by a client itself, is refused (`EINVAL`): a NUL ends a
/// name in a directory listing. (A review found mqueue and ramfs making a queue or file
/// `nul\0name`, which `ls` then showed as `nul` and `name`, names of nothing, and which
/// nobody could open or remove by name through userlib.) Likewise an open with access
/// mode 3, which is none.
pub fn servers_refuse_paths_holding_nul() -> Outcome {
    server_ready("/dev/mqueue")?;
    server_ready("/tmp")?;
    for dir in ["/dev/mqueue", "/tmp"] {
        let made = raw_connect(dir, userlib::msg::connect::OPEN, of::O_RDWR | of::O_CREAT, b"nul\0name");
        let listed = fs::read_dir(dir).map_err(e("ls"))?;
        if made.is_ok() {
            let _ = raw_connect(dir, userlib::msg::connect::UNLINK, 0, b"nul\0name");
        }
        ensure!(made == Err(Errno::EINVAL), "{dir}: a name holding a NUL: {made:?}");
        ensure!(!listed.iter().any(|n| n == "nul" || n == "name"), "{dir} lists {listed:?}");
        // Access mode 3 (O_ACCMODE) is no access mode: it was taken as read-only.
        let odd = raw_connect(dir, userlib::msg::connect::OPEN, of::O_ACCMODE | of::O_CREAT, b"mode-3");
        if odd.is_ok() {
            let _ = raw_connect(dir, userlib::msg::connect::UNLINK, 0, b"mode-3");
        }
        ensure!(odd == Err(Errno::EINVAL), "{dir}: opened with access mode 3: {odd:?}");
    }
    Ok(())
}

static NOTIFY_ERRNO: AtomicU32 = AtomicU32::new(0);

/// mq_notify registers the process: the notification comes after the thread that asked
/// has ended. (A review found it lost: the server named the client to `MsgDeliverEvent`
/// by the rcvid of the thread's request, stale once the thread was gone.)
pub fn mq_notify_outlives_the_registering_thread() -> Outcome {
    server_ready("/dev/mqueue")?;
    let q = alloc::sync::Arc::new(queue("/by-a-thread", of::O_RDWR | of::O_CREAT, Some((4, 16)))?);
    let channel = Channel::create(0).map_err(e("channel"))?;
    let me = Connection::attach(0, channel.chid()).map_err(e("attach"))?;
    let mut event = me.pulse_event(20, 5, 4242);
    let asker = alloc::sync::Arc::clone(&q);
    NOTIFY_ERRNO.store(u32::MAX, Ordering::SeqCst);
    let worker = thread::spawn(move || {
        NOTIFY_ERRNO.store(asker.notify(Some(&mut event)).err().map_or(0, |e| e.0), Ordering::SeqCst);
    })
    .map_err(e("thread"))?;
    worker.join().map_err(e("join"))?;
    ensure!(
        NOTIFY_ERRNO.load(Ordering::SeqCst) == 0,
        "mq_notify from the thread: errno {}",
        NOTIFY_ERRNO.load(Ordering::SeqCst)
    );
    q.send(b"n", 0).map_err(e("send"))?;
    userlib::ipc::timeout(userlib::ipc::timeout_states::RECEIVE, 500_000_000).map_err(e("timeout"))?;
    let pulse = channel.receive_pulse().map_err(e("notification after the registering thread ended"))?;
    ensure!(pulse.value == 4242, "notification {}", pulse.value);
    mq::mq_unlink("/by-a-thread").map_err(e("unlink"))?;
    Ok(())
}

/// A small deterministic generator for the garbage below.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Sends `count` malformed or random requests on a fresh connection to the server of
/// `path` (and proc's own channel), each bounded by a timeout: every one must be
/// answered (an error is fine), none may hang, and the servers must work afterwards.
fn garbage_to(path: &str, noise: &mut Noise, count: usize) -> Outcome {
    use userlib::ipc::timeout_states::{REPLY, SEND};
    use userlib::msg::Header;
    let owner = proc::resolve(path).map_err(e("resolve"))?;
    let connection = Connection::attach(owner.pid, owner.chid).map_err(e("attach"))?;
    let mut reply = vec![0u8; 512];
    for i in 0..count {
        let kind = match noise.next() % 4 {
            0 => (noise.next() % 0x300) as u16,
            1 => 0x100 + (noise.next() % 16) as u16,
            2 => (noise.next() % 0x40) as u16,
            _ => noise.next() as u16,
        };
        if owner.pid == 1 && matches!(kind, userlib::msg::proc_type::KILL | userlib::msg::proc_type::SHUTDOWN) {
            continue; // proc's own requests do what they say (proc is /dev/shmem's server)
        }
        let header = Header {
            kind,
            subtype: noise.next() as u16,
            arg: if noise.next().is_multiple_of(2) { noise.next() as u32 } else { (noise.next() % 8) as u32 },
            offset: if noise.next().is_multiple_of(2) { noise.next() } else { noise.next() % 4096 },
            size: match noise.next() % 3 {
                0 => noise.next(),
                1 => noise.next() % 100_000,
                _ => noise.next() % 64,
            },
            extra: noise.next() % 3,
        };
        let mut message = header.to_bytes().to_vec();
        let length = (noise.next() % 300) as usize;
        message.extend((0..length).map(|_| noise.next() as u8));
        let cut = match i % 7 {
            0 => (noise.next() % 40) as usize, // shorter than a header
            _ => message.len(),
        };
        userlib::ipc::timeout(SEND | REPLY, 2_000_000_000).map_err(e("timeout"))?;
        match connection.send(&message[..cut.min(message.len())], &mut reply) {
            Err(Errno::ETIMEDOUT) => return Err(format!("{path}: request {i} ({header:?}) was never answered")),
            _ => continue,
        }
    }
    Ok(())
}

pub fn servers_survive_garbage() -> Outcome {
    server_ready("/dev/pipe")?;
    server_ready("/dev/mqueue")?;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    for path in ["/dev/pipe", "/dev/mqueue", "/dev/shmem", "/dev/name"] {
        let path = if path == "/dev/name" { "/dev/shmem/x" } else { path };
        garbage_to(path, &mut noise, 300)?;
    }
    // proc's own requests: garbage on the well-known connection.
    let proc_coid = proc::connection().map_err(e("proc"))?;
    let mut reply = vec![0u8; 256];
    for i in 0..300u64 {
        let mut message = userlib::msg::Header::new((noise.next() % 0x40) as u16).to_bytes().to_vec();
        message[2..32].iter_mut().for_each(|b| *b = noise.next() as u8);
        message.extend((0..noise.next() % 200).map(|_| noise.next() as u8));
        if message[0] == userlib::msg::proc_type::SHUTDOWN as u8 || message[0] == userlib::msg::proc_type::KILL as u8 {
            continue; // those do what they say, on whatever they name
        }
        userlib::ipc::timeout(userlib::ipc::timeout_states::REPLY, 2_000_000_000).map_err(e("timeout"))?;
        if userlib::sys::msg_send(proc_coid, &message, &mut reply) == Err(Errno::ETIMEDOUT) {
            return Err(format!("proc never answered garbage message {i}"));
        }
    }
    // Pulses of every application code, proc's own child-ended code among them, naming
    // nobody, a live process and proc itself (one used to block proc for good).
    for code in 0..=16i8 {
        for value in [0u64, 1, 2, u64::MAX] {
            let _ = userlib::sys::msg_send_pulse(proc_coid, 10, code, value);
        }
    }
    // Everyone still works.
    let (reader, writer) = fs::pipe().map_err(e("pipe afterwards"))?;
    writer.write(b"!").map_err(e("write afterwards"))?;
    ensure!(reader.read(&mut [0u8; 4]) == Ok(1), "the pipe server broke");
    let q = queue("/after-garbage", of::O_RDWR | of::O_CREAT, None)?;
    q.send(b"ok", 1).map_err(e("mq_send afterwards"))?;
    mq::mq_unlink("/after-garbage").map_err(e("unlink"))?;
    ensure!(proc::pidin().is_ok(), "proc broke");
    let pids: Vec<u32> = proc::pidin().map_err(e("pidin"))?.iter().map(|t| t.pid).collect();
    ensure!(pids.contains(&1) && pids.len() >= 3, "a server died: {pids:?}");
    Ok(())
}
