//! The timeline: steps at offsets from the lab start, each with an optional narration and one
//! action of a closed set. In the file the action is the step's one key besides `at`,
//! `narration` and `refused`, e.g. `dc_stop = { domain = "contoso.lab", dc = "DC2" }`, so an
//! error inside an action points at its own line and field.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::duration::Dur;
use super::names::{Host, Op, Outcome, PasswordKind, SettingName};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn first() -> u32 {
    1
}

/// One step of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// When, as an offset from the lab start (`at = "10m"`).
    pub at: Dur,
    /// What `demo` says before the step.
    pub narration: Option<String>,
    /// The lab must refuse the step, with an error containing this text (`""`: any refusal),
    /// e.g. `Authorization_RequestDenied`, `NoCloudSyncAgent`. Not for `operation` steps, which
    /// say what they expect with `expect`.
    pub refused: Option<String>,
    /// What happens.
    pub action: Action,
}

/// A DC of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcRef {
    /// The domain.
    pub domain: String,
    /// The DC, e.g. `DC2`.
    pub dc: String,
}

/// A DC's added response delays, in lab milliseconds (`dc delay`); 0 clears.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcDelay {
    /// The domain.
    pub domain: String,
    /// The DC.
    pub dc: String,
    /// Before every operation.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub all_ms: u64,
    /// Before binds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bind_ms: u64,
    /// Before searches.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub search_ms: u64,
    /// Before writes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub modify_ms: u64,
}

/// One writeback agent of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentRef {
    /// The domain.
    pub domain: String,
    /// Which of its agents, 1-based (default 1).
    #[serde(default = "first")]
    pub index: u32,
}

/// Two hosts of the simulated network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// One end.
    pub a: Host,
    /// The other end.
    pub b: Host,
}

/// Heal one partition, or every one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heal {
    /// One end of the partition to heal (with `b`); absent = heal every partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<Host>,
    /// The other end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<Host>,
}

/// Added latency on a link for a while.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpike {
    /// One end.
    pub a: Host,
    /// The other end.
    pub b: Host,
    /// Added one-way delay, ms.
    pub ms: u64,
    /// How long it lasts.
    #[serde(rename = "for")]
    pub lasts: Dur,
}

/// ACEs added to or removed from an object's DACL, over LDAP as the domain's Administrator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AceChange {
    /// The domain.
    pub domain: String,
    /// The object: a user's UPN, `root`, `AdminSDHolder`, or a DN (full or relative to the
    /// domain head).
    pub object: String,
    /// The ACEs in SDDL, e.g. `(OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;{sync})`;
    /// `{sync}` stands for the domain's sync account.
    pub sddl: String,
}

/// An object of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    /// The domain.
    pub domain: String,
    /// The object (as in [`AceChange::object`]).
    pub object: String,
}

/// `sspr-lab agent permissions`: the writeback rights for the sync account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// The domain.
    pub domain: String,
    /// Only this object (`--object`, as in [`AceChange::object`]) instead of the domain root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Also stamp AdminSDHolder (`--include-admin-sd-holder`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub include_admin_sd_holder: bool,
}

/// `sspr-lab agent writeback enable|disable`: the domain's cloud sync writeback flag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Writeback {
    /// The domain (a cloud sync domain).
    pub domain: String,
    /// On or off.
    pub enable: bool,
    /// The administrator whose token is used (default `hybridadmin`).
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub as_admin: Option<String>,
}

/// `sspr-lab gpo set`: edit the Default Domain Policy on the PDC emulator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpoSet {
    /// The domain.
    pub domain: String,
    /// MS-GPSB keys and values, e.g. `{ MinimumPasswordAge = 1 }`.
    pub settings: BTreeMap<String, i64>,
}

/// `sspr-lab gpupdate`: apply group policy now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpupdate {
    /// The domain.
    pub domain: String,
    /// One DC (default: every DC of the domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// Apply even if not newer (`/force`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
}

/// `sspr-lab sdprop`: run SDProp now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sdprop {
    /// The domain (default: every domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// A value of a tenant setting: a bool, or a name (`sspr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingValue {
    /// On or off.
    Bool(bool),
    /// A name.
    Text(String),
}

impl Serialize for SettingValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SettingValue::Bool(b) => s.serialize_bool(*b),
            SettingValue::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SettingValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false, or a name such as \"all\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SettingValue, E> {
                Ok(SettingValue::Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SettingValue, E> {
                Ok(SettingValue::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Change one tenant setting through `PUT /lab/settings`, as an administrator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// Which setting.
    pub name: SettingName,
    /// Its new value.
    pub value: SettingValue,
    /// The administrator acting (default `hybridadmin`): `admin`, `hybridadmin`, `helpdesk`,
    /// a cloud admin's UPN, or a synced user with a cloud role.
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub as_admin: Option<String>,
}

/// A scripted password operation by a named user (the runner generates the password from the
/// seed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The operation.
    pub op: Op,
    /// The user whose password it is, by UPN (`alice@contoso.lab`).
    pub user: String,
    /// The administrator for an admin tool (default `helpdesk`), as in [`Setting::as_admin`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Which new password the runner generates (default `valid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordKind>,
    /// How it must end; a different end fails the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Outcome>,
}

/// Move the lab clock forward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// By how much.
    pub by: Dur,
}

