//! Outgoing HTTP behind the app's `allowed-hosts` grant.

use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::state::AppContext;

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

/// Checks every outgoing request against the app's grants before anything touches the
/// network; a denied request fails with `error-code.HTTP-request-denied`, which guests see
/// as a clear, specific error (hops-sdk: `HttpError::Denied`).
pub(crate) struct GrantHooks {
    app: Arc<AppContext>,
    /// Requests refused during this store's life, as `authority` strings, for error messages.
    pub(crate) denied: Vec<String>,
}

impl GrantHooks {
    pub(crate) fn new(app: Arc<AppContext>) -> GrantHooks {
        GrantHooks {
            app,
            denied: Vec::new(),
        }
    }
}

impl WasiHttpHooks for GrantHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let uri = request.uri();
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let default_port = if https { 443 } else { 80 };
        if !self.app.settings.allows_host(&authority, default_port) {
            tracing::warn!(
                app = %self.app.name,
                host = %authority,
                "outgoing HTTP request denied: host not in the app's allowed-hosts"
            );
            self.denied.push(authority);
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        tracing::debug!(app = %self.app.name, host = %authority, "outgoing HTTP request");
        // The default hook is the rustls/hyper client; only the decision above is ours.
        wasmtime_wasi_http::default_hooks().send_request(request, options, fut)
    }
}
