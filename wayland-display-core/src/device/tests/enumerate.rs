use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;

use super::fake::{FakeGpu, FakeMachine};
use crate::device::{GpuDevice, GpuKind, Vendor, enumerate};

/// What a node looks like when sysfs told us nothing about it.
fn unknown_device(render_node: PathBuf) -> GpuDevice {
    GpuDevice {
        render_node,
        primary_node: None,
        vendor_id: None,
        device_id: None,
        vendor: Vendor::Unknown,
        driver: None,
        pci_bus_id: None,
        name: None,
        boot_vga: false,
        kind: GpuKind::Unknown,
    }
}

#[test]
fn reads_every_field_of_a_dgpu_and_an_igpu() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(129, 1, "0000:01:00.0"));
    machine.add(&FakeGpu::intel_igpu(128, 0));

    let devices = enumerate(&machine.roots);

    assert_eq!(
        devices,
        vec![
            GpuDevice {
                render_node: machine.render_node(128),
                primary_node: Some(machine.card_node(0)),
                vendor_id: Some(0x8086),
                device_id: Some(0xa780),
                vendor: Vendor::Intel,
                driver: Some("i915".to_owned()),
                pci_bus_id: Some("0000:00:02.0".to_owned()),
                name: Some("Intel UHD Graphics 770".to_owned()),
                boot_vga: true,
                kind: GpuKind::Integrated,
            },
            GpuDevice {
                render_node: machine.render_node(129),
                primary_node: Some(machine.card_node(1)),
                vendor_id: Some(0x10de),
                device_id: Some(0x2206),
                vendor: Vendor::Nvidia,
                driver: Some("nvidia".to_owned()),
                pci_bus_id: Some("0000:01:00.0".to_owned()),
                name: Some("NVIDIA GeForce RTX 3080".to_owned()),
                boot_vga: false,
                kind: GpuKind::Discrete,
            },
        ]
    );
}

#[test]
fn display_is_one_descriptive_line() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(129, 1, "0000:01:00.0"));
    machine.add(&FakeGpu::intel_igpu(128, 0));
    let devices = enumerate(&machine.roots);
    let dri = machine.roots.dri_dir();

    assert_eq!(
        devices[1].to_string(),
        format!(
            "{}/renderD129 (NVIDIA GeForce RTX 3080, nvidia, pci 0000:01:00.0, discrete)",
            dri.display()
        )
    );
    assert_eq!(
        devices[0].to_string(),
        format!(
            "{}/renderD128 (Intel UHD Graphics 770, i915, pci 0000:00:02.0, integrated, boot GPU)",
            dri.display()
        )
    );
    assert_eq!(
        unknown_device("/dev/dri/renderD130".into()).to_string(),
        "/dev/dri/renderD130 (unknown device, unknown kind)"
    );
}

#[test]
fn nodes_sort_by_number_and_other_entries_are_ignored() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::intel_arc(1000, 3, "0000:05:00.0"));
    machine.add(&FakeGpu::nvidia(129, 1, "0000:01:00.0"));
    machine.add(&FakeGpu::intel_igpu(128, 0));
    fs::write(machine.roots.drm_class_dir().join("version"), "drm 1.1.0").unwrap();
    fs::create_dir(machine.roots.drm_class_dir().join("renderDx")).unwrap();
    fs::create_dir(machine.roots.drm_class_dir().join("ttm")).unwrap();

    let nodes: Vec<PathBuf> = enumerate(&machine.roots)
        .into_iter()
        .map(|d| d.render_node)
        .collect();

    assert_eq!(
        nodes,
        vec![
            machine.render_node(128),
            machine.render_node(129),
            machine.render_node(1000)
        ]
    );
}

#[test]
fn no_drm_class_means_no_devices() {
    assert!(enumerate(&FakeMachine::without_drm_class().roots).is_empty());
    assert!(enumerate(&FakeMachine::new().roots).is_empty());
}

#[test]
fn a_plain_device_directory_gives_the_bus_id_from_uevent() {
    let machine = FakeMachine::new();
    machine.add_flat(&FakeGpu::nvidia(128, 0, "0000:41:00.0"));

    let devices = enumerate(&machine.roots);

    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].pci_bus_id.as_deref(), Some("0000:41:00.0"));
    assert_eq!(devices[0].vendor, Vendor::Nvidia);
    assert_eq!(devices[0].driver.as_deref(), Some("nvidia"));
    assert_eq!(devices[0].primary_node, None);
}

#[test]
fn garbage_attributes_leave_the_node_with_unknown_fields() {
    let machine = FakeMachine::new();
    let gpu = FakeGpu {
        vendor: Some("nvidia\n".to_owned()),
        device: Some(String::new()),
        vram_bytes: Some("lots".to_owned()),
        driver: None,
        ..FakeGpu::new(128, 0, "0000:03:00.0", 0, 0)
    };
    machine.add(&gpu);
    let device_dir = machine.pci_device_dir("0000:03:00.0");
    fs::write(device_dir.join("boot_vga"), "yes").unwrap();
    let driver_name = std::ffi::OsStr::from_bytes(b"drv\xff\xfe");
    symlink(
        machine.roots.sysfs.join(driver_name),
        device_dir.join("driver"),
    )
    .unwrap();

    let devices = enumerate(&machine.roots);

    assert_eq!(
        devices,
        vec![GpuDevice {
            primary_node: Some(machine.card_node(0)),
            pci_bus_id: Some("0000:03:00.0".to_owned()),
            ..unknown_device(machine.render_node(128))
        }]
    );
}

