// Nova's admins behind the gateway: a write made with the session cookie must carry X-Nova-CSRF
// (a header no other site can make a browser send without a CORS preflight, which the gateway
// refuses). starlette-admin sends its actions with fetch() and a few requests with jQuery; both
// get the header for the admin's own origin.
(() => {
  const header = "X-Nova-CSRF";
  const nativeFetch = window.fetch.bind(window);
  const sameOrigin = (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input), window.location.href);
    return url.origin === window.location.origin;
  };
  window.fetch = (input, init) => {
    if (!sameOrigin(input)) {
      return nativeFetch(input, init);
    }
    const options = { ...(init || {}) };
    const headers = new Headers(options.headers || (input instanceof Request ? input.headers : {}));
    headers.set(header, "1");
    options.headers = headers;
    return nativeFetch(input, options);
  };
  if (window.jQuery) {
    window.jQuery.ajaxPrefilter((options, _original, xhr) => {
      if (!options.crossDomain) {
        xhr.setRequestHeader(header, "1");
      }
    });
  }
})();
