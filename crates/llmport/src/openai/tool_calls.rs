//! Tool calls assembled from stream deltas.
//!
//! Servers stream tool calls in different ways, and one assembler handles them all:
//!
//! - Ollama sends each call whole (id, name and the complete arguments) in one delta, several
//!   calls in one chunk or in consecutive chunks, each with its own `index`.
//! - OpenAI, llama.cpp and vLLM send the id and name first, then the arguments text in
//!   fragments that may split a string, an escape or a multi-byte character anywhere.
//! - Parallel calls may be interleaved: fragments of `index` 0 and 1 alternate.
//! - Some servers leave `index` out (the position in the delta is used) or reuse one index
//!   for every call (a different id then starts a new call).
//!
//! A call is handed out as soon as it is complete: its name is known and its arguments are a
//! complete JSON object or array (tracked incrementally, so assembling is linear in the size
//! of the arguments). Calls of one choice are handed out in index order, so a stream folds
//! into the same order a non-streaming answer has. Whatever is still open when the choice
//! finishes is handed out then, with arguments that are not valid JSON kept verbatim
//! ([`ToolCall::raw_arguments`]).

use serde_json::Value;

use super::wire::{Arguments, ToolCallDelta};
use crate::error::{Error, Result};
use crate::message::ToolCall;

/// Assembles the tool calls of every choice of one stream.
#[derive(Debug)]
pub(crate) struct ToolCallAssembler {
    calls: Vec<PendingCall>,
    max_arguments: usize,
    /// How many calls were opened, to order calls that share an index.
    opened: u32,
}

/// One call being assembled.
#[derive(Debug)]
struct PendingCall {
    choice: u32,
    /// The index the server uses for it (or its position in the delta when it sent none).
    wire: u32,
    /// Its place among the calls of its choice: by index, then by arrival.
    order: (u32, u32),
    id: String,
    name: String,
    arguments: String,
    scan: JsonScan,
    /// Handed out already (only kept to catch fragments that arrive afterwards).
    emitted: bool,
}

impl ToolCallAssembler {
    /// An assembler refusing arguments larger than `max_arguments` bytes.
    pub(crate) fn new(max_arguments: usize) -> Self {
        ToolCallAssembler {
            calls: Vec::new(),
            max_arguments,
            opened: 0,
        }
    }

    /// Adds the `tool_calls` of one delta of `choice`.
    #[allow(
        clippy::indexing_slicing,
        reason = "a slot is a position `find` just took from `self.calls`, or the index of the \
                  call `open` just pushed; nothing removes calls in between"
    )]
    pub(crate) fn push(&mut self, choice: u32, deltas: Vec<ToolCallDelta<'_>>) -> Result<()> {
        for (pos, delta) in deltas.into_iter().enumerate() {
            // A delta with more than 2^32 calls cannot fit the memory cap; saturate anyway.
            let wire = delta
                .index
                .unwrap_or_else(|| u32::try_from(pos).unwrap_or(u32::MAX));
            let id = delta.id.as_deref().unwrap_or("");
            let (name, arguments) = match delta.function {
                Some(f) => (f.name, f.arguments),
                None => (None, None),
            };
            let name = name.as_deref().unwrap_or("");
            let slot = match self.find(choice, wire, id) {
                Some(s) if !self.calls[s].starts_new_call(id, name) => s,
                _ => self.open(choice, wire),
            };
            let call = &mut self.calls[slot];
            if call.id.is_empty() && !id.is_empty() {
                call.id = id.to_owned();
            }
            // Some servers repeat the name on every fragment: take it once.
            if call.name.is_empty() && !name.is_empty() {
                call.name = name.to_owned();
            }
            let text = match &arguments {
                Some(Arguments::Text(t)) => std::borrow::Cow::Borrowed(t.as_ref()),
                Some(Arguments::Json(v)) => std::borrow::Cow::Owned(v.to_string()),
                None => std::borrow::Cow::Borrowed(""),
            };
            call.append(&text, self.max_arguments)?;
        }
        Ok(())
    }

    /// The call a delta belongs to: the one with its id if it has one, else the latest call
    /// of `choice` that the server numbered `wire`.
    fn find(&self, choice: u32, wire: u32, id: &str) -> Option<usize> {
        let by_id = (!id.is_empty())
            .then(|| {
                self.calls
                    .iter()
                    .rposition(|c| c.choice == choice && c.id == id)
            })
            .flatten();
        by_id.or_else(|| {
            self.calls
                .iter()
                .rposition(|c| c.choice == choice && c.wire == wire)
        })
    }

    /// Starts a new call and returns its slot.
    fn open(&mut self, choice: u32, wire: u32) -> usize {
        self.opened = self.opened.saturating_add(1);
        self.calls.push(PendingCall {
            choice,
            wire,
            order: (wire, self.opened),
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
            scan: JsonScan::default(),
            emitted: false,
        });
        self.calls.len() - 1
    }

    /// The calls of `choice` that are complete, in order, each handed out once. A complete
    /// call waits while a call before it is still being assembled.
    pub(crate) fn take_complete(&mut self, choice: u32) -> Vec<ToolCall> {
        let mut out = Vec::new();
        loop {
            let next = self
                .calls
                .iter_mut()
                .filter(|c| c.choice == choice && !c.emitted)
                .min_by_key(|c| c.order);
            let Some(call) = next else { break };
            match call.complete_arguments() {
                Some(args) => {
                    call.emitted = true;
                    out.push(ToolCall::new(call.id.clone(), call.name.clone(), args));
                }
                None => break,
            }
        }
        out
    }

    /// `choice` finished: every call of it not handed out yet, in order, complete or not.
    pub(crate) fn finish_choice(&mut self, choice: u32) -> Vec<ToolCall> {
        let (mut rest, others): (Vec<PendingCall>, Vec<PendingCall>) =
            std::mem::take(&mut self.calls)
                .into_iter()
                .partition(|c| c.choice == choice);
        self.calls = others;
        rest.retain(|c| !c.emitted);
        rest.sort_by_key(|c| c.order);
        rest.into_iter()
            .map(|c| ToolCall::from_raw(c.id, c.name, &c.arguments))
            .collect()
    }

    /// A choice that still has calls, if any.
    pub(crate) fn open_choice(&self) -> Option<u32> {
        self.calls.first().map(|c| c.choice)
    }
}

