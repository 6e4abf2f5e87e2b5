//! Link latencies of the simulated network: a fixed delay (`"5ms"`) or a distribution with
//! millisecond parameters (`{ dist = "lognormal", mean_ms = 30, sd_ms = 10 }`).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::duration::Dur;
use super::names::Host;

/// The network's latencies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Every link no entry of `links` names (default 0: instant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Latency>,
    /// Latencies of given links; a later entry wins where several match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkLatency>,
}

impl Network {
    /// Whether any latency is a distribution (which needs the turmoil backend).
    pub fn has_distribution(&self) -> bool {
        self.default.as_ref().is_some_and(|l| !l.is_fixed())
            || self.links.iter().any(|l| !l.latency.is_fixed())
    }
}

/// The latency of the links between two hosts (or patterns of hosts), both directions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkLatency {
    /// One end.
    pub a: Host,
    /// The other end.
    pub b: Host,
    /// The one-way delay.
    pub latency: Latency,
}

/// A one-way delay.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always this long, written as a duration (`"5ms"`).
    Fixed(Dur),
    /// Drawn from the link's seeded stream.
    Dist(Distribution),
}

impl Latency {
    /// Whether it is fixed.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Latency::Fixed(_))
    }
}

/// A latency distribution, in milliseconds; negative draws count as 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Normal with this mean and standard deviation.
    Normal {
        /// Mean, ms.
        mean_ms: f64,
        /// Standard deviation, ms.
        sd_ms: f64,
    },
    /// Log-normal whose values have this mean and standard deviation.
    Lognormal {
        /// Mean of the values, ms.
        mean_ms: f64,
        /// Standard deviation of the values, ms.
        sd_ms: f64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lowest, ms.
        min_ms: f64,
        /// Highest, ms.
        max_ms: f64,
    },
}

impl Distribution {
    /// Checks the parameters; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a number ≥ 0, not {v}"))
            }
        };
        match *self {
            Distribution::Normal { mean_ms, sd_ms } => {
                finite("mean_ms", mean_ms)?;
                finite("sd_ms", sd_ms)
            }
            Distribution::Lognormal { mean_ms, sd_ms } => {
                finite("mean_ms", mean_ms)?;
                finite("sd_ms", sd_ms)?;
                if mean_ms == 0.0 {
                    return Err("mean_ms of a lognormal must be > 0".into());
                }
                Ok(())
            }
            Distribution::Uniform { min_ms, max_ms } => {
                finite("min_ms", min_ms)?;
                finite("max_ms", max_ms)?;
                if min_ms > max_ms {
                    return Err(format!("min_ms {min_ms} is above max_ms {max_ms}"));
                }
                Ok(())
            }
        }
    }

    /// The underlying normal's (mu, sigma) of a log-normal with this mean and deviation (ms).
    pub fn lognormal_params(mean_ms: f64, sd_ms: f64) -> (f64, f64) {
        let var = (1.0 + (sd_ms * sd_ms) / (mean_ms * mean_ms)).ln();
        (mean_ms.ln() - var / 2.0, var.sqrt())
    }
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Latency::Fixed(d) => d.serialize(s),
            Latency::Dist(d) => d.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Latency;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a latency: a duration such as \"5ms\", or a table such as { dist = \"normal\", mean_ms = 5, sd_ms = 1 }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Latency, E> {
                Dur::parse(v).map(Latency::Fixed).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Latency, A::Error> {
                Distribution::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Latency::Dist)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_parameters_give_the_mean() {
        let (mu, sigma) = Distribution::lognormal_params(30.0, 10.0);
        let mean = (mu + sigma * sigma / 2.0).exp();
        assert!((mean - 30.0).abs() < 1e-9, "{mean}");
    }
}
