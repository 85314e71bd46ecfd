//! Process-manager system tests: the name service, the pathname space with a resource
//! manager, and shared memory, across real processes (`proc-peer`).

use crate::{ensure, exited, Outcome};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use userlib::ipc::{MsgInfo, Received};
use userlib::msg::{open_flags, proc_type, whence, Header};
use userlib::{fs, proc, process, shm, time, Errno};

const PEER: &str = "proc-peer";

fn peer(args: &[&str]) -> Result<u32, String> {
    process::spawn(PEER, args, Some(20)).map_err(|e| format!("spawn {args:?}: {e}"))
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |sum, b| sum.wrapping_mul(31).wrapping_add(*b as u64))
}

/// Retries `attempt` for up to a second while it fails with `ENOENT` (a peer that has
/// not registered yet).
fn eventually<T>(mut attempt: impl FnMut() -> Result<T, Errno>) -> Result<T, String> {
    for _ in 0..1000 {
        match attempt() {
            Err(Errno::ENOENT) => time::sleep_ns(1_000_000),
            other => return other.map_err(|e| format!("{e}")),
        }
    }
    Err(String::from("never appeared"))
}

fn free_bytes() -> u64 {
    crate::free_bytes().unwrap_or(0)
}

pub fn checksum_server_found_by_name() -> Outcome {
    let server = peer(&["name-server", "checksum"])?;
    let c = eventually(|| proc::name_open("checksum", 0))?;
    let text = b"found by name, not by pid and chid";
    let mut message = Vec::from(&b"C"[..]);
    message.extend_from_slice(text);
    let status = c.send(&message, &mut []).map_err(|e| format!("send: {e}"))?;
    ensure!(status == checksum(text), "checksum {status:#x}");
    ensure!(proc::list("/dev/name/local").is_ok_and(|l| l.iter().any(|n| n == "checksum")), "not listed");
    // A client that exits: the server gets the disconnect pulse and frees the scoid.
    let client = peer(&["name-client", "checksum"])?;
    ensure!(exited(client)? == 0, "the client failed");
    let mut freed = 0;
    for _ in 0..100 {
        freed = c.send(b"Q", &mut []).map_err(|e| format!("query: {e}"))?;
        if freed == 1 {
            break;
        }
        time::sleep_ns(1_000_000);
    }
    ensure!(freed == 1, "{freed} disconnects freed, want 1");
    drop(c);
    proc::kill(server, 0).map_err(|e| format!("kill: {e}"))?;
    process::wait(server).map_err(|e| format!("wait: {e}"))?;
    Ok(())
}

/// A process group ends whole — what its members started too — and nothing else does;
/// only groups of the spawner's family may be joined, and proc's cannot be ended.
pub fn a_process_group_ends_whole() -> Outcome {
    use userlib::proc::ProcessGroup;
    let child = |args: &[&str], group| {
        proc::spawn_with("systest-child", args, Some(20), None, &[], group).map_err(|e| format!("spawn {args:?}: {e}"))
    };
    let leader = child(&["family"], ProcessGroup::New)?;
    let stage = child(&["sleep", "0", "60000"], ProcessGroup::Join(leader))?;
    let outsider = child(&["sleep", "0", "60000"], ProcessGroup::New)?;
    let pidin = || proc::pidin().map_err(|e| format!("pidin: {e}"));
    let mut grandchild = None;
    for _ in 0..1000 {
        grandchild = pidin()?.iter().find(|t| t.parent_pid == leader).map(|t| (t.pid, t.group));
        if grandchild.is_some() {
            break;
        }
        time::sleep_ns(1_000_000);
    }
    let Some((grandchild, its_group)) = grandchild else { return Err(String::from("the leader started no child")) };
    let groups = |pids: [u32; 3]| -> Result<Vec<Option<u32>>, String> {
        let threads = pidin()?;
        Ok(pids.iter().map(|p| threads.iter().find(|t| t.pid == *p).map(|t| t.group)).collect())
    };
    ensure!(
        its_group == leader && groups([leader, stage, outsider])? == [Some(leader), Some(leader), Some(outsider)],
        "groups {:?}, the grandchild's {its_group}",
        groups([leader, stage, outsider])?
    );
    let refused = proc::spawn_with("systest-child", &["exit", "0"], None, None, &[], ProcessGroup::Join(1));
    ensure!(refused == Err(Errno::EPERM), "joined proc's group: {refused:?}");
    ensure!(proc::kill_group(1, 0) == Err(Errno::EPERM), "proc's group could be ended");
    proc::kill_group(leader, 130).map_err(|e| format!("kill_group: {e}"))?;
    ensure!(exited(leader)? == 130 && exited(stage)? == 130, "the group's members ended otherwise");
    ensure!(!pidin()?.iter().any(|t| t.pid == grandchild), "what the leader started runs on");
    ensure!(groups([outsider, outsider, outsider])?[0] == Some(outsider), "another group ended too");
    ensure!(proc::kill_group(leader, 0) == Err(Errno::ESRCH), "an empty group was ended");
    proc::kill(outsider, 0).map_err(|e| format!("kill: {e}"))?;
    process::wait(outsider).map_err(|e| format!("wait: {e}"))?;
    Ok(())
}

