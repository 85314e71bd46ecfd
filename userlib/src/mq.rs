//! POSIX message queues, served by the `mqueue` server: `mq_open` opens
//! `/dev/mqueue/<name>` through the pathname space, and the other calls are I/O messages
//! on that descriptor (see `docs/protocols.md`).

use crate::fs::{self, File};
use crate::ipc::SigEvent;
use crate::msg::{io_type, mq_devctl, open_flags, Header, MqAttr, MQ_DEADLINE_PASSED};
use crate::{ipc, time, Errno};

pub use crate::msg::MqAttr as Attr;

/// An open message queue (`mqd_t`), closed when dropped (`mq_close`).
#[derive(Debug)]
pub struct MessageQueue {
    file: File,
    /// The event [`MessageQueue::notify`] registered last, withdrawn when another
    /// replaces it or the queue closes: a process holds at most 256 registrations, and
    /// a notification is asked for again after each one (POSIX's `mq_notify` is one-shot).
    notification: crate::sync::Mutex<Option<SigEvent>>,
}

use crate::msg::mqueue_path as queue_path;

/// Opens queue `name` (it must start with `/`; more slashes are allowed) with open
/// `flags` (`O_RDONLY`/`O_WRONLY`/`O_RDWR`, `O_CREAT`, `O_EXCL`, `O_NONBLOCK`); a new
/// queue gets `attr`'s `maxmsg` and `msgsize` (`None`: the server's defaults; `EINVAL`
/// for 0 or beyond the server's limits), which opening one that exists ignores.
pub fn mq_open(name: &str, flags: u32, mode: u32, attr: Option<(usize, usize)>) -> Result<MessageQueue, Errno> {
    // (The server judges the attributes, only if it makes the queue.)
    let size = crate::msg::mq_size_of_attr(attr);
    fs::open_with(&queue_path(name)?, flags, mode, size)
        .map(|(file, _)| MessageQueue { file, notification: crate::sync::Mutex::new(None) })
}

/// Removes queue `name`: it can no longer be opened, and goes once every descriptor is closed.
pub fn mq_unlink(name: &str) -> Result<(), Errno> {
    fs::unlink(&queue_path(name)?)
}

/// Runs `call` (given the request's `subtype`) bounded by the absolute `deadline` (ns
/// since boot): `ETIMEDOUT` if it passes while the call waits. A deadline already past
/// fails only a call that would wait (the server says so, told by
/// [`MQ_DEADLINE_PASSED`]): POSIX's timed calls never time out while they can finish at
/// once.
fn before_deadline<T>(deadline: u64, call: impl FnOnce(u16) -> Result<T, Errno>) -> Result<T, Errno> {
    let now = time::now_ns();
    if deadline <= now {
        return call(MQ_DEADLINE_PASSED);
    }
    use crate::ipc::timeout_states::{REPLY, SEND};
    ipc::timeout(SEND | REPLY, deadline - now)?;
    // The server answers a client that unblocks with EINTR: the timeout's when the
    // deadline has passed, another unblock's (an event) when it has not.
    call(0).map_err(|e| if e == Errno::EINTR && time::now_ns() >= deadline { Errno::ETIMEDOUT } else { e })
}

impl MessageQueue {
    /// Sends `message` at `priority` (0–31); waits while the queue is full (`EAGAIN`
    /// with `O_NONBLOCK`). `EMSGSIZE` if longer than the queue's `msgsize`, `EBADF` if
    /// not open for writing.
    pub fn send(&self, message: &[u8], priority: u32) -> Result<(), Errno> {
        self.send_with(message, priority, 0)
    }

    /// [`MessageQueue::send`] with `subtype` in the request.
    fn send_with(&self, message: &[u8], priority: u32, subtype: u16) -> Result<(), Errno> {
        let header = Header { subtype, arg: priority, size: message.len() as u64, ..Header::new(io_type::WRITE) };
        self.file.request(header, message, &mut []).map(|_| ())
    }

