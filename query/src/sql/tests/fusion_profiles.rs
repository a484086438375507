//! TUNE WEIGHTS clauses and the fusion-profile statements: parse, print back, refuse.

use crate::sql::ast::*;
use crate::sql::{parse_script, parse_statement};

#[test]
fn tune_weights_and_fusion_profiles_parse_and_print_back() {
    let order = "FUSE(WEIGHTED(1, 1), a <-> QUERY, MATCH(t, QUERY), b <-> QUERY)";
    for (tail, want) in [
        (
            " TUNE WEIGHTS",
            Tune {
                per_label: false,
                folds: 5,
                save_as: None,
            },
        ),
        (
            " TUNE WEIGHTS PER LABEL FOLDS 3 PLOT 'w.png' SAVE AS modes",
            Tune {
                per_label: true,
                folds: 3,
                save_as: Some("modes".into()),
            },
        ),
        (
            " tune weights folds 10 save as \"my modes\"",
            Tune {
                per_label: false,
                folds: 10,
                save_as: Some("my modes".into()),
            },
        ),
    ] {
        let s = parse_statement(&format!("EVALUATE p USING 'q' ORDER BY {order}{tail}")).unwrap();
        let Statement::Evaluate(e) = &s else { panic!() };
        assert_eq!(e.tune.as_ref(), Some(&want), "{tail}");
        assert_eq!(e.sweep, None);
        assert_eq!(parse_statement(&s.to_string()).unwrap(), s, "{s}");
    }
    for bad in [
        " TUNE",
        " TUNE WEIGHTS FOLDS",
        " TUNE WEIGHTS PER QUERY",
        " TUNE WEIGHTS SAVE BEST",
        " SWEEP ALPHA TUNE WEIGHTS",
        " TUNE WEIGHTS SAVE AS",
    ] {
        assert!(
            parse_statement(&format!("EVALUATE p USING 'q' ORDER BY {order}{bad}")).is_err(),
            "{bad}"
        );
    }

    let all = parse_script(
        "CREATE FUSION PROFILE vision_heavy ON c AS FUSE(WEIGHTED(0.2, 0.8), text_vec, image_vec);
         CREATE FUSION PROFILE modes FOR 'item_style' ON c AS FUSE(RRF(k = 20) NORMALIZE MINMAX, a, b);
         SHOW FUSION PROFILES;
         SHOW FUSION PROFILES ON c;
         DROP FUSION PROFILE modes ON c;
         SELECT id FROM c ORDER BY FUSE(PROFILE modes FOR 'item_style', a <-> [1], b <-> [2]);
         SELECT id FROM c ORDER BY FUSE(PROFILE vision_heavy, text_vec <-> [1], image_vec <-> [2])",
    )
    .unwrap();
    assert_eq!(
        all[0],
        Statement::CreateFusionProfile(FusionProfileDef {
            collection: "c".into(),
            name: "vision_heavy".into(),
            label: None,
            fusion: FusionSpec::Weighted(vec![0.2, 0.8]),
            columns: vec!["text_vec".into(), "image_vec".into()],
            options: FuseOptions::default(),
        })
    );
    let Statement::CreateFusionProfile(p) = &all[1] else {
        panic!()
    };
    assert_eq!(p.label.as_deref(), Some("item_style"));
    assert_eq!(p.options.normalize, Some(NormalizeSpec::MinMax));
    assert_eq!(all[3], Statement::ShowFusionProfiles(Some("c".into())));
    let Statement::Select(sel) = &all[5] else {
        panic!()
    };
    let Some(Order::Fuse(spec, _, _)) = &sel.order else {
        panic!()
    };
    assert_eq!(
        spec,
        &FusionSpec::Profile {
            name: "modes".into(),
            label: Some("item_style".into())
        }
    );
    for s in &all {
        assert_eq!(&parse_statement(&s.to_string()).unwrap(), s, "{s}");
    }
    for bad in [
        "CREATE FUSION PROFILE p ON c AS FUSE(PROFILE q, a, b)",
        "CREATE FUSION PROFILE p ON c AS FUSE(RRF MISSING PARTIAL, a, b)",
        "CREATE FUSION PROFILE p ON c AS FUSE(RRF)",
        "CREATE FUSION PROFILE p ON c FUSE(RRF, a)",
        "CREATE FUSION PROFILE p FOR label ON c AS FUSE(RRF, a)",
        "DROP FUSION PROFILE p",
    ] {
        assert!(parse_statement(bad).is_err(), "{bad}");
    }
}
