//! The build script every user program shares (`build = "../build-user-app.rs"` in its
//! Cargo.toml): links the program with `linker/user.ld` when it is built for Muon
//! (`target_os = "none"`), so a host `cargo check` of the workspace is not affected.

fn main() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../linker/user.ld");
    println!("cargo:rerun-if-changed={script}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{script}");
    }
}
