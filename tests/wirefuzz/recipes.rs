//! Short valid sequences, as real clients send them, that random requests alone would
//! rarely string together: shm buffers of the right size, mapped toplevels, popups with
//! positioners, subsurface trees, cursors, selections. Random requests then hit the state
//! these build; values are still edged in a third of the recipes.

use crate::protocols;
use crate::session::Session;
use crate::stats::End;
use crate::wire::{Arg, FdSpec};

/// Buffer sizes the recipes draw with.
const BUFFER_SIZES: &[(i32, i32)] = &[
    (1, 1),
    (16, 16),
    (64, 48),
    (320, 240),
    (200, 100),
    (1, 512),
    (512, 1),
    (33, 17),
];

type Step = Result<(), End>;

impl Session {
    pub fn recipe(&mut self) -> Step {
        if !self.acks.is_empty() && self.rng.chance(50) {
            return self.ack();
        }
        match self.rng.below(13) {
            0 => self.bind_any().map(drop),
            1 | 2 => self.shm_buffer(),
            3 | 4 => self.toplevel(),
            5 | 6 => self.draw(),
            7 => self.popup(),
            8 => self.subsurface(),
            9 | 10 => self.small_objects(),
            11 => self.seat_devices(),
            _ => self.selection(),
        }
    }

    fn pick_live(&mut self, name: &str) -> Option<u32> {
        let ids = self.objects.live_of(name);
        self.rng.pick(&ids).copied()
    }

    fn serial(&mut self) -> u32 {
        self.rng.pick(&self.seen).copied().unwrap_or(0)
    }

    /// A live object of global `name`, binding one (at a random version it has) if needed.
    fn ensure(&mut self, name: &str) -> Result<Option<u32>, End> {
        if let Some(id) = self.pick_live(name) {
            return Ok(Some(id));
        }
        self.bind(name)
    }

    fn bind_any(&mut self) -> Result<Option<u32>, End> {
        let names: Vec<String> = self.globals.iter().map(|g| g.interface.clone()).collect();
        match self.rng.pick(&names).cloned() {
            Some(name) => self.bind(&name),
            None => Ok(None),
        }
    }

    fn bind(&mut self, name: &str) -> Result<Option<u32>, End> {
        let Some(registry) = self.pick_live("wl_registry") else {
            return Ok(None);
        };
        let Some(global) = self.globals.iter().find(|g| g.interface == name) else {
            return Ok(None);
        };
        let Some(desc) = protocols::global(name) else {
            return Ok(None);
        };
        let top = global.version.min(desc.version).max(1);
        let number = global.name;
        let version = self.rng.range(1, i64::from(top)) as u32;
        let id = self.objects.next_id();
        self.call(
            registry,
            "bind",
            vec![
                Arg::Uint(number),
                Arg::Str(Some(name.as_bytes().to_vec())),
                Arg::Uint(version),
                Arg::NewId(id),
            ],
        )?;
        Ok(self.objects.get(id).map(|_| id))
    }

    /// Sends a request that creates an object and returns the object's id, if it was made.
    fn create(
        &mut self,
        on: u32,
        request: &str,
        mut args: Vec<Arg>,
        at: usize,
    ) -> Result<Option<u32>, End> {
        let id = self.objects.next_id();
        args.insert(at.min(args.len()), Arg::NewId(id));
        self.call(on, request, args)?;
        Ok(self.objects.get(id).filter(|o| o.alive).map(|_| id))
    }

    fn surface(&mut self) -> Result<Option<u32>, End> {
        let Some(comp) = self.ensure("wl_compositor")? else {
            return Ok(None);
        };
        self.create(comp, "create_surface", vec![], 0)
    }

    /// An shm pool sized for a buffer, and the buffer (now and then two in one pool).
    fn shm_buffer(&mut self) -> Step {
        let Some(shm) = self.ensure("wl_shm")? else {
            return Ok(());
        };
        let &(w, h) = self.rng.pick(BUFFER_SIZES).unwrap_or(&(1, 1));
        let stride = w * 4 + if self.rng.chance(20) { 64 } else { 0 };
        let size = stride * h;
        let tag = self.tag();
        let fd = FdSpec::Memfd {
            tag,
            size: size as u64,
        };
        let args = vec![Arg::Fd(fd), Arg::Int(size)];
        let Some(pool) = self.create(shm, "create_pool", args, 0)? else {
            return Ok(());
        };
        let format = Arg::Uint(self.rng.below(2) as u32);
        let args = vec![
            Arg::Int(0),
            Arg::Int(w),
            Arg::Int(h),
            Arg::Int(stride),
            format,
        ];
        if let Some(buffer) = self.create(pool, "create_buffer", args, 0)? {
            self.remember_buffer(buffer, w, h);
        }
        if h > 1 && self.rng.chance(30) {
            let half = h / 2;
            let args = vec![
                Arg::Int(stride * half),
                Arg::Int(w),
                Arg::Int(h - half),
                Arg::Int(stride),
                Arg::Uint(0),
            ];
            if let Some(buffer) = self.create(pool, "create_buffer", args, 0)? {
                self.remember_buffer(buffer, w, h - half);
            }
        }
        if self.rng.chance(30) {
            self.call(pool, "resize", vec![Arg::Int(size.saturating_mul(2))])?;
        }
        if self.rng.chance(50) {
            self.call(pool, "destroy", vec![])?;
        }
        Ok(())
    }

