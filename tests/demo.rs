//! `sspr-lab demo tutorial --no-pause --seed 1`: the narration matches the checked-in golden
//! file, is the same on a second run, and shows no password (neither the fixtures' nor any the
//! run generated).

use std::process::Command;

fn demo() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sspr-lab"))
        .args(["demo", "tutorial", "--no-pause", "--seed", "1"])
        .env_remove("RUST_LOG")
        .output()
        .expect("sspr-lab runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The shape of the runner's generated passwords: 2 upper, 7 lower, 3 digits, 1 symbol, 3 lower.
fn looks_generated(w: &str) -> bool {
    let c: Vec<char> = w.chars().collect();
    c.len() == 16
        && c[..2].iter().all(|x| x.is_ascii_uppercase())
        && c[2..9].iter().all(|x| x.is_ascii_lowercase())
        && c[9..12].iter().all(|x| x.is_ascii_digit())
        && !c[12].is_ascii_alphanumeric()
        && c[13..].iter().all(|x| x.is_ascii_lowercase())
}

#[test]
fn the_tutorial_demo_matches_its_golden_file_and_shows_no_password() {
    let a = demo();
    let golden = include_str!("golden/demo-tutorial.txt");
    if a != golden {
        let line = a
            .lines()
            .zip(golden.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "the demo differs from tests/golden/demo-tutorial.txt from line {}:\n  got:  {:?}\n  want: {:?}\n(regenerate with `sspr-lab demo tutorial --no-pause --seed 1 > tests/golden/demo-tutorial.txt` if the change is intended)",
            line + 1,
            a.lines().nth(line),
            golden.lines().nth(line)
        );
    }
    assert_eq!(a, demo(), "two runs, one narration");
    for pw in [
        "Lab-User-Passw0rd1",
        "Lab-Admin-Passw0rd1",
        "Lab-Service-Passw0rd1",
    ] {
        assert!(!a.contains(pw), "a fixture password in the demo");
    }
    let leaked: Vec<&str> = a
        .split(|c: char| c.is_whitespace() || "()[],:'\"".contains(c))
        .filter(|w| looks_generated(w))
        .collect();
    assert!(
        leaked.is_empty(),
        "generated passwords in the demo: {leaked:?}"
    );
}
