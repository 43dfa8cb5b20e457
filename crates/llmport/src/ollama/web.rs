//! Ollama's web search and web fetch: `POST https://ollama.com/api/web_search|web_fetch`
//! with the API key (what the official clients call), or a signed-in local Ollama's
//! `/api/experimental/web_search|web_fetch`, which relays them without a key. Also the two
//! as ready-made [`Tool`]s, and the answer to a model's call of one of them.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::OllamaProvider;
use crate::error::{Error, Result};
use crate::json_body::encode_json;
use crate::message::{Message, Part, Role, ToolCall, ToolResult};
use crate::options::{FunctionDecl, Tool};
use crate::transport::{HttpClient, Request};

/// The most results [`OllamaProvider::web_search`] may ask for (Ollama's documented limit).
pub const MAX_WEB_RESULTS: u32 = 10;

/// The name of the web search tool ([`OllamaProvider::web_search_tool`]), as the official
/// Python client names it.
pub const WEB_SEARCH_TOOL: &str = "web_search";

/// The name of the web fetch tool ([`OllamaProvider::web_fetch_tool`]).
pub const WEB_FETCH_TOOL: &str = "web_fetch";

/// Where [`OllamaProvider::web_search`] and [`OllamaProvider::web_fetch`] send their
/// requests (set with [`OllamaProviderBuilder::web_route`](super::OllamaProviderBuilder::web_route)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebRoute {
    /// Ollama's cloud, `<cloud>/api/web_search|web_fetch` (by default `https://ollama.com`),
    /// with the API key (`OLLAMA_API_KEY`): what the official clients do. Without a key,
    /// a call fails before anything is sent. The default.
    #[default]
    Cloud,
    /// The provider's own Ollama server, `/api/experimental/web_search|web_fetch` (Ollama ≥
    /// 0.18): the server relays the request to ollama.com signed with its own identity, so
    /// no API key is needed, but the server must be signed in (`ollama signin`; else a 401
    /// with a sign-in link, [`Error::signin_url`]) and have cloud features enabled (else a
    /// 403). The server drops any credentials the client sends.
    Server,
}

/// One result of a web search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebSearchResult {
    /// The page's title.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub title: String,
    /// The page's address.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub url: String,
    /// The relevant text of the page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: String,
}

/// The answer of a web search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebSearchResponse {
    /// The results, best first.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub results: Vec<WebSearchResult>,
}

/// The answer of a web fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebFetchResponse {
    /// The page's title.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub title: String,
    /// The page's text (Markdown-like).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: String,
    /// The links found on the page (absent from the answer when there are none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub links: Vec<String>,
}

/// `null` (which the official clients' types allow) read as the empty value.
fn null_as_empty<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Serialize)]
struct SearchRequest<'a> {
    query: &'a str,
    /// Snake case, as the API documents it (`ollama-js` sends `maxResults`, which the API
    /// does not name).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_results: Option<u32>,
}

#[derive(Serialize)]
struct FetchRequest<'a> {
    url: &'a str,
}

impl OllamaProvider {
    /// Searches the web through Ollama's web search (see [`WebRoute`] for where the request
    /// goes): `max_results` from 1 to [`MAX_WEB_RESULTS`], `None` for the service's
    /// default (5; the official Python client asks for 3).
    ///
    /// An empty query, a `max_results` out of range, or (with [`WebRoute::Cloud`]) no API
    /// key is an [`Error::Config`] before anything is sent. A used-up allowance is an
    /// [`Error::QuotaExceeded`].
    pub async fn web_search(
        &self,
        query: &str,
        max_results: Option<u32>,
    ) -> Result<WebSearchResponse> {
        let body = search_body(query, max_results)?;
        let (client, path) = self.web_client(WEB_SEARCH_TOOL)?;
        let bytes = client
            .send_for_body(&Request::post_json(path, body, None))
            .await?;
        decode(&bytes, path)
    }

    /// Fetches one web page through Ollama's web fetch (see [`WebRoute`] for where the
    /// request goes): its title, text and links. The service takes addresses with or
    /// without a scheme (`ollama.com`). An empty `url`, or (with [`WebRoute::Cloud`]) no
    /// API key, is an [`Error::Config`] before anything is sent.
    pub async fn web_fetch(&self, url: &str) -> Result<WebFetchResponse> {
        let body = fetch_body(url)?;
        let (client, path) = self.web_client(WEB_FETCH_TOOL)?;
        let bytes = client
            .send_for_body(&Request::post_json(path, body, None))
            .await?;
        decode(&bytes, path)
    }