    fn remember_buffer(&mut self, buffer: u32, w: i32, h: i32) {
        self.buffers.retain(|(b, ..)| *b != buffer);
        if self.buffers.len() >= 32 {
            self.buffers.remove(0);
        }
        self.buffers.push((buffer, w, h));
    }

    /// A buffer we made that is still alive.
    fn buffer(&mut self) -> Option<(u32, i32, i32)> {
        let live: Vec<(u32, i32, i32)> = self
            .buffers
            .iter()
            .copied()
            .filter(|(b, ..)| self.objects.get(*b).is_some_and(|o| o.alive))
            .collect();
        self.rng.pick(&live).copied()
    }

    fn toplevel(&mut self) -> Step {
        let Some(wm) = self.ensure("xdg_wm_base")? else {
            return Ok(());
        };
        let Some(surface) = self.surface()? else {
            return Ok(());
        };
        let Some(xdg) = self.create(wm, "get_xdg_surface", vec![Arg::Object(surface)], 0)? else {
            return Ok(());
        };
        let Some(top) = self.create(xdg, "get_toplevel", vec![], 0)? else {
            return Ok(());
        };
        let wild = self.rng.chance(30);
        if self.rng.chance(50) {
            let title = self.values(wild).string(false);
            self.call(top, "set_title", vec![Arg::Str(title)])?;
        }
        match self.rng.below(6) {
            0 => {
                let (w, h) = (self.values(wild).int(), self.values(wild).int());
                self.call(top, "set_min_size", vec![Arg::Int(w), Arg::Int(h)])?;
                let (w, h) = (self.values(wild).int(), self.values(wild).int());
                self.call(top, "set_max_size", vec![Arg::Int(w), Arg::Int(h)])?;
            }
            1 => self.call(top, "set_fullscreen", vec![Arg::Object(0)])?,
            2 => {
                if let Some(parent) = self.pick_live("xdg_toplevel") {
                    self.call(top, "set_parent", vec![Arg::Object(parent)])?;
                }
            }
            3 => {
                let (x, y, w, h) = (
                    self.values(wild).int(),
                    self.values(wild).int(),
                    self.values(wild).int(),
                    self.values(wild).int(),
                );
                let args = vec![Arg::Int(x), Arg::Int(y), Arg::Int(w), Arg::Int(h)];
                self.call(xdg, "set_window_geometry", args)?;
            }
            _ => {}
        }
        self.call(surface, "commit", vec![])
    }

    /// Acknowledges a configure, then commits its surface, with a buffer half the time.
    fn ack(&mut self) -> Step {
        let (xdg, serial) = self.acks.swap_remove(self.rng.below(self.acks.len()));
        self.call(xdg, "ack_configure", vec![Arg::Uint(serial)])?;
        let Some(surface) = self.objects.get(xdg).and_then(|o| o.related) else {
            return Ok(());
        };
        if self.rng.chance(50) {
            self.draw_on(surface)
        } else {
            self.call(surface, "commit", vec![])
        }
    }

    fn draw(&mut self) -> Step {
        match self.pick_live("wl_surface") {
            Some(surface) => self.draw_on(surface),
            None => Ok(()),
        }
    }

