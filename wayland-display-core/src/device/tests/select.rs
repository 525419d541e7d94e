use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::fake::{FakeGpu, FakeMachine};
use crate::device::{DeviceError, RenderChoice, RenderTarget, RendererKind, Vendor};

fn resolve(machine: &FakeMachine, target: &str) -> RenderChoice {
    let target: RenderTarget = target.parse().unwrap();
    target
        .resolve_in(&machine.roots)
        .unwrap_or_else(|err| panic!("{target} should resolve: {err}"))
}

fn resolve_err(machine: &FakeMachine, target: &str) -> DeviceError {
    let target: RenderTarget = target.parse().unwrap();
    match target.resolve_in(&machine.roots) {
        Ok(choice) => panic!("{target} should fail, got {choice:?}"),
        Err(err) => err,
    }
}

fn assert_gpu(choice: &RenderChoice, node: &Path) {
    assert_eq!(choice.renderer, RendererKind::Gpu, "{choice:?}");
    assert_eq!(choice.node.as_deref(), Some(node), "{choice:?}");
    let device = choice.device.as_ref().expect("a known device");
    assert_eq!(device.render_node, node);
    assert!(!choice.fallback, "{choice:?}");
}

fn node_target(path: &Path) -> String {
    path.display().to_string()
}

/// An NVIDIA dGPU at renderD129 and the Intel iGPU (boot GPU) at renderD128.
fn hybrid() -> FakeMachine {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(129, 1, "0000:01:00.0"));
    machine.add(&FakeGpu::intel_igpu(128, 0));
    machine
}

#[test]
fn hybrid_auto_picks_the_discrete_gpu_and_says_why() {
    let machine = hybrid();
    let choice = resolve(&machine, "auto");

    assert_gpu(&choice, &machine.render_node(129));
    let reason = &choice.reason;
    assert!(
        reason.starts_with("auto: picked the discrete GPU"),
        "{reason}"
    );
    assert!(reason.contains("NVIDIA GeForce RTX 3080"), "{reason}");
    assert!(reason.contains("over the integrated"), "{reason}");
    assert!(reason.contains("Intel UHD Graphics 770"), "{reason}");
    assert_eq!(resolve(&machine, ""), choice);
}

#[test]
fn hybrid_selectors_pick_what_they_name() {
    let machine = hybrid();
    let intel = machine.render_node(128);
    let nvidia = machine.render_node(129);

    for (target, expected) in [
        ("vendor:intel", &intel),
        ("VENDOR:NVIDIA", &nvidia),
        ("pci:0000:00:02.0", &intel),
        ("pci:01:00.0", &nvidia),
        (node_target(&intel).as_str(), &intel),
        (node_target(&nvidia).as_str(), &nvidia),
    ] {
        let choice = resolve(&machine, target);
        assert_gpu(&choice, expected);
        assert!(
            choice.reason.contains(&expected.display().to_string()),
            "{choice:?}"
        );
    }
}

#[test]
fn a_symlink_or_primary_node_selects_its_gpu() {
    let machine = hybrid();
    let by_path = machine.roots.dri_dir().join("by-path");
    fs::create_dir(&by_path).unwrap();
    let link = by_path.join("pci-0000:01:00.0-render");
    symlink("../renderD129", &link).unwrap();

    assert_gpu(
        &resolve(&machine, &node_target(&link)),
        &machine.render_node(129),
    );
    let via_card = resolve(&machine, &node_target(&machine.card_node(1)));
    assert_gpu(&via_card, &machine.render_node(129));
    assert!(via_card.reason.contains("primary node"), "{via_card:?}");
}

#[test]
fn hybrid_errors_list_what_exists() {
    let machine = hybrid();
    for target in ["vendor:amd", "pci:0000:02:00.0"] {
        let err = resolve_err(&machine, target);
        assert!(
            matches!(&err, DeviceError::NoMatch { wanted, available } if wanted == target && available.len() == 2),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(target), "{text}");
        assert!(text.contains("NVIDIA GeForce RTX 3080"), "{text}");
        assert!(text.contains("Intel UHD Graphics 770"), "{text}");
        assert!(text.contains("render-node=software"), "{text}");
    }
}

#[test]
fn boot_gpu_then_node_order_break_ties() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(128, 0, "0000:01:00.0"));
    machine.add(&FakeGpu::nvidia(129, 1, "0000:02:00.0").boot_vga(true));
    let choice = resolve(&machine, "auto");
    assert_gpu(&choice, &machine.render_node(129));
    assert!(choice.reason.contains("the boot GPU"), "{}", choice.reason);

    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(128, 0, "0000:01:00.0"));
    machine.add(&FakeGpu::nvidia(129, 1, "0000:02:00.0"));
    let choice = resolve(&machine, "auto");
    assert_gpu(&choice, &machine.render_node(128));
    assert!(
        choice.reason.contains("first in node order"),
        "{}",
        choice.reason
    );
    assert_gpu(
        &resolve(&machine, "vendor:nvidia"),
        &machine.render_node(128),
    );
}

