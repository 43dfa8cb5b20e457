//! [`Extensions`]: provider-specific settings carried by the provider-neutral option types
//! ([`Options`](crate::Options), [`EmbedOptions`](crate::EmbedOptions)), keyed by their type
//! like `http::Extensions`, so that the core types never name a provider. A provider reads
//! the settings of its own type (`options.extension::<OllamaOptions>()`) and refuses, as
//! [`Error::Unsupported`](crate::Error::Unsupported), the ones it cannot honour.

use std::any::Any;
use std::fmt;

/// A value that can ride in [`Extensions`]: any `'static` type that is `Clone`, `Debug`,
/// `PartialEq`, `Send` and `Sync` (implemented for all of them).
pub trait Extension: Any + Send + Sync + fmt::Debug {
    /// A boxed copy.
    #[doc(hidden)]
    fn clone_box(&self) -> Box<dyn Extension>;
    /// Whether `other` is a value of the same type, equal to this one.
    #[doc(hidden)]
    fn eq_dyn(&self, other: &dyn Extension) -> bool;
    /// As `Any`, to downcast.
    #[doc(hidden)]
    fn as_any(&self) -> &dyn Any;
    /// The type's name, for messages.
    #[doc(hidden)]
    fn type_name(&self) -> &'static str;
}

impl<T: Any + Clone + PartialEq + Send + Sync + fmt::Debug> Extension for T {
    fn clone_box(&self) -> Box<dyn Extension> {
        Box::new(self.clone())
    }

    fn eq_dyn(&self, other: &dyn Extension) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// A set of values keyed by their type: at most one value of each type.
///
/// ```
/// use llmport::extensions::Extensions;
/// #[derive(Clone, Debug, PartialEq)]
/// struct Mine(u32);
/// let mut ext = Extensions::new();
/// ext.insert(Mine(1));
/// assert_eq!(ext.get::<Mine>(), Some(&Mine(1)));
/// assert_eq!(ext.insert(Mine(2)), Some(Mine(1)));
/// ```
#[derive(Default)]
pub struct Extensions {
    // A handful of entries at most: a vector searched by type id beats a hash map here and
    // costs nothing when empty (the usual case).
    entries: Vec<Box<dyn Extension>>,
}

impl Extensions {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`, returning the value of the same type it replaces.
    pub fn insert<T: Extension + Clone>(&mut self, value: T) -> Option<T> {
        let old = self.remove::<T>();
        self.entries.push(Box::new(value));
        old
    }

    /// The value of type `T`, if there is one.
    pub fn get<T: Extension>(&self) -> Option<&T> {
        self.entries
            .iter()
            .find_map(|e| e.as_any().downcast_ref::<T>())
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Extension + Clone>(&mut self) -> Option<T> {
        let i = self.entries.iter().position(|e| e.as_any().is::<T>())?;
        let e = self.entries.swap_remove(i);
        e.as_any().downcast_ref::<T>().cloned()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The type names of the values, for messages.
    pub fn type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|e| e.type_name())
    }
}

impl Clone for Extensions {
    fn clone(&self) -> Self {
        Extensions {
            entries: self.entries.iter().map(|e| e.clone_box()).collect(),
        }
    }
}

impl PartialEq for Extensions {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|a| other.entries.iter().any(|b| a.eq_dyn(b.as_ref())))
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct A(u32);
    #[derive(Clone, Debug, PartialEq)]
    struct B(&'static str);

    #[test]
    fn one_value_per_type_compared_by_value_regardless_of_order() {
        let mut x = Extensions::new();
        assert!(x.is_empty());
        x.insert(A(1));
        x.insert(B("b"));
        let mut y = Extensions::new();
        y.insert(B("b"));
        y.insert(A(1));
        assert_eq!(x, y);
        assert_eq!(x.clone(), y);
        y.insert(A(2));
        assert_ne!(x, y);
        assert_eq!(y.get::<A>(), Some(&A(2)));
        assert_eq!(y.remove::<A>(), Some(A(2)));
        assert_eq!(y.get::<A>(), None);
        assert_eq!(format!("{y:?}"), r#"[B("b")]"#);
        assert_eq!(y.type_names().count(), 1);
    }
}
