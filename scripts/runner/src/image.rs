//! SD-card images for the Raspberry Pi: the kernel ELF flattened into `kernel8.img`
//! at its load address, plus the `config.txt` lines the firmware needs.

use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{elf, Endianness};

/// The raw image of `elf_bytes`: every loadable segment placed at its physical address
/// relative to the lowest one (which is where the firmware loads the file).
pub fn flatten(elf_bytes: &[u8]) -> Result<(u64, Vec<u8>), String> {
    let file = ElfFile64::<Endianness>::parse(elf_bytes).map_err(|e| format!("not an ELF64 file: {e}"))?;
    let endian = file.endian();
    let headers = file.elf_header().program_headers(endian, elf_bytes).map_err(|e| e.to_string())?;
    let loads: Vec<_> = headers.iter().filter(|h| h.p_type(endian) == elf::PT_LOAD && h.p_filesz(endian) > 0).collect();
    let base = loads.iter().map(|h| h.p_paddr(endian)).min().ok_or("no loadable segment")?;
    let end = loads.iter().map(|h| h.p_paddr(endian) + h.p_filesz(endian)).max().unwrap_or(base);
    let mut image = vec![0u8; (end - base) as usize];
    for header in loads {
        let data = header.data(endian, elf_bytes).map_err(|_| "segment outside the file")?;
        let offset = (header.p_paddr(endian) - base) as usize;
        image[offset..offset + data.len()].copy_from_slice(data);
    }
    Ok((base, image))
}

/// The `config.txt` lines for `board` (`rpi3` or `rpi4`).
pub fn config_txt(board: &str, mini_uart: bool) -> Option<String> {
    let console = if mini_uart {
        "# Console: the mini UART (UART1) on GPIO 14 (TX) / 15 (RX); fix its clock.\ncore_freq=250\n"
    } else {
        "# Console: the PL011 (UART0) on GPIO 14 (TX) / 15 (RX), taken back from Bluetooth.\n\
         dtoverlay=disable-bt\ninit_uart_clock=48000000\n"
    };
    let gic = match board {
        "rpi3" => "",
        "rpi4" => "# Route interrupts through the GIC-400 (the default on Pi 4 firmware).\nenable_gic=1\n",
        _ => return None,
    };
    Some(format!(
        "# Muon for {board}: put these lines in config.txt on the SD card's boot partition,\n\
         # next to kernel8.img. Serial console: 115200 8N1, 3.3 V levels.\n\
         arm_64bit=1\nkernel=kernel8.img\nenable_uart=1\n{console}{gic}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_elf::{Elf, Segment};

    /// A kernel ELF: each segment linked in the high half at its physical address.
    fn elf_with_segments(segments: &[(u64, &[u8])]) -> Vec<u8> {
        let mut elf = Elf::aarch64_executable(0);
        for (paddr, data) in segments {
            let mut segment =
                Segment::load(0xffff_0000_0000_0000 + paddr, object::elf::PF_R, data, data.len() as u64 + 0x100);
            segment.paddr = *paddr;
            elf.segments.push(segment);
        }
        elf.bytes()
    }

    #[test]
    fn segments_land_at_their_physical_offsets() {
        let elf = elf_with_segments(&[(0x80000, b"BOOT"), (0x81000, b"DATA"), (0x90000, b"")]);
        let (base, image) = flatten(&elf).unwrap();
        assert_eq!(base, 0x80000);
        assert_eq!(image.len(), 0x1004);
        assert_eq!(&image[..4], b"BOOT");
        assert_eq!(&image[0x1000..], b"DATA");
        assert!(image[4..0x1000].iter().all(|b| *b == 0));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(flatten(b"not an elf").is_err());
    }

    #[test]
    fn config_names_the_console_and_kernel() {
        let pi4 = config_txt("rpi4", false).unwrap();
        assert!(
            pi4.contains("kernel=kernel8.img") && pi4.contains("dtoverlay=disable-bt") && pi4.contains("enable_gic=1")
        );
        let pi3_mini = config_txt("rpi3", true).unwrap();
        assert!(pi3_mini.contains("core_freq=250") && !pi3_mini.contains("disable-bt"));
        assert_eq!(config_txt("qemu-virt", false), None);
    }
}
