//! Embed the git commit in `brig --version`; in release builds, hand the linker the symbol
//! order that build/link-order.sh wrote (the code only the systemd driver runs goes last).
fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BRIG_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-env-changed=BRIG_LINK_ORDER");
    // `make release` names the file (and writes it after a first link); other builds do not.
    if let Some(order) = std::env::var_os("BRIG_LINK_ORDER") {
        let order = std::path::PathBuf::from(order);
        println!("cargo:rerun-if-changed={}", order.display());
        if std::fs::metadata(&order).is_ok_and(|m| m.len() > 0) {
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                order.display()
            );
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
}
