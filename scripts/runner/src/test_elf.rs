//! Small synthetic ELF64 files for the runner's tests: a file header and program headers
//! followed by the segments' bytes, nothing else.

use object::elf;

/// A program header and the bytes it refers to.
pub struct Segment<'a> {
    /// `p_type`.
    pub kind: elf::ProgramType,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_memsz` (at least `data.len()` for a sound file).
    pub mem_size: u64,
    /// `p_flags`.
    pub flags: elf::ProgramFlags,
    /// The file bytes (`p_filesz` is their length).
    pub data: &'a [u8],
}

impl<'a> Segment<'a> {
    /// A `PT_LOAD` segment at `vaddr` (also its physical address).
    pub fn load(vaddr: u64, flags: elf::ProgramFlags, data: &'a [u8], mem_size: u64) -> Self {
        Segment { kind: elf::PT_LOAD, vaddr, paddr: vaddr, mem_size, flags, data }
    }
}

/// A little-endian ELF64 file.
pub struct Elf<'a> {
    /// `e_type`.
    pub elf_type: elf::FileType,
    /// `e_machine`.
    pub machine: elf::Machine,
    /// `e_entry`.
    pub entry: u64,
    /// Program headers, in order.
    pub segments: Vec<Segment<'a>>,
}

impl Elf<'_> {
    /// A static AArch64 executable entered at `entry`, with no segment yet.
    pub fn aarch64_executable(entry: u64) -> Self {
        Elf { elf_type: elf::ET_EXEC, machine: elf::EM_AARCH64, entry, segments: Vec::new() }
    }

    /// The file.
    pub fn bytes(&self) -> Vec<u8> {
        const HEADER_SIZE: u64 = 64;
        const PROGRAM_HEADER_SIZE: u64 = 56;
        let mut out = vec![0u8; HEADER_SIZE as usize];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little endian
        out[6] = 1; // ELF version
        out[16..18].copy_from_slice(&self.elf_type.0.to_le_bytes());
        out[18..20].copy_from_slice(&self.machine.0.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[24..32].copy_from_slice(&self.entry.to_le_bytes());
        out[32..40].copy_from_slice(&HEADER_SIZE.to_le_bytes());
        out[52..54].copy_from_slice(&(HEADER_SIZE as u16).to_le_bytes());
        out[54..56].copy_from_slice(&(PROGRAM_HEADER_SIZE as u16).to_le_bytes());
        out[56..58].copy_from_slice(&(self.segments.len() as u16).to_le_bytes());
        let mut offset = HEADER_SIZE + PROGRAM_HEADER_SIZE * self.segments.len() as u64;
        for segment in &self.segments {
            let mut header = [0u8; PROGRAM_HEADER_SIZE as usize];
            header[0..4].copy_from_slice(&segment.kind.0.to_le_bytes());
            header[4..8].copy_from_slice(&segment.flags.0.to_le_bytes());
            header[8..16].copy_from_slice(&offset.to_le_bytes());
            header[16..24].copy_from_slice(&segment.vaddr.to_le_bytes());
            header[24..32].copy_from_slice(&segment.paddr.to_le_bytes());
            header[32..40].copy_from_slice(&(segment.data.len() as u64).to_le_bytes());
            header[40..48].copy_from_slice(&segment.mem_size.to_le_bytes());
            out.extend_from_slice(&header);
            offset += segment.data.len() as u64;
        }
        for segment in &self.segments {
            out.extend_from_slice(segment.data);
        }
        out
    }
}
