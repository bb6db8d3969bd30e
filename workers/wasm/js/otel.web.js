
// Browsers: an ES module cannot look for a package that may be absent, so the API comes in
// through bootstrapWorker({ openTelemetry: api }); until then handlers run as they are.
const interop = createInterop(null);
export const { otelActive, otelConfigure, otelRunHandler, otelHandlerTimedOut } = interop;