impl PendingCall {
    /// Whether a delta with this id and name, addressed to this call's index, is really the
    /// start of another call: it carries a different id, or this call was complete already
    /// and the delta names a function again.
    fn starts_new_call(&self, id: &str, name: &str) -> bool {
        let other_id = !id.is_empty() && !self.id.is_empty() && id != self.id;
        let same_id = !id.is_empty() && id == self.id;
        other_id || (self.emitted && !name.is_empty() && !same_id)
    }

    fn append(&mut self, text: &str, max: usize) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if self.emitted {
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(Error::stream(format!(
                "tool call {} ({}) got more argument text ({}) after its arguments were \
                 already complete JSON",
                self.wire,
                self.name,
                crate::transport::excerpt(text.as_bytes())
            )));
        }
        if self.arguments.len() + text.len() > max {
            return Err(Error::LimitExceeded {
                what: "tool-call arguments",
                limit: max,
            });
        }
        self.scan.feed(text);
        self.arguments.push_str(text);
        Ok(())
    }

    /// The parsed arguments when the call is complete: a name, and arguments that form one
    /// whole JSON object or array.
    fn complete_arguments(&self) -> Option<Value> {
        if self.name.is_empty() || !self.scan.is_complete() {
            return None;
        }
        serde_json::from_str(&self.arguments).ok()
    }
}

/// Tracks, byte by byte across fragments, whether a text is one complete JSON object or
/// array: brackets are counted outside strings, and string escapes are followed so that a
/// fragment boundary inside `\"` or `\u00e9` changes nothing. Only ASCII bytes matter, so
/// multi-byte characters split between fragments are harmless too.
#[derive(Debug, Default, Clone, Copy)]
struct JsonScan {
    state: ScanState,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    /// Only whitespace so far.
    #[default]
    Empty,
    /// Inside the top-level object or array.
    Open,
    /// The top-level value closed; only whitespace after it.
    Closed,
    /// Not a single object or array (a scalar, or text after the closing bracket).
    Other,
}