pub fn a_name_is_released_when_its_server_dies() -> Outcome {
    let mine = proc::name_attach("held", 0).map_err(|e| format!("name_attach: {e}"))?;
    ensure!(proc::name_attach("held", 0).err() == Some(Errno::EBUSY), "a held name was attached twice");
    let refused = peer(&["name-server", "held"])?;
    ensure!(exited(refused)? == Errno::EBUSY.0, "the peer could take a held name");
    drop(mine);
    let server = peer(&["name-server", "held"])?;
    drop(eventually(|| proc::name_open("held", 0))?);
    proc::kill(server, 0).map_err(|e| format!("kill: {e}"))?;
    process::wait(server).map_err(|e| format!("wait: {e}"))?;
    // proc hears of the death through the disconnect; the name is free again.
    let again = eventually(|| match proc::name_attach("held", 0) {
        Err(Errno::EBUSY) => Err(Errno::ENOENT),
        other => other,
    })?;
    ensure!(proc::name_open("held", 0).is_ok(), "re-attached name does not open");
    drop(again);
    ensure!(proc::name_open("held", 0).err() == Some(Errno::ENOENT), "detached name still opens");
    // Global and local names are separate spaces.
    let global = proc::name_attach("held", userlib::msg::name_flags::GLOBAL).map_err(|e| format!("global: {e}"))?;
    ensure!(proc::name_open("held", 0).err() == Some(Errno::ENOENT), "a global name opened as local");
    ensure!(proc::name_open("held", userlib::msg::name_flags::GLOBAL).is_ok(), "global name does not open");
    drop(global);
    // Bad names are refused by proc itself, whatever the client library checks.
    for (name, want) in [
        (&b""[..], Errno::EINVAL),
        (b"a\0b", Errno::EINVAL),
        (b"/abs", Errno::EINVAL),
        (&[b'n'; 65][..], Errno::ENAMETOOLONG),
    ] {
        let header = Header { arg: 1, ..Header::new(proc_type::NAME_ATTACH) };
        let got = proc::request(&header, name, &mut []);
        ensure!(got == Err(want), "name {name:?}: {got:?}, want {want:?}");
    }
    Ok(())
}

