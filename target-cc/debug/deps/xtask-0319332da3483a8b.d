/work/main/target-cc/debug/deps/xtask-0319332da3483a8b.d: xtask/src/main.rs

/work/main/target-cc/debug/deps/xtask-0319332da3483a8b: xtask/src/main.rs

xtask/src/main.rs:

# env-dep:CARGO_MANIFEST_DIR=/tmp/cc/xtask
