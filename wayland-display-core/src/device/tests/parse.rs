use std::path::PathBuf;

use crate::device::{DeviceError, RenderTarget, Vendor};

fn parse(value: &str) -> RenderTarget {
    value
        .parse()
        .unwrap_or_else(|err| panic!("{value:?} should parse: {err}"))
}

#[test]
fn keywords_parse_in_any_case_and_with_whitespace() {
    let cases = [
        ("", RenderTarget::Auto),
        ("   ", RenderTarget::Auto),
        ("auto", RenderTarget::Auto),
        (" AUTO\n", RenderTarget::Auto),
        ("software", RenderTarget::Software),
        ("SoftWare", RenderTarget::Software),
        ("llvmpipe", RenderTarget::SoftwareGl),
        ("\tLLVMpipe ", RenderTarget::SoftwareGl),
        ("vendor:nvidia", RenderTarget::Vendor(Vendor::Nvidia)),
        ("VENDOR:NVIDIA", RenderTarget::Vendor(Vendor::Nvidia)),
        ("Vendor:Amd", RenderTarget::Vendor(Vendor::Amd)),
        ("vendor:intel", RenderTarget::Vendor(Vendor::Intel)),
        ("vendor: Intel ", RenderTarget::Vendor(Vendor::Intel)),
        ("vendor:0x1AF4", RenderTarget::Vendor(Vendor::Other(0x1af4))),
        ("vendor:0x10de", RenderTarget::Vendor(Vendor::Nvidia)),
    ];
    for (value, expected) in cases {
        assert_eq!(parse(value), expected, "{value:?}");
    }
}

#[test]
fn pci_ids_parse_in_full_and_short_form() {
    let cases = [
        ("pci:0000:01:00.0", "0000:01:00.0"),
        ("PCI:01:00.0", "0000:01:00.0"),
        ("pci:0000:0A:00.1", "0000:0a:00.1"),
        (" pci: 00:02.0 ", "0000:00:02.0"),
    ];
    for (value, expected) in cases {
        assert_eq!(
            parse(value),
            RenderTarget::Pci(expected.to_owned()),
            "{value:?}"
        );
    }
}

#[test]
fn paths_are_kept_as_written() {
    assert_eq!(
        parse("/dev/dri/renderD128"),
        RenderTarget::Node(PathBuf::from("/dev/dri/renderD128"))
    );
    assert_eq!(
        parse("  /dev/dri/by-path/pci-0000:01:00.0-render "),
        RenderTarget::Node(PathBuf::from("/dev/dri/by-path/pci-0000:01:00.0-render"))
    );
    assert_eq!(
        parse("/Dev/DRI/Auto"),
        RenderTarget::Node(PathBuf::from("/Dev/DRI/Auto"))
    );
}

#[test]
fn unknown_values_are_errors_listing_the_accepted_forms() {
    for value in [
        "gpu0",
        "renderD128",
        "nvidia",
        "vendor:",
        "vendor:matrox",
        "vendor:0x",
        "vendor:0x12345",
        "pci:",
        "pci:nonsense",
        "pci:01:00",
        "pci:0000:01:00.9",
        "auto software",
    ] {
        let err = value.parse::<RenderTarget>().unwrap_err();
        assert!(
            matches!(&err, DeviceError::UnknownValue { value: v } if v == value),
            "{value:?}: {err:?}"
        );
        let text = err.to_string();
        for form in [
            "auto",
            "software",
            "llvmpipe",
            "/dev/dri/renderD128",
            "vendor:nvidia",
            "pci:",
        ] {
            assert!(text.contains(form), "{value:?}: {text} lacks {form}");
        }
    }
}

#[test]
fn display_is_canonical_and_parses_back() {
    let targets = [
        RenderTarget::Auto,
        RenderTarget::Software,
        RenderTarget::SoftwareGl,
        RenderTarget::Node("/dev/dri/renderD129".into()),
        RenderTarget::Vendor(Vendor::Nvidia),
        RenderTarget::Vendor(Vendor::Amd),
        RenderTarget::Vendor(Vendor::Intel),
        RenderTarget::Vendor(Vendor::Other(0x1af4)),
        RenderTarget::Pci("0000:01:00.0".to_owned()),
    ];
    for target in targets {
        let text = target.to_string();
        assert_eq!(parse(&text), target, "{text}");
    }
    assert_eq!(parse("PCI:1:0.0").to_string(), "pci:0000:01:00.0");
    assert_eq!(parse("Vendor:NVIDIA").to_string(), "vendor:nvidia");
    assert_eq!(parse("").to_string(), "auto");
}
