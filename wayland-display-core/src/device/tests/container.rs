use std::fs;
use std::path::PathBuf;

use super::fake::{FakeGpu, FakeMachine};
use crate::device::{GpuDevice, RenderTarget, container_devices, enumerate};

const NVIDIA_INFO: &str = "Model: \t\t NVIDIA GeForce RTX 3080\n\
    IRQ:   \t\t 145\n\
    GPU UUID: \t GPU-00000000-0000-0000-0000-000000000000\n\
    Video BIOS: \t 94.02.42.00.a9\n\
    Bus Type: \t PCIe\n\
    DMA Size: \t 47 bits\n\
    Device Minor: \t 1\n\
    GPU Excluded:\t No\n";

/// Two NVIDIA GPUs, the control nodes (but not nvidia-uvm-tools) and unrelated files.
fn nvidia_machine() -> (FakeMachine, GpuDevice) {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::nvidia(128, 0, "0000:01:00.0"));
    machine.add(&FakeGpu::nvidia(129, 1, "0000:02:00.0"));
    for name in [
        "nvidia0",
        "nvidia1",
        "nvidia10",
        "nvidia2",
        "nvidiactl",
        "nvidia-modeset",
        "nvidia-uvm",
        "nvidia-caps/nvidia-cap1",
        "nvidiafoo",
    ] {
        machine.add_dev_file(name);
    }
    let device = enumerate(&machine.roots).remove(1);
    (machine, device)
}

#[test]
fn nvidia_gets_its_own_card_node_from_proc() {
    let (machine, device) = nvidia_machine();
    machine.write_proc("driver/nvidia/gpus/0000:02:00.0/information", NVIDIA_INFO);
    let dev = &machine.roots.dev;

    assert_eq!(
        container_devices(&device, &machine.roots),
        vec![
            machine.render_node(129),
            machine.card_node(1),
            dev.join("nvidia1"),
            dev.join("nvidiactl"),
            dev.join("nvidia-modeset"),
            dev.join("nvidia-uvm"),
        ]
    );
}

#[test]
fn nvidia_without_proc_information_gets_every_card_node() {
    let (machine, device) = nvidia_machine();
    // A file without the line is as good as none.
    machine.write_proc("driver/nvidia/gpus/0000:02:00.0/information", "Model: x\n");
    let dev = &machine.roots.dev;

    assert_eq!(
        container_devices(&device, &machine.roots),
        vec![
            machine.render_node(129),
            machine.card_node(1),
            dev.join("nvidia0"),
            dev.join("nvidia1"),
            dev.join("nvidia2"),
            dev.join("nvidia10"),
            dev.join("nvidiactl"),
            dev.join("nvidia-modeset"),
            dev.join("nvidia-uvm"),
        ]
    );
}

#[test]
fn other_vendors_get_only_their_drm_nodes() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::intel_igpu(128, 0));
    machine.add_dev_file("nvidiactl");
    machine.add_dev_file("nvidia0");
    let device = enumerate(&machine.roots).remove(0);

    assert_eq!(
        container_devices(&device, &machine.roots),
        vec![machine.render_node(128), machine.card_node(0)]
    );
}

#[test]
fn only_existing_paths_are_listed() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::intel_igpu(128, 0));
    fs::remove_file(machine.card_node(0)).unwrap();
    let device = enumerate(&machine.roots).remove(0);
    assert_eq!(
        container_devices(&device, &machine.roots),
        vec![machine.render_node(128)]
    );

    fs::remove_file(machine.render_node(128)).unwrap();
    assert_eq!(
        container_devices(&device, &machine.roots),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn render_choice_lists_the_devices_of_its_gpu() {
    let machine = FakeMachine::new();
    machine.add(&FakeGpu::intel_igpu(128, 0));

    let auto = RenderTarget::Auto.resolve_in(&machine.roots).unwrap();
    assert_eq!(
        auto.container_devices(&machine.roots),
        vec![machine.render_node(128), machine.card_node(0)]
    );

    let software = RenderTarget::Software.resolve_in(&machine.roots).unwrap();
    assert!(software.container_devices(&machine.roots).is_empty());

    let unlisted = RenderTarget::Node("/dev/null".into())
        .resolve_in(&machine.roots)
        .unwrap();
    assert_eq!(
        unlisted.container_devices(&machine.roots),
        vec![PathBuf::from("/dev/null")]
    );
}
