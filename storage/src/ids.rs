//! Newtype identifiers. `ItemId` is the user's key; `RowId` a dense offset inside one
//! segment; `Lsn` the log sequence number of a committed batch.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest item id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 1024;

/// The user's key for an item: non-empty UTF-8 text of at most [`MAX_ID_BYTES`] bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct ItemId(String);

impl ItemId {
    /// Validates and wraps a user id.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() {
            return Err(Error::InvalidId {
                reason: "an item id must not be empty".into(),
            });
        }
        if id.len() > MAX_ID_BYTES {
            return Err(Error::InvalidId {
                reason: format!(
                    "an item id is at most {MAX_ID_BYTES} bytes, got {}",
                    id.len()
                ),
            });
        }
        Ok(ItemId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for ItemId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

macro_rules! number_id {
    ($(#[$doc:meta])* $name:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
        pub struct $name(pub $inner);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

number_id!(
    /// Dense row offset inside one segment (0..rows).
    RowId,
    u32
);
number_id!(
    /// Log sequence number: one per committed batch, strictly increasing.
    Lsn,
    u64
);
number_id!(
    /// Names a segment file; never reused within a database.
    SegmentId,
    u64
);
number_id!(
    /// Names a collection; never reused, so a dropped and re-created name is a new one.
    CollectionId,
    u64
);
number_id!(
    /// Names a column inside a collection; never reused, so a dropped and re-added column
    /// does not see the old column's bytes.
    ColumnId,
    u32
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_oversized_ids_are_rejected() {
        assert!(matches!(ItemId::new(""), Err(Error::InvalidId { .. })));
        assert!(matches!(
            ItemId::new("x".repeat(MAX_ID_BYTES + 1)),
            Err(Error::InvalidId { .. })
        ));
        assert_eq!(ItemId::new("p1").unwrap().as_str(), "p1");
    }
}
