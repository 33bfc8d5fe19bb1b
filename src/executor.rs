//! The executor HTTP and websocket requests go through: the schema, plus the work async-graphql
//! would otherwise do in extensions, done once per request at the boundary instead.
//!
//! - **Documents are parsed once.** Parsed documents are kept by their text (least recently used
//!   go first), so a client sending the same operation again skips the parser; validation still
//!   runs on every request, against that request's variables.
//! - **Automatic persisted queries** (Apollo's protocol): a request may carry only the
//!   `sha256Hash` of a document the instance has seen with that hash.
//! - **Text with a NUL character is refused before execution** ([`nul`]), for HTTP and websocket
//!   operations alike.
//! - **Every error gets an `extensions.code`** (`error::code`): parse failures here, the
//!   library's validation and coercion errors after execution, and anything else nobody coded
//!   becomes an internal error, logged and censored.
//!
//! The schema itself has no extensions. With any extension registered, async-graphql sends
//! every field of every response through the extension chain (a boxed future and a registry
//! lookup per field), which the benchmarks showed as a large share of a page's CPU time.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Data, ErrorExtensionValues, Request, Response, ServerError,
    parser::{parse_query, types::ExecutableDocument},
};
use futures_util::{StreamExt, stream::BoxStream};
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::{error::code, graphql::AppSchema};

mod nul;

/// Most parsed documents kept by their text.
pub const DOCUMENTS: usize = 1024;
/// Longest document text kept (longer ones are parsed every time).
pub const MAX_CACHED_DOCUMENT: usize = 16 * 1024;
/// Most persisted queries one instance remembers (least recently used go first).
pub const PERSISTED_QUERIES: usize = 1024;

/// The message of an unknown persisted-query hash, which Apollo clients match on.
const PERSISTED_QUERY_NOT_FOUND: &str = "PersistedQueryNotFound";

/// Executes requests on the schema; cheap to clone (one shared state).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    schema: AppSchema,
    /// Parsed documents by their text.
    documents: Mutex<LruCache<String, ExecutableDocument>>,
    /// Automatic persisted queries: parsed documents by their SHA-256, per instance. A client
    /// whose hash another instance learned gets `PERSISTED_QUERY_NOT_FOUND` once and sends the
    /// query again, as the protocol expects.
    persisted: Mutex<LruCache<String, ExecutableDocument>>,
}

#[allow(clippy::expect_used)] // constants
fn capacity(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("a non-zero capacity")
}

impl Executor {
    pub fn new(schema: AppSchema) -> Self {
        Self {
            inner: Arc::new(Inner {
                schema,
                documents: Mutex::new(LruCache::new(capacity(DOCUMENTS))),
                persisted: Mutex::new(LruCache::new(capacity(PERSISTED_QUERIES))),
            }),
        }
    }

    /// The document a request runs: its persisted query, or its text parsed (once).
    pub fn document(&self, request: &Request) -> Result<ExecutableDocument, ServerError> {
        match persisted_query(request)? {
            Some(hash) if request.query.is_empty() => lock(&self.inner.persisted)
                .get(&hash)
                .cloned()
                .ok_or_else(|| coded(PERSISTED_QUERY_NOT_FOUND, code::PERSISTED_QUERY_NOT_FOUND)),
            Some(hash) => {
                if format!("{:x}", Sha256::digest(request.query.as_bytes())) != hash {
                    return Err(coded(
                        "provided sha does not match query",
                        code::BAD_USER_INPUT,
                    ));
                }
                let document = self.parse(&request.query)?;
                lock(&self.inner.persisted).put(hash, document.clone());
                Ok(document)
            }
            None => self.parse(&request.query),
        }
    }

    fn parse(&self, query: &str) -> Result<ExecutableDocument, ServerError> {
        if let Some(document) = lock(&self.inner.documents).get(query) {
            return Ok(document.clone());
        }
        let document = parse_query(query).map_err(|err| {
            let mut err = ServerError::from(err);
            // The parser's own recursion limit refuses a document nested too deep to parse.
            let error_code = if err.message.starts_with("recursion limit exceeded") {
                code::QUERY_TOO_DEEP
            } else {
                code::GRAPHQL_PARSE_FAILED
            };
            set_code(&mut err, error_code);
            err
        })?;
        if query.len() <= MAX_CACHED_DOCUMENT {
            lock(&self.inner.documents).put(query.to_owned(), document.clone());
        }
        Ok(document)
    }

