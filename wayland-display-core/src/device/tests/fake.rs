//! Fake machines: sysfs, `/dev` and `/proc` trees in a temp dir, laid out like the kernel's.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::device::DeviceRoots;

/// Entries as the real database has them, including an id below 0x1000.
pub const FAKE_PCI_IDS: &str = "\
# fake pci.ids
0bad  Small Vendor Inc.
\t0001  Widget
1002  Advanced Micro Devices, Inc. [AMD/ATI]
\t1681  Rembrandt [Radeon 680M]
\t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]
10de  NVIDIA Corporation
\t2206  GA102 [GeForce RTX 3080]
\t2684  AD102 [GeForce RTX 4090]
1af4  Red Hat, Inc.
\t1050  Virtio 1.0 GPU
8086  Intel Corporation
\t0bd0  Ponte Vecchio XL (2 Tile)
\t56a0  DG2 [Arc A770]
\ta780  Raptor Lake-S GT1 [UHD Graphics 770]
\te202  Battlemage G21 [Intel Graphics]
\te20b  Battlemage G21 [Arc B580]
";

pub struct FakeMachine {
    _dir: TempDir,
    pub roots: DeviceRoots,
}

/// One GPU as sysfs shows it. Attribute fields hold the raw file text, so tests can write
/// garbage; `None` leaves the file out.
#[derive(Clone)]
pub struct FakeGpu {
    pub render: u32,
    pub card: Option<u32>,
    pub bus_id: String,
    pub vendor: Option<String>,
    pub device: Option<String>,
    pub driver: Option<String>,
    pub boot_vga: bool,
    pub vram_bytes: Option<String>,
    /// Create `<dev>/dri/renderDN` (and `cardN`).
    pub dev_nodes: bool,
}

impl FakeGpu {
    pub fn new(render: u32, card: u32, bus_id: &str, vendor: u16, device: u16) -> Self {
        Self {
            render,
            card: Some(card),
            bus_id: bus_id.to_owned(),
            vendor: Some(format!("{vendor:#06x}\n")),
            device: Some(format!("{device:#06x}\n")),
            driver: None,
            boot_vga: false,
            vram_bytes: None,
            dev_nodes: true,
        }
    }

    /// GeForce RTX 3080.
    pub fn nvidia(render: u32, card: u32, bus_id: &str) -> Self {
        Self::new(render, card, bus_id, 0x10de, 0x2206).driver("nvidia")
    }

    /// UHD Graphics 770, the boot GPU as integrated graphics usually are.
    pub fn intel_igpu(render: u32, card: u32) -> Self {
        Self {
            boot_vga: true,
            ..Self::new(render, card, "0000:00:02.0", 0x8086, 0xa780).driver("i915")
        }
    }

    /// Arc A770.
    pub fn intel_arc(render: u32, card: u32, bus_id: &str) -> Self {
        Self::new(render, card, bus_id, 0x8086, 0x56a0).driver("i915")
    }

    /// Radeon RX 6800 with 16 GiB, or an APU (Radeon 680M) with a 512 MiB carve-out.
    pub fn amd(render: u32, card: u32, bus_id: &str, vram_bytes: u64) -> Self {
        let device = if vram_bytes < 2 << 30 { 0x1681 } else { 0x73bf };
        Self {
            vram_bytes: Some(format!("{vram_bytes}\n")),
            ..Self::new(render, card, bus_id, 0x1002, device).driver("amdgpu")
        }
    }

    pub fn driver(mut self, driver: &str) -> Self {
        self.driver = Some(driver.to_owned());
        self
    }

    pub fn boot_vga(mut self, boot_vga: bool) -> Self {
        self.boot_vga = boot_vga;
        self
    }

    pub fn without_dev_nodes(mut self) -> Self {
        self.dev_nodes = false;
        self
    }
}