pub fn resource_manager_open_read_write_close() -> Outcome {
    let server = process::spawn("ramfs", &["/test"], Some(20)).map_err(|e| format!("spawn ramfs: {e}"))?;
    let e = |what: &'static str| move |err: Errno| format!("{what}: {err}");
    let file = eventually(|| fs::open("/test/a", open_flags::O_RDWR | open_flags::O_CREAT, 0o644))?;
    file.write_all(b"hello, resource manager").map_err(e("write"))?;
    ensure!(file.seek(7, whence::SET).map_err(e("lseek"))? == 7, "lseek");
    let mut buffer = [0u8; 64];
    let n = file.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"resource manager", "read {:?}", &buffer[..n]);
    ensure!(file.read(&mut buffer).map_err(e("read"))? == 0, "no end of file");
    ensure!(file.stat().map_err(e("stat"))?.size == 23, "size");
    file.truncate(5).map_err(e("truncate"))?;
    drop(file);
    let again = fs::open("/test/a", open_flags::O_RDONLY, 0).map_err(e("reopen"))?;
    let n = again.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"hello", "after truncate: {:?}", &buffer[..n]);
    ensure!(again.write(b"x") == Err(Errno::EBADF), "wrote to a read-only open");
    ensure!(again.devctl(1, &[], &mut []) == Err(Errno::ENOTTY), "devctl");
    // A write longer than the server's receive buffer (the rest read with MsgRead), of
    // bytes that all differ from their neighbours: it reads back byte for byte.
    let pattern: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let long = fs::open("/test/long", open_flags::O_RDWR | open_flags::O_CREAT, 0o644).map_err(e("open long"))?;
    long.write_all(&pattern).map_err(e("write long"))?;
    long.seek(0, whence::SET).map_err(e("lseek long"))?;
    let mut back = vec![0u8; 4096];
    let n = long.read(&mut back).map_err(e("read long"))?;
    let differs = back[..n].iter().zip(&pattern).position(|(a, b)| a != b);
    ensure!(n == pattern.len() && differs.is_none(), "a long write read back {n} bytes, first wrong at {differs:?}");
    drop(long);
    fs::unlink("/test/long").map_err(e("unlink long"))?;
    // Sizes a client chooses (an audit crashed ramfs with each of these).
    let sized = fs::open("/test/a", open_flags::O_RDWR, 0).map_err(e("open"))?;
    ensure!(sized.truncate(1 << 40) == Err(Errno::EFBIG), "a 1 TiB truncate");
    sized.seek(1 << 40, whence::SET).map_err(e("lseek"))?;
    ensure!(sized.write(b"x") == Err(Errno::EFBIG), "a write 1 TiB in");
    sized.seek(1, whence::SET).map_err(e("lseek"))?;
    let huge_read = userlib::msg::Header { size: u64::MAX, ..userlib::msg::Header::new(userlib::msg::io_type::READ) };
    ensure!(proc::request_on(sized.fd(), &huge_read, &[], &mut buffer) == Ok(4), "a read of u64::MAX bytes");
    ensure!(again.truncate(0) == Err(Errno::EBADF), "a read-only open truncated");
    ensure!(sized.stat().map_err(e("stat"))?.size == 5, "the file changed");
    drop(sized);
    // All files' bytes take at most 32 MiB of memory, counted in the heap's power-of-two
    // blocks (/test/a's 5 bytes take 8); what a file gives back — shrinking, O_TRUNC,
    // its last close after unlink — can be used again.
    let rw = open_flags::O_RDWR | open_flags::O_CREAT;
    let mib = |n: u64| n << 20;
    let big1 = fs::open("/test/big1", rw, 0).map_err(e("big1"))?;
    let big2 = fs::open("/test/big2", rw, 0).map_err(e("big2"))?;
    let small = fs::open("/test/small", rw, 0).map_err(e("small"))?;
    big1.truncate(mib(16)).map_err(e("a 16 MiB file"))?;
    ensure!(big2.truncate(mib(16)) == Err(Errno::ENOSPC), "32 MiB and 8 bytes in all");
    big2.truncate(mib(8)).map_err(e("an 8 MiB file"))?;
    ensure!(small.truncate(mib(8)) == Err(Errno::ENOSPC), "another 8 MiB");
    ensure!(small.truncate(mib(4) + 1) == Err(Errno::ENOSPC), "4 MiB and a byte take 8 MiB");
    small.truncate(mib(4)).map_err(e("a 4 MiB file"))?;
    small.seek(0, whence::END).map_err(e("lseek"))?;
    ensure!(small.write(b"x") == Err(Errno::ENOSPC), "a write one byte past 4 MiB");
    big1.truncate(100).map_err(e("shrinking"))?;
    big2.truncate(mib(16)).map_err(e("16 MiB once another file shrank"))?;
    ensure!(big1.truncate(mib(16)) == Err(Errno::ENOSPC), "the shrunk file grows back past the total");
    drop(fs::open("/test/big2", open_flags::O_RDWR | open_flags::O_TRUNC, 0).map_err(e("O_TRUNC"))?);
    big1.truncate(mib(16)).map_err(e("16 MiB once O_TRUNC gave memory back"))?;
    fs::unlink("/test/big1").map_err(e("unlink big1"))?;
    ensure!(big2.truncate(mib(16)) == Err(Errno::ENOSPC), "an unlinked open file gave its memory back");
    drop(big1);
    big2.truncate(mib(16)).map_err(e("16 MiB once the unlinked file closed"))?;
    drop((big2, small));
    for name in ["/test/big2", "/test/small"] {
        fs::unlink(name).map_err(e("unlink"))?;
    }
    // At most 1,024 files.
    let (made, stopped) = make_until_refused(1100, |i| fs::open(&format!("/test/f{i}"), rw, 0).map(drop));
    // Listed whole (several reads' worth: the listing used to end at the first).
    let listed = fs::read_dir("/test").map_err(e("read_dir of 1,024 files"))?;
    ensure!(listed.len() == made.len() + 1, "ls /test listed {} of {} files", listed.len(), made.len() + 1);
    ensure!(fs::open("/test", open_flags::O_WRONLY, 0).err() == Some(Errno::EISDIR), "a directory opened for writing");
    let unlinked = (0..made.len()).filter(|i| fs::unlink(&format!("/test/f{i}")).is_ok()).count();
    ensure!(made.len() > 1000 && stopped == Some(Errno::ENOSPC), "files: {}, then {stopped:?}", made.len());
    ensure!(unlinked == made.len(), "unlinked {unlinked} of {} files", made.len());
    ensure!(fs::open("/test/missing", open_flags::O_RDONLY, 0).err() == Some(Errno::ENOENT), "missing file");
    ensure!(fs::open("/nowhere/x", open_flags::O_RDONLY, 0).err() == Some(Errno::ENOENT), "no server");
    let listing = fs::read_dir("/test").map_err(e("read_dir"))?;
    ensure!(listing == ["a"], "ls /test: {listing:?}");
    // Paths as POSIX resolves them, from `/` (the working directory, always).
    fs::open("test/./a", open_flags::O_RDONLY, 0).map_err(e("a relative path"))?;
    fs::open("//test/../test/a", open_flags::O_RDONLY, 0).map_err(e("a path with // and .."))?;
    ensure!(fs::read_dir("dev/..").map_err(e("read_dir dev/.."))?.contains(&"test".into()), "ls dev/..");
    ensure!(fs::open("", open_flags::O_RDONLY, 0).err() == Some(Errno::ENOENT), "an empty path");
    let root = fs::read_dir("/").map_err(e("read_dir /"))?;
    ensure!(root.iter().any(|n| n == "test") && root.iter().any(|n| n == "dev"), "ls /: {root:?}");
    // A directory of the pathname space is there even when empty (no global name is
    // attached now: the one of an earlier test went with its channel).
    fs::read_dir("/dev/name/global").map_err(e("read_dir /dev/name/global"))?;
    let dev = fs::read_dir("/dev").map_err(e("read_dir /dev"))?;
    ensure!(dev.iter().any(|n| n == "shmem") && dev.iter().any(|n| n == "name"), "ls /dev: {dev:?}");
    fs::unlink("/test/a").map_err(e("unlink"))?;
    ensure!(fs::read_dir("/test").map_err(e("read_dir"))?.is_empty(), "unlinked file listed");
    // A file unlinked while open lives on for that open; a new file of its name is
    // another (opens used to follow the name into the new file).
    let rw = open_flags::O_RDWR | open_flags::O_CREAT;
    let old = fs::open("/test/b", rw, 0o644).map_err(e("open b"))?;
    old.write_all(b"old").map_err(e("write old"))?;
    fs::unlink("/test/b").map_err(e("unlink b"))?;
    let new = fs::open("/test/b", rw, 0o644).map_err(e("re-create b"))?;
    new.write_all(b"new!").map_err(e("write new"))?;
    old.seek(0, whence::SET).map_err(e("lseek old"))?;
    let n = old.read(&mut buffer).map_err(e("read old"))?;
    ensure!(&buffer[..n] == b"old", "the unlinked file read {:?}", &buffer[..n]);
    ensure!(new.stat().map_err(e("stat new"))?.size == 4, "the new file changed");
    drop((old, new));
    fs::unlink("/test/b").map_err(e("unlink b again"))?;
    drop(again);
    // When the server dies its prefix goes.
    proc::kill(server, 0).map_err(e("kill"))?;
    process::wait(server).map_err(e("wait"))?;
    let gone = eventually(|| match proc::resolve("/test/a") {
        Ok(_) => Err(Errno::ENOENT),
        Err(Errno::ENOENT) => Ok(()),
        Err(other) => Err(other),
    });
    ensure!(gone.is_ok(), "the dead server's prefix stayed");
    Ok(())
}