    /// The web search tool, as the official Python client declares it (`web_search`, with
    /// `query` and an optional `max_results`): offer it in [`Options::tools`](crate::Options)
    /// and answer its calls with [`OllamaProvider::answer_web_tool_call`].
    pub fn web_search_tool() -> Tool {
        Tool::Function(FunctionDecl {
            name: WEB_SEARCH_TOOL.to_owned(),
            description: Some("Performs a web search".to_owned()),
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "description": "The query to search for"
                    },
                    "max_results": {
                        "type": "integer",
                        "description": "The maximum number of results to return (default: 3)"
                    }
                },
                "required": ["query"]
            }),
        })
    }

    /// The web fetch tool, as the official Python client declares it (`web_fetch`, with
    /// `url`).
    pub fn web_fetch_tool() -> Tool {
        Tool::Function(FunctionDecl {
            name: WEB_FETCH_TOOL.to_owned(),
            description: Some("Fetches the content of a web page for the provided URL.".to_owned()),
            parameters: json!({
                "type": "object",
                "properties": {
                    "url": {
                        "type": "string",
                        "description": "The URL to fetch"
                    }
                },
                "required": ["url"]
            }),
        })
    }

    /// Both web tools: [`web_search_tool`](Self::web_search_tool) and
    /// [`web_fetch_tool`](Self::web_fetch_tool).
    pub fn web_tools() -> Vec<Tool> {
        vec![Self::web_search_tool(), Self::web_fetch_tool()]
    }

    /// Runs a model's call of one of the [web tools](Self::web_tools) and returns the
    /// tool-result message to append to the conversation (its content is the answer as
    /// JSON, its name the tool's), or `None` when the call is not for a web tool (the
    /// application answers it). Arguments the model got wrong (no query, a `max_results`
    /// out of range, not an object) are answered with an `error: …` result, so the model
    /// can correct itself; a failure of the service itself is the `Err`.
    ///
    /// A web page can be long: trim the content before appending it if the model's context
    /// is small.
    ///
    /// An agent loop that lets a model search the web (with `OLLAMA_API_KEY` set):
    ///
    /// ```no_run
    /// # async fn run() -> llmport::Result<()> {
    /// use llmport::{Message, OllamaProvider, Options, Provider};
    /// let ollama = OllamaProvider::from_env()?;
    /// let options = Options::builder().tools(OllamaProvider::web_tools()).build();
    /// let mut history = vec![Message::user("What is new in the latest Ollama release?")];
    /// for _ in 0..5 {
    ///     let answer = ollama.generate("qwen3", &history, &options).await?;
    ///     let Some(message) = answer.message() else { break };
    ///     history.push(message.clone());
    ///     let calls: Vec<_> = message.tool_calls().cloned().collect();
    ///     if calls.is_empty() {
    ///         println!("{}", answer.text());
    ///         break;
    ///     }
    ///     for call in &calls {
    ///         if let Some(result) = ollama.answer_web_tool_call(call).await? {
    ///             history.push(result);
    ///         }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn answer_web_tool_call(&self, call: &ToolCall) -> Result<Option<Message>> {
        let args = &call.arguments;
        let content = match call.name.as_str() {
            WEB_SEARCH_TOOL => match search_args(args) {
                Ok((query, max_results)) => to_json(&self.web_search(query, max_results).await?),
                Err(problem) => format!("error: {problem}"),
            },
            WEB_FETCH_TOOL => match args.get("url").and_then(Value::as_str) {
                Some(url) if !url.trim().is_empty() => to_json(&self.web_fetch(url).await?),
                _ => "error: web_fetch needs a non-empty string argument `url`".to_owned(),
            },
            _ => return Ok(None),
        };
        Ok(Some(Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(ToolResult {
                call_id: call.id.clone(),
                name: Some(call.name.clone()),
                content,
            })],
        }))
    }

    /// The client and path of a web request, per [`WebRoute`]; with the cloud route and no
    /// key, the error that says how to configure one.
    fn web_client(&self, what: &str) -> Result<(&HttpClient, &'static str)> {
        let search = what == WEB_SEARCH_TOOL;
        match self.web_route {
            WebRoute::Server => Ok((
                &self.native,
                if search {
                    "api/experimental/web_search"
                } else {
                    "api/experimental/web_fetch"
                },
            )),
            WebRoute::Cloud => {
                if let (None, Some(problem)) = (&self.web, &self.web_problem) {
                    return Err(Error::config_for("OLLAMA_API_KEY", problem.clone()));
                }
                let client = self.web.as_ref().ok_or_else(|| {
                    Error::config_for(
                        "OLLAMA_API_KEY",
                        format!(
                            "{what} goes to Ollama's cloud, which needs an API key: set \
                             OLLAMA_API_KEY (create one at https://ollama.com/settings/keys) \
                             or OllamaProviderBuilder::api_key, or send it through a signed-in \
                             local Ollama with WebRoute::Server"
                        ),
                    )
                })?;
                Ok((
                    client,
                    if search {
                        "api/web_search"
                    } else {
                        "api/web_fetch"
                    },
                ))
            }
        }
    }
}

