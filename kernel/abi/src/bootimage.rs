//! The boot image: Muon's equivalent of QNX's image filesystem (IFS).
//!
//! A host tool (`muon-runner`) parses each user program's ELF and packs its loadable
//! segments, with a manifest entry (name, priority, policy, arguments, start order),
//! into one blob linked into the kernel. The kernel never parses ELF: it reads this
//! pre-digested, bounds-checked format.
//!
//! ```text
//! header   64 bytes   magic "MUONIFS1", version, program count, total size
//! programs 64 bytes each, in start order
//! segments 32 bytes each, referenced by the programs
//! data     segment contents and argument strings, referenced by offset
//! ```
//! All numbers are little-endian.

/// First eight bytes of every boot image.
pub const MAGIC: [u8; 8] = *b"MUONIFS1";
/// The format version this parser understands.
pub const VERSION: u32 = 1;
/// Header size.
pub const HEADER_SIZE: usize = 64;
/// Program-entry size.
pub const PROGRAM_SIZE: usize = 64;
/// Segment-entry size.
pub const SEGMENT_SIZE: usize = 32;
/// Longest program name.
pub const NAME_LEN: usize = 24;

/// Segment permission bits.
pub mod flags {
    /// Executable.
    pub const EXECUTE: u32 = 1;
    /// Writable.
    pub const WRITE: u32 = 2;
    /// Readable.
    pub const READ: u32 = 4;
}

/// Program flag: the program is started at boot (by pid 1, or as pid 1 if first).
pub const START_AT_BOOT: u32 = 1;
/// Program flag: proc starts the program again whenever it ends (with
/// [`START_AT_BOOT`]: a console's shell).
pub const RESPAWN: u32 = 2;

/// Why an image was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageError {
    /// Wrong magic or version.
    NotAnImage,
    /// An offset or length points outside the image.
    OutOfBounds,
    /// A name is not UTF-8, or a field holds an impossible value.
    Malformed,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ImageError> {
    let s = b.get(at..at + 4).ok_or(ImageError::OutOfBounds)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, ImageError> {
    Ok(u32_at(b, at)? as u64 | (u32_at(b, at + 4)? as u64) << 32)
}

fn slice(b: &[u8], offset: u32, len: u32) -> Result<&[u8], ImageError> {
    let start = offset as usize;
    b.get(start..start.checked_add(len as usize).ok_or(ImageError::OutOfBounds)?).ok_or(ImageError::OutOfBounds)
}

/// A parsed boot image.
#[derive(Debug, Clone, Copy)]
pub struct BootImage<'a> {
    bytes: &'a [u8],
    count: usize,
}

/// One program of the image.
#[derive(Debug, Clone, Copy)]
pub struct Program<'a> {
    /// Its name (what a spawn request and the shell call it).
    pub name: &'a str,
    /// Priority of its first thread.
    pub priority: u8,
    /// [`crate::sched::Policy`] number of its first thread.
    pub policy: u8,
    /// [`START_AT_BOOT`], …
    pub flags: u32,
    /// Entry point.
    pub entry: u64,
    /// Default arguments, each ended by NUL.
    pub args: &'a [u8],
    image: &'a [u8],
    segments_offset: u32,
    segment_count: u32,
}

/// One loadable segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Virtual address of the first byte.
    pub vaddr: u64,
    /// Size in memory (the part past `data` is zero-filled).
    pub mem_size: u64,
    /// [`flags`] bits.
    pub flags: u32,
    /// Initial contents.
    pub data: &'a [u8],
}