impl FakeMachine {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let roots = DeviceRoots::under(dir.path());
        fs::create_dir_all(roots.drm_class_dir()).unwrap();
        fs::create_dir_all(roots.dri_dir()).unwrap();
        fs::create_dir_all(&roots.proc).unwrap();
        if let Some(db) = &roots.pci_ids {
            fs::write(db, FAKE_PCI_IDS).unwrap();
        }
        Self { _dir: dir, roots }
    }

    /// A machine whose sysfs has no DRM class at all, as in many containers.
    pub fn without_drm_class() -> Self {
        let machine = Self::new();
        fs::remove_dir_all(machine.roots.drm_class_dir()).unwrap();
        machine
    }

    /// Lays `gpu` out as real sysfs does: the PCI device under `devices/`, its DRM nodes
    /// under it, and `class/drm` entries as symlinks into it. Returns the render node path.
    pub fn add(&self, gpu: &FakeGpu) -> PathBuf {
        let device_dir = self.pci_device_dir(&gpu.bus_id);
        fs::create_dir_all(device_dir.join("drm")).unwrap();
        self.write_attributes(&device_dir, gpu);
        self.link_driver(&device_dir, gpu);
        self.add_class_entry(&device_dir, &format!("renderD{}", gpu.render));
        if let Some(card) = gpu.card {
            self.add_class_entry(&device_dir, &format!("card{card}"));
            // Connectors are listed beside the nodes and must not be taken for one.
            self.add_class_entry(&device_dir, &format!("card{card}-DP-1"));
        }
        if gpu.dev_nodes {
            self.add_dev_file(&format!("dri/renderD{}", gpu.render));
            if let Some(card) = gpu.card {
                self.add_dev_file(&format!("dri/card{card}"));
            }
        }
        self.render_node(gpu.render)
    }

    /// A GPU whose `class/drm/renderDN/device` is a plain directory, as a copied sysfs has:
    /// the bus id must come from `uevent`.
    pub fn add_flat(&self, gpu: &FakeGpu) -> PathBuf {
        let device_dir = self
            .roots
            .drm_class_dir()
            .join(format!("renderD{}", gpu.render))
            .join("device");
        fs::create_dir_all(&device_dir).unwrap();
        self.write_attributes(&device_dir, gpu);
        self.link_driver(&device_dir, gpu);
        fs::write(
            device_dir.join("uevent"),
            format!("DRIVER=x\nPCI_SLOT_NAME={}\n", gpu.bus_id),
        )
        .unwrap();
        self.add_dev_file(&format!("dri/renderD{}", gpu.render));
        self.render_node(gpu.render)
    }

    pub fn pci_device_dir(&self, bus_id: &str) -> PathBuf {
        self.roots.sysfs.join("devices/pci0000:00").join(bus_id)
    }

    pub fn render_node(&self, number: u32) -> PathBuf {
        self.roots.dri_dir().join(format!("renderD{number}"))
    }

    pub fn card_node(&self, number: u32) -> PathBuf {
        self.roots.dri_dir().join(format!("card{number}"))
    }

    /// A plain file standing in for a device node under `<dev>`.
    pub fn add_dev_file(&self, relative: &str) -> PathBuf {
        let path = self.roots.dev.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"").unwrap();
        path
    }

    pub fn write_proc(&self, relative: &str, text: &str) {
        let path = self.roots.proc.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn write_attributes(&self, device_dir: &Path, gpu: &FakeGpu) {
        let files = [
            ("vendor", gpu.vendor.clone()),
            ("device", gpu.device.clone()),
            (
                "boot_vga",
                Some(if gpu.boot_vga { "1\n" } else { "0\n" }.to_owned()),
            ),
            ("mem_info_vram_total", gpu.vram_bytes.clone()),
        ];
        for (name, content) in files {
            if let Some(content) = content {
                fs::write(device_dir.join(name), content).unwrap();
            }
        }
    }

    fn link_driver(&self, device_dir: &Path, gpu: &FakeGpu) {
        if let Some(driver) = &gpu.driver {
            let target = self.roots.sysfs.join("bus/pci/drivers").join(driver);
            fs::create_dir_all(&target).unwrap();
            symlink(&target, device_dir.join("driver")).unwrap();
        }
    }

    /// `class/drm/<name>` → `devices/…/<bus>/drm/<name>`, whose `device` points back up.
    fn add_class_entry(&self, device_dir: &Path, name: &str) {
        let node_dir = device_dir.join("drm").join(name);
        fs::create_dir_all(&node_dir).unwrap();
        symlink("../..", node_dir.join("device")).unwrap();
        let relative = Path::new("../../devices/pci0000:00")
            .join(device_dir.file_name().unwrap())
            .join("drm")
            .join(name);
        symlink(relative, self.roots.drm_class_dir().join(name)).unwrap();
    }
}