/// The body of a web search, checked.
fn search_body(query: &str, max_results: Option<u32>) -> Result<Vec<u8>> {
    if query.trim().is_empty() {
        return Err(Error::config_for(
            "query",
            "the web search query is empty: say what to search for",
        ));
    }
    if let Some(n) = max_results
        && !(1..=MAX_WEB_RESULTS).contains(&n)
    {
        return Err(Error::config_for(
            "max_results",
            format!("{n} is out of range: ask for 1 to {MAX_WEB_RESULTS} results"),
        ));
    }
    encode_json(&SearchRequest { query, max_results })
}

/// The body of a web fetch, checked.
fn fetch_body(url: &str) -> Result<Vec<u8>> {
    if url.trim().is_empty() {
        return Err(Error::config_for(
            "url",
            "the address to fetch is empty: give a web page's URL",
        ));
    }
    encode_json(&FetchRequest { url: url.trim() })
}

/// A model's `web_search` arguments: the query and the number of results, or what is wrong
/// with them (worded for the model).
fn search_args(args: &Value) -> std::result::Result<(&str, Option<u32>), String> {
    let query = args
        .get("query")
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
        .ok_or("web_search needs a non-empty string argument `query`")?;
    let max_results = match args.get("max_results") {
        None | Some(Value::Null) => None,
        Some(v) => {
            // Models write numbers as floats (3.0) or strings ("3") now and then.
            let n = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
            let whole = (1..=MAX_WEB_RESULTS).find(|&k| n == Some(f64::from(k)));
            Some(whole.ok_or(format!(
                "web_search's `max_results` must be a whole number from 1 to \
                 {MAX_WEB_RESULTS}, not {v}"
            ))?)
        }
    };
    Ok((query, max_results))
}

/// An answer as JSON text for a tool result (serializing these types cannot fail).
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Decodes a web answer.
fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], path: &str) -> Result<T> {
    let text = String::from_utf8_lossy(bytes);
    serde_json::from_slice(bytes)
        .map_err(|e| Error::json_mismatch::<T>(&format!("the answer of /{path}"), &text, e))
}

/// The cloud's root URL (no trailing slash), checked: `url`, or [`super::CLOUD_URL`].
pub(crate) fn cloud_root(url: Option<&str>) -> Result<String> {
    let Some(url) = url else {
        return Ok(super::CLOUD_URL.to_owned());
    };
    let root = url.trim().trim_end_matches('/');
    match url::Url::parse(root) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            if !u.username().is_empty() || u.password().is_some() {
                return Err(Error::config_for(
                    "LLMPORT_OLLAMA_CLOUD_URL",
                    "the cloud URL carries credentials: the API key goes in OLLAMA_API_KEY",
                ));
            }
            Ok(root.to_owned())
        }
        _ => Err(Error::config_for(
            "LLMPORT_OLLAMA_CLOUD_URL",
            format!(
                "{:?} is not an http(s) URL (Ollama's cloud is {})",
                crate::redact::redact_url(root),
                super::CLOUD_URL
            ),
        )),
    }
}

/// Whether two URLs have the same scheme, host and port (where a credential may go).
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_arguments_as_models_write_them() {
        assert_eq!(search_args(&json!({"query": "q"})).unwrap(), ("q", None));
        assert_eq!(
            search_args(&json!({"query": "q", "max_results": 3.0})).unwrap(),
            ("q", Some(3))
        );
        assert_eq!(
            search_args(&json!({"query": "q", "max_results": "4"})).unwrap(),
            ("q", Some(4))
        );
        for bad in [
            json!({}),
            json!({"query": " "}),
            json!({"query": "q", "max_results": 11}),
            json!({"query": "q", "max_results": 2.5}),
            json!({"query": "q", "max_results": 0}),
            json!("q"),
        ] {
            assert!(search_args(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_and_cloud_urls() {
        assert!(same_origin(
            "https://ollama.com",
            "https://ollama.com:443/x"
        ));
        assert!(!same_origin("https://ollama.com", "http://ollama.com"));
        assert!(!same_origin(
            "https://ollama.com",
            "https://ollama.com.evil.example"
        ));
        assert!(!same_origin("http://127.0.0.1:1", "http://127.0.0.1:2"));
        assert_eq!(cloud_root(None).unwrap(), "https://ollama.com");
        assert_eq!(
            cloud_root(Some("http://127.0.0.1:9/")).unwrap(),
            "http://127.0.0.1:9"
        );
        let e = cloud_root(Some("ftp://x")).unwrap_err();
        assert_eq!(e.setting(), Some("LLMPORT_OLLAMA_CLOUD_URL"));
        let e = cloud_root(Some("https://u:hunter2@x")).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn null_fields_read_as_empty() {
        let r: WebSearchResponse =
            serde_json::from_str(r#"{"results":[{"title":null,"url":"u"}]}"#).unwrap();
        assert_eq!(r.results[0].url, "u");
        assert_eq!(r.results[0].title, "");
        let f: WebFetchResponse = serde_json::from_str(r#"{"title":"t","content":"c"}"#).unwrap();
        assert!(f.links.is_empty());
    }
}
