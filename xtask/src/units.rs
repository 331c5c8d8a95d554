//! Values with units as xtask.yaml writes them — sizes such as `20MB` or `4g` — and the serde reader shared by
//! every such value (a plain number or text with a unit). A leaf: it imports nothing from the crate.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A value written as a plain number (`from_number`) or as text with a unit (`parse`); `expected` says which
/// forms are accepted when it is neither. A visitor rather than an untagged enum: the error is then raised while
/// the scalar is read, so its position is the key's, not the enclosing map's.
pub fn number_or_text<'de, D: Deserializer<'de>, T>(
    d: D,
    expected: &'static str,
    from_number: fn(u64) -> Result<T, String>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    struct V<T> {
        expected: &'static str,
        from_number: fn(u64) -> Result<T, String>,
        parse: fn(&str) -> Result<T, String>,
    }
    impl<T> serde::de::Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expected)
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<T, E> {
            (self.from_number)(n).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<T, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("`{n}` is negative: {}", self.expected))),
            }
        }
        fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<T, E> {
            (self.parse)(&n.to_string()).map_err(E::custom)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            (self.parse)(s).map_err(E::custom)
        }
    }
    d.deserialize_any(V { expected, from_number, parse })
}

/// A size written as `20MB`, `20MiB`, `4g`, `512m` or a number of bytes. `MB` is 10^6 and `MiB` 2^20, as Docker
/// prints them; a bare `m`/`g` follows minikube's `--memory` and means MiB/GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Result<ByteSize, String> {
        let t = s.trim();
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size: write e.g. `20MB`, `512MiB` or `4g`"))?;
        let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "k" | "kib" => 1024.0,
            "m" | "mib" => 1024.0 * 1024.0,
            "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
            _ => return Err(format!("`{s}` has an unknown size unit: use B, KB, MB, GB, KiB, MiB, GiB, k, m or g")),
        };
        ByteSize::checked(n * mult, s)
    }

    /// A size of `bytes`, written `shown`: more than 0 and at most 1 PB (more is a typo, and overflows `u64`).
    fn checked(bytes: f64, shown: &str) -> Result<ByteSize, String> {
        if !bytes.is_finite() || bytes > 1e15 {
            return Err(format!("`{shown}` is larger than the maximum of 1PB"));
        }
        if bytes.round() < 1.0 {
            return Err(format!("`{shown}` is not a size above zero"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }

    pub fn mib(self) -> u64 {
        self.0 / (1024 * 1024)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        if b >= 1e9 {
            write!(f, "{:.2} GB", b / 1e9)
        } else if b >= 1e6 {
            write!(f, "{:.1} MB", b / 1e6)
        } else if b >= 1e3 {
            write!(f, "{:.1} kB", b / 1e3)
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        number_or_text(
            d,
            "expected a size such as `20MB` or `4g`",
            |n| ByteSize::checked(n as f64, &n.to_string()),
            ByteSize::parse,
        )
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}
