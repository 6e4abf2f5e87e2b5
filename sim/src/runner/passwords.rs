//! The passwords a run uses, made from the seed: a scenario file never holds one. Each kind of
//! `password` (docs/scenarios.md) is built to meet or to break exactly the rule it is about.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use secrecy::SecretString;

use crate::scenario::names::PasswordKind;

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
const DIGIT: &[u8] = b"23456789";
const SYMBOL: &[u8] = b"!#%*+-=?";

fn pick(rng: &mut ChaCha8Rng, set: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| set[rng.random_range(0..set.len())] as char)
        .collect()
}

/// A fresh valid password: 16 characters of four classes, random enough that no banned term or
/// name token fits in it.
pub fn valid(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}{}{}{}",
        pick(rng, UPPER, 2),
        pick(rng, LOWER, 7),
        pick(rng, DIGIT, 3),
        pick(rng, SYMBOL, 1),
        pick(rng, LOWER, 3)
    )
}

/// The password of `kind` for a user named `surname`; `previous` is their password before the
/// current one, when there was a change.
pub fn make(
    kind: PasswordKind,
    rng: &mut ChaCha8Rng,
    surname: &str,
    previous: Option<&str>,
) -> SecretString {
    let p = match kind {
        PasswordKind::Valid | PasswordKind::WrongCurrent => valid(rng),
        PasswordKind::Previous => previous.map(str::to_string).unwrap_or_else(|| valid(rng)),
        // "password" is in the global list: score 1 + two more characters, under 5.
        PasswordKind::Banned => "Password1!".to_string(),
        PasswordKind::TooShort => format!("{}{}{}", pick(rng, UPPER, 1), pick(rng, LOWER, 4), "7!"),
        PasswordKind::LowComplexity => {
            format!("{}{}", pick(rng, LOWER, 10), pick(rng, DIGIT, 4))
        }
        PasswordKind::DisplayName => format!("{surname}{}{}", pick(rng, DIGIT, 3), "#Vq"),
        PasswordKind::Unicode => format!("Ü{}{}!", pick(rng, LOWER, 8), pick(rng, DIGIT, 3)),
    };
    SecretString::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn each_kind_has_its_shape_and_the_seed_decides() {
        let mut a = runtime::stream(runtime::Seed(1), "runner/passwords");
        let mut b = runtime::stream(runtime::Seed(1), "runner/passwords");
        assert_eq!(valid(&mut a), valid(&mut b));
        let v = valid(&mut a);
        assert_eq!(v.chars().count(), 16);
        assert!(v.chars().any(|c| c.is_ascii_uppercase()));
        assert!(v.chars().any(|c| c.is_ascii_digit()));
        let short = make(PasswordKind::TooShort, &mut a, "Archer", None);
        assert_eq!(short.expose_secret().chars().count(), 7);
        let low = make(PasswordKind::LowComplexity, &mut a, "Archer", None);
        assert!(
            low.expose_secret()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let dn = make(PasswordKind::DisplayName, &mut a, "Archer", None);
        assert!(dn.expose_secret().contains("Archer"));
        let prev = make(
            PasswordKind::Previous,
            &mut a,
            "Archer",
            Some("Old-Passw0rd1"),
        );
        assert_eq!(prev.expose_secret(), "Old-Passw0rd1");
        assert!(
            !make(PasswordKind::Unicode, &mut a, "Archer", None)
                .expose_secret()
                .is_ascii()
        );
    }
}
