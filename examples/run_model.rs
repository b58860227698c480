//! Load, compile and run one model file; print its results as CSV.
//! `cargo run --example run_model -- path/to/model.xmile`
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: run_model MODEL");
        std::process::exit(2);
    };
    let result = simlin::load_file(&path)
        .and_then(|p| simlin::CompiledModel::new(&p, None))
        .and_then(|m| m.run(&simlin::RunOptions::default()));
    match result {
        Ok(r) => {
            let _ = r.write_csv(&mut std::io::stdout().lock());
        }
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            std::process::exit(1);
        }
    }
}
