//! Values as a scenario writes them, before they are checked: durations ("15s", "1h 30m")
//! held in whole milliseconds, duration distributions, and the key list of a serde struct.
//!
//! Both the scenario's sections and each policy kind's keys are written with these, so
//! they live here, below both.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// A duration written as a human string ("15s", "5m", "1h 30m", "250ms"), held in milliseconds.
///
/// Simulated time is integer milliseconds everywhere (no float clock), so durations are
/// converted once, here, and a duration finer than a millisecond is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub u64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"30s\", \"5m\" or \"1h 30m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A duration in milliseconds as a scenario writes it: whole hours, minutes, seconds and
/// milliseconds, largest first (`5400000` is `"1h 30m"`, `180000` is `"3m"`), so a value
/// rollsim writes back into a scenario reads as a person would have written it.
pub fn duration_text(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let parts = [
        (ms / 3_600_000, "h"),
        (ms / 60_000 % 60, "m"),
        (ms / 1000 % 60, "s"),
        (ms % 1000, "ms"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses a human duration into whole milliseconds; the error names what was expected.
pub fn parse_duration(s: &str) -> Result<Dur, String> {
    // "5M" reads as five months to the parser and as five minutes to many people: refuse
    // the capital M rather than guess.
    let bytes = s.as_bytes();
    if let Some(i) = s.find('M') {
        let after = bytes.get(i + 1).copied();
        if !after.is_some_and(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "duration {s:?} has the ambiguous unit \"M\" (minutes or months?); expected \"m\" or \"min\" for minutes, \"d\" for days"
            ));
        }
    }
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!("invalid duration {s:?} ({e}); expected a duration such as \"30s\", \"5m\" or \"1h 30m\"")
    })?;
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(format!(
            "duration {s:?} is finer than a millisecond; simulated time counts whole milliseconds"
        ));
    }
    // A cap far beyond any useful horizon keeps every sum of times far from overflow.
    const MAX_MS: u128 = 10 * 365 * 86_400_000;
    if d.as_millis() > MAX_MS {
        return Err(format!(
            "duration {s:?} is too long; expected at most 10 years"
        ));
    }
    Ok(Dur(d.as_millis() as u64))
}

/// A distribution of durations: a fixed string ("2h") or one shaped table.
#[derive(Debug, Clone, PartialEq)]
pub enum DurDist {
    /// Always this long.
    Fixed(Dur),
    /// A shaped distribution (`{ exponential = "2h" }`, ...).
    Shaped(ShapedDist),
}

/// The shaped duration distributions a scenario may ask for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ShapedDist {
    /// Exponential with this mean (memoryless repair times).
    Exponential(Dur),
    /// Uniform between two durations.
    Uniform([Dur; 2]),
    /// Log-normal given by its median and 95th percentile (heavy-tailed outages).
    Lognormal { median: Dur, p95: Dur },
}

impl<'de> Deserialize<'de> for DurDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DurDist;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration (\"2h\") or one of { exponential = \"2h\" }, \
                     { uniform = [\"30m\", \"2h\"] }, { lognormal = { median = \"1h\", p95 = \"4h\" } }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DurDist, E> {
                parse_duration(s).map(DurDist::Fixed).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DurDist, A::Error> {
                ShapedDist::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DurDist::Shaped)
            }
        }
        d.deserialize_any(V)
    }
}

/// The field names of a struct that derives `Deserialize` (serde's `FIELDS`, renames
/// applied), read by asking it to deserialize from a deserializer that only records them.
/// Key lists in messages come from here, never from a list kept by hand.
pub fn fields_of<T: de::DeserializeOwned>() -> &'static [&'static str] {
    struct Catch<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Catch<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Catch(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::{duration_text, parse_duration};

    #[test]
    fn a_written_duration_reads_back_as_the_same_milliseconds() {
        for ms in [
            0, 1, 999, 1000, 61_000, 180_000, 5_400_250, 86_400_000, 90_061_001,
        ] {
            let text = duration_text(ms);
            assert_eq!(parse_duration(&text).map(|d| d.0), Ok(ms), "{text}");
        }
        assert_eq!(duration_text(180_000), "3m");
        assert_eq!(duration_text(90_061_001), "25h 1m 1s 1ms");
    }
}
