//! Coordinate arithmetic that cannot panic or wrap. Smithay's `Point` operators are plain
//! `+`/`-` (a panic in debug builds, a wrap in release); client-supplied positions and
//! our own layout meet here instead.

use smithay::utils::Point;

/// `a + b` for positions in floating point (never overflows; infinities stay infinite).
pub(crate) fn plus<K>(a: Point<f64, K>, b: Point<f64, K>) -> Point<f64, K> {
    Point::from((a.x + b.x, a.y + b.y))
}

/// `a - b` for positions in floating point.
pub(crate) fn minus<K>(a: Point<f64, K>, b: Point<f64, K>) -> Point<f64, K> {
    Point::from((a.x - b.x, a.y - b.y))
}

/// `a + b` in whole pixels, saturating at the ends of `i32`.
pub(crate) fn plus_px<K>(a: Point<i32, K>, b: Point<i32, K>) -> Point<i32, K> {
    Point::from((a.x.saturating_add(b.x), a.y.saturating_add(b.y)))
}

/// `a - b` in whole pixels, saturating at the ends of `i32`.
pub(crate) fn minus_px<K>(a: Point<i32, K>, b: Point<i32, K>) -> Point<i32, K> {
    Point::from((a.x.saturating_sub(b.x), a.y.saturating_sub(b.y)))
}

/// A scroll amount in 1/120 of a detent as `wl_pointer.axis_value120` carries it, bounded
/// to the coordinate limit (546 detents): Smithay sums and negates these for clients
/// older than `wl_pointer` v8, and `i32::MIN.abs()` panics.
#[allow(
    clippy::cast_possible_truncation,
    reason = "`as` from f64 saturates and maps NaN to 0, which is what a scroll amount wants"
)]
pub(crate) fn v120(amount: f64) -> i32 {
    let limit = super::COORD_LIMIT;
    (amount.round() as i32).clamp(limit.saturating_neg(), limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smithay::utils::Logical;

    #[test]
    fn pixel_sums_saturate_instead_of_wrapping() {
        let far: Point<i32, Logical> = (i32::MAX - 1, i32::MIN + 1).into();
        assert_eq!(
            plus_px(far, (5, -5).into()),
            Point::from((i32::MAX, i32::MIN))
        );
        assert_eq!(
            minus_px(far, (-5, 5).into()),
            Point::from((i32::MAX, i32::MIN))
        );
    }

    #[test]
    fn scroll_amounts_saturate() {
        assert_eq!(v120(1e12), crate::comp::COORD_LIMIT);
        assert_eq!(v120(-1e12), -crate::comp::COORD_LIMIT);
        assert_eq!(v120(f64::NEG_INFINITY), -crate::comp::COORD_LIMIT);
        assert_eq!(v120(f64::NAN), 0);
        assert_eq!(v120(119.6), 120);
    }
}
