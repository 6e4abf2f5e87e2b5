//! The Entra cloud password policy (facts §5.6): 8 to 256 characters from an allowed set (no
//! Unicode), three of four character classes, and banned passwords — the global list and the
//! tenant's custom list, normalised, found exactly or at edit distance 1, plus the user's first and
//! last name and the tenant name, then scored: one point per banned term found, one per remaining
//! character, and a password needs at least five points.
//!
//! Sources: concept-sspr-policy (length, characters, classes), concept-password-ban-bad
//! (normalisation, fuzzy and substring matching, scoring), tutorial-configure-custom-password-
//! protection (custom list: at most 1000 terms of 4 to 16 characters). Microsoft does not publish
//! its global list; `banned_global.txt` is the lab's own (a Simplification).
//!
//! How the lab reads the matching rules, where the product text leaves room:
//! - Exact occurrences of list terms and name terms are found first. An edit-distance-1 variant of a
//!   list term counts only on characters no exact occurrence touches: the product's own example
//!   "ContoS0Bl@nkf9!" scores 5 (accepted), which it would not if "blankf" counted as a variant of
//!   "blank". Variants are at least four characters long.
//! - The score is the lowest over all ways of covering the password with non-overlapping terms.
//! - Names and the tenant name are matched exactly (substring), never fuzzily, as tokens of at least
//!   four characters, and score like banned terms. UNCONFIRMED: the product's "Poll" example says
//!   "p0LL23fb" is rejected, though its own scoring gives it five points; we follow the scoring.
//! - Only the documented substitutions are applied (0→o, 1→l, $→s, @→a); a single other look-alike
//!   is caught by the edit-distance-1 match anyway.
//!
//! Lookups go through indexes (a set of terms, and a deletion-neighbourhood map for edit distance
//! 1), never a scan of a list per candidate substring. Pure logic: no I/O, no clock; passwords are
//! never part of an error or a score.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Fewest characters a cloud password may have.
pub const MIN_LENGTH: usize = 8;
/// Most characters a cloud password may have.
pub const MAX_LENGTH: usize = 256;
/// Character classes (of lower case, upper case, digits, symbols) a password must use.
pub const MIN_CLASSES: u8 = 3;
/// Score a password needs to pass the banned-password check.
pub const PASSING_SCORE: u32 = 5;
/// Most terms a custom banned list may hold.
pub const CUSTOM_LIST_MAX_TERMS: usize = 1000;
/// Fewest characters a banned term (and a name term) may have.
pub const TERM_MIN_CHARS: usize = 4;
/// Most characters a custom banned term may have.
pub const TERM_MAX_CHARS: usize = 16;
/// The symbols the cloud policy allows, blank space included (concept-sspr-policy).
pub const SYMBOLS: &str = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ";

/// Shortest substring that may count as an edit-distance-1 variant of a banned term.
const FUZZY_MIN_CHARS: usize = 4;

/// The product's global list stand-in: our own common weak base terms.
const GLOBAL_LIST: &str = include_str!("banned_global.txt");

/// Why the cloud password policy refused a password. Never holds the password or a part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CloudPolicyFailure {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("the password has {length} characters; at least 8 are required")]
    TooShort {
        /// Characters the password has.
        length: usize,
    },
    /// More than [`MAX_LENGTH`] characters.
    #[error("the password has {length} characters; at most 256 are allowed")]
    TooLong {
        /// Characters the password has.
        length: usize,
    },
    /// A character outside A–Z, a–z, 0–9 and [`SYMBOLS`] (Unicode characters are not allowed).
    #[error("the password contains a character that is not allowed (Unicode characters are not)")]
    DisallowedCharacter,
    /// Fewer than [`MIN_CLASSES`] of the four character classes.
    #[error("the password uses {classes} of the four character classes; three are required")]
    TooFewClasses {
        /// Classes the password uses.
        classes: u8,
    },
    /// The banned-password score is below [`PASSING_SCORE`].
    #[error("the password is too easy to guess (score {score}; at least 5 is required)")]
    Banned {
        /// The password's score.
        score: u32,
    },
}

