//! Vector column types: element types (`F16`, `BF16`, the default `F32`) parse, print
//! back, and unknown ones are refused.

use crate::sql::ast::*;
use crate::sql::parse_script;

#[test]
fn half_precision_vector_types_parse_and_print() {
    use quiver_storage::DType;
    let all = parse_script(
        "CREATE COLLECTION c (a VECTOR(4) F16 COSINE, b VECTOR(8) BF16 L2 NULL, c VECTOR(2) F32 DOT);
         ALTER COLLECTION c ADD COLUMN d VECTOR(4) f16 cosine NULL",
    )
    .unwrap();
    super::round_trips(&all);
    let Statement::CreateCollection { columns, .. } = &all[0] else {
        panic!()
    };
    let types: Vec<&ColumnType> = columns.iter().map(|c| &c.ty).collect();
    assert_eq!(
        types,
        [
            &ColumnType::Vector(4, DType::F16, "COSINE".into()),
            &ColumnType::Vector(8, DType::Bf16, "L2".into()),
            &ColumnType::Vector(2, DType::F32, "DOT".into()),
        ]
    );
    // F32 is the default and is not printed.
    assert_eq!(columns[0].to_string(), "a VECTOR(4) F16 COSINE");
    assert_eq!(columns[2].to_string(), "c VECTOR(2) DOT");
    let e = parse_script("CREATE COLLECTION c (a VECTOR(4) F8 COSINE)").unwrap_err();
    assert!(e.to_string().contains("metric"), "{e}");
}
