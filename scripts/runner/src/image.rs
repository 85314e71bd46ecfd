//! SD-card images for the Raspberry Pi: the kernel ELF flattened into `kernel8.img`
//! at its load address, plus the `config.txt` lines the firmware needs.

use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{elf, Endianness};

/// The raw image of `elf_bytes`: every loadable segment placed at its physical address
/// relative to the lowest one (which is where the firmware loads the file).
pub fn flatten(elf_bytes: &[u8]) -> Result<(u64, Vec<u8>), String> {
    let file =
        ElfFile64::<Endianness>::parse(elf_bytes).map_err(|e| format!("not an ELF64 file: {e}"))?;
    let endian = file.endian();
    let headers = file
        .elf_header()
        .program_headers(endian, elf_bytes)
        .map_err(|e| e.to_string())?;
    let loads: Vec<_> = headers
        .iter()
        .filter(|h| h.p_type(endian) == elf::PT_LOAD && h.p_filesz(endian) > 0)
        .collect();
    let base = loads
        .iter()
        .map(|h| h.p_paddr(endian))
        .min()
        .ok_or("no loadable segment")?;
    let end = loads
        .iter()
        .map(|h| h.p_paddr(endian) + h.p_filesz(endian))
        .max()
        .unwrap_or(base);
    let mut image = vec![0u8; (end - base) as usize];
    for header in loads {
        let data = header
            .data(endian, elf_bytes)
            .map_err(|_| "segment outside the file")?;
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
        "rpi4" => {
            "# Route interrupts through the GIC-400 (the default on Pi 4 firmware).\nenable_gic=1\n"
        }
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

    /// A minimal ELF64 with two PT_LOAD segments (and one empty one).
    fn elf_with_segments(segments: &[(u64, &[u8])]) -> Vec<u8> {
        let phoff = 64u64;
        let data_start = phoff + 56 * segments.len() as u64;
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little endian
        out[6] = 1;
        out[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        out[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[32..40].copy_from_slice(&phoff.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        let mut offset = data_start;
        for (paddr, data) in segments {
            let mut ph = vec![0u8; 56];
            ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            ph[8..16].copy_from_slice(&offset.to_le_bytes());
            ph[16..24].copy_from_slice(&(0xffff_0000_0000_0000 + paddr).to_le_bytes());
            ph[24..32].copy_from_slice(&paddr.to_le_bytes());
            ph[32..40].copy_from_slice(&(data.len() as u64).to_le_bytes());
            ph[40..48].copy_from_slice(&(data.len() as u64 + 0x100).to_le_bytes());
            out.extend_from_slice(&ph);
            offset += data.len() as u64;
        }
        for (_, data) in segments {
            out.extend_from_slice(data);
        }
        out
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
            pi4.contains("kernel=kernel8.img")
                && pi4.contains("dtoverlay=disable-bt")
                && pi4.contains("enable_gic=1")
        );
        let pi3_mini = config_txt("rpi3", true).unwrap();
        assert!(pi3_mini.contains("core_freq=250") && !pi3_mini.contains("disable-bt"));
        assert_eq!(config_txt("qemu-virt", false), None);
    }
}