impl CloudPolicyFailure {
    /// The audit row's failure reason. `FuzzyPolicyViolationInvalidPassword` is the product's
    /// (howto-sspr-reporting); the other four are the lab's names, as the product documents none.
    pub fn reason(&self) -> &'static str {
        match self {
            CloudPolicyFailure::TooShort { .. } => "PasswordTooShort",
            CloudPolicyFailure::TooLong { .. } => "PasswordTooLong",
            CloudPolicyFailure::DisallowedCharacter => "PasswordContainsInvalidCharacters",
            CloudPolicyFailure::TooFewClasses { .. } => "PasswordComplexityNotMet",
            CloudPolicyFailure::Banned { .. } => "FuzzyPolicyViolationInvalidPassword",
        }
    }

    /// The banned-password score, for a [`CloudPolicyFailure::Banned`] failure.
    pub fn score(&self) -> Option<u32> {
        match self {
            CloudPolicyFailure::Banned { score } => Some(*score),
            _ => None,
        }
    }

    /// Whether this is the banned-password ("fuzzy policy") failure.
    pub fn is_banned(&self) -> bool {
        matches!(self, CloudPolicyFailure::Banned { .. })
    }
}

/// Why a custom banned list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomListError {
    /// More than [`CUSTOM_LIST_MAX_TERMS`] terms.
    #[error("the custom banned password list has {count} terms; at most 1000 are allowed")]
    TooManyTerms {
        /// Terms given.
        count: usize,
    },
    /// A term shorter than [`TERM_MIN_CHARS`] or longer than [`TERM_MAX_CHARS`].
    #[error("custom banned term {term:?} has {chars} characters; terms have 4 to 16")]
    TermLength {
        /// The term as given.
        term: String,
        /// Its length in characters.
        chars: usize,
    },
}

/// The names the substring check looks for in a user's password.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserContext<'a> {
    /// The user's first name (Entra `givenName`); empty when unknown.
    pub given_name: &'a str,
    /// The user's last name (Entra `surname`); empty when unknown.
    pub surname: &'a str,
}

/// A banned-password score: the points a password earned and how many banned terms it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    /// One per banned term found plus one per remaining character.
    pub points: u32,
    /// Banned terms (list terms, their variants and name terms) counted in `points`.
    pub banned_terms: u32,
}

impl Score {
    /// Whether the score reaches [`PASSING_SCORE`].
    pub fn passes(&self) -> bool {
        self.points >= PASSING_SCORE
    }
}

/// Lower-cases `text` and applies the product's character substitutions (0→o, 1→l, $→s, @→a).
pub fn normalize(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(substitute)
        .collect()
}

fn substitute(c: char) -> char {
    match c {
        '0' => 'o',
        '1' => 'l',
        '$' => 's',
        '@' => 'a',
        other => other,
    }
}

/// The four character classes of the cloud policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Lower,
    Upper,
    Digit,
    Symbol,
}

impl CharClass {
    fn of(c: char) -> Option<CharClass> {
        match c {
            'a'..='z' => Some(CharClass::Lower),
            'A'..='Z' => Some(CharClass::Upper),
            '0'..='9' => Some(CharClass::Digit),
            c if SYMBOLS.contains(c) => Some(CharClass::Symbol),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            CharClass::Lower => 1,
            CharClass::Upper => 2,
            CharClass::Digit => 4,
            CharClass::Symbol => 8,
        }
    }
}

/// A banned list, normalised and indexed: a set for exact lookups and a deletion-neighbourhood map
/// (each term and each of its one-character deletions, to the terms they come from) for
/// edit-distance-1 lookups.
#[derive(Debug, Clone, Default)]
pub struct BannedList {
    exact: BTreeSet<Box<str>>,
    neighbours: BTreeMap<Box<str>, Vec<u32>>,
    terms: Vec<Box<[char]>>,
    lengths: BTreeSet<usize>,
}