#[test]
fn vendor_prefers_its_discrete_gpu() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::intel_igpu(128, 0));
    machine.add(&FakeGpu::intel_arc(129, 1, "0000:03:00.0"));

    assert_gpu(
        &resolve(&machine, "vendor:intel"),
        &machine.render_node(129),
    );
    assert_gpu(&resolve(&machine, "auto"), &machine.render_node(129));
    assert_gpu(&resolve(&machine, "pci:00:02.0"), &machine.render_node(128));
}

#[test]
fn amd_only_machines() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::amd(128, 0, "0000:03:00.0", 16 << 30));
    let choice = resolve(&machine, "auto");
    assert_gpu(&choice, &machine.render_node(128));
    assert!(
        choice.reason.contains("the only usable GPU"),
        "{}",
        choice.reason
    );
    assert_gpu(&resolve(&machine, "vendor:amd"), &machine.render_node(128));

    let apu = FakeMachine::new();
    apu.add(&FakeGpu::amd(128, 0, "0000:c1:00.0", 512 << 20));
    assert_gpu(&resolve(&apu, "auto"), &apu.render_node(128));
    assert_eq!(
        resolve(&apu, "auto").device.unwrap().kind,
        crate::device::GpuKind::Integrated
    );

    let both = FakeMachine::new();
    both.add(&FakeGpu::amd(128, 0, "0000:c1:00.0", 512 << 20).boot_vga(true));
    both.add(&FakeGpu::amd(129, 1, "0000:03:00.0", 16 << 30));
    let choice = resolve(&both, "auto");
    assert_gpu(&choice, &both.render_node(129));
    assert!(
        choice.reason.contains("over the integrated"),
        "{}",
        choice.reason
    );
}

#[test]
fn intel_only_machine_uses_its_igpu() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::intel_igpu(128, 0));
    assert_gpu(&resolve(&machine, "auto"), &machine.render_node(128));
    assert_gpu(
        &resolve(&machine, "vendor:intel"),
        &machine.render_node(128),
    );
    let err = resolve_err(&machine, "vendor:nvidia");
    assert!(err.to_string().contains("Intel UHD Graphics 770"), "{err}");
}

#[test]
fn an_unclassified_gpu_ranks_between_discrete_and_integrated() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::intel_igpu(128, 0));
    machine.add(&FakeGpu::new(129, 1, "0000:00:05.0", 0x1af4, 0x1050));
    let choice = resolve(&machine, "auto");
    assert_gpu(&choice, &machine.render_node(129));
    assert!(choice.reason.contains("unclassified"), "{}", choice.reason);
}

#[test]
fn no_gpu_machine_renders_in_software_and_errors_suggest_it() {
    for machine in [FakeMachine::new(), FakeMachine::without_drm_class()] {
        let choice = resolve(&machine, "auto");
        assert_eq!(choice.renderer, RendererKind::Software);
        assert_eq!(
            (choice.node, choice.device, choice.fallback),
            (None, None, false)
        );
        assert!(
            choice.reason.contains("no DRM render nodes"),
            "{}",
            choice.reason
        );
        let class_dir = machine.roots.drm_class_dir().display().to_string();
        assert!(choice.reason.contains(&class_dir), "{}", choice.reason);

        for (target, canonical) in [
            ("vendor:nvidia", "vendor:nvidia"),
            ("pci:01:00.0", "pci:0000:01:00.0"),
        ] {
            let err = resolve_err(&machine, target);
            assert!(matches!(&err, DeviceError::NoMatch { available, .. } if available.is_empty()));
            let text = err.to_string();
            assert!(text.contains(canonical), "{text}");
            assert!(text.contains("no DRM render nodes"), "{text}");
            assert!(text.contains("render-node=software"), "{text}");
        }
    }
}

#[test]
fn missing_node_names_the_path_and_the_alternatives() {
    let machine = hybrid();
    let missing = machine.render_node(200);
    let err = resolve_err(&machine, &node_target(&missing));
    assert!(matches!(&err, DeviceError::NodeMissing { path, .. } if *path == missing));
    let text = err.to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(text.contains("NVIDIA GeForce RTX 3080"), "{text}");
    assert!(text.contains("render-node=software"), "{text}");

    let empty = FakeMachine::new();
    let text = resolve_err(&empty, "/dev/dri/does-not-exist").to_string();
    assert!(
        text.contains("/dev/dri/does-not-exist does not exist"),
        "{text}"
    );
    assert!(text.contains("render-node=software"), "{text}");
}

