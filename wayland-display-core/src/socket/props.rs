//! Property tests of socket names and the name walk (docs/RELIABILITY.md): any name is
//! bound exactly where it says or refused, never a panic and never a file outside the
//! runtime directory; an absolute name reaches the socket it bound; the automatic walk
//! takes the first name nobody holds; a sweep never touches a live name or a stranger's
//! file.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Component, Path};

use proptest::prelude::*;

use super::*;

/// Cases for the pure name check.
const NAME_CASES: u32 = 16384;
/// Cases for the properties that create files and sockets (a few milliseconds each).
const FS_CASES: u32 = 128;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("gwd-prop")
        .tempdir()
        .unwrap()
}

/// Names near the rules: separators, dots, NUL, `.lock`, long ones.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,12}",
        "[a-z./\u{0}-]{0,8}",
        prop::sample::select(vec![
            "",
            ".",
            "..",
            "...",
            "./a",
            "a/.",
            "a/",
            "/a",
            "a//b",
            "wayland-1.lock",
            ".lock",
            "wayland-1.lock.x",
            "wayland-0",
            "\u{0}",
            "a\u{0}b",
            " ",
            "wayland-\n",
        ])
        .prop_map(str::to_owned),
        (1usize..200).prop_map(|n| "n".repeat(n)),
    ]
}

