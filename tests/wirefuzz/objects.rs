//! The client's side of the object map: which ids are live, of which interface and version,
//! and which id a new object must take (the lowest one the compositor has released with
//! `wl_display.delete_id`, or the next never used: anything else is a protocol error).

use std::collections::{BTreeMap, BTreeSet};

use wayland_client::backend::protocol::Interface;

use crate::protocols;

/// Where ids the compositor allocates start.
pub const SERVER_IDS: u32 = 0xFF00_0000;

pub struct Obj {
    pub iface: &'static Interface,
    pub version: u32,
    /// False once we sent its destructor: the id stays taken until `delete_id`.
    pub alive: bool,
    /// The first object the creating request named (the surface of an `xdg_surface`), or
    /// the object it was sent to (the `xdg_surface` of an `xdg_toplevel`, the pool of a
    /// buffer), so that a recipe can find the surface behind a role.
    pub related: Option<u32>,
}

pub struct Objects {
    map: BTreeMap<u32, Obj>,
    free: BTreeSet<u32>,
    next: u32,
}

impl Objects {
    pub fn new() -> Self {
        let mut map = BTreeMap::new();
        map.insert(
            1,
            Obj {
                iface: protocols::display(),
                version: 1,
                alive: true,
                related: None,
            },
        );
        Self {
            map,
            free: BTreeSet::new(),
            next: 2,
        }
    }

    /// The id the next created object must take.
    pub fn next_id(&self) -> u32 {
        self.free.first().copied().unwrap_or(self.next)
    }

    pub fn create(
        &mut self,
        id: u32,
        iface: &'static Interface,
        version: u32,
        related: Option<u32>,
    ) {
        self.free.remove(&id);
        if id < SERVER_IDS {
            self.next = self.next.max(id.saturating_add(1));
        }
        self.map.insert(
            id,
            Obj {
                iface,
                version,
                alive: true,
                related,
            },
        );
    }

    /// We sent its destructor. Server-allocated ids get no `delete_id`, so they go now.
    pub fn destroyed(&mut self, id: u32) {
        if id >= SERVER_IDS {
            self.map.remove(&id);
        } else if let Some(obj) = self.map.get_mut(&id) {
            obj.alive = false;
        }
    }

    /// The compositor released the id (`wl_display.delete_id`).
    pub fn deleted(&mut self, id: u32) {
        if id > 1 && id < SERVER_IDS && self.map.remove(&id).is_some() {
            self.free.insert(id);
        }
    }

    pub fn get(&self, id: u32) -> Option<&Obj> {
        self.map.get(&id)
    }

    pub fn live(&self) -> impl Iterator<Item = (u32, &Obj)> {
        self.map
            .iter()
            .filter(|(_, o)| o.alive)
            .map(|(&id, o)| (id, o))
    }

    pub fn live_of(&self, name: &str) -> Vec<u32> {
        self.live()
            .filter(|(_, o)| o.iface.name == name)
            .map(|(id, _)| id)
            .collect()
    }

    /// Ids whose destructor we sent (dead to the compositor, or about to be).
    pub fn dead(&self) -> Vec<u32> {
        self.map
            .iter()
            .filter(|(_, o)| !o.alive)
            .map(|(&id, _)| id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_reused_lowest_first_only_after_delete_id() {
        let mut objects = Objects::new();
        let cb = protocols::display();
        for id in 2..6 {
            assert_eq!(objects.next_id(), id);
            objects.create(id, cb, 1, None);
        }
        objects.destroyed(4);
        assert_eq!(objects.next_id(), 6, "no reuse before delete_id");
        objects.deleted(4);
        objects.deleted(3);
        assert_eq!(objects.next_id(), 3);
        objects.create(3, cb, 1, None);
        assert_eq!(objects.next_id(), 4);
        objects.create(SERVER_IDS + 1, cb, 1, None);
        assert_eq!(objects.next_id(), 4);
        objects.destroyed(SERVER_IDS + 1);
        assert!(objects.get(SERVER_IDS + 1).is_none());
    }
}
