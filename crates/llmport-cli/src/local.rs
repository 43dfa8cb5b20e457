//! `--local`: answering with the in-process engine instead of a server (the library's
//! `local` feature, forwarded by this crate's `local` feature), and the hint that it can
//! when Ollama cannot be reached.

use llmport::{Embedder, Options, Provider};

use crate::commands::chat::ChatArgs;

use crate::error::CliError;

/// The model to use: `--local MODEL|PATH`'s value, else `--model`.
pub(crate) fn model<'a>(local: Option<&'a str>, model: &'a str) -> &'a str {
    local.filter(|l| !l.is_empty()).unwrap_or(model)
}

/// The options of `chat --local`: `--ctx` is the engine's context size; the flags that only
/// mean something to an Ollama server are refused.
pub(crate) fn options(args: &ChatArgs) -> Result<Options, CliError> {
    let g = &args.generation;
    if g.keep_alive.duration.is_some() || g.think.is_some() {
        return Err(CliError::usage(
            "--keep-alive and --think are Ollama's settings: with --local the model stays loaded \
             while the command runs, and there is no thinking switch",
        ));
    }
    let mut without_ctx = g.clone();
    let ctx = without_ctx.ctx.take();
    let options = without_ctx.options(args.system.as_deref())?;
    #[cfg(feature = "local")]
    let options = match ctx {
        Some(n) => {
            let mut options = options;
            options
                .extensions
                .insert(llmport::local::LocalOptions::builder().num_ctx(n).build());
            options
        }
        None => options,
    };
    #[cfg(not(feature = "local"))]
    let _ = ctx;
    Ok(options)
}

/// The provider `--local` asks for (`None` without the flag): `model` with its vision
/// projector `mmproj` (`--mmproj`), when given.
#[cfg(feature = "local")]
pub(crate) fn provider(
    local: Option<&str>,
    model: &str,
    mmproj: Option<&std::path::Path>,
) -> Result<Option<Box<dyn Provider>>, CliError> {
    Ok(match local {
        Some(_) => Some(Box::new(engine(mmproj.map(|p| (model, p)))?)),
        None => None,
    })
}

/// The embedder `--local` asks for (`None` without the flag).
#[cfg(feature = "local")]
pub(crate) fn embedder(local: Option<&str>) -> Result<Option<Box<dyn Embedder>>, CliError> {
    Ok(match local {
        Some(_) => Some(Box::new(engine(None)?)),
        None => None,
    })
}

/// One model, kept loaded until the command ends; `projector`: a GGUF path and its vision
/// projector.
#[cfg(feature = "local")]
fn engine(projector: Option<(&str, &std::path::Path)>) -> Result<llmport::LocalEngine, CliError> {
    let mut builder = llmport::LocalEngine::builder()
        .parallel(1)
        .keep_alive(std::time::Duration::MAX);
    if let Some((model, mmproj)) = projector {
        builder = builder.projector(model, mmproj);
    }
    Ok(builder.build()?)
}

/// Without the feature, `--local` says how to get it.
#[cfg(not(feature = "local"))]
pub(crate) fn provider(
    local: Option<&str>,
    _model: &str,
    _mmproj: Option<&std::path::Path>,
) -> Result<Option<Box<dyn Provider>>, CliError> {
    match local {
        Some(_) => Err(not_built()),
        None => Ok(None),
    }
}

/// Without the feature, `--local` says how to get it.
#[cfg(not(feature = "local"))]
pub(crate) fn embedder(local: Option<&str>) -> Result<Option<Box<dyn Embedder>>, CliError> {
    match local {
        Some(_) => Err(not_built()),
        None => Ok(None),
    }
}

#[cfg(not(feature = "local"))]
fn not_built() -> CliError {
    CliError::Unsupported(
        "--local needs the in-process engine, which this llmport was built without: build it \
         with `cargo install llmport-cli --features local` (or `cargo run -p llmport-cli \
         --features local -- …`)"
            .into(),
    )
}

/// Ollama could not be reached: when `model` is in Ollama's own model store, the error says
/// that `--local` can answer without the server.
#[cfg(feature = "local")]
pub(crate) fn connect_hint(e: CliError, model: &str) -> CliError {
    const HINT: &str = "is `ollama serve` running? The model is in Ollama's model store: add \
                        --local to run it in this process, without the server";
    match e {
        CliError::Llm(llmport::Error::Connect {
            url,
            server,
            source,
            ..
        }) if in_store(model) => CliError::Llm(llmport::Error::Connect {
            url,
            server,
            hint: HINT,
            source,
        }),
        other => other,
    }
}

#[cfg(feature = "local")]
fn in_store(model: &str) -> bool {
    llmport::local::default_store_dir()
        .is_some_and(|dir| llmport::local::resolve_in_store(&dir, model).is_ok())
}

/// Without the feature there is no engine to point to.
#[cfg(not(feature = "local"))]
pub(crate) fn connect_hint(e: CliError, _model: &str) -> CliError {
    e
}