impl<'a> BootImage<'a> {
    /// Checks the header and every program and segment entry.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ImageError> {
        if bytes.get(..8) != Some(&MAGIC[..]) || u32_at(bytes, 8)? != VERSION {
            return Err(ImageError::NotAnImage);
        }
        let count = u32_at(bytes, 12)? as usize;
        let total = u64_at(bytes, 16)? as usize;
        let bytes = bytes.get(..total).ok_or(ImageError::OutOfBounds)?;
        let image = BootImage { bytes, count };
        for i in 0..count {
            let program = image.program(i)?;
            for s in 0..program.segment_count {
                program.segment(s as usize)?;
            }
        }
        Ok(image)
    }

    /// Number of programs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the image holds no program.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Program `index` in start order.
    pub fn program(&self, index: usize) -> Result<Program<'a>, ImageError> {
        if index >= self.count {
            return Err(ImageError::OutOfBounds);
        }
        let at = HEADER_SIZE + index * PROGRAM_SIZE;
        let entry = self.bytes.get(at..at + PROGRAM_SIZE).ok_or(ImageError::OutOfBounds)?;
        let name_bytes = &entry[..NAME_LEN];
        let name_len = name_bytes.iter().position(|b| *b == 0).unwrap_or(NAME_LEN);
        let name = core::str::from_utf8(&name_bytes[..name_len]).map_err(|_| ImageError::Malformed)?;
        let args = slice(self.bytes, u32_at(entry, 48)?, u32_at(entry, 52)?)?;
        Ok(Program {
            name,
            priority: entry[24],
            policy: entry[25],
            flags: u32_at(entry, 28)?,
            entry: u64_at(entry, 32)?,
            args,
            image: self.bytes,
            segments_offset: u32_at(entry, 40)?,
            segment_count: u32_at(entry, 44)?,
        })
    }

    /// Every program, in start order.
    pub fn programs(&self) -> impl Iterator<Item = Program<'a>> + '_ {
        (0..self.count).filter_map(|i| self.program(i).ok())
    }

    /// The program called `name`.
    pub fn find(&self, name: &str) -> Option<Program<'a>> {
        self.programs().find(|p| p.name == name)
    }
}

impl<'a> Program<'a> {
    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segment_count as usize
    }

    /// Segment `index`.
    pub fn segment(&self, index: usize) -> Result<Segment<'a>, ImageError> {
        if index >= self.segment_count as usize {
            return Err(ImageError::OutOfBounds);
        }
        let at = (self.segments_offset as usize).checked_add(index * SEGMENT_SIZE).ok_or(ImageError::OutOfBounds)?;
        let entry = self.image.get(at..at + SEGMENT_SIZE).ok_or(ImageError::OutOfBounds)?;
        let data = slice(self.image, u32_at(entry, 16)?, u32_at(entry, 20)?)?;
        let segment =
            Segment { vaddr: u64_at(entry, 0)?, mem_size: u64_at(entry, 8)?, flags: u32_at(entry, 24)?, data };
        if (data.len() as u64) > segment.mem_size || segment.vaddr.checked_add(segment.mem_size).is_none() {
            return Err(ImageError::Malformed);
        }
        Ok(segment)
    }

    /// Every segment.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + '_ {
        (0..self.segment_count()).filter_map(|i| self.segment(i).ok())
    }
}

