//! llama.cpp's process-wide backend: started once, on first use, with its logs sent to
//! `tracing` (target `llama-cpp-2`) instead of stderr.

use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;

use crate::error::{Error, Result};

static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();

/// The backend, started on first call.
pub(crate) fn get() -> Result<&'static LlamaBackend> {
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::config(format!("llama.cpp's backend did not start: {e}")))
}
