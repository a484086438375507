use super::*;
use proptest::prelude::*;
use quiver_storage::{MultiVector, SparseVector};

/// The statements the fused-query issue lists, verbatim (vectors shortened).
const ISSUE_STATEMENTS: &str = "
CREATE COLLECTION products (title TEXT, category TEXT, price FLOAT, tags TEXT[],
  text_vec VECTOR(384) COSINE, image_vec VECTOR(512) COSINE NULL);
CREATE INDEX ON products (text_vec) USING HNSW WITH (m = 16, ef_construction = 200);
CREATE INDEX ON products (image_vec) USING IVF_PQ WITH (nlist = 256, m = 64);
INSERT INTO products (id, title, category, price, text_vec) VALUES ('p1', 'red shoe', 'shoes', 59.5, [0.1, 0.2, 0.3]);
COPY products FROM 'items.jsonl';
COPY products (text_vec) FROM 'vectors.npy';
COPY products TO 'export.parquet';
DELETE FROM products WHERE id = 'p1';
SELECT COUNT(*) FROM products;
SELECT id, title, _score FROM products WHERE category = 'shoes' AND price < 100
  ORDER BY text_vec <-> [0.1, 0.2, 0.3] LIMIT 10;
SELECT id, _score FROM products
  ORDER BY FUSE(RRF(k = 60), text_vec <-> [0.1, 0.2, 0.3], image_vec <-> VECTOR OF 'p7') LIMIT 10;
SELECT id, _score FROM products
  ORDER BY FUSE(WEIGHTED(0.7, 0.3), text_vec <-> [0.1, 0.2, 0.3], image_vec <-> [0.3, 0.2, 0.1]) LIMIT 10;
EXPLAIN SELECT id FROM products ORDER BY text_vec <-> [0.1, 0.2, 0.3] LIMIT 5;
SHOW COLLECTIONS; DESCRIBE products; FLUSH products; COMPACT products; DROP COLLECTION products;
";

/// The encoder issue's statements.
const ENCODER_STATEMENTS: &str = "
CREATE COLLECTION products (title TEXT, text_vec VECTOR(384) COSINE NULL EMBED FROM title USING 'minilm');
INSERT INTO products (id, title, text_vec) VALUES ('p1', 'red shoe', EMBED('minilm', 'a red running shoe'));
INSERT INTO products (id, image_vec) VALUES ('p2', EMBED_IMAGE('effnet', 'images/p1.png'));
SELECT id FROM products ORDER BY text_vec <-> EMBED('minilm', 'red shoe') LIMIT 5;
";

/// Each statement prints as text that parses back to itself.
fn round_trips(all: &[Statement]) {
    for s in all {
        let text = s.to_string();
        assert_eq!(&parse_statement(&text).unwrap(), s, "{text}");
    }
}

#[test]
fn encoder_calls_parse_and_round_trip() {
    let all = parse_script(ENCODER_STATEMENTS).unwrap();
    assert_eq!(all.len(), 4);
    round_trips(&all);
    let Statement::CreateCollection { columns, .. } = &all[0] else {
        panic!()
    };
    assert_eq!(
        columns[1].embed,
        Some(EmbedRuleDef {
            from: "title".into(),
            encoder: "minilm".into()
        })
    );
    let Statement::Select(select) = &all[3] else {
        panic!()
    };
    let Some(Order::Distance(n)) = &select.order else {
        panic!()
    };
    assert_eq!(
        n.query,
        QueryVector::Embed(Embed {
            encoder: "minilm".into(),
            input: "red shoe".into(),
            image: false
        })
    );
    let err =
        parse_statement("SELECT id FROM p ORDER BY v <-> EMBED('minilm') LIMIT 1").unwrap_err();
    assert!(err.message.contains("','"), "{err:?}");
}

