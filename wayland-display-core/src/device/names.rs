//! Human GPU names from the PCI id database the distribution maintains (`pci.ids`), read
//! at run time through the `pciid-parser` crate: no copy of the database in our binary,
//! and names as current as the system's.

use std::fs::File;
use std::path::Path;

use pciid_parser::Database;

use super::gpu::Vendor;

/// `NVIDIA GeForce RTX 3080` for 10de:2206, or `None` if the database lacks the device
/// (or there is no database: Debian ships it in the `pci.ids` package).
///
/// Database entries read like `GA102 [GeForce RTX 3080]`: the chip code name, then the
/// product in brackets. Users recognise the product, so that part is used when present.
pub(super) fn marketing_name(db: Option<&Path>, vendor_id: u16, device_id: u16) -> Option<String> {
    let name = device_name(db, vendor_id, device_id)?;
    let product = bracketed_product(&name).unwrap_or(&name);
    let maker = vendor_label(db, vendor_id);
    if maker.is_empty() || starts_with_ignore_case(product, &maker) {
        Some(product.to_owned())
    } else {
        Some(format!("{maker} {product}"))
    }
}

/// Looks one device up. The crate's streaming search stops at the entry (a few ms) but
/// writes ids without leading zeros and so misses ids below 0x1000; those take a full
/// parse of the database (about 20 ms) instead.
fn device_name(db: Option<&Path>, vendor_id: u16, device_id: u16) -> Option<String> {
    if vendor_id >= 0x1000 && device_id >= 0x1000 {
        let found = match db {
            Some(path) => pciid_parser::find_device_name_with_reader(
                File::open(path).ok()?,
                vendor_id,
                device_id,
            ),
            None => pciid_parser::find_device_name(vendor_id, device_id),
        };
        return found.ok().flatten();
    }
    full_database(db)?
        .get_device_info(vendor_id, device_id, 0, 0)
        .device_name
        .map(str::to_owned)
}

fn vendor_name(db: Option<&Path>, vendor_id: u16) -> Option<String> {
    if vendor_id >= 0x1000 {
        let found = match db {
            Some(path) => {
                pciid_parser::find_vendor_name_with_reader(File::open(path).ok()?, vendor_id)
            }
            None => pciid_parser::find_vendor_name(vendor_id),
        };
        return found.ok().flatten();
    }
    full_database(db)?
        .get_device_info(vendor_id, 0, 0, 0)
        .vendor_name
        .map(str::to_owned)
}

fn full_database(db: Option<&Path>) -> Option<Database> {
    match db {
        Some(path) => Database::read_from_file(path).ok(),
        None => Database::read().ok(),
    }
}

/// The short brand for the big three; the database's own (long) name for the rest.
fn vendor_label(db: Option<&Path>, vendor_id: u16) -> String {
    match Vendor::from_pci_id(Some(vendor_id)) {
        known @ (Vendor::Nvidia | Vendor::Amd | Vendor::Intel) => known.to_string(),
        Vendor::Other(_) | Vendor::Unknown => vendor_name(db, vendor_id).unwrap_or_default(),
    }
}

/// `GeForce RTX 3080` out of `GA102 [GeForce RTX 3080]`.
fn bracketed_product(name: &str) -> Option<&str> {
    let inner = name.trim_end().strip_suffix(']')?;
    let (_, product) = inner.rsplit_once('[')?;
    let product = product.trim();
    (!product.is_empty()).then_some(product)
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::tests::fake::FAKE_PCI_IDS;

    fn db() -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, FAKE_PCI_IDS.as_bytes()).unwrap();
        file
    }

    fn name(vendor: u16, device: u16) -> Option<String> {
        let db = db();
        marketing_name(Some(db.path()), vendor, device)
    }

    #[test]
    fn known_devices_get_product_names() {
        assert_eq!(
            name(0x10de, 0x2684).as_deref(),
            Some("NVIDIA GeForce RTX 4090")
        );
        assert_eq!(name(0x8086, 0x56a0).as_deref(), Some("Intel Arc A770"));
    }

    #[test]
    fn vendor_is_not_repeated_when_the_product_names_it() {
        // Listed as `Battlemage G21 [Intel Graphics]`.
        assert_eq!(name(0x8086, 0xe202).as_deref(), Some("Intel Graphics"));
    }

    #[test]
    fn ids_below_0x1000_are_found_too() {
        assert_eq!(
            name(0x8086, 0x0bd0).as_deref(),
            Some("Intel Ponte Vecchio XL (2 Tile)")
        );
        assert_eq!(
            name(0x0bad, 0x0001).as_deref(),
            Some("Small Vendor Inc. Widget")
        );
    }

    #[test]
    fn other_vendors_are_named_from_the_database() {
        assert_eq!(
            name(0x1af4, 0x1050).as_deref(),
            Some("Red Hat, Inc. Virtio 1.0 GPU")
        );
    }

    #[test]
    fn no_database_means_no_names() {
        assert_eq!(
            marketing_name(Some(Path::new("/nonexistent/pci.ids")), 0x10de, 0x2206),
            None
        );
    }

    #[test]
    fn unknown_devices_have_no_name() {
        assert_eq!(name(0x10de, 0xfffe), None);
        assert_eq!(name(0xfffe, 0x0001), None);
    }

    #[test]
    fn product_is_taken_from_the_last_brackets() {
        assert_eq!(
            bracketed_product("Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]"),
            Some("Radeon RX 6800/6800 XT / 6900 XT")
        );
        assert_eq!(bracketed_product("AlderLake-S GT1"), None);
        assert_eq!(bracketed_product("Odd []"), None);
    }
}
