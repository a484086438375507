//! `DType::round`: what a half-precision column stores for an `f32` input.

use proptest::prelude::*;
use quiver_storage::DType;

proptest! {
    #[test]
    fn rounding_is_once_close_and_refuses_what_does_not_fit(
        x in prop::collection::vec(
            prop_oneof![-70_000f32..70_000.0, -1f32..1.0, -1e-6f32..1e-6, Just(0.0)],
            1..64,
        )
    ) {
        for (dtype, bits) in [(DType::F16, 11), (DType::Bf16, 8)] {
            let mut v = x.clone();
            match dtype.round(&mut v) {
                Err((i, value)) => {
                    prop_assert_eq!(dtype, DType::F16);
                    prop_assert!(value.abs() > 65_504.0 && x[i] == value);
                    prop_assert!(x[..i].iter().all(|c| c.abs() <= 65_504.0));
                }
                Ok(()) => {
                    for (&r, &orig) in v.iter().zip(&x) {
                        // Nearest: within half a unit in the last place, relative to
                        // the value, or the subnormal spacing near zero.
                        let ulp = orig.abs() * 2f32.powi(-(bits - 1));
                        let floor = if dtype == DType::F16 { 2f32.powi(-24) } else { 1e-38 };
                        prop_assert!((r - orig).abs() <= ulp / 2.0 + floor, "{:?}: {} -> {}", dtype, orig, r);
                    }
                    // Once: rounding a rounded vector changes nothing.
                    let mut again = v.clone();
                    dtype.round(&mut again).unwrap();
                    prop_assert_eq!(&again, &v);
                }
            }
        }
        // F32 stores the input as it is.
        let mut same = x.clone();
        DType::F32.round(&mut same).unwrap();
        prop_assert_eq!(same, x);
    }
}

#[test]
fn the_edges_of_f16() {
    let mut v = vec![65_504.0, -65_504.0, 65_519.0];
    assert_eq!(DType::F16.round(&mut v), Err((2, 65_519.0)));
    let mut v = vec![65_504.0, -65_504.0, 1e-8];
    DType::F16.round(&mut v).unwrap();
    assert_eq!(v, vec![65_504.0, -65_504.0, 0.0]);
    let mut v = vec![f32::MAX];
    assert!(DType::Bf16.round(&mut v).is_err(), "rounds up to infinity");
}
