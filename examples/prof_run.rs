fn main() {
    let args: Vec<String> = std::env::args().collect();
    let p = simlin::load_file(&args[1]).unwrap();
    let m = simlin::CompiledModel::new(&p, None).unwrap();
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let mut best = f64::MAX;
    for _ in 0..n {
        let t = std::time::Instant::now();
        let r = m.run(&simlin::RunOptions::default()).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(r);
    }
    println!("best {:.2} ms", best * 1e3);
}
