//! Random requests from the descriptors: a live object, a request its version has (now and
//! then a destructor, a request from a newer version or an opcode past the end), and
//! arguments of the right types whose objects and ids are mostly right and sometimes not.

use wayland_client::backend::protocol::{AllowNull, ArgumentType, Interface, MessageDesc};

use crate::objects::SERVER_IDS;
use crate::session::Session;
use crate::values::Values;
use crate::wire::{Arg, FdSpec, MAX_MESSAGE, Request};

/// How far a request strays from what a correct client sends.
#[derive(Clone, Copy)]
pub struct Stray {
    /// Edge values in its arguments: sizes, offsets, strings, fds.
    pub wild: bool,
    /// A structural error the compositor must answer with a protocol error: an object of
    /// the wrong interface, null, dead or unknown; a wrong new id; an opcode the object
    /// lacks at its version; a null string where none is allowed; a bad bind.
    pub broken: bool,
}

impl Session {
    pub fn values(&mut self, wild: bool) -> Values<'_> {
        Values {
            rng: &mut self.rng,
            seen: &self.seen,
            wild,
            broken: false,
        }
    }

    pub fn random_request(&mut self) -> Option<Request> {
        let targets: Vec<(u32, &'static Interface, u32)> = self
            .objects
            .live()
            .filter(|(_, o)| !o.iface.requests.is_empty())
            .map(|(id, o)| (id, o.iface, o.version))
            .collect();
        let stray = Stray {
            wild: self.rng.chance(30),
            broken: self.rng.below(1000) < self.broken_per_mille as usize,
        };
        // A correct request needs objects of the right interfaces; a target without them
        // makes way for another.
        for _ in 0..4 {
            let &(object, iface, version) = self.rng.pick(&targets)?;
            let (opcode, desc) = self.pick_request(iface, version, stray.broken);
            if desc.is_none() && !stray.broken {
                // Nothing this object has at its version; an opcode past the end is broken.
                continue;
            }
            let args = match desc {
                Some(d) if iface.name == "wl_registry" && d.name == "bind" => {
                    Some(self.bind_args(stray))
                }
                Some(d) => self.args_for(object, d, stray),
                None => Some(
                    (0..self.rng.below(5))
                        .map(|_| Arg::Uint(self.values(true).uint()))
                        .collect(),
                ),
            };
            let Some(mut args) = args else { continue };
            if self.rng.chance(2) {
                // Fds nothing asked for, which the compositor queues for whichever request
                // takes an fd next.
                for _ in 0..1 + self.rng.below(3) {
                    let spec = self.fd_spec(true);
                    args.push(Arg::Fd(spec));
                }
            }
            let label = match desc {
                Some(d) => format!("{}.{}", iface.name, d.name),
                None => format!("{}#{opcode}", iface.name),
            };
            let mut req = Request {
                object,
                opcode,
                label,
                args,
            };
            shrink_to_fit(&mut req);
            return Some(req);
        }
        None
    }

    fn pick_request(
        &mut self,
        iface: &'static Interface,
        version: u32,
        broken: bool,
    ) -> (u16, Option<&'static MessageDesc>) {
        let all: Vec<(usize, &'static MessageDesc)> = iface.requests.iter().enumerate().collect();
        let valid = |d: &&MessageDesc| d.since <= version;
        let past_end = (all.len() + self.rng.below(3)) as u16;
        let roll = self.rng.below(100);
        let pool: Vec<(usize, &'static MessageDesc)> = match (broken, roll) {
            (true, 0..=39) => return (past_end, None),
            (true, 40..=79) => all.iter().copied().filter(|(_, d)| !valid(d)).collect(),
            (_, 0..=4) => all
                .iter()
                .copied()
                .filter(|(_, d)| valid(d) && d.is_destructor)
                .collect(),
            _ => all
                .iter()
                .copied()
                .filter(|(_, d)| valid(d) && !d.is_destructor)
                .collect(),
        };
        let fallback: Vec<(usize, &'static MessageDesc)> = match broken {
            true => all.clone(),
            false => all.iter().copied().filter(|(_, d)| valid(d)).collect(),
        };
        let chosen = self
            .rng
            .pick(&pool)
            .or_else(|| self.rng.pick(&fallback))
            .copied();
        match chosen {
            Some((i, d)) => (i as u16, Some(d)),
            None => (past_end, None),
        }
    }

    /// `wl_registry.bind`: a global we know at a version it has, unless broken.
    fn bind_args(&mut self, stray: Stray) -> Vec<Arg> {
        let known: Vec<(u32, String, u32, u32)> = self
            .globals
            .iter()
            .filter_map(|g| {
                let desc = crate::protocols::global(&g.interface)?;
                Some((g.name, g.interface.clone(), g.version, desc.version))
            })
            .collect();
        let Some((name, interface, advertised, ours)) = self.rng.pick(&known).cloned() else {
            return Vec::new();
        };
        let top = advertised.min(ours).max(1);
        let mut version = self.rng.range(1, i64::from(top)) as u32;
        let (mut name, mut interface) = (name, Some(interface.into_bytes()));
        if stray.broken {
            match self.rng.below(6) {
                0 => version = 0,
                1 => version = advertised + 1,
                2 => version = u32::MAX,
                3 => name = self.rng.next_u32(),
                4 => {
                    let other = self.rng.pick(&known).map(|k| k.1.clone().into_bytes());
                    interface = other.or(interface);
                }
                _ if self.rng.chance(50) => interface = None,
                _ => interface = self.values(true).string(false),
            }
        }
        let id = self.new_id_arg(stray.broken);
        vec![
            Arg::Uint(name),
            Arg::Str(interface),
            Arg::Uint(version),
            Arg::NewId(id),
        ]
    }

    /// Arguments for `desc`; `None` if a correct request is wanted and an object it needs
    /// does not exist.
    pub fn args_for(&mut self, target: u32, desc: &MessageDesc, stray: Stray) -> Option<Vec<Arg>> {
        let mut interfaces = desc.arg_interfaces.iter();
        let mut args = Vec::with_capacity(desc.signature.len());
        // One argument of a broken request carries the error; the others stay plausible.
        let broken_at = self.rng.below(desc.signature.len().max(1));
        for (i, ty) in desc.signature.iter().enumerate() {
            let broken = stray.broken && i == broken_at;
            let mut values = Values {
                rng: &mut self.rng,
                seen: &self.seen,
                wild: stray.wild,
                broken,
            };
            args.push(match ty {
                ArgumentType::Int => Arg::Int(values.int()),
                ArgumentType::Uint => Arg::Uint(values.uint()),
                ArgumentType::Fixed => Arg::Fixed(values.fixed()),
                ArgumentType::Str(null) => Arg::Str(values.string(*null == AllowNull::Yes)),
                ArgumentType::Array => Arg::Array(values.array()),
                ArgumentType::Object(null) => {
                    let want = interfaces.next().map_or("<anonymous>", |i| i.name);
                    let nullable = *null == AllowNull::Yes;
                    Arg::Object(self.object_arg(target, want, nullable, broken)?)
                }
                ArgumentType::NewId => Arg::NewId(self.new_id_arg(broken)),
                ArgumentType::Fd => Arg::Fd(self.fd_spec(stray.wild)),
            });
        }
        Some(args)
    }

    /// An object of interface `want` (any for `<anonymous>`), now and then null where
    /// that is allowed; broken: the wrong interface, null, a dead id, the target itself or
    /// an id never used.
    fn object_arg(&mut self, target: u32, want: &str, nullable: bool, broken: bool) -> Option<u32> {
        if !broken {
            let right = if want == "<anonymous>" {
                self.objects.live().map(|(id, _)| id).collect()
            } else {
                self.objects.live_of(want)
            };
            if nullable && (right.is_empty() || self.rng.chance(10)) {
                return Some(0);
            }
            return self.rng.pick(&right).copied();
        }
        Some(match self.rng.below(5) {
            0 => self.any_live(),
            1 => 0,
            2 => self.rng.pick(&self.objects.dead()).copied().unwrap_or(0),
            3 => target,
            _ => *self
                .rng
                .pick(&[
                    self.objects.next_id() + 1,
                    999_999,
                    SERVER_IDS + 1,
                    u32::MAX,
                ])
                .unwrap_or(&0),
        })
    }

    fn any_live(&mut self) -> u32 {
        let live: Vec<u32> = self.objects.live().map(|(id, _)| id).collect();
        self.rng.pick(&live).copied().unwrap_or(1)
    }

    /// The id a new object must take; broken: one it must not.
    pub fn new_id_arg(&mut self, broken: bool) -> u32 {
        let next = self.objects.next_id();
        if !broken {
            return next;
        }
        match self.rng.below(4) {
            0 => self.any_live(),
            1 => next + 1 + self.rng.below(100) as u32,
            2 => 0,
            _ => SERVER_IDS + self.rng.below(16) as u32,
        }
    }

    /// Mostly a memfd; in a wild request often an fd no pool can map.
    pub fn fd_spec(&mut self, wild: bool) -> FdSpec {
        let roll = self.rng.below(100);
        match roll {
            0..=69 => {
                let size = self.values(wild).memfd_size();
                FdSpec::Memfd {
                    tag: self.tag(),
                    size,
                }
            }
            _ if !wild => FdSpec::Memfd {
                tag: self.tag(),
                size: 4096,
            },
            70..=79 => FdSpec::DevNull,
            80..=84 => FdSpec::PipeRead,
            85..=94 => FdSpec::PipeWrite,
            _ => FdSpec::Dir,
        }
    }
}

/// Cuts the longest strings and arrays until the message fits what the compositor reads
/// in one go, so that the framing stays valid.
fn shrink_to_fit(req: &mut Request) {
    while req.wire_len() > MAX_MESSAGE {
        let longest = req
            .args
            .iter_mut()
            .filter_map(|a| match a {
                Arg::Str(Some(s)) => Some(s),
                Arg::Array(a) => Some(a),
                _ => None,
            })
            .max_by_key(|v| v.len());
        match longest {
            Some(v) => v.truncate(v.len() / 2),
            None => {
                req.args.truncate(req.args.len() / 2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_to_fit() {
        let mut req = Request {
            object: 2,
            opcode: 0,
            label: "x".into(),
            args: vec![Arg::Str(Some(vec![b'x'; 3000])), Arg::Array(vec![0; 3000])],
        };
        shrink_to_fit(&mut req);
        assert!(req.wire_len() <= MAX_MESSAGE);
    }
}