impl BannedList {
    /// The lab's global list (`banned_global.txt`), built once.
    pub fn global() -> &'static BannedList {
        static GLOBAL: OnceLock<BannedList> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            BannedList::build(
                GLOBAL_LIST
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#')),
            )
        })
    }

    /// A tenant's custom list: at most [`CUSTOM_LIST_MAX_TERMS`] terms of 4 to 16 characters,
    /// case-insensitive, normalised like passwords. Duplicates are kept once.
    pub fn custom<I, S>(terms: I) -> Result<BannedList, CustomListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let terms: Vec<S> = terms.into_iter().collect();
        if terms.len() > CUSTOM_LIST_MAX_TERMS {
            return Err(CustomListError::TooManyTerms { count: terms.len() });
        }
        for term in &terms {
            let term = term.as_ref().trim();
            let chars = term.chars().count();
            if !(TERM_MIN_CHARS..=TERM_MAX_CHARS).contains(&chars) {
                return Err(CustomListError::TermLength {
                    term: term.to_owned(),
                    chars,
                });
            }
        }
        Ok(BannedList::build(terms.iter().map(|t| t.as_ref().trim())))
    }

    fn build<'a>(terms: impl Iterator<Item = &'a str>) -> BannedList {
        let mut list = BannedList::default();
        for term in terms {
            let normal = normalize(term);
            if list.exact.contains(normal.as_str()) {
                continue;
            }
            let id =
                u32::try_from(list.terms.len()).expect("a banned list has fewer than 2^32 terms");
            let chars: Box<[char]> = normal.chars().collect();
            list.lengths.insert(chars.len());
            list.neighbours
                .entry(normal.clone().into_boxed_str())
                .or_default()
                .push(id);
            for skip in 0..chars.len() {
                let deletion: String = without(&chars, skip).collect();
                let ids = list
                    .neighbours
                    .entry(deletion.into_boxed_str())
                    .or_default();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
            list.exact.insert(normal.into_boxed_str());
            list.terms.push(chars);
        }
        list
    }

    /// Number of distinct (normalised) terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether the list holds no term.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `term`, normalised, is on the list exactly.
    pub fn contains(&self, term: &str) -> bool {
        self.exact.contains(normalize(term).as_str())
    }

    /// Whether `window` (normalised characters) is an exact term; `buf` is scratch space.
    fn is_exact(&self, window: &[char], buf: &mut String) -> bool {
        buf.clear();
        buf.extend(window);
        self.exact.contains(buf.as_str())
    }

    /// Whether `window` is within edit distance 1 of a term: its neighbourhood keys are looked up
    /// (the window itself finds deletions and substitutions of a term, its own deletions find
    /// insertions and substitutions), and each candidate is verified.
    fn is_variant(&self, window: &[char], buf: &mut String) -> bool {
        let verify = |key: &str| {
            self.neighbours.get(key).is_some_and(|ids| {
                ids.iter()
                    .any(|&id| within_one_edit(window, &self.terms[id as usize]))
            })
        };
        buf.clear();
        buf.extend(window);
        if verify(buf.as_str()) {
            return true;
        }
        (0..window.len()).any(|skip| {
            buf.clear();
            buf.extend(without(window, skip));
            verify(buf.as_str())
        })
    }

    /// Window lengths (in characters) to try for edit-distance-1 variants.
    fn variant_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.lengths
            .first()
            .zip(self.lengths.last())
            .into_iter()
            .flat_map(|(&min, &max)| min.saturating_sub(1).max(FUZZY_MIN_CHARS)..=max + 1)
    }
}

/// `chars` without the character at `skip`.
fn without(chars: &[char], skip: usize) -> impl Iterator<Item = char> + '_ {
    chars
        .iter()
        .enumerate()
        .filter(move |&(i, _)| i != skip)
        .map(|(_, &c)| c)
}

/// Levenshtein distance at most 1 (one insertion, deletion or substitution).
fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => short.iter().zip(long).filter(|(x, y)| x != y).count() <= 1,
        1 => {
            let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[prefix..] == long[prefix + 1..]
        }
        _ => false,
    }
}

/// Name tokens of at least [`TERM_MIN_CHARS`] characters, normalised.
fn name_terms(name: &str) -> impl Iterator<Item = Box<[char]>> + '_ {
    normalize(name)
        .split(|c: char| !c.is_alphanumeric())
        .map(|token| token.chars().collect::<Box<[char]>>())
        .filter(|token| token.len() >= TERM_MIN_CHARS)
        .collect::<Vec<_>>()
        .into_iter()
}

/// The cloud password policy of a tenant: the fixed rules, the global list, the tenant's custom
/// list (used only while enforced) and the tenant name.
#[derive(Debug, Clone, Default)]
pub struct CloudPolicy {
    custom: BannedList,
    enforce_custom: bool,
    tenant_terms: Vec<Box<[char]>>,
}