/// Serves `rounds` `R<round>` messages, checking the shared page holds that round's pattern.
fn image_rounds(server: &proc::NameAttach, object: &str, rounds: u64) -> Outcome {
    let mut buffer = [0u8; 32];
    let mut mapped: Option<usize> = None;
    let mut expected = 0;
    while expected < rounds {
        let mut info = MsgInfo::default();
        let message = match server.channel().receive_with_info(&mut buffer, &mut info) {
            Ok(Received::Message(m)) => m,
            Ok(Received::Pulse(p)) => {
                // The previous run's client left: free its server connection.
                if p.code == userlib::ipc::pulse_code::DISCONNECT {
                    let _ = userlib::ipc::detach_client(p.scoid);
                }
                continue;
            }
            Err(e) => return Err(format!("receive: {e}")),
        };
        let round = u64::from_le_bytes(buffer[1..9].try_into().expect("8 bytes"));
        ensure!(buffer[0] == b'R' && round == expected, "message {:?}", &buffer[..9]);
        let at = match mapped {
            Some(at) => at,
            None => {
                let file = shm::shm_open(object, open_flags::O_RDONLY, 0).map_err(|e| format!("shm_open: {e}"))?;
                let at = shm::mmap(4096, shm::PROT_READ, shm::MAP_SHARED, Some(&file), 0)
                    .map_err(|e| format!("mmap: {e}"))?;
                ensure!(
                    shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0)
                        == Err(Errno::EACCES),
                    "a read-only open mapped writable"
                );
                // SAFETY: the page is mapped read-only at `at`, and stays mapped.
                let widened = unsafe { shm::mprotect(at, 4096, shm::PROT_READ | shm::PROT_WRITE) };
                ensure!(widened == Err(Errno::EACCES), "a read-only mapping was made writable: {widened:?}");
                mapped = Some(at);
                at
            }
        };
        // SAFETY: one page is mapped readable at `at`; the client is blocked in its send.
        let image = unsafe { core::slice::from_raw_parts(at as *const u8, 4096) };
        let good = image.iter().enumerate().all(|(i, b)| *b == (round as usize * 7 + i) as u8);
        ensure!(good, "round {round}: the shared page does not hold the client's image");
        message.reply(0, &[]).map_err(|e| format!("reply: {e}"))?;
        expected += 1;
    }
    if let Some(at) = mapped {
        // SAFETY: no reference into the mapping remains.
        unsafe { shm::munmap(at, 4096) }.map_err(|e| format!("munmap: {e}"))?;
    }
    Ok(())
}

pub fn shared_memory_image_synchronised_by_msgsend() -> Outcome {
    let server = proc::name_attach("image-server", 0).map_err(|e| format!("name_attach: {e}"))?;
    // Twice: the second run must return every frame the first one's set-up left (heaps).
    let mut free_after = Vec::new();
    for run in 0..2 {
        let object = format!("/picture{run}");
        let before = free_bytes();
        let client = peer(&["shm-client", &object, "image-server", "5"])?;
        image_rounds(&server, &object, 5)?;
        ensure!(exited(client)? == 0, "the client failed");
        shm::shm_unlink(&object).map_err(|e| format!("shm_unlink: {e}"))?;
        free_after.push((before, free_bytes()));
    }
    let (before, after) = free_after[1];
    ensure!(after == before, "{} bytes not returned after the object's users ended", before as i64 - after as i64);
    Ok(())
}

/// Private mappings per process: together, two processes' copies pass the kernel's 4,095
/// memory objects, which they must not hold (one each, as proc once made them, left no
/// room for anyone to start a program).
const PRIVATE_COPIES: usize = 2100;

pub fn private_copies_hold_no_kernel_object() -> Outcome {
    let e = |what: &'static str| move |err: Errno| format!("{what}: {err}");
    let before = free_bytes();
    let file = shm::shm_open("/to-copy", open_flags::O_RDWR | open_flags::O_CREAT, 0).map_err(e("shm_open"))?;
    file.truncate(4096).map_err(e("ftruncate"))?;
    file.write(b"original").map_err(e("write"))?;
    let mut copies = Vec::with_capacity(PRIVATE_COPIES);
    let mut outcome = Ok(());
    for i in 0..PRIVATE_COPIES {
        match shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_PRIVATE, Some(&file), 0) {
            Ok(at) => copies.push(at),
            Err(err) => {
                outcome = Err(format!("private copy {i}: {err}"));
                break;
            }
        }
    }
    // SAFETY: each copy is one page, mapped read-write until the munmaps below.
    let first = copies.first().map(|&at| unsafe { core::slice::from_raw_parts(at as *const u8, 8) }.to_vec());
    if outcome.is_ok() && first.as_deref() != Some(&b"original"[..]) {
        outcome = Err(format!("a copy holds {first:?}"));
    }
    if outcome.is_ok() {
        // Another process makes as many while these stay mapped, then a program starts.
        outcome = peer(&["shm-private", "/to-copy", &format!("{PRIVATE_COPIES}")]).and_then(|pid| {
            let status = exited(pid)?;
            ensure!(status == 0, "the other process's copies failed: {}", Errno(status as _));
            Ok(())
        });
    }
    for at in copies {
        // SAFETY: nothing refers into the copy any more.
        unsafe { shm::munmap(at, 4096) }.map_err(e("munmap"))?;
    }
    shm::shm_unlink("/to-copy").map_err(e("unlink"))?;
    drop(file);
    outcome?;
    let after = free_bytes();
    ensure!(after + 64 * 1024 >= before, "{} bytes lost", before as i64 - after as i64);
    Ok(())
}

