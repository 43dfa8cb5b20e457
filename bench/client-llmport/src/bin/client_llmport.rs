//! `client-llmport`: llmport's `generate_stream` / `generate`, the stream polled in `main`'s own
//! task (as a user's `while let Some(x) = stream.next().await` in `#[tokio::main]` is).

fn main() {
    llmport_bench_client::main("llmport")
}