/// The entries of `dir`, by name.
fn entries(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

proptest! {
    #![proptest_config(config(NAME_CASES))]

    /// A name is taken exactly when it is one plain path component (so it can only name
    /// a file in the runtime directory) that is not a lock file's.
    #[test]
    fn names_are_single_components(name in name()) {
        let mut components = Path::new(&name).components();
        let single = matches!(
            (components.next(), components.next()),
            (Some(Component::Normal(c)), None) if c == name.as_str()
        );
        let want = single && !name.contains('\0') && !name.ends_with(".lock");
        prop_assert_eq!(validate_name(&name).is_ok(), want, "{:?}", name);
    }
}

proptest! {
    #![proptest_config(config(FS_CASES))]

    /// Any relative name binds exactly `<dir>/<name>` (a socket that accepts connections)
    /// or is refused; either way nothing is left in the directory once the socket is
    /// dropped, and nothing is created anywhere else.
    #[test]
    fn relative_names_bind_in_the_directory_or_are_refused(name in name()) {
        prop_assume!(!name.starts_with('/'));
        let root = tmp();
        let dir = root.path().join("rt");
        fs::create_dir(&dir).unwrap();
        match allocate(&SocketSpec::named(name.clone()).in_dir(&dir)) {
            Ok(socket) => {
                prop_assert!(validate_name(&name).is_ok(), "{:?} was bound", name);
                prop_assert_eq!(socket.socket_path().to_path_buf(), dir.join(&name));
                prop_assert_eq!(socket.display_name(), name.as_str());
                prop_assert!(UnixStream::connect(socket.socket_path()).is_ok());
                drop(socket);
            }
            Err(SocketError::InvalidName { .. }) => prop_assert!(validate_name(&name).is_err()),
            Err(SocketError::PathTooLong { len, .. }) => prop_assert!(len > MAX_SOCKET_PATH),
            Err(other) => prop_assert!(false, "{:?}: {:?}", name, other),
        }
        prop_assert!(entries(&dir).is_empty(), "{:?} left {:?}", name, entries(&dir));
        prop_assert_eq!(entries(root.path()), BTreeSet::from(["rt".to_owned()]));
    }

    /// An absolute name is what clients are told (`WAYLAND_DISPLAY`): when it is taken,
    /// connecting to it reaches the socket that was bound.
    #[test]
    fn absolute_names_reach_their_socket(
        file in "[a-z][a-z0-9-]{0,8}",
        shape in prop::sample::select(vec![
            "{d}/{f}", "{d}//{f}", "{d}/./{f}", "{d}/sub/../{f}", "{d}/{f}/", "{d}/{f}/.",
            "{d}/{f}/..", "{d}/", "{d}/{f}.lock",
        ]),
    ) {
        let root = tmp();
        fs::create_dir(root.path().join("sub")).unwrap();
        let dir = root.path().to_str().unwrap();
        let name = shape.replace("{d}", dir).replace("{f}", &file);
        match allocate(&SocketSpec::named(name.clone())) {
            Ok(socket) => {
                prop_assert_eq!(socket.display_name(), name.as_str());
                prop_assert!(
                    UnixStream::connect(&name).is_ok(),
                    "{:?} was bound at {:?}, which {:?} does not reach",
                    name, socket.socket_path(), name
                );
            }
            Err(SocketError::InvalidName { .. } | SocketError::RuntimeDirMissing { .. }) => {}
            Err(other) => prop_assert!(false, "{:?}: {:?}", name, other),
        }
        prop_assert_eq!(entries(root.path()), BTreeSet::from(["sub".to_owned()]));
    }

    /// The walk from any first number over any count takes the first `wayland-N` whose
    /// lock nobody holds, or reports exhaustion with the live ones counted; it never runs
    /// past `u32::MAX`.
    #[test]
    fn the_walk_takes_the_first_free_name(
        first in prop_oneof![0u32..5, (u32::MAX - 4)..=u32::MAX, any::<u32>()],
        count in prop_oneof![0u32..6, Just(u32::MAX)],
        held in prop::collection::btree_set(0u32..6, 0..6),
    ) {
        let dir = tmp();
        let live: Vec<u32> = held.iter().filter_map(|offset| first.checked_add(*offset)).collect();
        let _guards: Vec<(File, UnixListener)> = live
            .iter()
            .map(|n| {
                let name = format!("wayland-{n}");
                let lock = File::create(dir.path().join(format!("{name}.lock"))).unwrap();
                lock.try_lock().unwrap();
                (lock, UnixListener::bind(dir.path().join(name)).unwrap())
            })
            .collect();
        let spec = SocketSpec {
            first_auto: first,
            max_auto: count,
            ..SocketSpec::auto().in_dir(dir.path())
        };
        let last = first.saturating_add(count.saturating_sub(1));
        let want = (count > 0)
            .then(|| (first..=last).find(|n| !live.contains(n)))
            .flatten();
        match (allocate(&spec), want) {
            (Ok(socket), Some(n)) => prop_assert_eq!(socket.display_name(), format!("wayland-{n}")),
            (Err(SocketError::Exhausted { live: counted, .. }), None) => {
                let in_range = live
                    .iter()
                    .filter(|n| count > 0 && (first..=last).contains(n))
                    .count();
                prop_assert_eq!(counted as usize, in_range);
            }
            (result, want) => {
                prop_assert!(
                    false,
                    "{:?}, want wayland-{:?}",
                    result.map(|s| s.display_name().to_owned()),
                    want,
                );
            }
        }
    }

    /// A sweep over any mix of live names, dead leftovers and strangers' files removes
    /// only dead `wayland-*` sockets and locks.
    #[test]
    fn sweeps_spare_the_living_and_strangers(
        entries_made in prop::collection::vec(
            (
                prop_oneof![
                    (0u32..4).prop_map(|n| format!("wayland-{n}")),
                    "wayland-[a-z.]{0,4}",
                    "[a-z]{1,6}",
                ],
                0u8..5,
            ),
            0..6,
        ),
    ) {
        let dir = tmp();
        let mut guards = Vec::new();
        let mut must_stay = BTreeSet::new();
        let mut made = BTreeSet::new();
        for (name, kind) in entries_made {
            if name.ends_with(".lock") || !made.insert(name.clone()) {
                continue;
            }
            let socket = dir.path().join(&name);
            let lock = dir.path().join(format!("{name}.lock"));
            let stranger = !name.starts_with(AUTO_PREFIX);
            match kind {
                // Live: locked and listening.
                0 => {
                    let file = File::create(&lock).unwrap();
                    file.try_lock().unwrap();
                    guards.push((file, UnixListener::bind(&socket).unwrap()));
                    must_stay.insert(name.clone());
                    must_stay.insert(format!("{name}.lock"));
                }
                // Dead: an unlocked lock and a socket nobody listens on.
                1 => {
                    File::create(&lock).unwrap();
                    drop(UnixListener::bind(&socket).unwrap());
                    if stranger {
                        must_stay.insert(name.clone());
                        must_stay.insert(format!("{name}.lock"));
                    }
                }
                // A regular file, a directory: not sockets, never removed.
                2 => {
                    File::create(&socket).unwrap();
                    must_stay.insert(name.clone());
                }
                3 => {
                    fs::create_dir(&socket).unwrap();
                    must_stay.insert(name.clone());
                }
                // A socket someone listens on without a lock file.
                _ => {
                    let listener = UnixListener::bind(&socket).unwrap();
                    guards.push((File::open(dir.path()).unwrap(), listener));
                    must_stay.insert(name.clone());
                }
            }
        }
        let report = sweep(dir.path()).unwrap();
        let left = entries(dir.path());
        for name in &must_stay {
            prop_assert!(left.contains(name), "{} was removed: {:?}", name, report);
        }
        for removed in &report.removed {
            let name = removed.file_name().unwrap().to_string_lossy().into_owned();
            prop_assert!(name.starts_with(AUTO_PREFIX) && !must_stay.contains(&name), "{}", name);
            prop_assert!(!left.contains(&name), "{} reported removed but is there", name);
        }
        // And the walk still finds a name.
        prop_assert!(allocate(&SocketSpec::auto().in_dir(dir.path())).is_ok());
    }
}
