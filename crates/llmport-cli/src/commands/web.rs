//! `llmport web search QUERY [-n N] [--json]` and `llmport web fetch URL [--json]`: Ollama's
//! web search and fetch, through ollama.com with the API key in `OLLAMA_API_KEY`, or with
//! `--via-server` through the (signed-in) Ollama server, which needs no key.

use std::io::{self, Write};

use clap::{Args, Subcommand};
use llmport::OllamaProvider;
use llmport::ollama::{MAX_WEB_RESULTS, WebFetchResponse, WebRoute, WebSearchResponse};

use crate::GlobalArgs;
use crate::error::{CliError, stdout_error};
use crate::output::write_json;
use crate::sanitize;

/// Flags of `llmport web`.
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Search or fetch.
    #[command(subcommand)]
    pub action: WebAction,
}

/// What `llmport web` does.
#[derive(Debug, Clone, Subcommand)]
pub enum WebAction {
    /// Search the web: title, address and text of each result.
    Search(SearchArgs),
    /// Fetch one web page: its title, text and links.
    Fetch(FetchArgs),
}

/// Flags of `llmport web search`.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// What to search for.
    pub query: String,

    /// How many results, 1 to 10 (default: the service's, 5).
    #[arg(short = 'n', long = "max-results", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_WEB_RESULTS)))]
    pub max_results: Option<u32>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags of `llmport web fetch`.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// The page's address (`https://…`, or a bare host such as `ollama.com`).
    pub url: String,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags both take.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Print the service's answer as JSON.
    #[arg(long)]
    pub json: bool,

    /// Go through the Ollama server (its /api/experimental endpoints; the server must be
    /// signed in with `ollama signin`) instead of ollama.com with OLLAMA_API_KEY.
    #[arg(long)]
    pub via_server: bool,
}

/// Runs `llmport web …`.
pub(crate) async fn run(args: WebArgs, global: &GlobalArgs) -> Result<(), CliError> {
    match args.action {
        WebAction::Search(a) => {
            let provider = provider(global, &a.common)?;
            let answer = provider.web_search(&a.query, a.max_results).await?;
            if a.common.json {
                return write_json(&mut io::stdout(), &answer);
            }
            print_results(&mut io::stdout().lock(), &answer).map_err(stdout_error)
        }
        WebAction::Fetch(a) => {
            let provider = provider(global, &a.common)?;
            let page = provider.web_fetch(&a.url).await?;
            if a.common.json {
                return write_json(&mut io::stdout(), &page);
            }
            print_page(&mut io::stdout().lock(), &page).map_err(stdout_error)
        }
    }
}

fn provider(global: &GlobalArgs, common: &CommonArgs) -> Result<OllamaProvider, CliError> {
    let route = if common.via_server {
        WebRoute::Server
    } else {
        WebRoute::Cloud
    };
    crate::provider::build_with(global, |b| b.web_route(route))
}

/// The results, numbered: title, address, then the text indented. Everything the service
/// sent is sanitized (a web page can hold escape sequences).
fn print_results<W: Write>(out: &mut W, answer: &WebSearchResponse) -> io::Result<()> {
    if answer.results.is_empty() {
        writeln!(out, "no results")?;
    }
    for (i, r) in answer.results.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}. {}", i + 1, sanitize::line(r.title.trim()))?;
        writeln!(out, "   {}", sanitize::line(r.url.trim()))?;
        for line in sanitize::text(r.content.trim()).lines() {
            writeln!(out, "   {line}")?;
        }
    }
    out.flush()
}

/// The page: its title, a blank line, its text, then its links.
fn print_page<W: Write>(out: &mut W, page: &WebFetchResponse) -> io::Result<()> {
    writeln!(out, "{}", sanitize::line(page.title.trim()))?;
    writeln!(out)?;
    writeln!(out, "{}", sanitize::text(page.content.trim()))?;
    if !page.links.is_empty() {
        writeln!(out)?;
        writeln!(out, "Links:")?;
        for link in &page.links {
            writeln!(out, "  {}", sanitize::line(link.trim()))?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_printed_sanitized() {
        let answer: WebSearchResponse = serde_json::from_value(serde_json::json!({
            "results": [
                {"title": "A\u{1b}]52;c;AAAA\u{7}", "url": "https://a", "content": "one\ntwo"},
                {"title": "B", "url": "https://b", "content": ""}
            ]
        }))
        .unwrap();
        let mut out = Vec::new();
        print_results(&mut out, &answer).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.starts_with("1. A"), "{text}");
        assert!(text.contains("   one\n   two\n"), "{text}");
        assert!(text.contains("\n2. B\n   https://b\n"), "{text}");
    }
}
