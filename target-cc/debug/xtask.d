/work/main/target-cc/debug/xtask: /tmp/cc/xtask/src/main.rs
