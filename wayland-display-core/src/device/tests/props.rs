//! Property tests of the `render-node` vocabulary and of the names read from sysfs
//! (docs/RELIABILITY.md): any text is a target or an error naming the accepted forms, never
//! a panic; what is taken is one of the documented forms and prints as a spelling that
//! parses back to it; every documented spelling parses to what it says.

use std::path::PathBuf;

use proptest::prelude::*;

use crate::device::pci::normalize_bus_id;
use crate::device::sysfs::node_number;
use crate::device::{DeviceError, RenderTarget, Vendor};

/// Cases per property; each takes well under a second in a debug build.
const CASES: u32 = 16384;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `text` with each ASCII letter's case picked by `upper`.
fn recase(text: &str, upper: &[bool]) -> String {
    text.chars()
        .zip(upper.iter().chain(std::iter::repeat(&false)))
        .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
        .collect()
}

fn space() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec![' ', '\t', '\n', '\u{a0}']), 0..3)
        .prop_map(|chars| chars.into_iter().collect())
}

fn case_mask() -> impl Strategy<Value = Vec<bool>> {
    prop::collection::vec(any::<bool>(), 24)
}

/// Text near the vocabulary: prefixes and keywords with odd tails, hex and bus ids gone
/// slightly wrong.
fn near_miss() -> impl Strategy<Value = String> {
    let head = prop::sample::select(vec![
        "",
        "auto",
        "software",
        "llvmpipe",
        "vendor:",
        "vendor:0x",
        "pci:",
        "pci:0000:",
        "/",
        "vendor",
        "pci",
        "gpu",
    ]);
    (head, "[0-9a-fA-FxX:. +_/-]{0,12}", case_mask(), space())
        .prop_map(|(head, tail, mask, pad)| format!("{pad}{}{tail}", recase(head, &mask)))
}

/// A bus id as users write it, and its canonical form.
fn bus_id() -> impl Strategy<Value = (String, String)> {
    (
        prop::option::of(any::<u32>()),
        any::<u8>(),
        0u8..32,
        0u8..8,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(domain, bus, device, function, padded, upper)| {
            let field = |v: u32, width: usize| {
                let text = if padded {
                    format!("{v:0width$x}")
                } else {
                    format!("{v:x}")
                };
                if upper { text.to_uppercase() } else { text }
            };
            let short = format!(
                "{}:{}.{}",
                field(u32::from(bus), 2),
                field(u32::from(device), 2),
                field(u32::from(function), 1)
            );
            let written = match domain {
                Some(d) => format!("{}:{short}", field(d, 4)),
                None => short,
            };
            let canonical = format!(
                "{:04x}:{bus:02x}:{device:02x}.{function:x}",
                domain.unwrap_or(0)
            );
            (written, canonical)
        })
}

/// A spelling of each form, and what it must parse to.
fn spelling() -> impl Strategy<Value = (String, RenderTarget)> {
    let keyword = (
        prop::sample::select(vec![
            ("", RenderTarget::Auto),
            ("auto", RenderTarget::Auto),
            ("software", RenderTarget::Software),
            ("llvmpipe", RenderTarget::SoftwareGl),
            ("vendor:nvidia", RenderTarget::Vendor(Vendor::Nvidia)),
            ("vendor:amd", RenderTarget::Vendor(Vendor::Amd)),
            ("vendor:intel", RenderTarget::Vendor(Vendor::Intel)),
        ]),
        case_mask(),
    )
        .prop_map(|((text, target), mask)| (recase(text, &mask), target));
    let vendor_id = (any::<u16>(), 1usize..=4, case_mask()).prop_map(|(id, width, mask)| {
        // As many digits as the id needs, at least `width`.
        let digits = format!("{id:0width$x}");
        let text = recase(&format!("vendor:0x{digits}"), &mask);
        (text, RenderTarget::Vendor(Vendor::from_pci_id(Some(id))))
    });
    let pci = (bus_id(), case_mask()).prop_map(|((written, canonical), mask)| {
        (
            format!("{}{written}", recase("pci:", &mask)),
            RenderTarget::Pci(canonical),
        )
    });
    let path = "/[^\u{0}\\s]{0,20}".prop_map(|p| (p.clone(), RenderTarget::Node(PathBuf::from(p))));
    (prop_oneof![keyword, vendor_id, pci, path], space(), space())
        .prop_map(|((text, target), before, after)| (format!("{before}{text}{after}"), target))
}

