//! Reading the physical memory map out of a flattened device tree (DTB).
//!
//! RAM comes from every node whose `device_type` is `"memory"` (and whose `status`,
//! if present, is `"okay"`); reservations come from the DTB header's `/memreserve/`
//! block, from the children of `/reserved-memory`, and from the blob itself.

use super::memmap::{MemoryMap, MemoryMapError, PhysRange};
use fdt::Fdt;

/// Builds the memory map described by `fdt`, which was found at physical `dtb_phys`.
pub fn memory_map(fdt: &Fdt<'_>, dtb_phys: usize) -> Result<MemoryMap, MemoryMapError> {
    let mut map = MemoryMap::default();
    for node in fdt.all_nodes() {
        let device_type = node.property("device_type").and_then(|p| p.as_str());
        let status = node.property("status").and_then(|p| p.as_str());
        if device_type != Some("memory") || !matches!(status, None | Some("okay") | Some("ok")) {
            continue;
        }
        for region in node.reg().into_iter().flatten() {
            let size = region.size.unwrap_or(0);
            map.ram.insert(PhysRange::with_size(region.starting_address as usize, size))?;
        }
    }
    if map.ram.total() == 0 {
        return Err(MemoryMapError::NoRam);
    }
    for reservation in fdt.memory_reservations() {
        map.reserved.insert(PhysRange::with_size(reservation.address() as usize, reservation.size()))?;
    }
    if let Some(reserved_memory) = fdt.find_node("/reserved-memory") {
        for child in reserved_memory.children() {
            for region in child.reg().into_iter().flatten() {
                let size = region.size.unwrap_or(0);
                map.reserved.insert(PhysRange::with_size(region.starting_address as usize, size))?;
            }
        }
    }
    map.reserved.insert(PhysRange::with_size(dtb_phys, fdt.total_size()))?;
    Ok(map)
}

/// The device tree's `/chosen/bootargs`, if any (used for kernel log levels).
pub fn bootargs<'a>(fdt: &Fdt<'a>) -> Option<&'a str> {
    fdt.find_node("/chosen")?.property("bootargs")?.as_str()
}

#[cfg(test)]
pub(crate) mod test_dtb {
    //! A minimal DTB writer, enough to describe memory layouts in host tests.

    const FDT_BEGIN_NODE: u32 = 1;
    const FDT_END_NODE: u32 = 2;
    const FDT_PROP: u32 = 3;
    const FDT_END: u32 = 9;

    /// Builds a flattened device tree one node at a time.
    #[derive(Default)]
    pub struct DtbWriter {
        structure: Vec<u8>,
        strings: Vec<u8>,
        reservations: Vec<(u64, u64)>,
    }

