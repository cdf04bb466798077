//! Wrap your own async function as a guarded dependency.
//!
//! Run with: `cargo run -p bulwark-examples --example embed`
//! Expected output: `quote for 'ACME': 42.00` (and a circuit that stays closed).

use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError};
use bulwark_runtime::{policy::Policy, runtime::Runtime};

/// Your upstream: anything async that can fail.
struct Quotes;

impl Dependency for Quotes {
    type Request = String;
    type Response = f64;
    async fn call(&self, symbol: String, _ctx: &CallContext) -> Result<f64, DependencyError> {
        match symbol.as_str() {
            "ACME" => Ok(42.0),
            _ => Err(DependencyError::permanent(std::io::Error::other(
                "unknown symbol",
            ))),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::builder()
        .dependency("quotes", Quotes, Policy::default())
        .build()
        .await?;
    let quotes = runtime.handle::<Quotes>("quotes")?;
    let price = quotes.call("ACME".into(), CallContext::untracked()).await?;
    println!("quote for 'ACME': {price:.2} (circuit {})", quotes.state());
    runtime.shutdown().await;
    Ok(())
}
