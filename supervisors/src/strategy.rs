//! Which children a failure affects: one clause per strategy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::ChildId;

/// How a supervisor reacts to a child that must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Restart only the failed child.
    #[default]
    OneForOne,
    /// Stop all other children (reverse start order) and restart all of them (start order).
    OneForAll,
    /// Stop the children started after the failed one and restart it and them, in start order.
    RestForOne,
}

impl Strategy {
    /// The children affected by the failure of the child at position `failed` of `order`
    /// (start-order sequence number → id), in start order, the failed one included.
    pub(crate) fn affected(self, order: &BTreeMap<u64, ChildId>, failed: u64) -> Vec<ChildId> {
        match self {
            Self::OneForOne => order.get(&failed).cloned().into_iter().collect(),
            Self::OneForAll => order.values().cloned().collect(),
            Self::RestForOne => order.range(failed..).map(|(_, id)| id.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> BTreeMap<u64, ChildId> {
        ["a", "b", "c", "d"]
            .iter()
            .enumerate()
            .map(|(i, id)| (i as u64 * 10, ChildId::from(*id)))
            .collect()
    }

    fn ids(v: Vec<ChildId>) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn each_strategy_picks_its_children() {
        let o = order();
        assert_eq!(ids(Strategy::OneForOne.affected(&o, 10)), ["b"]);
        assert_eq!(
            ids(Strategy::OneForAll.affected(&o, 10)),
            ["a", "b", "c", "d"]
        );
        assert_eq!(ids(Strategy::RestForOne.affected(&o, 10)), ["b", "c", "d"]);
        assert_eq!(ids(Strategy::RestForOne.affected(&o, 30)), ["d"]);
    }
}