    impl DtbWriter {
        pub fn begin(&mut self, name: &str) -> &mut Self {
            self.word(FDT_BEGIN_NODE);
            self.structure.extend_from_slice(name.as_bytes());
            self.structure.push(0);
            self.pad();
            self
        }
        pub fn end(&mut self) -> &mut Self {
            self.word(FDT_END_NODE);
            self
        }
        pub fn prop_u32s(&mut self, name: &str, values: &[u32]) -> &mut Self {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
            self.prop(name, &bytes)
        }
        pub fn prop_str(&mut self, name: &str, value: &str) -> &mut Self {
            let mut bytes = value.as_bytes().to_vec();
            bytes.push(0);
            self.prop(name, &bytes)
        }
        pub fn reserve(&mut self, address: u64, size: u64) -> &mut Self {
            self.reservations.push((address, size));
            self
        }
        fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
            let name_offset = self.strings.len() as u32;
            self.strings.extend_from_slice(name.as_bytes());
            self.strings.push(0);
            self.word(FDT_PROP);
            self.word(value.len() as u32);
            self.word(name_offset);
            self.structure.extend_from_slice(value);
            self.pad();
            self
        }
        fn word(&mut self, w: u32) {
            self.structure.extend_from_slice(&w.to_be_bytes());
        }
        fn pad(&mut self) {
            while !self.structure.len().is_multiple_of(4) {
                self.structure.push(0);
            }
        }
        pub fn finish(&mut self) -> Vec<u8> {
            self.word(FDT_END);
            let header_len = 40;
            let rsvmap_off = header_len;
            let mut rsvmap = Vec::new();
            for (a, s) in self.reservations.iter().chain([(0, 0)].iter()) {
                rsvmap.extend_from_slice(&a.to_be_bytes());
                rsvmap.extend_from_slice(&s.to_be_bytes());
            }
            let struct_off = rsvmap_off + rsvmap.len();
            let strings_off = struct_off + self.structure.len();
            let total = strings_off + self.strings.len();
            let header = [
                0xd00d_feed,
                total as u32,
                struct_off as u32,
                strings_off as u32,
                rsvmap_off as u32,
                17,
                16,
                0,
                self.strings.len() as u32,
                self.structure.len() as u32,
            ];
            let mut out: Vec<u8> = header.iter().flat_map(|w: &u32| w.to_be_bytes()).collect();
            out.extend_from_slice(&rsvmap);
            out.extend_from_slice(&self.structure);
            out.extend_from_slice(&self.strings);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_dtb::DtbWriter;
    use super::*;

    fn ranges(list: &crate::mem::RangeList) -> Vec<(usize, usize)> {
        list.as_slice().iter().map(|r| (r.start, r.end)).collect()
    }

    /// The shape QEMU's `virt` machine passes: 2 address cells, 2 size cells.
    fn virt_like() -> Vec<u8> {
        let mut w = DtbWriter::default();
        w.begin("")
            .prop_u32s("#address-cells", &[2])
            .prop_u32s("#size-cells", &[2])
            .begin("memory@40000000")
            .prop_str("device_type", "memory")
            .prop_u32s("reg", &[0, 0x4000_0000, 0, 0x0800_0000])
            .end()
            .begin("chosen")
            .prop_str("bootargs", "loglevel=debug")
            .end()
            .end();
        w.finish()
    }

    #[test]
    fn virt_memory_node_and_dtb_reservation() {
        let blob = virt_like();
        let fdt = Fdt::new(&blob).unwrap();
        let map = memory_map(&fdt, 0x4000_0000).unwrap();
        assert_eq!(ranges(&map.ram), vec![(0x4000_0000, 0x4800_0000)]);
        assert_eq!(ranges(&map.reserved), vec![(0x4000_0000, 0x4000_0000 + blob.len())]);
        assert_eq!(bootargs(&fdt), Some("loglevel=debug"));
    }

    /// The shape the Raspberry Pi firmware passes: 1 address cell, 1 size cell, several
    /// memory nodes, a /memreserve/ for the spin table and a /reserved-memory child.
    #[test]
    fn raspberry_pi_like_tree_with_all_reservation_kinds() {
        let mut w = DtbWriter::default();
        w.reserve(0, 0x1000)
            .begin("")
            .prop_u32s("#address-cells", &[1])
            .prop_u32s("#size-cells", &[1])
            .begin("memory@0")
            .prop_str("device_type", "memory")
            .prop_u32s("reg", &[0, 0x3b40_0000, 0x4000_0000, 0x4000_0000])
            .end()
            .begin("memory@c0000000")
            .prop_str("device_type", "memory")
            .prop_str("status", "disabled")
            .prop_u32s("reg", &[0xc000_0000, 0x1000_0000])
            .end()
            .begin("reserved-memory")
            .prop_u32s("#address-cells", &[1])
            .prop_u32s("#size-cells", &[1])
            .begin("linux,cma")
            .prop_u32s("reg", &[0x3000_0000, 0x0400_0000])
            .end()
            .end()
            .end();
        let blob = w.finish();
        let fdt = Fdt::new(&blob).unwrap();
        let map = memory_map(&fdt, 0x2eff_0000).unwrap();
        assert_eq!(ranges(&map.ram), vec![(0, 0x3b40_0000), (0x4000_0000, 0x8000_0000)]);
        assert_eq!(
            ranges(&map.reserved),
            vec![(0, 0x1000), (0x2eff_0000, 0x2eff_0000 + blob.len()), (0x3000_0000, 0x3400_0000)]
        );
        let free = map.free_ranges().unwrap();
        assert!(!free.contains(0x3000_0000) && free.contains(0x3400_0000) && !free.contains(0));
    }

    #[test]
    fn tree_without_memory_is_an_error() {
        let mut w = DtbWriter::default();
        w.begin("").prop_u32s("#address-cells", &[1]).prop_u32s("#size-cells", &[1]).end();
        let blob = w.finish();
        let fdt = Fdt::new(&blob).unwrap();
        assert_eq!(memory_map(&fdt, 0).unwrap_err(), MemoryMapError::NoRam);
        assert_eq!(bootargs(&fdt), None);
    }

    #[test]
    fn garbage_is_not_a_device_tree() {
        assert!(Fdt::new(&[0u8; 64]).is_err());
    }
}