#[test]
fn every_statement_of_the_issue_parses_and_round_trips() {
    let all = parse_script(ISSUE_STATEMENTS).unwrap();
    assert_eq!(all.len(), 18);
    round_trips(&all);
    let Statement::Select(fused) = &all[10] else {
        panic!()
    };
    let Some(Order::Fuse(FusionSpec::Rrf(k), terms, _)) = &fused.order else {
        panic!()
    };
    assert_eq!(*k, 60.0);
    assert_eq!(terms[1].query, QueryVector::Of("p7".into()));
    let Statement::Select(filtered) = &all[9] else {
        panic!()
    };
    assert_eq!(
        filtered.filter,
        Some(Expr::And(
            Box::new(Expr::Cmp(
                "category".into(),
                CmpOp::Eq,
                Literal::Str("shoes".into())
            )),
            Box::new(Expr::Cmp("price".into(), CmpOp::Lt, Literal::Number(100.0)))
        ))
    );
    let Statement::CreateCollection { columns, .. } = &all[0] else {
        panic!()
    };
    assert_eq!(columns[3].ty, ColumnType::Tags);
    assert_eq!(
        columns[5].ty,
        ColumnType::Vector(512, quiver_storage::DType::F32, "COSINE".into())
    );
    assert_eq!(
        (columns[5].nullable, columns[4].nullable),
        (Some(true), None)
    );
}

#[test]
fn match_terms_parse_alone_in_fuse_and_in_evaluate() {
    let all = parse_script(
        "CREATE INDEX ON products (title) USING BM25 WITH (k1 = 1.5, b = 0.5, analyzer = 'english');
         SELECT id, _score FROM products ORDER BY MATCH(title, 'red ''running'' shoe') LIMIT 5;
         SELECT id FROM products ORDER BY FUSE(RRF, MATCH(title, 'shoe'), text_vec <-> [1, 0]);
         EVALUATE products USING 'q.jsonl' ORDER BY MATCH(title, QUERY);
         SELECT id FROM products ORDER BY \"match\" <-> [1, 0]",
    )
    .unwrap();
    round_trips(&all);
    let Statement::Select(s) = &all[1] else {
        panic!()
    };
    let Some(Order::Distance(n)) = &s.order else {
        panic!()
    };
    assert_eq!(n.column, "title");
    assert_eq!(
        n.query,
        QueryVector::Match(Some("red 'running' shoe".into()))
    );
    assert_eq!(
        all[1].to_string(),
        "SELECT id, _score FROM products ORDER BY MATCH(title, 'red ''running'' shoe') LIMIT 5"
    );
    assert!(all[3].to_string().contains("ORDER BY MATCH(title, QUERY)"));
    // A column named match is still a column.
    let Statement::Select(s) = &all[4] else {
        panic!()
    };
    assert!(matches!(&s.order, Some(Order::Distance(n)) if n.column == "match"));
    for bad in [
        "SELECT id FROM p ORDER BY MATCH(title)",
        "SELECT id FROM p ORDER BY MATCH(title, 3)",
        "SELECT id FROM p ORDER BY MATCH('title', 'x')",
    ] {
        assert!(parse_statement(bad).is_err(), "{bad}");
    }
}

