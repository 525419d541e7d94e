//! `devices`: what render devices exist and what `auto` would pick.

use std::process::ExitCode;

use anyhow::Context;
use waylanddisplaycore::device::{self, DeviceRoots, RenderTarget};

#[derive(clap::Args)]
pub(crate) struct DevicesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Resolve this render-node value instead of `auto` (e.g. `vendor:nvidia`).
    #[arg(long, default_value = "auto")]
    render_node: String,
}

pub(crate) fn run(args: &DevicesArgs) -> anyhow::Result<ExitCode> {
    let roots = DeviceRoots::default();
    let gpus = device::enumerate(&roots);
    let target: RenderTarget = args.render_node.parse().context("--render-node")?;
    let choice = target.resolve_in(&roots);
    if args.json {
        let devices: Vec<_> = gpus
            .iter()
            .map(|gpu| {
                serde_json::json!({
                    "render_node": gpu.render_node,
                    "primary_node": gpu.primary_node,
                    "vendor": gpu.vendor.to_string(),
                    "vendor_id": gpu.vendor_id,
                    "device_id": gpu.device_id,
                    "driver": gpu.driver,
                    "pci_bus_id": gpu.pci_bus_id,
                    "name": gpu.name,
                    "boot_vga": gpu.boot_vga,
                    "kind": format!("{:?}", gpu.kind).to_lowercase(),
                    "container_devices": device::container_devices(gpu, &roots),
                })
            })
            .collect();
        let pick = match &choice {
            Ok(choice) => serde_json::json!({
                "renderer": choice.renderer.to_string(),
                "render_node": choice.node,
                "reason": choice.reason,
                "container_devices": choice.container_devices(&roots),
            }),
            Err(err) => serde_json::json!({ "error": err.to_string() }),
        };
        let out = serde_json::json!({ "devices": devices, "render_node": args.render_node, "pick": pick });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if gpus.is_empty() {
            println!(
                "No DRM render nodes under {}.",
                roots.drm_class_dir().display()
            );
        } else {
            println!("Render devices:");
            for gpu in &gpus {
                println!("  {gpu}");
                let paths: Vec<String> = device::container_devices(gpu, &roots)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                println!("    devices for an app container: {}", paths.join(" "));
            }
        }
        match &choice {
            Ok(choice) => println!("render-node={}: {}", args.render_node, choice.reason),
            Err(err) => println!("render-node={}: {err}", args.render_node),
        }
    }
    Ok(if choice.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