    /// The request with its document parsed, or the error refusing it.
    fn prepare(&self, mut request: Request) -> Result<Request, ServerError> {
        let document = self.document(&request)?;
        nul::check(&document, &request.variables)?;
        request.set_parsed_query(document);
        Ok(request)
    }
}

impl async_graphql::Executor for Executor {
    async fn execute(&self, request: Request) -> Response {
        let mut response = match self.prepare(request) {
            Ok(request) => self.inner.schema.execute(request).await,
            Err(err) => Response::from_errors(vec![err]),
        };
        assign_codes(&mut response);
        response
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let stream = match self.prepare(request) {
            Ok(request) => self
                .inner
                .schema
                .execute_stream_with_session_data(request, session_data.unwrap_or_default()),
            Err(err) => {
                futures_util::stream::once(async { Response::from_errors(vec![err]) }).boxed()
            }
        };
        stream
            .map(|mut response| {
                assign_codes(&mut response);
                response
            })
            .boxed()
    }
}

/// A poisoned lock only means another request panicked mid-update of a cache entry; the cache
/// is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `sha256Hash` of a request's `persistedQuery` extension (version 1), if it has one.
fn persisted_query(request: &Request) -> Result<Option<String>, ServerError> {
    let Some(value) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let invalid = || {
        coded(
            "Invalid \"PersistedQuery\" extension configuration.",
            code::BAD_USER_INPUT,
        )
    };
    let async_graphql::Value::Object(fields) = value else {
        return Err(invalid());
    };
    match fields.get("version") {
        Some(async_graphql::Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(async_graphql::Value::Number(n)) => {
            return Err(coded(
                &format!(
                    "Only the \"PersistedQuery\" extension of version \"1\" is supported, and \
                     the current version is \"{n}\"."
                ),
                code::BAD_USER_INPUT,
            ));
        }
        _ => return Err(invalid()),
    }
    match fields.get("sha256Hash") {
        Some(async_graphql::Value::String(hash)) => Ok(Some(hash.clone())),
        _ => Err(invalid()),
    }
}

fn coded(message: &str, error_code: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    set_code(&mut err, error_code);
    err
}

fn set_code(err: &mut ServerError, error_code: &str) {
    let extensions = err
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    if extensions.get("code").is_none() {
        extensions.set("code", error_code);
    }
}

/// The message clients see for an error nobody coded.
const CENSORED: &str = "Internal server error";

/// Gives a code to every error that has none (ours have one already). Before execution
/// (validation, limits, the operation name) they are validation failures; during execution the
/// library's coercion of arguments and variables is the client's input, and anything else is an
/// error a resolver let through uncoded: internal, logged with its cause, censored.
fn assign_codes(response: &mut Response) {
    let before_execution = response.data == async_graphql::Value::Null
        && response.errors.iter().all(|err| err.path.is_empty());
    for err in &mut response.errors {
        if has_code(err) {
            continue;
        }
        let error_code = if before_execution {
            // The library refuses selections nested beyond its own recursion limit (32) while
            // validating, before the depth limit is even checked: the same refusal.
            if err.message.contains("nested too deep") || err.message.contains("recursion depth") {
                code::QUERY_TOO_DEEP
            } else if err.message.contains("too complex") {
                code::QUERY_TOO_COMPLEX
            } else {
                code::GRAPHQL_VALIDATION_FAILED
            }
        } else if is_input_coercion(err) {
            code::BAD_USER_INPUT
        } else {
            tracing::error!(
                error = %err.message,
                path = ?err.path,
                "uncoded error during execution"
            );
            CENSORED.clone_into(&mut err.message);
            code::INTERNAL_SERVER_ERROR
        };
        set_code(err, error_code);
    }
}

fn has_code(err: &ServerError) -> bool {
    err.extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get("code").is_some())
}