    /// Attach, damage, a frame callback now and then, commit: one frame.
    fn draw_on(&mut self, surface: u32) -> Step {
        let buffer = match self.buffer() {
            Some(b) => Some(b),
            None => {
                self.shm_buffer()?;
                self.buffer()
            }
        };
        let Some((buffer, w, h)) = buffer else {
            return Ok(());
        };
        let attached = if self.rng.chance(10) { 0 } else { buffer };
        self.call(
            surface,
            "attach",
            vec![Arg::Object(attached), Arg::Int(0), Arg::Int(0)],
        )?;
        let damage = vec![Arg::Int(0), Arg::Int(0), Arg::Int(w), Arg::Int(h)];
        self.call(surface, "damage_buffer", damage.clone())?;
        if self.rng.chance(30) {
            self.call(surface, "damage", damage)?;
        }
        if self.rng.chance(20) {
            let scale = self.rng.range(1, 3) as i32;
            self.call(surface, "set_buffer_scale", vec![Arg::Int(scale)])?;
        }
        if self.rng.chance(10) {
            let transform = self.rng.range(0, 7) as i32;
            self.call(surface, "set_buffer_transform", vec![Arg::Int(transform)])?;
        }
        if self.rng.chance(50) {
            self.create(surface, "frame", vec![], 0)?;
        }
        self.call(surface, "commit", vec![])
    }

    fn popup(&mut self) -> Step {
        let Some(wm) = self.ensure("xdg_wm_base")? else {
            return Ok(());
        };
        let Some(positioner) = self.create(wm, "create_positioner", vec![], 0)? else {
            return Ok(());
        };
        let wild = self.rng.chance(40);
        let size = vec![
            Arg::Int(self.values(wild).int()),
            Arg::Int(self.values(wild).int()),
        ];
        self.call(positioner, "set_size", size)?;
        let rect = (0..4)
            .map(|_| Arg::Int(self.values(wild).int()))
            .collect::<Vec<_>>();
        self.call(positioner, "set_anchor_rect", rect)?;
        for (request, max) in [
            ("set_anchor", 9),
            ("set_gravity", 9),
            ("set_constraint_adjustment", 64),
        ] {
            if self.rng.chance(60) {
                let v = if wild {
                    self.values(true).uint()
                } else {
                    self.rng.below(max) as u32
                };
                self.call(positioner, request, vec![Arg::Uint(v)])?;
            }
        }
        if self.rng.chance(50) {
            let offset = vec![
                Arg::Int(self.values(wild).int()),
                Arg::Int(self.values(wild).int()),
            ];
            self.call(positioner, "set_offset", offset)?;
        }
        if self.rng.chance(30) {
            self.call(positioner, "set_reactive", vec![])?;
            let parent = vec![
                Arg::Int(self.values(wild).int()),
                Arg::Int(self.values(wild).int()),
            ];
            self.call(positioner, "set_parent_size", parent)?;
        }
        let Some(surface) = self.surface()? else {
            return Ok(());
        };
        let Some(xdg) = self.create(wm, "get_xdg_surface", vec![Arg::Object(surface)], 0)? else {
            return Ok(());
        };
        let parent = self
            .pick_live("xdg_surface")
            .filter(|&p| p != xdg)
            .unwrap_or(0);
        let args = vec![Arg::Object(parent), Arg::Object(positioner)];
        let popup = self.create(xdg, "get_popup", args, 0)?;
        if let (Some(popup), Some(seat)) = (popup, self.pick_live("wl_seat"))
            && self.rng.chance(30)
        {
            let serial = self.serial();
            self.call(popup, "grab", vec![Arg::Object(seat), Arg::Uint(serial)])?;
        }
        if let Some(popup) = popup
            && self.rng.chance(20)
        {
            let token = self.rng.next_u32();
            self.call(
                popup,
                "reposition",
                vec![Arg::Object(positioner), Arg::Uint(token)],
            )?;
        }
        if self.rng.chance(50) {
            self.call(positioner, "destroy", vec![])?;
        }
        self.call(surface, "commit", vec![])
    }

    /// A subsurface of a surface; now and then both are old surfaces, which makes loops
    /// and surfaces with two roles possible.
    fn subsurface(&mut self) -> Step {
        let Some(sub) = self.ensure("wl_subcompositor")? else {
            return Ok(());
        };
        let reuse = self.rng.chance(30);
        let child = match reuse.then(|| self.pick_live("wl_surface")).flatten() {
            Some(s) => Some(s),
            None => self.surface()?,
        };
        let parent = match self.pick_live("wl_surface") {
            Some(p) if p != child.unwrap_or(0) || reuse => Some(p),
            _ => self.surface()?,
        };
        let (Some(child), Some(parent)) = (child, parent) else {
            return Ok(());
        };
        let args = vec![Arg::Object(child), Arg::Object(parent)];
        let Some(subsurface) = self.create(sub, "get_subsurface", args, 0)? else {
            return Ok(());
        };
        let wild = self.rng.chance(30);
        let at = vec![
            Arg::Int(self.values(wild).int()),
            Arg::Int(self.values(wild).int()),
        ];
        self.call(subsurface, "set_position", at)?;
        match self.rng.below(4) {
            0 => self.call(subsurface, "set_desync", vec![])?,
            1 => self.call(subsurface, "set_sync", vec![])?,
            2 => {
                let sibling = self.pick_live("wl_surface").unwrap_or(parent);
                self.call(subsurface, "place_above", vec![Arg::Object(sibling)])?
            }
            _ => {
                let sibling = self.pick_live("wl_surface").unwrap_or(parent);
                self.call(subsurface, "place_below", vec![Arg::Object(sibling)])?
            }
        }
        if self.rng.chance(60) {
            self.draw_on(child)?;
        }
        self.call(parent, "commit", vec![])
    }

