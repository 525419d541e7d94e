//! Requests that reproduce defects already found, each named after its `defect_*` test in
//! tests/tests/wire_fuzz.rs. With `--avoid-known` the fuzzer leaves them out, so that a
//! run looks past defects waiting for their fix instead of finding the same one again
//! within a second. An entry goes when its test is un-ignored. Two more live where the
//! requests are made: `truncate` steps (session.rs) and fds attached to requests that take
//! none (generate.rs).

use wayland_client::backend::protocol::{AllowNull, ArgumentType, MessageDesc};

use crate::session::Session;
use crate::wire::{Arg, FdSpec, Request};

impl Session {
    /// The test reproducing the defect `req` would hit, if any.
    pub fn known_defect(&self, req: &Request, desc: Option<&MessageDesc>) -> Option<&'static str> {
        let int = |i: usize| match req.args.get(i) {
            Some(Arg::Int(v)) => Some(*v),
            _ => None,
        };
        let negative = |at: &[usize]| at.iter().any(|&i| int(i).is_some_and(|v| v < 0));
        let huge = |limit: u32| {
            req.args
                .iter()
                .any(|a| matches!(a, Arg::Int(v) if v.unsigned_abs() > limit))
        };
        if let Some(desc) = desc {
            let null_where_forbidden = desc
                .signature
                .iter()
                .filter(|t| matches!(t, ArgumentType::Str(_)))
                .zip(req.args.iter().filter(|a| matches!(a, Arg::Str(_))))
                .any(|(t, a)| *t == ArgumentType::Str(AllowNull::No) && *a == Arg::Str(None));
            if null_where_forbidden {
                return Some(match req.label.as_str() {
                    "wl_registry.bind" => "defect_null_interface_in_bind",
                    _ => "defect_null_string_argument",
                });
            }
        }
        Some(match req.label.as_str() {
            "wl_region.add" | "wl_region.subtract" if negative(&[2, 3]) => {
                "defect_negative_region_rectangle"
            }
            "wl_surface.damage" if negative(&[2, 3]) => "defect_negative_surface_damage",
            "wl_surface.damage" if huge(1 << 24) => "defect_extreme_damage_on_a_transformed_buffer",
            "xdg_surface.set_window_geometry" if negative(&[2, 3]) => {
                "defect_negative_window_geometry"
            }
            "xdg_toplevel.set_max_size" | "xdg_toplevel.set_min_size" if negative(&[0, 1]) => {
                "defect_negative_toplevel_size_limit"
            }
            "xdg_positioner.set_parent_size" if negative(&[0, 1]) => {
                "defect_negative_positioner_parent_size"
            }
            "xdg_positioner.set_offset"
            | "xdg_positioner.set_anchor_rect"
            | "xdg_positioner.set_size"
                if huge(1 << 24) =>
            {
                "defect_positioner_offset_overflow"
            }
            // A parent that is no toplevel's may close a cycle of popups.
            "xdg_surface.get_popup" => match req.args.get(1) {
                Some(Arg::Object(parent)) if *parent != 0 && !self.is_toplevel(*parent) => {
                    "defect_popups_parented_to_each_other"
                }
                _ => return None,
            },
            "wl_subsurface.place_above" => {
                let own = self.objects.get(req.object).and_then(|o| o.related);
                match req.args.first() {
                    Some(Arg::Object(sibling)) if Some(*sibling) == own => {
                        "defect_subsurface_placed_above_itself"
                    }
                    _ => return None,
                }
            }
            "wl_shm_pool.resize" if int(0).is_some_and(|v| v <= 0) => {
                "defect_shm_pool_resized_to_zero"
            }
            // Which file is under the pool is not tracked; any growth may pass its end.
            "wl_shm_pool.resize" => "defect_shm_pool_grown_beyond_its_file",
            "wl_shm.create_pool" => match (req.args.get(1), int(2)) {
                (Some(Arg::Fd(FdSpec::Memfd { size, .. })), Some(pool))
                    if i64::from(pool) > *size as i64 =>
                {
                    "defect_shm_pool_larger_than_its_file"
                }
                // Any other fd maps nothing readable.
                (Some(Arg::Fd(FdSpec::Memfd { .. })), _) => return None,
                (Some(Arg::Fd(_)), Some(pool)) if pool > 0 => {
                    "defect_shm_pool_larger_than_its_file"
                }
                _ => return None,
            },
            "wp_viewport.set_destination" if huge(4096) => {
                "defect_viewport_scale_beyond_the_renderer"
            }
            _ => return None,
        })
    }

    /// Whether `xdg_surface` has a live toplevel role.
    fn is_toplevel(&self, xdg_surface: u32) -> bool {
        self.objects
            .live()
            .any(|(_, o)| o.iface.name == "xdg_toplevel" && o.related == Some(xdg_surface))
    }
}
