//! Seeded randomness: one ChaCha8 stream per component, derived from (seed, component name), so an
//! extra draw in one part never changes another's.

use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// The lab's seed (`--seed`, default 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Seed(pub u64);

/// The random stream of `component` under `seed`. The same pair always gives the same stream.
pub fn stream(seed: Seed, component: &str) -> ChaCha8Rng {
    // FNV-1a over the name, mixed with the seed through SplitMix64 to fill a 32-byte key.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in component.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut state = seed.0 ^ h.rotate_left(17);
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// A version-4 UUID drawn from `rng`.
pub fn uuid_from(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_stable_and_independent() {
        let a1 = stream(Seed(1), "fake-ad/contoso.lab").next_u64();
        let a2 = stream(Seed(1), "fake-ad/contoso.lab").next_u64();
        let b = stream(Seed(1), "fake-ad/fabrikam.lab").next_u64();
        let c = stream(Seed(2), "fake-ad/contoso.lab").next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }

    #[test]
    fn uuids_are_v4() {
        let u = uuid_from(&mut stream(Seed(7), "x"));
        assert_eq!(u.get_version_num(), 4);
    }
}
