//! Generates Tauri's context (config, ACL) at compile time.

fn main() {
    tauri_build::build();
}