/// Declares [`Action`] and the step's wire form, one key per action.
macro_rules! actions {
    ($( $(#[$doc:meta])* $key:ident => $Variant:ident($Ty:ty), )*) => {
        /// What a step does: one of a closed set.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Action {
            $( $(#[$doc])* $Variant($Ty), )*
        }

        impl Action {
            /// Every action's key, in the file's spelling.
            pub const KEYS: &[&str] = &[$(stringify!($key)),*];

            /// This action's key, e.g. `dc_stop`.
            pub fn key(&self) -> &'static str {
                match self {
                    $( Action::$Variant(_) => stringify!($key), )*
                }
            }
        }

        /// A step as the file has it: at most one action key is set.
        #[derive(Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawStep {
            at: Dur,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            narration: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            refused: Option<String>,
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $key: Option<$Ty>,
            )*
        }

        impl RawStep {
            fn into_step(self) -> Result<Step, String> {
                let mut found: Vec<Action> = Vec::new();
                $( if let Some(v) = self.$key { found.push(Action::$Variant(v)); } )*
                match found.len() {
                    1 => Ok(Step {
                        at: self.at,
                        narration: self.narration,
                        refused: self.refused,
                        action: found.pop().expect("one"),
                    }),
                    0 => Err(format!(
                        "the step has no action: give one of {}",
                        Action::KEYS.join(", ")
                    )),
                    _ => Err(format!(
                        "the step has {} actions ({}): give one per step",
                        found.len(),
                        found.iter().map(|a| a.key()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }

            fn from_step(s: &Step) -> RawStep {
                let mut raw = RawStep {
                    at: s.at,
                    narration: s.narration.clone(),
                    refused: s.refused.clone(),
                    $( $key: None, )*
                };
                match &s.action {
                    $( Action::$Variant(v) => raw.$key = Some(v.clone()), )*
                }
                raw
            }
        }
    };
}

actions! {
    /// Stop a DC: its listeners refuse, replication to it waits (`dc stop`).
    dc_stop => DcStop(DcRef),
    /// Start a stopped DC; it catches up (`dc start`).
    dc_start => DcStart(DcRef),
    /// Set a DC's response delays (`dc delay`).
    dc_delay => DcDelay(DcDelay),
    /// Install and register an agent that is not running yet (an undeployed lab's agents).
    agent_start => AgentStart(AgentRef),
    /// Kill an agent (no clean shutdown: jobs in hand are lost).
    agent_crash => AgentCrash(AgentRef),
    /// Start a crashed agent again with its saved registration.
    agent_restart => AgentRestart(AgentRef),
    /// Cut the network between two hosts (turmoil only).
    partition => Partition(Link),
    /// Heal a partition, or all of them.
    heal => Heal(Heal),
    /// Add latency to a link for a while (turmoil only).
    latency_spike => LatencySpike(LatencySpike),
    /// Add ACEs to an object's DACL.
    grant_ace => GrantAce(AceChange),
    /// Remove ACEs from an object's DACL.
    remove_ace => RemoveAce(AceChange),
    /// Disable inheritance on an object (its DACL's protected flag).
    disable_inheritance => DisableInheritance(ObjectRef),
    /// `agent permissions`: grant the writeback rights.
    permissions => Permissions(Permissions),
    /// `agent writeback enable|disable`: a cloud sync domain's writeback flag.
    writeback => Writeback(Writeback),
    /// `gpo set`: edit the Default Domain Policy.
    gpo_set => GpoSet(GpoSet),
    /// `gpupdate`: apply group policy now.
    gpupdate => Gpupdate(Gpupdate),
    /// `sdprop`: run SDProp now.
    sdprop => Sdprop(Sdprop),
    /// Change a tenant setting as an administrator.
    setting => Setting(Setting),
    /// A scripted password operation by a named user.
    operation => Operation(Operation),
    /// Move the lab clock forward.
    advance => Advance(Advance),
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawStep::from_step(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timeline step: `at`, an optional `narration` and one action")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Step, A::Error> {
                // Inside the deserializer's call, so an error here gets the step's span.
                let raw = RawStep::deserialize(de::value::MapAccessDeserializer::new(map))?;
                raw.into_step().map_err(de::Error::custom)
            }
        }
        d.deserialize_map(V)
    }
}