#[test]
fn non_utf8_and_oversized_contents_are_unknown() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(128, 0, "0000:01:00.0"));
    let device_dir = machine.pci_device_dir("0000:01:00.0");
    fs::write(device_dir.join("vendor"), b"0x10\xffde\n").unwrap();
    fs::write(device_dir.join("device"), "0".repeat(100_000)).unwrap();

    let devices = enumerate(&machine.roots);

    assert_eq!(devices[0].vendor_id, None);
    assert_eq!(devices[0].device_id, None);
    assert_eq!(devices[0].vendor, Vendor::Unknown);
    assert_eq!(devices[0].driver.as_deref(), Some("nvidia"));
}

#[test]
fn a_dangling_device_link_keeps_the_node() {
    let machine = FakeMachine::new();
    let entry = machine.roots.drm_class_dir().join("renderD128");
    fs::create_dir(&entry).unwrap();
    symlink("../../devices/gone", entry.join("device")).unwrap();

    assert_eq!(
        enumerate(&machine.roots),
        vec![unknown_device(machine.render_node(128))]
    );
}

#[test]
fn a_dangling_class_entry_keeps_the_node() {
    let machine = FakeMachine::new();
    symlink(
        "../../devices/gone",
        machine.roots.drm_class_dir().join("renderD130"),
    )
    .unwrap();

    assert_eq!(
        enumerate(&machine.roots),
        vec![unknown_device(machine.render_node(130))]
    );
}

#[test]
fn unreadable_attributes_keep_the_node() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::amd(128, 0, "0000:01:00.0", 16 << 30));
    let device_dir = machine.pci_device_dir("0000:01:00.0");
    // A directory where a file should be cannot be read even by root, unlike mode 000.
    fs::remove_file(device_dir.join("vendor")).unwrap();
    fs::create_dir(device_dir.join("vendor")).unwrap();
    let vram = device_dir.join("mem_info_vram_total");
    fs::set_permissions(&vram, fs::Permissions::from_mode(0o000)).unwrap();
    let drm = device_dir.join("drm");
    fs::set_permissions(&drm, fs::Permissions::from_mode(0o000)).unwrap();

    let devices = enumerate(&machine.roots);
    fs::set_permissions(&drm, fs::Permissions::from_mode(0o755)).unwrap();

    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].vendor_id, None);
    assert_eq!(devices[0].vendor, Vendor::Unknown);
    assert_eq!(devices[0].device_id, Some(0x73bf));
    assert_eq!(devices[0].pci_bus_id.as_deref(), Some("0000:01:00.0"));
}

#[test]
fn unreadable_drm_class_directory_means_no_devices() {
    let machine = FakeMachine::new();
    fs::write(machine.roots.sysfs.join("class/drm-file"), "").unwrap();
    fs::remove_dir(machine.roots.drm_class_dir()).unwrap();
    symlink("drm-file", machine.roots.drm_class_dir()).unwrap();

    assert!(enumerate(&machine.roots).is_empty());
}

#[test]
fn kinds_follow_vendor_rules() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(128, 0, "0000:01:00.0"));
    machine.add(&FakeGpu::intel_igpu(129, 1));
    machine.add(&FakeGpu::intel_arc(130, 2, "0000:03:00.0"));
    machine.add(&FakeGpu::new(131, 3, "0000:04:00.0", 0x8086, 0xe20b));
    machine.add(&FakeGpu::amd(132, 4, "0000:05:00.0", 16 << 30));
    machine.add(&FakeGpu::amd(133, 5, "0000:06:00.0", 512 << 20));
    machine.add(&FakeGpu {
        vram_bytes: None,
        ..FakeGpu::amd(134, 6, "0000:07:00.0", 0)
    });
    machine.add(&FakeGpu::new(135, 7, "0000:08:00.0", 0x1af4, 0x1050));

    let kinds: Vec<(GpuKind, Option<String>)> = enumerate(&machine.roots)
        .into_iter()
        .map(|d| (d.kind, d.name))
        .collect();

    let named = |kind, name: &str| (kind, Some(name.to_owned()));
    assert_eq!(
        kinds,
        vec![
            named(GpuKind::Discrete, "NVIDIA GeForce RTX 3080"),
            named(GpuKind::Integrated, "Intel UHD Graphics 770"),
            named(GpuKind::Discrete, "Intel Arc A770"),
            named(GpuKind::Discrete, "Intel Arc B580"),
            named(GpuKind::Discrete, "AMD Radeon RX 6800/6800 XT / 6900 XT"),
            named(GpuKind::Integrated, "AMD Radeon 680M"),
            named(GpuKind::Unknown, "AMD Radeon 680M"),
            named(GpuKind::Unknown, "Red Hat, Inc. Virtio 1.0 GPU"),
        ]
    );
}