#[test]
fn sparse_columns_literals_and_terms_parse_and_round_trip() {
    let all = parse_script(
        "CREATE COLLECTION docs (terms SPARSE NULL, v VECTOR(2) L2);
         INSERT INTO docs (id, terms, v) VALUES ('a', {99: 1.25, 12: 0.5}, [1, 0]);
         INSERT INTO docs (id, terms, v) VALUES ('b', {}, [0, 1]);
         SELECT id, _score FROM docs ORDER BY terms <-> {12: 1, 4294967295: 2.5} LIMIT 3;
         SELECT id FROM docs ORDER BY FUSE(RRF, terms <-> {1: 1}, v <-> [1, 0])",
    )
    .unwrap();
    round_trips(&all);
    let Statement::CreateCollection { columns, .. } = &all[0] else {
        panic!()
    };
    assert_eq!(columns[0].ty, ColumnType::Sparse);
    let Statement::Insert { rows, .. } = &all[1] else {
        panic!()
    };
    let Literal::Sparse(v) = &rows[0][1] else {
        panic!("{:?}", rows[0][1])
    };
    assert_eq!((v.indices(), v.values()), (&[12, 99][..], &[0.5, 1.25][..]));
    let Statement::Select(s) = &all[3] else {
        panic!()
    };
    let Some(Order::Distance(n)) = &s.order else {
        panic!()
    };
    assert_eq!(n.to_string(), "terms <-> {12: 1.0, 4294967295: 2.5}");
    for (sql, message) in [
        (
            "SELECT id FROM d ORDER BY t <-> {1: 1, 1: 2}",
            "index 1 appears twice",
        ),
        (
            "SELECT id FROM d ORDER BY t <-> {1: -1}",
            "weights must be finite and ≥ 0",
        ),
        (
            "SELECT id FROM d ORDER BY t <-> {4294967296: 1}",
            "is not an integer from 0",
        ),
        (
            "SELECT id FROM d ORDER BY t <-> {-1: 1}",
            "is not an integer from 0",
        ),
        (
            "SELECT id FROM d ORDER BY t <-> {1.5: 1}",
            "is not an integer from 0",
        ),
        (
            "SELECT id FROM d ORDER BY t <-> {1 1}",
            "expected ':' and a weight",
        ),
        (
            "SELECT id FROM d ORDER BY t <-> {1: 1e39}",
            "weights must be finite",
        ),
    ] {
        let err = parse_statement(sql).unwrap_err();
        assert!(err.message.contains(message), "{sql}: {}", err.message);
    }
}

#[test]
fn index_parameters_are_numbers_or_strings() {
    let all =
        parse_script("CREATE INDEX ON p (v) USING HNSW WITH (m = 8, quantize = 'sq8')").unwrap();
    let Statement::CreateIndex { with, .. } = &all[0] else {
        panic!()
    };
    assert_eq!(
        with,
        &vec![
            ("m".to_string(), Literal::Number(8.0)),
            ("quantize".to_string(), Literal::Str("sq8".into()))
        ]
    );
    round_trips(&all);
}

#[test]
fn precedence_quotes_comments_and_keywords_in_any_case() {
    let s = parse_statement(
        "select * from \"my items\" -- a comment\n where not a = 1 or b in ('x', 'it''s') and t contains 'red'",
    )
    .unwrap();
    let Statement::Select(sel) = s else { panic!() };
    assert_eq!(sel.from, "my items");
    // OR binds loosest, NOT tightest.
    let Some(Expr::Or(left, right)) = sel.filter else {
        panic!()
    };
    assert!(matches!(*left, Expr::Not(_)));
    let Expr::And(inn, _) = *right else { panic!() };
    assert_eq!(
        *inn,
        Expr::In(
            "b".into(),
            vec![Literal::Str("x".into()), Literal::Str("it's".into())]
        )
    );
}

