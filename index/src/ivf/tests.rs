use super::kmeans::SplitMix;
use super::*;
use crate::flat::{Hit, exact_top_k};
use crate::source::{SliceSource, VectorSource};
use quiver_storage::RowId;

/// `n` points around 40 random centres in `dim` dimensions.
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix::new(seed);
    let centres: Vec<f32> = (0..40 * dim)
        .map(|_| rng.unit() as f32 * 4.0 - 2.0)
        .collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.below(40);
        for d in 0..dim {
            out.push(centres[c * dim + d] + (rng.unit() as f32 - 0.5) * 0.8);
        }
    }
    out
}

fn recall(got: &[Hit], truth: &[Hit]) -> f64 {
    let hits = got
        .iter()
        .filter(|h| truth.iter().any(|t| t.row == h.row))
        .count();
    hits as f64 / truth.len().max(1) as f64
}

/// Mean recall@10 over 30 queries drawn from the same distribution.
fn mean_recall(index: &IvfPq, source: &SliceSource<'_>, params: &IvfSearch) -> f64 {
    let queries = clustered(30, source.dim(), 99);
    let view = index.view();
    queries
        .chunks_exact(source.dim())
        .map(|q| {
            let truth = exact_top_k(source, index.metric, q, 10, &|_| true);
            recall(&view.search(source, q, 10, params, &|_| true), &truth)
        })
        .sum::<f64>()
        / 30.0
}

#[test]
fn every_metric_reaches_high_recall_with_refine_and_more_probes_help() {
    let dim = 32;
    let data = clustered(4000, dim, 1);
    let source = SliceSource::new(&data, dim).unwrap();
    for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
        let index = IvfPq::build(&source, metric, &IvfPqParams::new(32, 8));
        assert_eq!(index.lists.rows.len(), 4000, "{metric:?}: every row added");
        let all = IvfSearch {
            nprobe: 32,
            refine: 10,
        };
        let one = IvfSearch {
            nprobe: 1,
            refine: 10,
        };
        let plain = IvfSearch {
            nprobe: 32,
            refine: 0,
        };
        let (r_all, r_one, r_plain) = (
            mean_recall(&index, &source, &all),
            mean_recall(&index, &source, &one),
            mean_recall(&index, &source, &plain),
        );
        assert!(r_all >= 0.95, "{metric:?} refine recall {r_all}");
        assert!(r_one < r_all, "{metric:?}: 1 probe {r_one} vs all {r_all}");
        assert!(r_plain >= 0.4, "{metric:?} quantized recall {r_plain}");
    }
}

#[test]
fn quantized_distances_approximate_exact_ones() {
    let dim = 32;
    let data = clustered(3000, dim, 2);
    let source = SliceSource::new(&data, dim).unwrap();
    for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
        let index = IvfPq::build(&source, metric, &IvfPqParams::new(16, 16));
        let q = &clustered(1, dim, 5)[..];
        let params = IvfSearch {
            nprobe: 16,
            refine: 0,
        };
        let hits = index.view().search(&source, q, 20, &params, &|_| true);
        assert_eq!(hits.len(), 20);
        assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
        for h in hits {
            let exact = crate::kernels::distance(metric, q, &source.get(h.row).unwrap().to_vec());
            let scale = match metric {
                Metric::L2 => exact.abs() + 1.0,
                _ => 1.0 + q.iter().map(|x| x * x).sum::<f32>().sqrt(),
            };
            assert!(
                (h.distance - exact).abs() <= 0.25 * scale,
                "{metric:?}: {} vs {exact}",
                h.distance
            );
        }
    }
}

/// NULL rows are never indexed, and the filter hides rows.
struct Holes<'a>(SliceSource<'a>);
impl VectorSource for Holes<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn get(&self, row: RowId) -> Option<quiver_storage::Vectors<'_>> {
        (!row.0.is_multiple_of(3))
            .then(|| self.0.get(row))
            .flatten()
    }
}