/// Whether an execution error is async-graphql's refusal of an argument or variable value. The
/// library builds those from a message alone (`InputValueError`: no source), starting with one
/// of these phrases; an error converted from any other error type carries that error as its
/// source, so a foreign message starting the same way is still internal.
fn is_input_coercion(err: &ServerError) -> bool {
    const PREFIXES: [&str; 3] = [
        "Failed to parse \"",
        "Expected input type \"",
        "Invalid value for argument ",
    ];
    err.source.is_none()
        && (PREFIXES
            .iter()
            .any(|prefix| err.message.starts_with(prefix))
            || (err.message.starts_with("Variable ") && err.message.ends_with(" is not defined.")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use async_graphql::{
        EmptyMutation, EmptySubscription, InputValueError, InputValueResult, Object, Scalar,
        ScalarType, Schema, Value,
    };

    use super::*;
    use crate::error::{AppError, AppResult};

    /// An even number: its parse is the library's coercion path at execution time.
    struct Even(i64);

    #[Scalar]
    impl ScalarType for Even {
        fn parse(value: Value) -> InputValueResult<Self> {
            match value {
                Value::Number(n) if n.as_i64().is_some_and(|n| n % 2 == 0) => {
                    Ok(Self(n.as_i64().unwrap_or_default()))
                }
                _ => Err(InputValueError::custom("not even")),
            }
        }

        fn to_value(&self) -> Value {
            Value::from(self.0)
        }
    }

    struct Query;

    #[Object]
    impl Query {
        async fn small(&self, #[graphql(validator(maximum = 10))] n: i32) -> i32 {
            n
        }

        async fn even(&self, value: Even) -> i64 {
            value.0
        }

        /// What a resolver on an untyped `Result` could do: a foreign error, uncoded.
        async fn leaky(&self) -> Result<i32, String> {
            Err("password=hunter2 at db.rs:12".into())
        }

        /// A foreign error whose message looks like the library's coercion error.
        async fn impostor(&self) -> Result<i32, String> {
            Err("Failed to parse \"Int\": connection reset".into())
        }

        async fn typed(&self) -> AppResult<i32> {
            Err(AppError::bad_input("x", "x is wrong"))
        }
    }

    async fn run(query: &str) -> Response {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let mut response = schema.execute(query).await;
        assign_codes(&mut response);
        response
    }

    fn code_of(err: &ServerError) -> String {
        match err.extensions.as_ref().unwrap().get("code").unwrap() {
            Value::String(code) => code.clone(),
            other => panic!("code: {other:?}"),
        }
    }

    #[tokio::test]
    async fn coercion_errors_are_the_clients_input() {
        for query in ["{ small(n: 11) }", "{ even(value: 3) }"] {
            let response = run(query).await;
            let err = &response.errors[0];
            assert_eq!(code_of(err), code::BAD_USER_INPUT, "{query}: {err:?}");
            assert!(err.message.starts_with("Failed to parse"), "{err:?}");
        }
    }

    #[tokio::test]
    async fn an_uncoded_execution_error_is_internal_and_censored() {
        for query in ["{ leaky }", "{ impostor }"] {
            let response = run(query).await;
            let err = &response.errors[0];
            assert_eq!(
                code_of(err),
                code::INTERNAL_SERVER_ERROR,
                "{query}: {err:?}"
            );
            assert_eq!(err.message, CENSORED);
        }
    }

    #[tokio::test]
    async fn coded_errors_and_validation_keep_their_codes() {
        let typed = run("{ typed }").await;
        assert_eq!(code_of(&typed.errors[0]), code::BAD_USER_INPUT);
        assert_eq!(typed.errors[0].message, "x is wrong");
        let invalid = run("{ small(n: \"eleven\") }").await;
        assert_eq!(code_of(&invalid.errors[0]), code::GRAPHQL_VALIDATION_FAILED);
        let unknown = run("{ nothing }").await;
        assert_eq!(code_of(&unknown.errors[0]), code::GRAPHQL_VALIDATION_FAILED);
    }

    #[test]
    fn coercion_is_recognised_by_shape_not_only_by_message() {
        let library = ServerError::new("Expected input type \"Int\", found \"x\".", None);
        assert!(is_input_coercion(&library));
        let undefined = ServerError::new("Variable x is not defined.", None);
        assert!(is_input_coercion(&undefined));
        let mut foreign = ServerError::new("Failed to parse \"Int\": io", None);
        foreign.source = Some(std::sync::Arc::new("io"));
        assert!(!is_input_coercion(&foreign));
        assert!(!is_input_coercion(&ServerError::new("boom", None)));
    }
}