#[test]
fn errors_point_at_the_offending_token() {
    let cases = [
        (
            "SELECT id FROM products ORDER BY text_vec <- [1]",
            42,
            "did you mean '<->'",
        ),
        (
            "SELECT id FROM products ORDER BY text_vec [1]",
            42,
            "expected '<->'",
        ),
        (
            "SELECT id FROM products LIMIT -3",
            30,
            "expected a row count",
        ),
        ("SELEC id FROM p", 0, "expected a statement"),
        ("SELECT id FROM p WHERE price <", 30, "expected a value"),
        (
            "INSERT INTO p (id, v) VALUES ('a')",
            29,
            "1 values for 2 columns",
        ),
        ("SELECT id FROM 'p'", 15, "expected a collection name"),
        ("SELECT id FROM p WHERE t = 'open", 27, "unterminated"),
        (
            "CREATE COLLECTION c (v VECTOR(3) EUCLID)",
            33,
            "expected a metric",
        ),
        (
            "SELECT id FROM p ORDER BY FUSE(RRF(k = 60)) LIMIT 1",
            42,
            "',' and a 'column <-> vector' term",
        ),
        ("SELECT id FROM p; oops", 18, "expected a statement"),
        (
            "CREATE INDEX ON p (v) USING HNSW WITH (quantize = NULL)",
            50,
            "expected a number or a string",
        ),
        (
            "SELECT id FROM p ORDER BY v <-> [1e99]",
            33,
            "does not fit a 32-bit float",
        ),
    ];
    for (sql, at, message) in cases {
        let err = parse_script(sql).unwrap_err();
        assert_eq!(err.at, at, "{sql}: {err}");
        assert!(err.message.contains(message), "{sql}: {}", err.message);
    }
    let err = parse_statement("SELECT id FROM p WHERE x <;").unwrap_err();
    assert!(err.message.ends_with("found ';'"), "{}", err.message);
    let err = parse_statement("SELECT id\nFROM p WHERE x ? 1").unwrap_err();
    assert_eq!(
        err.render("SELECT id\nFROM p WHERE x ? 1"),
        "2:16: unexpected character '?'\nFROM p WHERE x ? 1\n               ^"
    );
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,6}".prop_filter("not reserved", |s| !parser::is_reserved(s)),
        "[A-Za-z ,'\"-]{1,8}",
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        "[a-z ']{0,6}".prop_map(Literal::Str),
        (-1e6f64..1e6).prop_map(Literal::Number),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
        prop::collection::vec(-10f32..10.0, 0..4).prop_map(Literal::Vector),
        sparse().prop_map(Literal::Sparse),
        embed().prop_map(Literal::Embed),
        multi().prop_map(Literal::Vectors),
        ("[a-z]{1,6}", prop::collection::vec("[a-z./ ']{0,8}", 0..3))
            .prop_map(|(encoder, paths)| Literal::EmbedImages { encoder, paths }),
    ]
}

/// One to three vectors of one length (an empty list prints as `[]`, a vector).
fn multi() -> impl Strategy<Value = MultiVector> {
    (1usize..4, 1usize..4).prop_flat_map(|(n, dim)| {
        prop::collection::vec(prop::collection::vec(-10f32..10.0, dim), n)
            .prop_map(|v| MultiVector::new(v).unwrap())
    })
}

fn sparse() -> impl Strategy<Value = SparseVector> {
    prop::collection::btree_map(any::<u32>(), 0f32..1e6, 0..4).prop_map(|m| {
        SparseVector::new(m.keys().copied().collect(), m.values().copied().collect()).unwrap()
    })
}