#[test]
fn null_rows_are_skipped_and_filters_hold() {
    let dim = 16;
    let data = clustered(2000, dim, 3);
    let source = Holes(SliceSource::new(&data, dim).unwrap());
    let index = IvfPq::build(&source, Metric::L2, &IvfPqParams::new(16, 4));
    assert_eq!(index.lists.rows.len(), 2000 - 667);
    assert!(index.lists.rows.iter().all(|r| r % 3 != 0));
    let q = &data[..dim];
    let params = IvfSearch {
        nprobe: 16,
        refine: 4,
    };
    let hits = index
        .view()
        .search(&source, q, 50, &params, &|r| r.0 % 2 == 0);
    assert_eq!(hits.len(), 50);
    assert!(hits.iter().all(|h| h.row.0 % 2 == 0 && h.row.0 % 3 != 0));
    let none = index.view().search(&source, q, 5, &params, &|_| false);
    assert!(none.is_empty());
    assert!(
        index
            .view()
            .search(&source, &q[1..], 5, &params, &|_| true)
            .is_empty()
    );
}

#[test]
fn tiny_and_empty_sources() {
    let dim = 8;
    let data = clustered(5, dim, 4);
    let source = SliceSource::new(&data, dim).unwrap();
    let index = IvfPq::build(&source, Metric::Dot, &IvfPqParams::new(64, 2));
    assert_eq!(index.view().nlist(), 5, "nlist shrinks to the rows");
    let hits = index.view().search(
        &source,
        &data[..dim],
        10,
        &IvfSearch {
            nprobe: 64,
            refine: 3,
        },
        &|_| true,
    );
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0].row, RowId(0));
    let empty = SliceSource::new(&[], dim).unwrap();
    let index = IvfPq::build(&empty, Metric::L2, &IvfPqParams::new(8, 2));
    assert!(index.lists.rows.is_empty());
    let hits = index.view().search(
        &empty,
        &data[..dim],
        3,
        &IvfSearch {
            nprobe: 2,
            refine: 0,
        },
        &|_| true,
    );
    assert!(hits.is_empty());
}

#[test]
fn many_lists_use_a_coarse_graph_that_finds_the_same_lists() {
    let dim = 16;
    let data = clustered(6000, dim, 6);
    let source = SliceSource::new(&data, dim).unwrap();
    let mut params = IvfPqParams::new(COARSE_GRAPH_MIN_LISTS, 4);
    params.coarse_iterations = 4;
    params.pq_iterations = 4;
    let with_graph = IvfPq::build(&source, Metric::L2, &params);
    assert!(with_graph.coarse.graph.is_some());
    let mut flat = with_graph.clone();
    flat.coarse.graph = None;
    let search = IvfSearch {
        nprobe: 8,
        refine: 5,
    };
    let (a, b) = (
        mean_recall(&with_graph, &source, &search),
        mean_recall(&flat, &source, &search),
    );
    assert!(a >= b - 0.03, "graph probing {a} vs exact probing {b}");
}

#[test]
fn views_refuse_inconsistent_arrays() {
    let dim = 8;
    let data = clustered(500, dim, 7);
    let source = SliceSource::new(&data, dim).unwrap();
    let index = IvfPq::build(&source, Metric::L2, &IvfPqParams::new(4, 2));
    let good = index.parts();
    assert!(IvfPqView::new(good).is_ok());
    let mut offsets = index.lists.offsets.clone();
    offsets[2] = u32::MAX;
    let bad = [
        IvfPqParts {
            offsets: &offsets,
            ..good
        },
        IvfPqParts {
            codes: &index.lists.codes[1..],
            ..good
        },
        IvfPqParts {
            corrections: &[],
            ..good
        },
        IvfPqParts {
            centroids: &index.coarse.centroids[1..],
            ..good
        },
        IvfPqParts {
            rows: &index.lists.rows[1..],
            ..good
        },
        IvfPqParts { m: 3, ..good },
    ];
    for parts in bad {
        assert!(IvfPqView::new(parts).is_err());
    }
    // Inner-product indexes probe by unit directions and keep the lists' means.
    let dot = IvfPq::build(&source, Metric::Dot, &IvfPqParams::new(4, 2));
    let directions = dot.coarse.directions.as_deref().unwrap();
    for d in directions.chunks_exact(dim) {
        let norm: f32 = d.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit direction, norm {norm}");
    }
    assert_ne!(
        directions,
        &dot.coarse.centroids[..],
        "means differ from directions"
    );
    assert!(
        index.coarse.directions.is_none(),
        "L2 lists need no directions"
    );
    let short = IvfPqParts {
        directions: Some(&directions[1..]),
        ..dot.parts()
    };
    assert!(IvfPqView::new(short).is_err());
}