pub fn shared_memory_unlink_while_mapped() -> Outcome {
    let e = |what: &'static str| move |err: Errno| format!("{what}: {err}");
    let before = free_bytes();
    for _ in 0..2 {
        let file = shm::shm_open("/transient", open_flags::O_RDWR | open_flags::O_CREAT | open_flags::O_EXCL, 0o600)
            .map_err(e("shm_open"))?;
        ensure!(
            shm::shm_open("/transient", open_flags::O_RDWR | open_flags::O_CREAT | open_flags::O_EXCL, 0).err()
                == Some(Errno::EEXIST),
            "O_EXCL"
        );
        file.truncate(3 * 4096 - 100).map_err(e("ftruncate"))?;
        ensure!(file.stat().map_err(e("stat"))?.size == 3 * 4096 - 100, "size");
        let at = shm::mmap(3 * 4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0)
            .map_err(e("mmap"))?;
        let listed = fs::read_dir("/dev/shmem").map_err(e("ls"))?;
        ensure!(listed.iter().any(|n| n == "transient"), "ls /dev/shmem: {listed:?}");
        shm::shm_unlink("/transient").map_err(e("shm_unlink"))?;
        ensure!(shm::shm_open("/transient", open_flags::O_RDWR, 0).err() == Some(Errno::ENOENT), "name kept");
        drop(file);
        // SAFETY: three pages are mapped read-write at `at` until the munmap below.
        unsafe {
            let p = at as *mut u8;
            ensure!(p.add(2 * 4096 + 5).read_volatile() == 0, "new memory is not zero");
            p.add(2 * 4096 + 5).write_volatile(0xAB);
            ensure!(p.add(2 * 4096 + 5).read_volatile() == 0xAB, "the unlinked, closed object lost a write");
            shm::munmap(at, 3 * 4096).map_err(e("munmap"))?;
        }
        // A private mapping is a copy: writing it changes nothing for anyone else.
        let file = shm::shm_open("/transient", open_flags::O_RDWR | open_flags::O_CREAT, 0).map_err(e("reopen"))?;
        file.truncate(4096).map_err(e("ftruncate"))?;
        let shared = shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0)
            .map_err(e("mmap shared"))?;
        let private = shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_PRIVATE, Some(&file), 0)
            .map_err(e("mmap private"))?;
        // SAFETY: one page each at `shared` and `private`, unmapped below.
        unsafe {
            (private as *mut u8).write_volatile(9);
            ensure!((shared as *const u8).read_volatile() == 0, "a private write reached the object");
            shm::munmap(shared, 4096).map_err(e("munmap"))?;
            shm::munmap(private, 4096).map_err(e("munmap"))?;
        }
        shm::shm_unlink("/transient").map_err(e("unlink"))?;
    }
    let after = free_bytes();
    ensure!(after + 64 * 1024 >= before, "{} bytes lost", before as i64 - after as i64);
    Ok(())
}

/// One process cannot take every shared-memory object: it may have created 256 that
/// still exist, named and anonymous alike (`ENOSPC` beyond), and others still create
/// theirs. (A review found one process making proc's 1,024 named objects, which outlive
/// it, and everyone else getting `ENFILE` until they were unlinked.)
pub fn one_process_cannot_take_every_shared_memory_object() -> Outcome {
    let create = open_flags::O_RDWR | open_flags::O_CREAT | open_flags::O_EXCL;
    let (names, stopped) = make_until_refused(1100, |i| {
        let name = format!("/hog-{i}");
        shm::shm_open(&name, create, 0).map(|_| name)
    });
    // (What a failure leaves behind is removed first: named objects outlive this test.)
    let mut outcome = Ok(());
    if names.len() < 200 || names.len() > 256 || stopped != Some(Errno::ENOSPC) {
        outcome = Err(format!("created {} named objects, then {stopped:?}", names.len()));
    } else if let Some(other) =
        Some(shm::shm_open_anon(open_flags::O_RDWR).map(drop)).filter(|r| *r != Err(Errno::ENOSPC))
    {
        outcome = Err(format!("an anonymous object past the bound: {other:?}"));
    } else {
        match peer(&["shm-create", "/not-hogged"]).and_then(exited) {
            Ok(0) => {}
            Ok(errno) => outcome = Err(format!("another process could not create one: errno {errno}")),
            Err(err) => outcome = Err(err),
        }
        let _ = shm::shm_unlink("/not-hogged");
    }
    // A name unlinked (and closed by all) no longer counts against its creator.
    if let (Ok(()), Some(first)) = (&outcome, names.first()) {
        let unlinked = shm::shm_unlink(first);
        let made = shm::shm_open_anon(open_flags::O_RDWR);
        if unlinked.is_err() || made.is_err() {
            outcome = Err(format!("after unlinking one: {unlinked:?}, then {:?}", made.err()));
        }
    }
    for name in &names {
        let _ = shm::shm_unlink(name); // (the first may be gone already)
    }
    outcome
}

/// A `READ` of `/dev/shmem` gives what the reader's buffer holds, whatever its header
/// claims: proc filled the header's `size`, the kernel cut the answer to the buffer, and
/// the entries cut off were skipped for good.
pub fn reading_dev_shmem_with_less_room_than_claimed_skips_nothing() -> Outcome {
    let e = |what: &'static str| move |err: Errno| format!("{what}: {err}");
    let create = open_flags::O_RDWR | open_flags::O_CREAT;
    let names: Vec<String> = (0..10).map(|i| format!("listed-{i}")).collect();
    let files = names.iter().map(|n| shm::shm_open(&format!("/{n}"), create, 0)).collect::<Result<Vec<_>, _>>();
    let listed = files.map_err(e("shm_open")).and_then(|_files| {
        let dir = fs::open("/dev/shmem", open_flags::O_RDONLY, 0).map_err(e("open /dev/shmem"))?;
        let claim = Header { size: 4096, ..Header::new(userlib::msg::io_type::READ) };
        let (mut listed, mut buffer) = (Vec::new(), [0u8; 40]);
        for _ in 0..1000 {
            let n = proc::request_on(dir.fd(), &claim, &[], &mut buffer).map_err(e("read"))? as usize;
            if n == 0 {
                return Ok(listed);
            }
            let entries = buffer[..n.min(buffer.len())].split(|b| *b == 0).filter(|n| !n.is_empty());
            listed.extend(entries.map(|n| String::from_utf8_lossy(n).into_owned()));
        }
        Err(String::from("the listing never ended"))
    });
    for name in &names {
        let _ = shm::shm_unlink(&format!("/{name}"));
    }
    let listed = listed?;
    let missing: Vec<&String> = names.iter().filter(|n| !listed.contains(n)).collect();
    ensure!(missing.is_empty(), "reads of 40 bytes claiming 4,096 skipped {missing:?}: gave {listed:?}");
    Ok(())
}

