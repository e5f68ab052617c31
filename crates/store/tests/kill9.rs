//! What a commit acknowledged survives `kill -9` of the process that wrote it.
//!
//! The test re-runs its own binary as a writer child that prints each key after its
//! commit returns, kills it with SIGKILL mid-stream, reopens the store and checks that
//! every acknowledged key is there.

use nubo_store::Store;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "NUBO_KILL9_CHILD_DIR";

#[test]
fn kill9_writer_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let store = Store::open(std::path::Path::new(&dir)).unwrap();
    for i in 0u32.. {
        let key = format!("key-{i:08}");
        store.write(|tx| tx.put("crash", key.as_bytes(), &[7u8; 512])).unwrap();
        println!("{key}");
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("nubo-kill9-{}", nubo_core::ids::uuid()));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kill9_writer_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acknowledged = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("key-") {
            acknowledged.push(line);
        }
        if acknowledged.len() == 200 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(acknowledged.len(), 200, "writer stopped early");

    let store = Store::open(&dir).unwrap();
    for key in &acknowledged {
        let v = store.read(|tx| tx.get("crash", key.as_bytes())).unwrap();
        assert_eq!(v.as_deref(), Some(&[7u8; 512][..]), "{key} was acknowledged but is lost");
    }
    std::fs::remove_dir_all(dir).ok();
}