fn embed() -> impl Strategy<Value = Embed> {
    ("[a-z]{1,6}", "[a-z ']{0,12}", any::<bool>()).prop_map(|(encoder, input, image)| Embed {
        encoder,
        input,
        image,
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    let op = prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ];
    let leaf = prop_oneof![
        (name(), op, literal()).prop_map(|(c, o, v)| Expr::Cmp(c, o, v)),
        (name(), prop::collection::vec(literal(), 1..3)).prop_map(|(c, v)| Expr::In(c, v)),
        (name(), literal()).prop_map(|(c, v)| Expr::Contains(c, v)),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn nearest() -> impl Strategy<Value = Nearest> {
    (
        name(),
        prop_oneof![
            prop::collection::vec(-5f32..5.0, 1..5).prop_map(QueryVector::Literal),
            sparse().prop_map(QueryVector::Sparse),
            "[a-z0-9']{1,5}".prop_map(QueryVector::Of),
            embed().prop_map(QueryVector::Embed),
            multi().prop_map(|m| QueryVector::MaxSim(MaxSimQuery::Literal(m))),
            "[a-z0-9']{1,5}".prop_map(|id| QueryVector::MaxSim(MaxSimQuery::Of(id))),
            Just(QueryVector::MaxSim(MaxSimQuery::Query)),
        ],
    )
        .prop_map(|(column, query)| Nearest { column, query })
}

fn select() -> impl Strategy<Value = Select> {
    let what = prop_oneof![
        Just(Projection::Star),
        Just(Projection::Count),
        prop::collection::vec(name(), 1..4).prop_map(Projection::Columns),
    ];
    let fusion = prop_oneof![
        prop::collection::vec(0f64..2.0, 1..3).prop_map(FusionSpec::Weighted),
        (0f64..100.0).prop_map(FusionSpec::Rrf),
        (0f64..100.0).prop_map(FusionSpec::RrfLists),
        Just(FusionSpec::Min),
        Just(FusionSpec::Max),
        Just(FusionSpec::Avg),
        (name(), prop::option::of("[a-z _/'-]{0,8}"))
            .prop_map(|(name, label)| FusionSpec::Profile { name, label }),
    ];
    let order = prop_oneof![
        nearest().prop_map(Order::Distance),
        (
            fusion,
            prop::collection::vec(nearest(), 1..3),
            prop::option::of(prop_oneof![
                Just(NormalizeSpec::None),
                Just(NormalizeSpec::MinMax),
                Just(NormalizeSpec::ZScore),
                Just(NormalizeSpec::Calibrated),
            ]),
            prop::option::of(prop_oneof![
                Just(MissingSpec::Skip),
                Just(MissingSpec::Partial)
            ]),
        )
            .prop_map(|(f, n, normalize, missing)| {
                Order::Fuse(f, n, FuseOptions { normalize, missing })
            }),
    ];
    (
        what,
        name(),
        prop::option::of(expr()),
        prop::option::of(order),
        prop::option::of(0u64..1000),
    )
        .prop_map(|(what, from, filter, order, limit)| Select {
            what,
            from,
            filter,
            order,
            limit,
        })
}

proptest! {
    #[test]
    fn parse_print_parse_is_the_identity(s in select(), explain in any::<bool>()) {
        let statement = if explain { Statement::Explain(s) } else { Statement::Select(s) };
        let text = statement.to_string();
        prop_assert_eq!(parse_statement(&text).unwrap(), statement, "{}", text);
    }

    #[test]
    fn any_input_gives_a_statement_or_an_error_never_a_panic(sql in "\\PC{0,60}") {
        let _ = parse_script(&sql);
    }
}

#[test]
fn alter_and_reembed_parse_and_print_back() {
    let script =
        "ALTER COLLECTION p ADD COLUMN v2 VECTOR(512) COSINE NULL EMBED FROM title USING 'clip';
        alter collection p drop column old;
        ALTER COLLECTION p RENAME COLUMN a TO \"b c\";
        ALTER COLLECTION p REPLACE COLUMN text_vec WITH v2;
        REEMBED p (v2)";
    let all = parse_script(script).unwrap();
    assert_eq!(all.len(), 5);
    let Statement::Alter {
        action: AlterAction::AddColumn(def),
        ..
    } = &all[0]
    else {
        panic!("{:?}", all[0])
    };
    assert_eq!(
        def.ty,
        ColumnType::Vector(512, quiver_storage::DType::F32, "COSINE".into())
    );
    assert_eq!(def.embed.as_ref().unwrap().encoder, "clip");
    assert_eq!(
        all[3],
        Statement::Alter {
            collection: "p".into(),
            action: AlterAction::ReplaceColumn {
                column: "text_vec".into(),
                with: "v2".into()
            }
        }
    );
    assert_eq!(
        all[4],
        Statement::Reembed {
            collection: "p".into(),
            column: "v2".into()
        }
    );
    for s in &all {
        assert_eq!(&parse_statement(&s.to_string()).unwrap(), s, "{s}");
    }
    let err = parse_statement("ALTER COLLECTION p MOVE COLUMN a").unwrap_err();
    assert!(err.to_string().contains("ADD COLUMN"), "{err}");
}

#[test]
fn evaluate_parses_and_prints_back() {
    let s = parse_statement(
        "EVALUATE products USING 'q.jsonl' ORDER BY FUSE(RRF, text_vec <-> QUERY, image_vec <-> QUERY) AT 20 PER QUERY",
    )
    .unwrap();
    let Statement::Evaluate(e) = &s else {
        panic!("{s:?}")
    };
    assert_eq!(
        (e.k, e.per_query, e.queries.as_str()),
        (20, true, "q.jsonl")
    );
    let Order::Fuse(_, terms, _) = &e.order else {
        panic!()
    };
    assert!(terms.iter().all(|t| t.query == QueryVector::Query));
    assert_eq!(parse_statement(&s.to_string()).unwrap(), s);
    let trec = parse_statement("EVALUATE p USING 'q.jsonl' QRELS 'qrels.tsv' ORDER BY v <-> QUERY")
        .unwrap();
    let Statement::Evaluate(e) = &trec else {
        panic!()
    };
    assert_eq!(e.qrels.as_deref(), Some("qrels.tsv"));
    assert_eq!(parse_statement(&trec.to_string()).unwrap(), trec);
    let plain = parse_statement("evaluate p using 'q.jsonl' order by v <-> query").unwrap();
    let Statement::Evaluate(e) = &plain else {
        panic!()
    };
    assert_eq!((e.k, e.per_query), (10, false));
    assert!(parse_statement("EVALUATE p USING 'q.jsonl'").is_err());
    for (tail, sweep) in [
        (" SWEEP ALPHA", Sweep::Alpha { step: 0.1 }),
        (" SWEEP ALPHA STEP 0.25", Sweep::Alpha { step: 0.25 }),
        (" SWEEP RRF K (10, 60)", Sweep::RrfK(vec![10.0, 60.0])),
        (" SWEEP COLUMNS", Sweep::Columns),
        (
            " SWEEP ALPHA STEP 0.5 PLOT 'a.png'",
            Sweep::Alpha { step: 0.5 },
        ),
    ] {
        let s = parse_statement(&format!(
            "EVALUATE p USING 'q' ORDER BY FUSE(WEIGHTED(1, 1), a <-> QUERY, b <-> QUERY){tail}"
        ))
        .unwrap();
        let Statement::Evaluate(e) = &s else { panic!() };
        assert_eq!(e.sweep.as_ref(), Some(&sweep));
        assert_eq!(parse_statement(&s.to_string()).unwrap(), s);
    }
    assert!(
        parse_statement("EVALUATE p USING 'q' ORDER BY a <-> QUERY SWEEP ALPHA STEP 0").is_err()
    );
}

#[test]
fn evaluate_recall_parses_and_prints_back() {
    let s = parse_statement("EVALUATE RECALL p (text_vec) AT 5 SAMPLE 50 EF (16, 64)").unwrap();
    let Statement::EvaluateRecall(e) = &s else {
        panic!("{s:?}")
    };
    assert_eq!((e.k, e.sample), (5, 50));
    assert_eq!(e.settings, RecallSettings::Ef(vec![16, 64]));
    assert_eq!(parse_statement(&s.to_string()).unwrap(), s);
    let s = parse_statement("evaluate recall p (v) target (0.9, 0.99)").unwrap();
    let Statement::EvaluateRecall(e) = &s else {
        panic!()
    };
    assert_eq!((e.k, e.sample), (10, 200));
    assert_eq!(e.settings, RecallSettings::Target(vec![0.9, 0.99]));
    assert_eq!(parse_statement(&s.to_string()).unwrap(), s);
}

#[test]
fn fusions_parse_alone_and_default_is_a_fusion() {
    assert_eq!(
        parse_fusion("WEIGHTED(0.4, 0.6)").unwrap(),
        FusionSpec::Weighted(vec![0.4, 0.6])
    );
    assert_eq!(parse_fusion("rrf(k = 10)").unwrap(), FusionSpec::Rrf(10.0));
    assert_eq!(
        parse_fusion("rrf(k = 10, lists)").unwrap(),
        FusionSpec::RrfLists(10.0)
    );
    assert_eq!(
        parse_fusion("RRF(LISTS)").unwrap(),
        FusionSpec::RrfLists(60.0)
    );
    assert_eq!(
        FusionSpec::RrfLists(20.0).to_string(),
        "RRF(k = 20.0, LISTS)"
    );
    assert!(parse_fusion("rrf(lists, k = 1)").is_err());
    assert!(parse_fusion("rrf(k = 1, sets)").is_err());
    assert!(parse_fusion("RRF x").is_err());
    let s =
        parse_statement("SELECT id FROM p ORDER BY FUSE(DEFAULT, a <-> [1], b <-> [2])").unwrap();
    assert_eq!(parse_statement(&s.to_string()).unwrap(), s);
    assert!(s.to_string().contains("FUSE(DEFAULT, "));
}

#[test]
fn filters_parse_alone() {
    let e = parse_filter("price < 50 AND (brand = 'acme' OR tags CONTAINS 'red')").unwrap();
    assert!(matches!(e, Expr::And(_, _)));
    assert!(matches!(
        parse_filter("NOT on_sale = TRUE").unwrap(),
        Expr::Not(_)
    ));
    for bad in ["price <", "price < 50 LIMIT 3", "", "AND"] {
        assert!(parse_filter(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn multi_vector_columns_literals_and_maxsim_parse_and_round_trip() {
    let all = parse_script(
        "CREATE COLLECTION clips (frames VECTOR(512)[] COSINE NULL, v VECTOR(2) L2);
         INSERT INTO clips (id, frames) VALUES ('a', [[1, 0], [0.5, 2]]), ('b', []);
         INSERT INTO clips (id, frames) VALUES ('c', EMBED_IMAGES('effnet', ['k1.png', 'k2.png']));
         SELECT id, _element FROM clips ORDER BY frames <-> [1, 0] LIMIT 3;
         SELECT id FROM clips ORDER BY FUSE(RRF, MAXSIM(frames, [[1, 0], [0, 1]]), MAXSIM(frames, VECTOR OF 'a'))",
    )
    .unwrap();
    round_trips(&all);
    let Statement::CreateCollection { columns, .. } = &all[0] else {
        panic!()
    };
    assert_eq!(
        columns[0].ty,
        ColumnType::MultiVector(512, quiver_storage::DType::F32, "COSINE".into())
    );
    assert_eq!(columns[0].to_string(), "frames VECTOR(512)[] COSINE NULL");
    let Statement::Insert { rows, .. } = &all[1] else {
        panic!()
    };
    let Literal::Vectors(v) = &rows[0][1] else {
        panic!("{:?}", rows[0][1])
    };
    assert_eq!(
        (v.len(), v.dim(), v.as_flat()),
        (2, 2, &[1.0, 0.0, 0.5, 2.0][..])
    );
    assert_eq!(rows[1][1], Literal::Vector(Vec::new()));
    let Statement::Insert { rows, .. } = &all[2] else {
        panic!()
    };
    assert_eq!(
        rows[0][1].to_string(),
        "EMBED_IMAGES('effnet', ['k1.png', 'k2.png'])"
    );
    for (sql, message) in [
        (
            "SELECT id FROM c ORDER BY MAXSIM(f, [[1, 2], [3]])",
            "vector 1 has 1 values, vector 0 has 2",
        ),
        (
            "SELECT id FROM c ORDER BY MAXSIM(f, [1, 2])",
            "a list of vectors",
        ),
        (
            "SELECT id FROM c ORDER BY MAXSIM(f, 'x')",
            "a list of vectors",
        ),
        ("SELECT id FROM c ORDER BY MAXSIM(f [[1]])", "','"),
        ("CREATE COLLECTION c (f VECTOR(2)[ COSINE)", "']'"),
    ] {
        let err = parse_statement(sql).unwrap_err().to_string();
        assert!(err.contains(message), "{sql}: {err}");
    }
}

mod fusion_profiles;
mod vector_types;