/// A shared-memory object read and written like a file, as procnto allows (`echo x >
/// /dev/shmem/note` made an object nothing could write: `ENOSYS`).
pub fn shared_memory_read_and_written_like_a_file() -> Outcome {
    let e = |what: &'static str| move |err: Errno| format!("{what}: {err}");
    let (rw, create) = (open_flags::O_RDWR, open_flags::O_CREAT | open_flags::O_EXCL);
    let file = shm::shm_open("/as-file", rw | create, 0o600).map_err(e("shm_open"))?;
    ensure!(file.write(b"hello") == Ok(5), "write");
    ensure!(file.stat().map_err(e("stat"))?.size == 5, "the write did not size the object");
    // A mapping sees what was written, and a read what is stored through the mapping.
    let at = shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0).map_err(e("mmap"))?;
    // SAFETY: one page is mapped read-write at `at` until the munmap below.
    unsafe {
        let p = at as *mut u8;
        ensure!(core::slice::from_raw_parts(p, 5) == b"hello", "the mapping does not show the write");
        p.add(1).write_volatile(b'E');
        shm::munmap(at, 4096).map_err(e("munmap"))?;
    }
    let mut buffer = [0u8; 16];
    file.seek(0, whence::SET).map_err(e("seek"))?;
    let n = file.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"hEllo", "read {:?}", &buffer[..n]);
    ensure!(file.read(&mut buffer) == Ok(0), "no end at the object's size");
    // Past the end it grows, zero-filled between; O_APPEND writes at the end.
    file.seek(8000, whence::SET).map_err(e("seek"))?;
    ensure!(file.write(b"end") == Ok(3), "a write past the end");
    let appender = shm::shm_open("/as-file", open_flags::O_WRONLY | open_flags::O_APPEND, 0).map_err(e("reopen"))?;
    ensure!(appender.write(b"!") == Ok(1), "an appending write");
    ensure!(file.stat().map_err(e("stat"))?.size == 8004, "size after growing");
    // Not past the largest object (1 GiB), as a write past the largest file.
    file.seek((1 << 30) - 2, whence::SET).map_err(e("seek"))?;
    ensure!(file.write(b"far") == Err(Errno::EFBIG), "a write past 1 GiB");
    ensure!(file.stat().map_err(e("stat"))?.size == 8004, "a refused write sized the object");
    file.seek(4998, whence::SET).map_err(e("seek"))?;
    let n = file.read(&mut buffer).map_err(e("read"))?;
    ensure!(buffer[..n] == [0u8; 16], "the gap is not zero: {:?}", &buffer[..n]);
    file.seek(-4, whence::END).map_err(e("seek"))?;
    let n = file.read(&mut buffer).map_err(e("read"))?;
    ensure!(&buffer[..n] == b"end!", "the end read {:?}", &buffer[..n]);
    // Each open keeps its access.
    let reader = shm::shm_open("/as-file", open_flags::O_RDONLY, 0).map_err(e("open read-only"))?;
    ensure!(reader.write(b"x") == Err(Errno::EBADF), "wrote through a read-only open");
    ensure!(appender.read(&mut buffer) == Err(Errno::EBADF), "read through a write-only open");
    // Shrunk within a page and grown again, the object reads zeros past the cut (the
    // kernel keeps whole pages; what was written there came back).
    file.truncate(4097).map_err(e("shrink"))?;
    file.truncate(8192).map_err(e("grow"))?;
    file.seek(7996, whence::SET).map_err(e("seek"))?;
    let n = file.read(&mut buffer).map_err(e("read"))?;
    ensure!(n == 16 && buffer == [0u8; 16], "\"end!\" (at 8000) came back: {:?}", &buffer[..n]);
    file.seek(4, whence::SET).map_err(e("seek"))?;
    ensure!(file.read(&mut buffer[..1]) == Ok(1) && buffer[0] == b'o', "before the cut");
    // What a mapping wrote past the end, in the last page, reads as zeros once the
    // object grows over it, by ftruncate or by a write (a review: it came back).
    file.truncate(100).map_err(e("shrink"))?;
    let at = shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0).map_err(e("mmap"))?;
    // SAFETY: one page is mapped read-write at `at` until the munmap below.
    unsafe {
        (at as *mut u8).add(200).write_volatile(0xAA);
        (at as *mut u8).add(3000).write_volatile(0xBB);
        shm::munmap(at, 4096).map_err(e("munmap"))?;
    }
    file.truncate(1000).map_err(e("grow"))?;
    file.seek(200, whence::SET).map_err(e("seek"))?;
    ensure!(file.read(&mut buffer[..1]) == Ok(1) && buffer[0] == 0, "past the end came back: {:#x}", buffer[0]);
    file.seek(5000, whence::SET).map_err(e("seek"))?;
    ensure!(file.write(b"z") == Ok(1), "a write past the end");
    file.seek(3000, whence::SET).map_err(e("seek"))?;
    ensure!(file.read(&mut buffer[..1]) == Ok(1) && buffer[0] == 0, "a write brought back {:#x}", buffer[0]);
    // A mapping past the object's pages is refused before proc makes anything (a private
    // copy of a gigabyte was made first).
    let private = shm::mmap(1 << 30, shm::PROT_READ, shm::MAP_PRIVATE, Some(&file), 0).err();
    ensure!(private == Some(Errno::ENXIO), "a private mapping past the end: {private:?}");
    let shared = shm::mmap(3 * 4096, shm::PROT_READ, shm::MAP_SHARED, Some(&file), 0).err();
    ensure!(shared == Some(Errno::ENXIO), "a shared mapping past the end: {shared:?}");
    shm::shm_unlink("/as-file").map_err(e("unlink"))?;
    // proc's own places are its own: nobody may attach beneath them.
    let channel = userlib::ipc::Channel::create(0).map_err(e("channel"))?;
    for path in ["/dev/shmem/as-file", "/dev/shmem", "/dev/null"] {
        let attached = proc::path_attach(path, channel.chid(), 0).err();
        ensure!(attached == Some(Errno::EBUSY), "attaching {path}: {attached:?}");
    }
    let directory = fs::open("/dev/shmem", open_flags::O_RDWR, 0).err();
    ensure!(directory == Some(Errno::EISDIR), "/dev/shmem opened for writing: {directory:?}");
    // Made or written, a directory is EISDIR, as POSIX's open says (a review:
    // `echo x > /dev/shmem` made an anonymous object, freed at the close, and succeeded;
    // SHM_ANON is asked for by name, `msg::SHM_ANON`). /proc/boot is read-only: what is
    // there opens to read, O_CREAT or not; O_TRUNC, or making a program, is EROFS.
    let (of, wronly) = (open_flags::O_CREAT | open_flags::O_TRUNC, open_flags::O_WRONLY);
    let exclusive = open_flags::O_CREAT | open_flags::O_EXCL;
    let opened = |path: &str, flags: u32| fs::open(path, flags, 0o644).map(drop);
    for (path, flags, want) in [
        ("/dev/shmem", wronly | of, Err(Errno::EISDIR)),
        ("/dev/shmem", open_flags::O_RDWR | open_flags::O_CREAT, Err(Errno::EISDIR)),
        ("/dev/shmem", open_flags::O_RDONLY | exclusive, Err(Errno::EEXIST)),
        ("/proc/boot/proc-peer", open_flags::O_RDONLY | open_flags::O_CREAT, Ok(())),
        ("/proc/boot/proc-peer", open_flags::O_RDONLY | exclusive, Err(Errno::EEXIST)),
        ("/proc/boot/proc-peer", open_flags::O_RDONLY | open_flags::O_TRUNC, Err(Errno::EROFS)),
        ("/proc/boot/proc-peer", wronly, Err(Errno::EROFS)),
        ("/proc/boot/made", wronly | of, Err(Errno::EROFS)),
        ("/proc/boot/made", open_flags::O_RDONLY, Err(Errno::ENOENT)),
        ("/proc/boot", wronly | of, Err(Errno::EISDIR)),
    ] {
        let got = opened(path, flags);
        ensure!(got == want, "open {path} with {flags:#x}: {got:?}, want {want:?}");
    }
    let anonymous = shm::shm_open_anon(open_flags::O_RDWR).map_err(e("SHM_ANON"))?;
    ensure!(anonymous.write(b"x") == Ok(1), "an anonymous object");
    let null = fs::open("/dev/null", open_flags::O_WRONLY | open_flags::O_CREAT | open_flags::O_EXCL, 0).err();
    ensure!(null == Some(Errno::EEXIST), "/dev/null made exclusively: {null:?}");
    // A spawn request too long for proc is refused whole, not cut short (its
    // environment's end, with PWD, went missing).
    let long = alloc::string::String::from_utf8(vec![b'x'; 70_000]).map_err(|_| String::from("utf-8"))?;
    ensure!(process::spawn("hello", &[long.as_str()], None).err() == Some(Errno::E2BIG), "a long spawn (userlib)");
    let coid = proc::connection().map_err(e("proc"))?;
    let header = Header { size: 0, ..Header::new(proc_type::SPAWN) };
    let mut payload = Vec::from(&b"hello\0"[..]);
    payload.resize(70_000, b'x');
    let raw = proc::request_on(coid, &header, &payload, &mut []).err();
    ensure!(raw == Some(Errno::E2BIG), "a long spawn (proc): {raw:?}");
    Ok(())
}

