//! A secret setting (API keys, database URLs with passwords): never printed. `Debug` shows
//! `***`; there is no `Display`; the value is read only through [`Secret::expose`].

use std::convert::Infallible;
use std::str::FromStr;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl FromStr for Secret {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let key = Secret::new("sk-live-123");
        assert_eq!(format!("{key:?}"), "***");
        assert_eq!(format!("{:?}", Some(key.clone())), "Some(***)");
        assert_eq!(key.expose(), "sk-live-123");
    }
}