impl CloudPolicy {
    /// A policy with the global list only, for the tenant named `tenant_name` (e.g. "Contoso").
    pub fn new(tenant_name: &str) -> CloudPolicy {
        CloudPolicy {
            custom: BannedList::default(),
            enforce_custom: false,
            tenant_terms: name_terms(tenant_name).collect(),
        }
    }

    /// This policy with `terms` as its custom list, enforced or not ("Enforce custom list").
    pub fn with_custom_list<I, S>(
        self,
        terms: I,
        enforce: bool,
    ) -> Result<CloudPolicy, CustomListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(CloudPolicy {
            custom: BannedList::custom(terms)?,
            enforce_custom: enforce,
            ..self
        })
    }

    /// Turns "Enforce custom list" on or off.
    pub fn set_enforce_custom(&mut self, enforce: bool) {
        self.enforce_custom = enforce;
    }

    /// Whether the custom list is enforced.
    pub fn enforce_custom(&self) -> bool {
        self.enforce_custom
    }

    /// The custom list (enforced or not).
    pub fn custom_list(&self) -> &BannedList {
        &self.custom
    }

    /// The whole cloud policy, in order: length, characters, classes, banned passwords.
    pub fn check(&self, password: &str, user: &UserContext<'_>) -> Result<(), CloudPolicyFailure> {
        CloudPolicy::check_composition(password)?;
        self.check_banned(password, user).map(|_| ())
    }

    /// The fixed rules only: 8–256 characters, only allowed characters, three of four classes.
    pub fn check_composition(password: &str) -> Result<(), CloudPolicyFailure> {
        let length = password.chars().count();
        if length < MIN_LENGTH {
            return Err(CloudPolicyFailure::TooShort { length });
        }
        if length > MAX_LENGTH {
            return Err(CloudPolicyFailure::TooLong { length });
        }
        let mut classes = 0u8;
        for c in password.chars() {
            match CharClass::of(c) {
                Some(class) => classes |= class.bit(),
                None => return Err(CloudPolicyFailure::DisallowedCharacter),
            }
        }
        let classes = classes.count_ones() as u8;
        if classes < MIN_CLASSES {
            return Err(CloudPolicyFailure::TooFewClasses { classes });
        }
        Ok(())
    }

    /// The banned-password check alone: the score, or [`CloudPolicyFailure::Banned`] below 5.
    pub fn check_banned(
        &self,
        password: &str,
        user: &UserContext<'_>,
    ) -> Result<Score, CloudPolicyFailure> {
        let score = self.score(password, user);
        if score.passes() {
            Ok(score)
        } else {
            Err(CloudPolicyFailure::Banned {
                score: score.points,
            })
        }
    }

    /// The banned-password score of `password` for `user`.
    pub fn score(&self, password: &str, user: &UserContext<'_>) -> Score {
        let text: Vec<char> = normalize(password).chars().collect();
        let n = text.len();
        let lists: Vec<&BannedList> = std::iter::once(BannedList::global())
            .chain(self.enforce_custom.then_some(&self.custom))
            .collect();
        let names: Vec<Box<[char]>> = name_terms(user.given_name)
            .chain(name_terms(user.surname))
            .chain(self.tenant_terms.iter().cloned())
            .collect();

        // ends[j]: the starts of the terms found that end at character j.
        let mut ends: Vec<Vec<usize>> = vec![Vec::new(); n + 1];
        let mut exact_cover = vec![false; n];
        let mut found = |start: usize, end: usize, exact: bool, cover: &mut [bool]| {
            ends[end].push(start);
            if exact {
                cover[start..end].iter_mut().for_each(|c| *c = true);
            }
        };

        let mut buf = String::new();
        for list in &lists {
            for &len in list.lengths.iter().filter(|&&len| len <= n) {
                for start in 0..=n - len {
                    if list.is_exact(&text[start..start + len], &mut buf) {
                        found(start, start + len, true, &mut exact_cover);
                    }
                }
            }
        }
        for name in names.iter().filter(|name| name.len() <= n) {
            let len = name.len();
            for start in 0..=n - len {
                if text[start..start + len] == name[..] {
                    found(start, start + len, true, &mut exact_cover);
                }
            }
        }
        let mut variants = Vec::new();
        for list in &lists {
            for len in list.variant_lengths().filter(|&len| len <= n) {
                for start in 0..=n - len {
                    let window = &text[start..start + len];
                    if exact_cover[start..start + len].iter().any(|&c| c) {
                        continue;
                    }
                    if list.is_variant(window, &mut buf) {
                        variants.push((start, start + len));
                    }
                }
            }
        }
        for (start, end) in variants {
            found(start, end, false, &mut exact_cover);
        }

        // best[j]: the lowest score of the first j characters, with its count of terms.
        let mut best = vec![(0u32, 0u32); n + 1];
        for end in 1..=n {
            let (points, terms) = best[end - 1];
            best[end] = (points + 1, terms);
            for &start in &ends[end] {
                let (points, terms) = best[start];
                if points + 1 < best[end].0 {
                    best[end] = (points + 1, terms + 1);
                }
            }
        }
        let (points, banned_terms) = best[n];
        Score {
            points,
            banned_terms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOBODY: UserContext<'static> = UserContext {
        given_name: "",
        surname: "",
    };

    fn contoso_policy() -> CloudPolicy {
        CloudPolicy::new("Fabrikam")
            .with_custom_list(["contoso"], true)
            .expect("a valid custom list")
    }

    #[test]
    fn composition_rules() {
        let long = "Aa1!".repeat(65);
        let cases: &[(&str, Result<(), CloudPolicyFailure>)] = &[
            // Catalogue scenario 9: seven characters are refused whatever AD's minimum.
            ("Xy7#kqP", Err(CloudPolicyFailure::TooShort { length: 7 })),
            ("Xy7#kqPz", Ok(())),
            (&long[..256], Ok(())),
            (&long[..], Err(CloudPolicyFailure::TooLong { length: 260 })),
            (
                "Pässwörd-2024",
                Err(CloudPolicyFailure::DisallowedCharacter),
            ),
            ("Tab\there12", Err(CloudPolicyFailure::DisallowedCharacter)),
            (
                "alllowercase123",
                Err(CloudPolicyFailure::TooFewClasses { classes: 2 }),
            ),
            ("Alllowercase123", Ok(())),
            (
                "ALL CAPS AND SPACE",
                Err(CloudPolicyFailure::TooFewClasses { classes: 2 }),
            ),
            ("lower and space 9", Ok(())),
            ("xY`~\"();<>[]{}|\\:',.?/", Ok(())),
        ];
        for (password, expected) in cases {
            assert_eq!(
                CloudPolicy::check_composition(password),
                *expected,
                "{password:?}"
            );
        }
    }

    #[test]
    fn banned_scores() {
        let policy = contoso_policy();
        let poll = UserContext {
            given_name: "Poll",
            surname: "Ng",
        };
        let cases: &[(&str, &UserContext<'_>, u32, u32)] = &[
            // Catalogue scenario 8 and the product's example: [contoso] [blank] [1] [2].
            ("C0ntos0Blank12", &NOBODY, 4, 2),
            // The product's second example: [contoso] [blank] [f] [9] [!].
            ("ContoS0Bl@nkf9!", &NOBODY, 5, 2),
            // Normalisation: "Bl@nK" is "blank".
            ("Bl@nK", &NOBODY, 1, 1),
            // Edit distance 1 of "abcdef": substitution, insertion, deletion.
            ("abcdeg", &NOBODY, 1, 1),
            ("abcdefg", &NOBODY, 2, 1),
            ("abcde", &NOBODY, 1, 1),
            // A first name is a term: [poll] [2] [3] [f].
            ("p0LL23f", &poll, 4, 1),
            // The tenant name is a term: [fabrikam] [2] [0] [2] [4].
            ("FabriKam2024", &NOBODY, 5, 1),
            // No term at all: every character scores.
            ("Zq7#vX2m", &NOBODY, 8, 0),
        ];
        for (password, user, points, terms) in cases {
            let score = policy.score(password, user);
            assert_eq!(
                score,
                Score {
                    points: *points,
                    banned_terms: *terms
                },
                "{password:?}"
            );
        }
    }

    #[test]
    fn check_in_order() {
        let policy = contoso_policy();
        let cases: &[(&str, Result<(), CloudPolicyFailure>)] = &[
            (
                "C0ntos0Blank12",
                Err(CloudPolicyFailure::Banned { score: 4 }),
            ),
            ("ContoS0Bl@nkf9!", Ok(())),
            ("Short1!", Err(CloudPolicyFailure::TooShort { length: 7 })),
            ("Password1", Err(CloudPolicyFailure::Banned { score: 2 })),
            // [password] [2] [0] [2] [4]: enough points.
            ("P@ssw0rd2024", Ok(())),
            ("Summer2024!x", Ok(())),
            // The lab's fixture passwords (DESIGN §7) pass.
            ("Lab-Admin-Passw0rd1", Ok(())),
            ("Lab-User-Passw0rd1", Ok(())),
            ("Lab-Service-Passw0rd1", Ok(())),
        ];
        for (password, expected) in cases {
            assert_eq!(policy.check(password, &NOBODY), *expected, "{password:?}");
        }
        let failure = policy.check("C0ntos0Blank12", &NOBODY).unwrap_err();
        assert_eq!(failure.reason(), "FuzzyPolicyViolationInvalidPassword");
        assert_eq!(failure.score(), Some(4));
        assert!(failure.is_banned());
        assert!(!failure.to_string().to_lowercase().contains("contos"));
    }

    #[test]
    fn custom_list_only_while_enforced() {
        let mut policy = contoso_policy();
        policy.set_enforce_custom(false);
        assert!(policy.check("C0ntos0Blank12", &NOBODY).is_ok());
        policy.set_enforce_custom(true);
        assert!(policy.check("C0ntos0Blank12", &NOBODY).is_err());
        assert!(policy.custom_list().contains("CONT0SO"));
    }

    #[test]
    fn custom_list_limits() {
        assert_eq!(
            BannedList::custom(["abc"]).unwrap_err(),
            CustomListError::TermLength {
                term: "abc".into(),
                chars: 3
            }
        );
        assert!(BannedList::custom(["a".repeat(17)]).is_err());
        assert!(BannedList::custom(["a".repeat(16)]).is_ok());
        let many: Vec<String> = (0..1001).map(|i| format!("term{i:04}")).collect();
        assert_eq!(
            BannedList::custom(&many).unwrap_err(),
            CustomListError::TooManyTerms { count: 1001 }
        );
        assert_eq!(BannedList::custom(&many[..1000]).unwrap().len(), 1000);
        assert_eq!(BannedList::custom(["London", "L0nd0n"]).unwrap().len(), 1);
    }

    #[test]
    fn global_list_is_well_formed() {
        let terms: Vec<&str> = GLOBAL_LIST
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        assert!((100..=200).contains(&terms.len()), "{} terms", terms.len());
        for term in &terms {
            let chars = term.chars().count();
            assert!(
                (TERM_MIN_CHARS..=TERM_MAX_CHARS).contains(&chars),
                "{term:?}"
            );
        }
        assert_eq!(
            BannedList::global().len(),
            terms.len(),
            "no duplicates after normalisation"
        );
        assert!(BannedList::global().contains("Blank"));
    }

    #[test]
    fn edit_distance_one() {
        let abc: Vec<char> = "abcdef".chars().collect();
        let cases = [
            ("abcdef", true),
            ("abcdeg", true),
            ("abcdefg", true),
            ("abcde", true),
            ("xabcdef", true),
            ("bacdef", false),
            ("abcd", false),
            ("abcdefgh", false),
        ];
        for (other, expected) in cases {
            let other: Vec<char> = other.chars().collect();
            assert_eq!(within_one_edit(&abc, &other), expected, "{other:?}");
        }
    }

    #[test]
    fn long_passwords_score_quickly_and_exactly() {
        let policy = contoso_policy();
        // 256 characters, no term: 256 points.
        let plain: String = "Zq7#vX2m".repeat(32);
        assert_eq!(policy.score(&plain, &NOBODY).points, 256);
        // Each "password" is one term.
        let repeated = "password".repeat(32);
        assert_eq!(
            policy.score(&repeated, &NOBODY),
            Score {
                points: 32,
                banned_terms: 32
            }
        );
    }
}
