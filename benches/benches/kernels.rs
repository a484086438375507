//! Distance kernels: the scalar references against simsimd, for each metric at 384
//! (sentence embeddings), 784 (MNIST) and 4096 floats, through the same function
//! pointers an index calls, and Quiver's fastest f32 kernel against an f32 query to a
//! row stored as f16 or bf16 (`kernels::distance_to_half`: the row widened on the
//! fly); and the integer inner products codes are scored with: one 8-bit code row
//! (`kernels::avx2::dot_u8_i16_fn`) and one RaBitQ code row of 4, 2 or 1 bits
//! (`kernels::packed`) against a query's weights, at each size rounded up as the codes
//! round it. One pair of vectors per size, so both sit in L1: this measures
//! arithmetic, not memory bandwidth.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use quiver::Metric;
use quiver_bench::VectorGen;
use quiver_index::kernels::{self, DistanceFn, bf16, f16, scalar, simd};

const DIMS: [u32; 3] = [384, 784, 4096];

fn bench_metric(c: &mut Criterion, name: &str, metric: Metric) {
    let mut group = c.benchmark_group(format!("kernels/{name}"));
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    let impls: [(&str, DistanceFn); 2] = [
        ("scalar", scalar::distance_fn(metric)),
        ("simsimd", simd::distance_fn(metric)),
    ];
    for dim in DIMS {
        let mut vectors = VectorGen::new(u64::from(dim), dim);
        let (a, b) = (vectors.vector(), vectors.vector());
        group.throughput(Throughput::Elements(u64::from(dim)));
        for (label, kernel) in impls {
            group.bench_with_input(BenchmarkId::new(label, dim), &(&a, &b), |bench, (a, b)| {
                bench.iter(|| black_box(kernel)(black_box(a), black_box(b)))
            });
        }
        let fastest = kernels::distance_fn(metric);
        group.bench_with_input(
            BenchmarkId::new("fastest-f32", dim),
            &(&a, &b),
            |bench, (a, b)| bench.iter(|| black_box(fastest)(black_box(a), black_box(b))),
        );
        let b16: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
        group.bench_with_input(
            BenchmarkId::new("to-f16-row", dim),
            &(&a, &b16),
            |bench, (a, b)| {
                bench.iter(|| kernels::distance_to_half(metric, black_box(a), black_box(b)))
            },
        );
        let bb16: Vec<bf16> = b.iter().map(|&x| bf16::from_f32(x)).collect();
        group.bench_with_input(
            BenchmarkId::new("to-bf16-row", dim),
            &(&a, &bb16),
            |bench, (a, b)| {
                bench.iter(|| kernels::distance_to_half(metric, black_box(a), black_box(b)))
            },
        );
    }
    group.finish();
}

fn bench_codes(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels/codes");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    for dim in DIMS {
        group.throughput(Throughput::Elements(u64::from(dim)));
        let padded = dim.div_ceil(32) as usize * 32;
        let codes: Vec<u8> = (0..padded).map(|i| (i * 37 % 256) as u8).collect();
        let weights: Vec<i16> = (0..padded).map(|i| (i as i16 % 200) - 100).collect();
        let sq8 = kernels::avx2::dot_u8_i16_fn();
        group.bench_function(BenchmarkId::new("sq8", dim), |bench| {
            bench.iter(|| sq8(black_box(&codes), black_box(&weights)))
        });
        for bits in [4u32, 2, 1] {
            let padded = quiver_index::rabitq::padded_dim(dim as usize, bits);
            let packed: Vec<u8> = (0..padded * bits as usize / 8)
                .map(|i| (i * 73 % 256) as u8)
                .collect();
            let weights: Vec<i8> = (0..padded)
                .map(|i| (i % 255) as i32 - 127)
                .map(|w| w as i8)
                .collect();
            let kernel = kernels::packed::packed_dot_fn(bits);
            group.bench_function(BenchmarkId::new(format!("rabitq{bits}"), dim), |bench| {
                bench.iter(|| kernel(black_box(&packed), black_box(&weights)))
            });
        }
    }
    group.finish();
}

fn main() {
    eprintln!("simsimd instruction set: {}", kernels::instruction_set());
    let mut c = Criterion::default().configure_from_args();
    bench_metric(&mut c, "l2", Metric::L2);
    bench_metric(&mut c, "dot", Metric::Dot);
    bench_metric(&mut c, "cosine", Metric::Cosine);
    bench_codes(&mut c);
    c.final_summary();
}