proptest! {
    #![proptest_config(config())]

    /// Any text: one of the documented forms, which prints as a spelling that parses back
    /// to it; or an error that quotes the value and lists the forms.
    #[test]
    fn any_text_is_a_documented_target_or_an_error(
        text in prop_oneof![".{0,24}", near_miss(), spelling().prop_map(|(s, _)| s)],
    ) {
        match text.parse::<RenderTarget>() {
            Ok(target) => {
                let shown = target.to_string();
                let again = shown.parse::<RenderTarget>();
                prop_assert!(
                    again.as_ref().is_ok_and(|t| *t == target),
                    "{:?} → {} → {:?}",
                    text,
                    shown,
                    again,
                );
                let lower = text.trim().to_ascii_lowercase();
                let form_ok = match &target {
                    RenderTarget::Auto => lower.is_empty() || lower == "auto",
                    RenderTarget::Software => lower == "software",
                    RenderTarget::SoftwareGl => lower == "llvmpipe",
                    RenderTarget::Node(path) => {
                        text.trim().starts_with('/') && *path == std::path::Path::new(text.trim())
                    }
                    RenderTarget::Vendor(_) => {
                        let rest = lower.strip_prefix("vendor:").map(str::trim).unwrap_or_default();
                        match rest.strip_prefix("0x") {
                            // A raw id is hex digits (that fit 16 bits), nothing else.
                            Some(digits) => {
                                !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit())
                            }
                            None => ["nvidia", "amd", "intel"].contains(&rest),
                        }
                    }
                    RenderTarget::Pci(id) => {
                        let canonical = normalize_bus_id(id).as_deref() == Some(id.as_str());
                        lower.starts_with("pci:") && canonical
                    }
                };
                prop_assert!(form_ok, "{:?} was taken as {:?}", text, target);
            }
            Err(DeviceError::UnknownValue { value }) => {
                prop_assert_eq!(&value, &text);
                let message = DeviceError::UnknownValue { value }.to_string();
                prop_assert!(
                    message.contains("vendor:nvidia") && message.contains("pci:"),
                    "{}",
                    message,
                );
            }
            Err(other) => prop_assert!(false, "{:?}: {:?}", text, other),
        }
    }

    /// Every documented spelling, in any letter case and with surrounding whitespace,
    /// parses to what it says.
    #[test]
    fn documented_spellings_parse_to_what_they_say((text, target) in spelling()) {
        let parsed = text.parse::<RenderTarget>();
        prop_assert!(
            parsed.as_ref().is_ok_and(|t| *t == target),
            "{:?}: {:?}, want {:?}",
            text,
            parsed,
            target,
        );
    }

    /// Bus ids: any text is a canonical id or nothing, and the canonical form is its own
    /// normal form.
    #[test]
    fn bus_ids_normalise_to_a_fixed_point(
        text in prop_oneof![".{0,16}", "[0-9a-fA-F:.]{0,16}", bus_id().prop_map(|(w, _)| w)],
    ) {
        if let Some(id) = normalize_bus_id(&text) {
            prop_assert_eq!(normalize_bus_id(&id), Some(id.clone()));
            let parts: Vec<&str> = id.split([':', '.']).collect();
            prop_assert!(parts.len() == 4 && (4..=8).contains(&parts[0].len()), "{}", id);
        }
    }

    /// `renderD128`, `card0`: a number only for the prefix followed by digits that fit.
    #[test]
    fn node_numbers_are_digits_that_fit(
        prefix in prop::sample::select(vec!["renderD", "card", "nvidia"]),
        tail in prop_oneof!["[0-9]{0,12}", ".{0,8}", any::<u32>().prop_map(|n| n.to_string())],
    ) {
        let name = format!("{prefix}{tail}");
        let want = if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            tail.parse::<u32>().ok()
        } else {
            None
        };
        prop_assert_eq!(node_number(&name, prefix), want);
    }
}

/// Found by `any_text_is_a_documented_target_or_an_error`: `u16::from_str_radix` takes a
/// sign, so `vendor:0x+1af4` was taken as vendor 0x1af4.
#[test]
fn vendor_ids_are_hex_digits_only() {
    for value in ["vendor:0x+1af4", "vendor:0x-1", "vendor:0x+"] {
        assert!(value.parse::<RenderTarget>().is_err(), "{value}");
    }
    assert_eq!(
        "vendor:0x1AF4".parse::<RenderTarget>().ok(),
        Some(RenderTarget::Vendor(Vendor::Other(0x1af4)))
    );
}
