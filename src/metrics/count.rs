//! A counter that may be unknown: one added to the result after files
//! without it were written (and committed). Read from such a file it is
//! unknown, never a zero nobody counted: "0 of 8580 data channels opened"
//! once said of a run that opened them all. A live run always knows it.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::ops::AddAssign;

/// Known (a number, from zero) or unknown (`null` in JSON; a result
/// without the field reads so, through the field's `#[serde(default =
/// "Count::unknown")]`). The default is a known zero: what a run starts at.
/// Counters are `u64`; a gauge that adds (the timeline's `sessions_open`)
/// is `Count<i64>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Count<T = u64>(Option<T>);

impl<T: Default> Default for Count<T> {
    fn default() -> Self {
        Count(Some(T::default()))
    }
}

impl<T: Copy> Count<T> {
    /// For `#[serde(default = ...)]`: a field the file does not have.
    pub fn unknown() -> Count<T> {
        Count(None)
    }

    /// The number, when known.
    pub fn get(self) -> Option<T> {
        self.0
    }
}

impl<T> From<T> for Count<T> {
    fn from(n: T) -> Count<T> {
        Count(Some(n))
    }
}

/// Counting on: an unknown count stays unknown.
impl<T: AddAssign> AddAssign<T> for Count<T> {
    fn add_assign(&mut self, n: T) {
        if let Some(c) = &mut self.0 {
            *c += n;
        }
    }
}

/// Merging: a sum with an unknown part is unknown.
impl<T: AddAssign + Copy> AddAssign for Count<T> {
    fn add_assign(&mut self, o: Count<T>) {
        match (&mut self.0, o.0) {
            (Some(a), Some(b)) => *a += b,
            _ => self.0 = None,
        }
    }
}

/// Equal to a number only when known and the same.
impl<T: PartialEq> PartialEq<T> for Count<T> {
    fn eq(&self, n: &T) -> bool {
        self.0.as_ref() == Some(n)
    }
}

/// Comparable with a number only when known.
impl<T: PartialOrd> PartialOrd<T> for Count<T> {
    fn partial_cmp(&self, n: &T) -> Option<Ordering> {
        self.0.as_ref().and_then(|c| c.partial_cmp(n))
    }
}

/// The number, or "unknown".
impl<T: fmt::Display> fmt::Display for Count<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_reads_unknown_and_stays_so() {
        #[derive(Deserialize, Serialize)]
        struct C {
            #[serde(default = "Count::unknown")]
            n: Count,
        }
        let c: C = serde_json::from_str("{}").unwrap();
        assert_eq!(c.n.get(), None);
        assert_eq!(c.n.to_string(), "unknown");
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"n":null}"#);
        let mut n = c.n;
        n += 5;
        n += Count::from(2);
        assert_eq!(n.get(), None);
        assert!(n != 0 && n.partial_cmp(&0).is_none());
        let c: C = serde_json::from_str(r#"{"n": 3}"#).unwrap();
        let mut n = c.n;
        n += Count::from(2);
        assert!(n == 5 && n > 4);
        assert_eq!(Count::default(), 0);
    }
}
