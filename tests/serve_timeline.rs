//! `sspr-lab serve SCENARIO --run-timeline`: the scenario's timeline played in real time × the
//! time scale on real sockets, its report on stdout, the lab serving on until SIGTERM.

use std::io::BufRead;
use std::process::{Command, Stdio};

#[test]
fn serve_plays_a_scenario_timeline_on_real_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sspr-lab"))
        .args([
            "serve",
            "unlock-only",
            "--run-timeline",
            "--time-scale",
            "600",
        ])
        .arg("--ready-file")
        .arg(&ready)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("sspr-lab starts");
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut report = Vec::new();
    for line in out.lines() {
        let line = line.unwrap();
        let last = line.starts_with("Expectations:");
        report.push(line);
        if last {
            break;
        }
    }
    let text = report.join("\n");
    assert!(
        text.contains("sspr-lab run: unlock-only"),
        "a report on stdout: {text}"
    );
    assert!(
        text.ends_with(", 0 failed"),
        "every expectation met: {text}"
    );
    assert!(ready.exists(), "the lab still serves after the timeline");
    let pid = child.id().to_string();
    let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "a clean stop: {status}");
}