    /// [`MessageQueue::send`], giving up with `ETIMEDOUT` at `deadline` (ns since boot)
    /// if it must wait.
    pub fn timed_send(&self, message: &[u8], priority: u32, deadline: u64) -> Result<(), Errno> {
        before_deadline(deadline, |subtype| self.send_with(message, priority, subtype))
    }

    /// Receives the oldest of the highest-priority messages into `buffer` (at least the
    /// queue's `msgsize`, else `EMSGSIZE`); waits while it is empty. Returns its length and
    /// priority.
    pub fn receive(&self, buffer: &mut [u8]) -> Result<(usize, u32), Errno> {
        self.receive_with(buffer, 0)
    }

    /// [`MessageQueue::receive`] with `subtype` in the request.
    fn receive_with(&self, buffer: &mut [u8], subtype: u16) -> Result<(usize, u32), Errno> {
        let header = Header {
            subtype,
            size: buffer.len() as u64,
            arg: crate::msg::MQ_READ_WITH_PRIORITY,
            ..Header::new(io_type::READ)
        };
        // The status is the length, with the priority above it.
        let status = crate::proc::request_on(self.file.fd(), &header, &[], buffer)?;
        let length = (status & 0xffff_ffff) as usize;
        if length > buffer.len() {
            return Err(Errno::EIO); // (a server's status is not trusted as an index)
        }
        Ok((length, (status >> 32) as u32))
    }

    /// [`MessageQueue::receive`], giving up with `ETIMEDOUT` at `deadline` if it must wait.
    pub fn timed_receive(&self, buffer: &mut [u8], deadline: u64) -> Result<(usize, u32), Errno> {
        before_deadline(deadline, |subtype| self.receive_with(buffer, subtype))
    }

    /// The queue's attributes and this descriptor's flags.
    pub fn attr(&self) -> Result<MqAttr, Errno> {
        let mut answer = [0u8; MqAttr::SIZE];
        self.file.devctl(mq_devctl::GETATTR, &[], &mut answer)?;
        MqAttr::from_bytes(&answer).ok_or(Errno::EIO)
    }

    /// Sets this descriptor's flags (only `O_NONBLOCK` counts); returns the old attributes.
    pub fn set_attr(&self, flags: u32) -> Result<MqAttr, Errno> {
        let mut answer = [0u8; MqAttr::SIZE];
        let flags = (flags & open_flags::O_NONBLOCK) as u64;
        self.file.devctl(mq_devctl::SETATTR, &flags.to_le_bytes(), &mut answer)?;
        MqAttr::from_bytes(&answer).ok_or(Errno::EIO)
    }

    /// Asks to be sent `event` once, when a message arrives in the empty queue and nobody
    /// waits to receive it (`EBUSY` while a registration stands, this process's own too,
    /// as POSIX says: withdraw it with `None` first); `None` withdraws. The event
    /// is registered for the server here (`MsgRegisterEvent`); the registration made for
    /// this queue before is withdrawn once the server has the new one (or none).
    pub fn notify(&self, event: Option<&mut SigEvent>) -> Result<(), Errno> {
        let mut registered = self.notification.lock();
        match event {
            None => self.file.devctl(mq_devctl::NOTIFY, &[], &mut [])?,
            Some(event) => {
                crate::sys::msg_register_event(event, self.file.fd())?;
                if let Err(e) = self.file.devctl(mq_devctl::NOTIFY, &event.to_bytes(), &mut []) {
                    let _ = crate::sys::msg_unregister_event(event);
                    return Err(e);
                }
                if let Some(old) = registered.replace(*event) {
                    let _ = crate::sys::msg_unregister_event(&old);
                }
                return Ok(());
            }
        };
        if let Some(old) = registered.take() {
            let _ = crate::sys::msg_unregister_event(&old);
        }
        Ok(())
    }

    /// The descriptor.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for MessageQueue {
    fn drop(&mut self) {
        // (The server forgets the notification as the queue closes.)
        if let Some(event) = self.notification.get_mut().take() {
            let _ = crate::sys::msg_unregister_event(&event);
        }
    }
}