#[test]
fn a_pci_target_built_in_code_may_use_the_short_form() {
    let machine = hybrid();
    let choice = RenderTarget::Pci("01:00.0".to_owned())
        .resolve_in(&machine.roots)
        .unwrap();
    assert_gpu(&choice, &machine.render_node(129));
}

#[test]
fn a_path_through_a_file_is_missing_too() {
    let machine = hybrid();
    let through_file = machine.render_node(128).join("x");
    let err = resolve_err(&machine, &node_target(&through_file));
    assert!(matches!(err, DeviceError::NodeMissing { .. }), "{err:?}");
}

#[test]
fn unlisted_paths_must_be_character_devices() {
    let machine = hybrid();
    let stray = machine.add_dev_file("dri/renderD140");
    let err = resolve_err(&machine, &node_target(&stray));
    assert!(matches!(err, DeviceError::NotADevice { .. }), "{err:?}");
    assert!(err.to_string().contains("not a character device"), "{err}");

    // A real character device sysfs knows nothing about: used, with the GPU unknown.
    let choice = resolve(&machine, "/dev/null");
    assert_eq!(choice.renderer, RendererKind::Gpu);
    assert_eq!(choice.node, Some(PathBuf::from("/dev/null")));
    assert_eq!(choice.device, None);
    assert!(
        choice.reason.contains("sysfs does not list it"),
        "{}",
        choice.reason
    );
}

#[test]
fn gpus_whose_nodes_are_absent_from_dev_are_not_used() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(129, 1, "0000:01:00.0").without_dev_nodes());
    machine.add(&FakeGpu::intel_igpu(128, 0));

    // The dGPU was not passed into this "container": auto settles for the iGPU, and says so.
    let choice = resolve(&machine, "auto");
    assert_gpu(&choice, &machine.render_node(128));
    assert!(
        choice.reason.contains("sysfs also lists"),
        "{}",
        choice.reason
    );
    assert!(
        choice.reason.contains("NVIDIA GeForce RTX 3080"),
        "{}",
        choice.reason
    );

    let err = resolve_err(&machine, "vendor:nvidia");
    assert!(
        matches!(&err, DeviceError::NodeMissing { path, .. } if *path == machine.render_node(129)),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");

    let only_absent = FakeMachine::new();
    only_absent.add(&FakeGpu::nvidia(128, 0, "0000:01:00.0").without_dev_nodes());
    let choice = resolve(&only_absent, "auto");
    assert_eq!(choice.renderer, RendererKind::Software);
    assert!(
        choice.reason.contains("render node does not exist"),
        "{}",
        choice.reason
    );
    assert!(
        choice.reason.ends_with("rendering in software"),
        "{}",
        choice.reason
    );
    assert!(
        choice.reason.contains("NVIDIA GeForce RTX 3080"),
        "{}",
        choice.reason
    );
}

#[test]
fn a_node_with_unreadable_sysfs_is_still_usable() {
    let machine = FakeMachine::new();
    let entry = machine.roots.drm_class_dir().join("renderD128");
    fs::create_dir(&entry).unwrap();
    symlink("../../devices/gone", entry.join("device")).unwrap();
    let node = machine.add_dev_file("dri/renderD128");

    let choice = resolve(&machine, "auto");
    assert_gpu(&choice, &node);
    assert!(
        choice.reason.contains("unknown device"),
        "{}",
        choice.reason
    );
    assert_gpu(&resolve(&machine, &node_target(&node)), &node);
    let err = resolve_err(&machine, "vendor:nvidia");
    assert!(
        err.to_string().contains("renderD128 (unknown device"),
        "{err}"
    );
}

#[test]
fn software_targets_need_no_device() {
    let machine = hybrid();
    for (target, renderer) in [
        ("software", RendererKind::Software),
        ("llvmpipe", RendererKind::SoftwareGl),
    ] {
        let choice = resolve(&machine, target);
        assert_eq!(choice.renderer, renderer);
        assert_eq!(
            (choice.node, choice.device, choice.fallback),
            (None, None, false)
        );
        assert!(choice.reason.contains("requested"), "{}", choice.reason);
    }
}

#[test]
fn the_real_machine_resolves_without_panicking() {
    let choice = RenderTarget::Software.resolve().unwrap();
    assert_eq!(choice.renderer, RendererKind::Software);
    let auto = RenderTarget::Auto.resolve().unwrap();
    assert!(auto.reason.starts_with("auto:"), "{}", auto.reason);
    let _ = RenderTarget::Vendor(Vendor::Nvidia).resolve();
}