    fn small_objects(&mut self) -> Step {
        let wild = self.rng.chance(30);
        let surface = self.pick_live("wl_surface");
        match self.rng.below(7) {
            0 => {
                let Some(mgr) = self.ensure("wp_single_pixel_buffer_manager_v1")? else {
                    return Ok(());
                };
                let rgba = (0..4)
                    .map(|_| Arg::Uint(self.values(wild).uint()))
                    .collect();
                if let Some(buffer) = self.create(mgr, "create_u32_rgba_buffer", rgba, 0)? {
                    self.remember_buffer(buffer, 1, 1);
                }
            }
            1 => {
                let (Some(vp), Some(surface)) = (self.ensure("wp_viewporter")?, surface) else {
                    return Ok(());
                };
                let args = vec![Arg::Object(surface)];
                let Some(viewport) = self.create(vp, "get_viewport", args, 0)? else {
                    return Ok(());
                };
                let source = if self.rng.chance(20) {
                    vec![Arg::Fixed(-256); 4]
                } else {
                    (0..4)
                        .map(|_| Arg::Fixed(self.values(wild).fixed()))
                        .collect()
                };
                self.call(viewport, "set_source", source)?;
                let dest = vec![
                    Arg::Int(self.values(wild).int()),
                    Arg::Int(self.values(wild).int()),
                ];
                self.call(viewport, "set_destination", dest)?;
                self.call(surface, "commit", vec![])?;
            }
            2 => {
                let (Some(comp), Some(surface)) = (self.ensure("wl_compositor")?, surface) else {
                    return Ok(());
                };
                let Some(region) = self.create(comp, "create_region", vec![], 0)? else {
                    return Ok(());
                };
                for request in ["add", "subtract", "add"] {
                    let rect = (0..4).map(|_| Arg::Int(self.values(wild).int())).collect();
                    self.call(region, request, rect)?;
                }
                let which = if self.rng.chance(50) {
                    "set_opaque_region"
                } else {
                    "set_input_region"
                };
                self.call(surface, which, vec![Arg::Object(region)])?;
                self.call(region, "destroy", vec![])?;
                self.call(surface, "commit", vec![])?;
            }
            3 => {
                let (Some(pres), Some(surface)) = (self.ensure("wp_presentation")?, surface) else {
                    return Ok(());
                };
                self.create(pres, "feedback", vec![Arg::Object(surface)], 1)?;
                self.draw_on(surface)?;
            }
            4 => {
                let Some(mgr) = self.ensure("zxdg_output_manager_v1")? else {
                    return Ok(());
                };
                if let Some(output) = self.ensure("wl_output")? {
                    self.create(mgr, "get_xdg_output", vec![Arg::Object(output)], 0)?;
                }
            }
            5 => {
                let (Some(surface), Some(pointer)) = (surface, self.pointer()?) else {
                    return Ok(());
                };
                if let Some(rel) = self.ensure("zwp_relative_pointer_manager_v1")? {
                    self.create(rel, "get_relative_pointer", vec![Arg::Object(pointer)], 0)?;
                }
                let Some(pc) = self.ensure("zwp_pointer_constraints_v1")? else {
                    return Ok(());
                };
                let request = if self.rng.chance(50) {
                    "lock_pointer"
                } else {
                    "confine_pointer"
                };
                let region = self.pick_live("wl_region").unwrap_or(0);
                let lifetime = self.rng.range(1, 2) as u32;
                let args = vec![
                    Arg::Object(surface),
                    Arg::Object(pointer),
                    Arg::Object(region),
                    Arg::Uint(if wild {
                        self.values(true).uint()
                    } else {
                        lifetime
                    }),
                ];
                self.create(pc, request, args, 0)?;
                self.call(surface, "commit", vec![])?;
            }
            _ => self.dmabuf(wild)?,
        }
        Ok(())
    }