pub fn anonymous_shared_memory_handle_for_one_process() -> Outcome {
    let e = |what: &'static str| move |err: Errno| format!("{what}: {err}");
    let server = proc::name_attach("handle-server", 0).map_err(e("name_attach"))?;
    let file = shm::shm_open_anon(open_flags::O_RDWR).map_err(e("SHM_ANON"))?;
    file.truncate(4096).map_err(e("ftruncate"))?;
    let at = shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0).map_err(e("mmap"))?;
    // SAFETY: one page is mapped read-write at `at` for the rest of the test.
    unsafe { (at as *mut u32).write_volatile(0x5EED) };
    let granted = peer(&["shm-handle", "handle-server"])?;
    let refused = peer(&["shm-handle", "handle-server"])?;
    let mut buffer = [0u8; 32];
    for _ in 0..2 {
        let mut info = MsgInfo::default();
        let Ok(Received::Message(m)) = server.channel().receive_with_info(&mut buffer, &mut info) else {
            return Err(String::from("no handle request"));
        };
        // Every handle is made for `granted`: the other peer must be refused.
        let handle = shm::shm_create_handle(&file, granted, open_flags::O_RDWR).map_err(e("shm_create_handle"))?;
        let _ = info.pid;
        m.reply(0, &handle.to_le_bytes()).map_err(e("reply"))?;
    }
    ensure!(exited(granted)? == 0, "the granted process could not use its handle");
    ensure!(exited(refused)? == Errno::EACCES.0, "a handle made for another process was accepted");
    // SAFETY: as above.
    let written = unsafe { (at as *const u32).add(1).read_volatile() };
    ensure!(written == 0xD0E, "the granted process's write is not visible ({written:#x})");
    // SAFETY: no reference into the mapping remains.
    unsafe { shm::munmap(at, 4096) }.map_err(e("munmap"))?;
    Ok(())
}

