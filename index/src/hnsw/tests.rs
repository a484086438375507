use super::*;
use crate::flat::exact_top_k;
use crate::source::SliceSource;

/// Clustered random data (deterministic), `n` x `dim`.
fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..10)
        .map(|_| (0..dim).map(|_| next() * 4.0).collect())
        .collect();
    (0..n)
        .flat_map(|i| {
            centres[i % 10]
                .iter()
                .map(|c| c + next())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn normalize(data: &mut [f32], dim: usize) {
    for v in data.chunks_mut(dim) {
        let norm = v
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

pub(super) fn recall(
    index: &Hnsw,
    source: &SliceSource<'_>,
    queries: &[f32],
    dim: usize,
    ef: usize,
) -> f64 {
    let k = 10;
    let mut hits = 0;
    let mut total = 0;
    for q in queries.chunks(dim) {
        let truth: Vec<u32> = exact_top_k(source, index.metric(), q, k, &|_| true)
            .iter()
            .map(|h| h.row.0)
            .collect();
        let got = index.search(source, q, k, ef);
        hits += got.iter().filter(|h| truth.contains(&h.row.0)).count();
        total += truth.len();
    }
    hits as f64 / total as f64
}

#[test]
fn recall_is_high_and_grows_with_ef() {
    for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
        let dim = 16;
        // Queries from the same distribution: base rows moved a little.
        let mut base = data(3000, dim, 7);
        let noise = data(50, dim, 99);
        let mut queries: Vec<f32> = base[..50 * dim]
            .iter()
            .zip(&noise)
            .map(|(b, n)| b + 0.3 * n)
            .collect();
        if metric == Metric::Dot {
            // Inner-product search is run on unit vectors (as with sentence embeddings):
            // on raw vectors it is not a distance and large norms dominate.
            normalize(&mut base, dim);
            normalize(&mut queries, dim);
        }
        let source = SliceSource::new(&base, dim).unwrap();
        let index = Hnsw::build(
            &source,
            metric,
            &HnswParams {
                m: 8,
                ef_construction: 100,
                seed: 1,
            },
        );
        index.graph().view().check().unwrap();
        let low = recall(&index, &source, &queries, dim, 10);
        let high = recall(&index, &source, &queries, dim, 200);
        assert!(high >= 0.97, "{metric:?}: recall@10 at ef 200 = {high}");
        assert!(high >= low, "{metric:?}: {low} -> {high}");
    }
}

#[test]
fn filters_nulls_and_tiny_graphs() {
    let dim = 4;
    let base = data(500, dim, 3);
    let source = SliceSource::new(&base, dim).unwrap();
    let index = Hnsw::build(&source, Metric::L2, &HnswParams::default());
    let q = &base[40 * dim..41 * dim];
    let even = index.search_filtered(&source, q, 10, 64, &|r| r.0 % 2 == 0);
    assert_eq!(even.len(), 10);
    assert!(even.iter().all(|h| h.row.0 % 2 == 0));
    assert_eq!(even[0].row.0, 40, "the query's own row is found");
    assert!(
        index.search(&source, &[1.0, 2.0], 5, 10).is_empty(),
        "wrong dimension gives nothing"
    );

    let one = SliceSource::new(&base[..dim], dim).unwrap();
    let single = Hnsw::build(&one, Metric::L2, &HnswParams::default());
    assert_eq!(single.search(&one, q, 3, 10).len(), 1);
    let empty = SliceSource::new(&[], dim).unwrap();
    assert!(
        Hnsw::build(&empty, Metric::L2, &HnswParams::default())
            .search(&empty, q, 3, 10)
            .is_empty()
    );
}

/// Every node is reachable from the entry point through the links of all levels (the
/// way a search can reach it), also when several threads built the graph: concurrent
/// inserts once overwrote each other's back links and stranded nodes.
#[test]
fn parallel_build_leaves_no_node_unreachable() {
    let dim = 8;
    let base = data(4000, dim, 11);
    let source = SliceSource::new(&base, dim).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    for _ in 0..5 {
        let index = pool.install(|| {
            Hnsw::build(
                &source,
                Metric::L2,
                &HnswParams {
                    m: 6,
                    ef_construction: 40,
                    seed: 3,
                },
            )
        });
        let graph = index.graph().view();
        graph.check().unwrap();
        let mut seen = vec![false; graph.nodes()];
        let mut stack = vec![graph.entry];
        seen[graph.entry as usize] = true;
        while let Some(node) = stack.pop() {
            for level in 0..=graph.levels[node as usize] as u32 {
                for &nb in graph.neighbors(node, level) {
                    if !std::mem::replace(&mut seen[nb as usize], true) {
                        stack.push(nb);
                    }
                }
            }
        }
        let lost = seen.iter().filter(|&&s| !s).count();
        assert_eq!(lost, 0, "{lost} nodes unreachable");
    }
}

/// A graph from a damaged file (entry past the nodes, absurd top level, links out of
/// range) answers nothing or something, but never panics or hangs.
#[test]
fn damaged_graphs_never_panic_or_hang() {
    let dim = 4;
    let base = data(300, dim, 5);
    let source = SliceSource::new(&base, dim).unwrap();
    let good = Hnsw::build(&source, Metric::L2, &HnswParams::default());
    let q = &base[..dim];
    let mut bad_entry = good.graph().clone();
    bad_entry.entry = 10_000;
    assert!(
        Hnsw::from_graph(bad_entry, Metric::L2)
            .search(&source, q, 5, 20)
            .is_empty()
    );
    let mut tall = good.graph().clone();
    tall.max_level = u32::MAX;
    assert!(
        Hnsw::from_graph(tall, Metric::L2)
            .search(&source, q, 5, 20)
            .is_empty()
    );
    let mut wild = good.graph().clone();
    wild.level0
        .iter_mut()
        .step_by(3)
        .for_each(|w| *w = u32::MAX - 1);
    wild.upper.iter_mut().for_each(|w| *w = 123_456);
    let hits = Hnsw::from_graph(wild, Metric::L2).search(&source, q, 5, 20);
    assert!(hits.iter().all(|h| (h.row.0 as usize) < 300));
}

/// Traversal on 8-bit codes then exact re-ranking: recall close to the f32 search at
/// the same beam, exact distances in the answer, filters honoured, and counts that
/// say what was done.
#[test]
fn sq8_traversal_reranks_to_exact_distances() {
    use crate::codes::BuiltCodes;
    use quiver_storage::Quantize;
    let dim = 24;
    for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
        let mut base = data(3000, dim, 11);
        if metric == Metric::Cosine {
            normalize(&mut base, dim);
        }
        let source = SliceSource::new(&base, dim).unwrap();
        let index = Hnsw::build(&source, metric, &HnswParams::default());
        let codes = BuiltCodes::build(&source, metric, Quantize::Sq8).unwrap();
        let queries = data(50, dim, 12);
        let (mut found, mut total) = (0, 0);
        for q in queries.chunks(dim) {
            let truth: Vec<u32> = exact_top_k(&source, metric, q, 10, &|_| true)
                .iter()
                .map(|h| h.row.0)
                .collect();
            let (hits, counts) =
                index.search_codes(&source, &codes.view(), q, 10, 64, 64, &|_| true);
            assert_eq!(hits.len(), 10);
            assert_eq!(counts.reranked, 64);
            assert!(counts.code_distances >= 64);
            for h in &hits {
                let exact =
                    crate::kernels::distance(metric, q, &source.get(h.row).unwrap().to_vec());
                assert_eq!(h.distance, exact, "re-ranked with exact distances");
            }
            assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
            found += hits.iter().filter(|h| truth.contains(&h.row.0)).count();
            total += 10;
        }
        let recall = found as f64 / total as f64;
        let f32_recall = super::tests::recall(&index, &source, &queries, dim, 64);
        assert!(
            recall >= f32_recall - 0.02,
            "{metric:?}: recall {recall} on codes, {f32_recall} on f32"
        );
        // Dot is not a metric: on these unnormalised clusters HNSW finds less either way.
        assert!(
            metric == Metric::Dot || recall > 0.9,
            "{metric:?}: recall {recall}"
        );

        let q = &queries[..dim];
        let even = |r: RowId| r.0.is_multiple_of(2);
        let (hits, _) = index.search_codes(&source, &codes.view(), q, 10, 64, 20, &even);
        assert!(!hits.is_empty() && hits.iter().all(|h| h.row.0.is_multiple_of(2)));
        let (none, counts) =
            index.search_codes(&source, &codes.view(), &q[1..], 10, 64, 64, &|_| true);
        assert!(
            none.is_empty() && counts == CodeCounts::default(),
            "wrong dimension"
        );
    }
}

/// The grouped beam returns each group once, with its best node, closest first; on a
/// small graph with the beam as wide as the groups, the best 10 groups are exactly
/// those of a brute force over every node (a group's distance is its nearest node's).
#[test]
fn the_grouped_beam_keeps_each_groups_best_node() {
    let dim = 8;
    let (n, per_group) = (900, 9);
    let base = data(n, dim, 11);
    let source = SliceSource::new(&base, dim).unwrap();
    let index = Hnsw::build(&source, Metric::L2, &HnswParams::default());
    let graph = index.graph().view();
    let group = |node: u32| node / per_group as u32;
    let queries = data(20, dim, 12);
    for q in queries.chunks(dim) {
        let (found, computed) =
            search_graph_grouped(&graph, None, &source, Metric::L2, q, 100, &|_| true, &group);
        assert!(computed > 0);
        let groups: Vec<u32> = found.iter().map(|h| group(h.row.0)).collect();
        let mut distinct = groups.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), groups.len(), "a group twice");
        assert!(found.windows(2).all(|w| w[0].distance <= w[1].distance));
        let mut best = vec![f32::INFINITY; n / per_group];
        for (node, v) in base.chunks(dim).enumerate() {
            let g = group(node as u32) as usize;
            best[g] = best[g].min(crate::kernels::distance(Metric::L2, q, v));
        }
        let mut order: Vec<usize> = (0..best.len()).collect();
        order.sort_by(|&a, &b| best[a].total_cmp(&best[b]).then(a.cmp(&b)));
        let want: Vec<u32> = order[..10].iter().map(|&g| g as u32).collect();
        assert_eq!(&groups[..10], &want[..]);
        for h in &found[..10] {
            assert_eq!(h.distance, best[group(h.row.0) as usize]);
        }
    }
    // Rejected nodes are walked through, never returned.
    let q = &queries[..dim];
    let (found, _) = search_graph_grouped(
        &graph,
        None,
        &source,
        Metric::L2,
        q,
        30,
        &|r: RowId| r.0.is_multiple_of(2),
        &group,
    );
    assert!(!found.is_empty() && found.iter().all(|h| h.row.0.is_multiple_of(2)));
}