/// Writes boot images (for the host tool; needs `std`). Kept beside the parser so the
/// layout is described in one file.
#[cfg(any(test, feature = "std"))]
pub mod writer {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// A loadable segment to pack.
    pub struct SegmentSpec<'a> {
        /// Virtual address.
        pub vaddr: u64,
        /// Size in memory (at least `data.len()`).
        pub mem_size: u64,
        /// [`flags`] bits.
        pub flags: u32,
        /// Initial contents.
        pub data: &'a [u8],
    }

    /// A program to pack.
    pub struct ProgramSpec<'a> {
        /// Name (at most [`NAME_LEN`] bytes).
        pub name: &'a str,
        /// Priority.
        pub priority: u8,
        /// Policy number.
        pub policy: u8,
        /// [`START_AT_BOOT`], …
        pub flags: u32,
        /// Entry point.
        pub entry: u64,
        /// Arguments, each ended by NUL.
        pub args: &'a [u8],
        /// Loadable segments.
        pub segments: Vec<SegmentSpec<'a>>,
    }

    fn align(v: usize) -> usize {
        (v + 15) & !15
    }

    /// The image holding `programs` in start order.
    pub fn write<'a>(programs: &[ProgramSpec<'a>]) -> Result<Vec<u8>, ImageError> {
        let segment_count: usize = programs.iter().map(|p| p.segments.len()).sum();
        let segments_base = HEADER_SIZE + programs.len() * PROGRAM_SIZE;
        let mut out = std::vec![0u8; segments_base + segment_count * SEGMENT_SIZE];
        // Identical contents (one ELF listed under several names) are stored once.
        let mut stored: std::collections::BTreeMap<&'a [u8], u32> = std::collections::BTreeMap::new();
        let mut put = |out: &mut Vec<u8>, data: &'a [u8]| -> Result<(u32, u32), ImageError> {
            let len = u32::try_from(data.len()).map_err(|_| ImageError::OutOfBounds)?;
            if data.len() >= 64 {
                if let Some(at) = stored.get(data) {
                    return Ok((*at, len));
                }
            }
            let at = align(out.len());
            out.resize(at, 0);
            out.extend_from_slice(data);
            let at = u32::try_from(at).map_err(|_| ImageError::OutOfBounds)?;
            if data.len() >= 64 {
                stored.insert(data, at);
            }
            Ok((at, len))
        };
        let mut segment_index = 0;
        for (i, p) in programs.iter().enumerate() {
            if p.name.len() > NAME_LEN || p.name.is_empty() {
                return Err(ImageError::Malformed);
            }
            let (args_at, args_len) = put(&mut out, p.args)?;
            let entry_at = HEADER_SIZE + i * PROGRAM_SIZE;
            let segments_at = segments_base + segment_index * SEGMENT_SIZE;
            let e = &mut out[entry_at..entry_at + PROGRAM_SIZE];
            e[..p.name.len()].copy_from_slice(p.name.as_bytes());
            e[24] = p.priority;
            e[25] = p.policy;
            e[28..32].copy_from_slice(&p.flags.to_le_bytes());
            e[32..40].copy_from_slice(&p.entry.to_le_bytes());
            e[40..44].copy_from_slice(&(segments_at as u32).to_le_bytes());
            e[44..48].copy_from_slice(&(p.segments.len() as u32).to_le_bytes());
            e[48..52].copy_from_slice(&args_at.to_le_bytes());
            e[52..56].copy_from_slice(&args_len.to_le_bytes());
            for s in &p.segments {
                if (s.data.len() as u64) > s.mem_size {
                    return Err(ImageError::Malformed);
                }
                let (data_at, data_len) = put(&mut out, s.data)?;
                let at = segments_base + segment_index * SEGMENT_SIZE;
                let e = &mut out[at..at + SEGMENT_SIZE];
                e[0..8].copy_from_slice(&s.vaddr.to_le_bytes());
                e[8..16].copy_from_slice(&s.mem_size.to_le_bytes());
                e[16..20].copy_from_slice(&data_at.to_le_bytes());
                e[20..24].copy_from_slice(&data_len.to_le_bytes());
                e[24..28].copy_from_slice(&s.flags.to_le_bytes());
                segment_index += 1;
            }
        }
        let total = align(out.len());
        out.resize(total, 0);
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&(programs.len() as u32).to_le_bytes());
        out[16..24].copy_from_slice(&(total as u64).to_le_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::writer::{write, ProgramSpec, SegmentSpec};
    use super::*;
    extern crate std;
    use std::vec;

    fn sample() -> std::vec::Vec<u8> {
        write(&[
            ProgramSpec {
                name: "proc",
                priority: 30,
                policy: 2,
                flags: START_AT_BOOT,
                entry: 0x40_0000,
                args: b"-v\0",
                segments: vec![
                    SegmentSpec {
                        vaddr: 0x40_0000,
                        mem_size: 0x10,
                        flags: flags::READ | flags::EXECUTE,
                        data: b"TEXTTEXT",
                    },
                    SegmentSpec { vaddr: 0x41_0000, mem_size: 0x2000, flags: flags::READ | flags::WRITE, data: b"D" },
                ],
            },
            ProgramSpec {
                name: "hello",
                priority: 10,
                policy: 1,
                flags: 0,
                entry: 0x40_0100,
                args: b"",
                segments: vec![],
            },
        ])
        .unwrap()
    }

    #[test]
    fn written_images_parse_back() {
        let bytes = sample();
        let image = BootImage::parse(&bytes).unwrap();
        assert_eq!(image.len(), 2);
        let proc_ = image.find("proc").unwrap();
        assert_eq!((proc_.priority, proc_.policy, proc_.flags, proc_.entry), (30, 2, START_AT_BOOT, 0x40_0000));
        assert_eq!(proc_.args, b"-v\0");
        let segments: std::vec::Vec<_> = proc_.segments().collect();
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].data, b"TEXTTEXT");
        assert_eq!((segments[1].vaddr, segments[1].mem_size, segments[1].data), (0x41_0000, 0x2000, &b"D"[..]));
        assert_eq!(image.program(1).unwrap().name, "hello");
        assert!(image.find("nope").is_none());
        assert!(image.program(2).is_err());
    }

    #[test]
    fn corrupt_images_are_refused_not_trusted() {
        let good = sample();
        assert!(BootImage::parse(&good[..10]).is_err());
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        assert_eq!(BootImage::parse(&bad_magic).unwrap_err(), ImageError::NotAnImage);
        // Truncated: total size larger than the bytes.
        assert_eq!(BootImage::parse(&good[..good.len() - 16]).unwrap_err(), ImageError::OutOfBounds);
        // A segment whose data offset points past the end.
        let mut bad_segment = good.clone();
        let seg0 = HEADER_SIZE + 2 * PROGRAM_SIZE;
        bad_segment[seg0 + 16..seg0 + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(BootImage::parse(&bad_segment).unwrap_err(), ImageError::OutOfBounds);
        // Data larger than the memory size.
        let mut bad_size = good.clone();
        bad_size[seg0 + 8..seg0 + 16].copy_from_slice(&1u64.to_le_bytes());
        assert_eq!(BootImage::parse(&bad_size).unwrap_err(), ImageError::Malformed);
        // Too many programs claimed.
        let mut bad_count = good;
        bad_count[12..16].copy_from_slice(&1000u32.to_le_bytes());
        assert!(BootImage::parse(&bad_count).is_err());
    }

    #[test]
    fn one_program_under_several_names_is_stored_once() {
        let text = [0x14u8; 4096];
        let named = |name| ProgramSpec {
            name,
            priority: 10,
            policy: 2,
            flags: 0,
            entry: 0x40_0000,
            args: b"",
            segments: vec![SegmentSpec { vaddr: 0x40_0000, mem_size: 4096, flags: flags::READ, data: &text }],
        };
        let one = write(&[named("utils")]).unwrap();
        let three = write(&[named("utils"), named("cat"), named("echo")]).unwrap();
        assert!(three.len() < one.len() + 2 * 512, "{} bytes for three names of {}", three.len(), one.len());
        let image = BootImage::parse(&three).unwrap();
        assert_eq!(image.find("echo").unwrap().segment(0).unwrap().data, &text[..]);
    }

    #[test]
    fn names_must_fit() {
        let long = "a-name-longer-than-24-bytes!";
        let r = write(&[ProgramSpec {
            name: long,
            priority: 1,
            policy: 1,
            flags: 0,
            entry: 0,
            args: b"",
            segments: vec![],
        }]);
        assert_eq!(r.unwrap_err(), ImageError::Malformed);
    }
}
