//! PCI bus ids (`domain:bus:device.function`), as users type them and as sysfs names them.

/// The canonical `0000:01:00.0` form of `id`, or `None` if it is not a bus id.
///
/// Accepts the short `01:00.0` form (domain 0, as `lspci` prints it), any letter case and
/// unpadded numbers, so that whatever a user copies from `lspci` or `nvidia-smi` matches
/// what sysfs says.
pub(super) fn normalize_bus_id(id: &str) -> Option<String> {
    let (domain, rest) = match id.split(':').collect::<Vec<_>>().as_slice() {
        [domain, bus, slot] => (hex_field(domain, 8, u32::MAX)?, (*bus, *slot)),
        [bus, slot] => (0, (*bus, *slot)),
        _ => return None,
    };
    let (bus, slot) = rest;
    let bus = hex_field(bus, 2, 0xff)?;
    let (device, function) = slot.split_once('.')?;
    let device = hex_field(device, 2, 0x1f)?;
    let function = hex_field(function, 1, 0x7)?;
    Some(format!("{domain:04x}:{bus:02x}:{device:02x}.{function:x}"))
}

/// Parses 1 to `max_digits` hex digits holding at most `max_value`.
fn hex_field(text: &str, max_digits: usize, max_value: u32) -> Option<u32> {
    let digits_ok =
        !text.is_empty() && text.len() <= max_digits && text.chars().all(|c| c.is_ascii_hexdigit());
    if !digits_ok {
        return None;
    }
    u32::from_str_radix(text, 16)
        .ok()
        .filter(|value| *value <= max_value)
}

#[cfg(test)]
mod tests {
    use super::normalize_bus_id;

    #[test]
    fn full_short_and_sloppy_forms_normalise() {
        for (input, expected) in [
            ("0000:01:00.0", "0000:01:00.0"),
            ("01:00.0", "0000:01:00.0"),
            ("0000:0A:1F.7", "0000:0a:1f.7"),
            ("1:0.0", "0000:01:00.0"),
            ("10000:e1:00.0", "10000:e1:00.0"),
        ] {
            assert_eq!(
                normalize_bus_id(input).as_deref(),
                Some(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for input in [
            "",
            "01:00",
            "0000:01:00:0",
            "01:20.0",
            "01:00.8",
            "zz:00.0",
            "0000:100:00.0",
            "a:b:c:d.0",
            "01:00.",
            ":00.0",
        ] {
            assert_eq!(normalize_bus_id(input), None, "{input}");
        }
    }
}
