// Starts GraphiQL on the gateway's /graphql. The browser's session cookies go along, with the
// headers the gateway's cookie sessions require (see services/gateway/README.md).
(function () {
  var fetcher = GraphiQL.createFetcher({
    url: window.location.pathname,
    headers: { "X-Nova-Session": "cookie", "X-Nova-CSRF": "1" },
  });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolbarTabs: "headers",
      shouldPersistHeaders: false,
    }),
  );
})();
