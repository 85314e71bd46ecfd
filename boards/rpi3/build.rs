//! Links the kernel with this board's linker fragment (linker/rpi3.ld).

fn main() {
    let linker_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../linker");
    println!("cargo:rerun-if-changed={linker_dir}/rpi3.ld");
    println!("cargo:rerun-if-changed={linker_dir}/kernel.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg=-T{linker_dir}/rpi3.ld");
        println!("cargo:rustc-link-arg=-L{linker_dir}");
    }
}
