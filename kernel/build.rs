//! Links the boot image into the kernel: the file named by `MUON_BOOT_IMAGE` (built by
//! `muon-runner` from a manifest), or an empty image when the variable is unset.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=MUON_BOOT_IMAGE");
    let path = match std::env::var_os("MUON_BOOT_IMAGE") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            println!("cargo:rerun-if-changed={}", p.display());
            p
        }
        _ => {
            let empty = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("empty-boot-image");
            std::fs::write(&empty, b"").expect("write empty image");
            empty
        }
    };
    println!("cargo:rustc-env=MUON_BOOT_IMAGE_FILE={}", path.display());
}