impl JsonScan {
    fn feed(&mut self, text: &str) {
        for &b in text.as_bytes() {
            match self.state {
                ScanState::Empty => match b {
                    b' ' | b'\t' | b'\n' | b'\r' => {}
                    b'{' | b'[' => {
                        self.state = ScanState::Open;
                        self.depth = 1;
                    }
                    _ => self.state = ScanState::Other,
                },
                ScanState::Open if self.in_string => {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    }
                }
                ScanState::Open => match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.state = ScanState::Closed;
                        }
                    }
                    _ => {}
                },
                ScanState::Closed => {
                    if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                        self.state = ScanState::Other;
                    }
                }
                ScanState::Other => return,
            }
        }
    }

    fn is_complete(&self) -> bool {
        self.state == ScanState::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(parts: &[&str]) -> bool {
        let mut s = JsonScan::default();
        for p in parts {
            s.feed(p);
        }
        s.is_complete()
    }

    #[test]
    fn scan_follows_strings_and_escapes_across_fragments() {
        assert!(scan(&[r#"{"a":1}"#]));
        assert!(scan(&[" {", r#""a":"}\"" "#, "}  "]));
        assert!(!scan(&[r#"{"a":"\"#, r#""}"#]), "the quote is escaped");
        assert!(scan(&[r#"{"a":"\"#, r#""}"#, r#""}"#]));
        assert!(
            scan(&[r#"{"a":"\\"#, r#""}"#]),
            "a backslash, then the quote"
        );
        assert!(scan(&[r#"{"a":[{"b":"]}"}]}"#]));
        assert!(!scan(&[r#"{"a":1}x"#]));
        assert!(!scan(&["42"]));
        assert!(!scan(&[""]));
        assert!(scan(&["[1,", "2]"]));
    }

    /// Every split of the arguments into two fragments assembles the same call, handed out
    /// exactly when the last fragment arrives.
    #[test]
    fn every_split_point_assembles_the_same_call() {
        let args = r#"{"q":"a \"quoted\" \\ path \u00e9 — ünï","n":[1,{"x":"}"}]}"#;
        let expected: Value = serde_json::from_str(args).unwrap();
        for k in 0..=args.len() {
            if !args.is_char_boundary(k) {
                continue;
            }
            let mut a = ToolCallAssembler::new(1 << 20);
            let first = format!(
                r#"[{{"index":0,"id":"c1","function":{{"name":"f","arguments":{}}}}}]"#,
                serde_json::to_string(&args[..k]).unwrap()
            );
            let second = format!(
                r#"[{{"index":0,"function":{{"arguments":{}}}}}]"#,
                serde_json::to_string(&args[k..]).unwrap()
            );
            a.push(0, serde_json::from_str(&first).unwrap()).unwrap();
            let early = a.take_complete(0);
            if k < args.len() {
                assert!(early.is_empty(), "split at {k}: handed out too early");
                a.push(0, serde_json::from_str(&second).unwrap()).unwrap();
            }
            let mut calls = if early.is_empty() {
                a.take_complete(0)
            } else {
                early
            };
            calls.extend(a.finish_choice(0));
            assert_eq!(calls.len(), 1, "split at {k}");
            assert_eq!(calls[0].arguments, expected, "split at {k}");
            assert_eq!(calls[0].id, "c1");
        }
    }

    #[test]
    fn reused_index_with_a_new_id_starts_a_new_call() {
        let mut a = ToolCallAssembler::new(1 << 20);
        let d = r#"[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":"}},
                    {"index":0,"id":"b","function":{"name":"g","arguments":"{}"}}]"#;
        a.push(0, serde_json::from_str(d).unwrap()).unwrap();
        assert!(a.take_complete(0).is_empty(), "a is open, so b waits");
        a.push(
            0,
            serde_json::from_str(r#"[{"index":0,"id":"a","function":{"arguments":"1}"}}]"#)
                .unwrap(),
        )
        .unwrap();
        let calls = a.take_complete(0);
        let names: Vec<_> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["f", "g"]);
    }

    #[test]
    fn text_after_a_complete_call_is_an_error() {
        let mut a = ToolCallAssembler::new(1 << 20);
        let d = r#"[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]"#;
        a.push(0, serde_json::from_str(d).unwrap()).unwrap();
        assert_eq!(a.take_complete(0).len(), 1);
        let ws = r#"[{"index":0,"function":{"arguments":" \n"}}]"#;
        a.push(0, serde_json::from_str(ws).unwrap()).unwrap();
        let more = r#"[{"index":0,"function":{"arguments":"}"}}]"#;
        let e = a.push(0, serde_json::from_str(more).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Stream { .. }), "{e:?}");
    }

    #[test]
    fn arguments_over_the_limit_are_refused() {
        let mut a = ToolCallAssembler::new(8);
        let d = r#"[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"long\":1}"}}]"#;
        let e = a.push(0, serde_json::from_str(d).unwrap()).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { limit: 8, .. }), "{e:?}");
    }
}