pub fn pidin_and_child_death_events() -> Outcome {
    use userlib::abi::info::ThreadStateCode;
    let threads = proc::pidin().map_err(|e| format!("pidin: {e}"))?;
    let me = process::id();
    // proc answered this very query: it is running it, at the receive-inherited priority.
    let proc_thread = threads.iter().find(|t| t.pid == 1).ok_or("proc is not listed")?;
    ensure!(proc_thread.state == ThreadStateCode::Running as u8, "proc's state {}", proc_thread.state);
    let mine = threads.iter().find(|t| t.pid == me).ok_or("the caller is not listed")?;
    ensure!(mine.state == ThreadStateCode::Reply as u8 && mine.blocked_on_pid == 1, "caller not REPLY-blocked on proc");
    // A child's end arrives as the registered pulse, with its pid.
    let channel = userlib::ipc::Channel::create(0).map_err(|e| format!("channel: {e}"))?;
    let me_conn = userlib::ipc::Connection::attach(0, channel.chid()).map_err(|e| format!("attach: {e}"))?;
    userlib::sys::process_child_event(Some(&me_conn.pulse_event(40, 7, 0))).map_err(|e| format!("event: {e}"))?;
    let child = process::spawn("systest-child", &["exit", "4"], Some(10)).map_err(|e| format!("spawn: {e}"))?;
    let pulse = channel.receive_pulse().map_err(|e| format!("receive: {e}"));
    userlib::sys::process_child_event(None).map_err(|e| format!("event off: {e}"))?;
    let pulse = pulse?;
    ensure!(pulse.code == 7 && pulse.value == child as u64, "pulse {} {}", pulse.code, pulse.value);
    ensure!(exited(child)? == 4, "exit status");
    Ok(())
}

/// Makes things with `make(i)` (i = 0, 1, …) until it fails, at most `limit` times;
/// what it made and the error it stopped at.
fn make_until_refused<T>(limit: usize, mut make: impl FnMut(usize) -> Result<T, Errno>) -> (Vec<T>, Option<Errno>) {
    let mut made = Vec::new();
    for i in 0..limit {
        match make(i) {
            Ok(thing) => made.push(thing),
            Err(err) => return (made, Some(err)),
        }
    }
    (made, None)
}

/// proc bounds what one client registers — prefixes, names, unused shared-memory
/// handles — with errors instead of growing until it runs out of memory (which would end
/// the whole system), and what is given back can be registered again.
pub fn proc_bounds_what_a_client_registers() -> Outcome {
    let e = |what: &'static str| move |err: Errno| format!("{what}: {err}");
    let channel = userlib::ipc::Channel::create(0).map_err(e("channel"))?;
    let chid = channel.chid();
    // Prefixes: 2,048 per client.
    let (attached, stopped) = make_until_refused(2100, |i| proc::path_attach(&format!("/tmp/bound/{i}"), chid, 0));
    ensure!(attached.len() > 2000 && stopped == Some(Errno::EMFILE), "prefixes: {}, then {stopped:?}", attached.len());
    drop(attached);
    let again = proc::path_attach("/tmp/bound/again", chid, 0).map_err(e("a prefix after detaching"))?;
    drop(again);
    // Names: 256 per client (raw requests: userlib's name_attach makes a channel each).
    let name_request = |kind: u16, i: usize| {
        let header = Header { arg: chid, ..Header::new(kind) };
        proc::request(&header, format!("bound-{i}").as_bytes(), &mut [])
    };
    let (names, stopped) = make_until_refused(300, |i| name_request(proc_type::NAME_ATTACH, i));
    ensure!(names.len() > 200 && stopped == Some(Errno::EMFILE), "names: {}, then {stopped:?}", names.len());
    let detached = (0..names.len()).filter(|&i| name_request(proc_type::NAME_DETACH, i).is_ok()).count();
    ensure!(detached == names.len(), "detached {detached} of {} names", names.len());
    // Unused shared-memory handles: 256 per client (made for this process, then spent),
    // and those of a client that goes go with it, with the objects only they held.
    let file = shm::shm_open_anon(open_flags::O_RDWR).map_err(e("SHM_ANON"))?;
    let me = process::id();
    let (handles, stopped) = make_until_refused(300, |_| shm::shm_create_handle(&file, me, open_flags::O_RDONLY));
    ensure!(handles.len() > 200 && stopped == Some(Errno::EMFILE), "handles: {}, then {stopped:?}", handles.len());
    let spent = handles.iter().filter(|&&h| shm::shm_open_handle(h, open_flags::O_RDONLY).is_ok()).count();
    ensure!(spent == handles.len(), "opened {spent} of {} handles", handles.len());
    let before = free_bytes();
    let leaver = peer(&["shm-leave-handle"])?;
    ensure!(exited(leaver)? == 0, "the peer could not make its handle");
    let mut after = free_bytes();
    for _ in 0..1000 {
        if after + 64 * 1024 >= before {
            break;
        }
        time::sleep_ns(1_000_000);
        after = free_bytes();
    }
    ensure!(after + 64 * 1024 >= before, "an unused handle kept {} bytes after its maker ended", before - after);
    shm::shm_create_handle(&file, me, open_flags::O_RDONLY).map_err(e("a handle once the others are spent"))?;
    Ok(())
}