    /// linux-dmabuf params from memfds, which no GPU can import: the failure paths.
    fn dmabuf(&mut self, wild: bool) -> Step {
        let Some(dmabuf) = self.ensure("zwp_linux_dmabuf_v1")? else {
            return Ok(());
        };
        let Some(params) = self.create(dmabuf, "create_params", vec![], 0)? else {
            return Ok(());
        };
        let &(w, h) = self.rng.pick(BUFFER_SIZES).unwrap_or(&(1, 1));
        for plane in 0..1 + self.rng.below(2) as u32 {
            let spec = FdSpec::Memfd {
                tag: self.tag(),
                size: (w * h * 4) as u64,
            };
            let args = vec![
                Arg::Fd(spec),
                Arg::Uint(plane),
                Arg::Uint(0),
                Arg::Uint((w * 4) as u32),
                Arg::Uint(if wild { self.values(true).uint() } else { 0 }),
                Arg::Uint(0),
            ];
            self.call(params, "add", args)?;
        }
        let format = Arg::Uint(0x3432_5258);
        let args = vec![Arg::Int(w), Arg::Int(h), format, Arg::Uint(0)];
        if self.rng.chance(50) {
            if let Some(buffer) = self.create(params, "create_immed", args, 0)? {
                self.remember_buffer(buffer, w, h);
            }
        } else {
            self.call(params, "create", args)?;
        }
        Ok(())
    }

    fn pointer(&mut self) -> Result<Option<u32>, End> {
        if let Some(p) = self.pick_live("wl_pointer") {
            return Ok(Some(p));
        }
        let Some(seat) = self.ensure("wl_seat")? else {
            return Ok(None);
        };
        self.create(seat, "get_pointer", vec![], 0)
    }

    /// Input devices, and a cursor surface with whatever buffer it has.
    fn seat_devices(&mut self) -> Step {
        let Some(seat) = self.ensure("wl_seat")? else {
            return Ok(());
        };
        let request = *self
            .rng
            .pick(&["get_pointer", "get_keyboard", "get_touch"])
            .unwrap_or(&"get_pointer");
        self.create(seat, request, vec![], 0)?;
        let Some(pointer) = self.pick_live("wl_pointer") else {
            return Ok(());
        };
        let cursor = match self.rng.chance(70) {
            true => self.surface()?.unwrap_or(0),
            false => 0,
        };
        let wild = self.rng.chance(30);
        let serial = self.serial();
        let hotspot = (self.values(wild).int(), self.values(wild).int());
        let args = vec![
            Arg::Uint(serial),
            Arg::Object(cursor),
            Arg::Int(hotspot.0),
            Arg::Int(hotspot.1),
        ];
        self.call(pointer, "set_cursor", args)?;
        if cursor != 0 {
            self.draw_on(cursor)?;
        }
        Ok(())
    }

    /// A data source offered as the selection, or dragged.
    fn selection(&mut self) -> Step {
        let (Some(mgr), Some(seat)) = (
            self.ensure("wl_data_device_manager")?,
            self.ensure("wl_seat")?,
        ) else {
            return Ok(());
        };
        let device = match self.pick_live("wl_data_device") {
            Some(d) => Some(d),
            None => self.create(mgr, "get_data_device", vec![Arg::Object(seat)], 0)?,
        };
        let Some(device) = device else {
            return Ok(());
        };
        let Some(source) = self.create(mgr, "create_data_source", vec![], 0)? else {
            return Ok(());
        };
        let wild = self.rng.chance(30);
        let mime = self.values(wild).string(false);
        self.call(source, "offer", vec![Arg::Str(mime)])?;
        if self.rng.chance(50) {
            let actions = self.values(wild).uint();
            self.call(source, "set_actions", vec![Arg::Uint(actions)])?;
        }
        let serial = self.serial();
        if self.rng.chance(70) {
            self.call(
                device,
                "set_selection",
                vec![Arg::Object(source), Arg::Uint(serial)],
            )?;
        } else {
            let origin = self.pick_live("wl_surface").unwrap_or(0);
            let icon = if self.rng.chance(50) {
                self.surface()?.unwrap_or(0)
            } else {
                0
            };
            let args = vec![
                Arg::Object(source),
                Arg::Object(origin),
                Arg::Object(icon),
                Arg::Uint(serial),
            ];
            self.call(device, "start_drag", args)?;
        }
        if let Some(offer) = self.pick_live("wl_data_offer") {
            let mime = self.values(wild).string(false);
            let fd = FdSpec::PipeWrite;
            self.call(offer, "receive", vec![Arg::Str(mime), Arg::Fd(fd)])?;
        }
        Ok(())
    }
}
