// OpenTelemetry interop for JS handlers (issue #17): where the application uses
// @opentelemetry/api, each handler runs inside its step's context, in a
// `tasker.handler <step>` span whose parent is the worker's execution span, so that the
// application's own spans (and what its propagators inject) belong to the step's trace.
// The span's ids go back with the completion, and the worker's completion span hangs off it.
//
// This body is shared by the Node package and the web bundle: the build appends
// otel.node.js (CommonJS, the API found by require) or otel.web.js (ES module, the API
// passed to bootstrapWorker as `openTelemetry`).

const SAMPLED = 1;
const STATUS_ERROR = 2; // SpanStatusCode.ERROR

function createInterop(load) {
  // undefined: not looked up yet; null: none (or turned off); else the API.
  let api;
  // The handler span of each step context still running, to end at a timeout.
  const running = new WeakMap();

  function current() {
    if (api === undefined) {
      try {
        api = load === null ? null : load();
      } catch {
        api = null; // the application does not use OpenTelemetry
      }
    }
    return api;
  }

  function configure(value) {
    if (value === undefined) return;
    if (value === false || value === null) {
      api = null;
      return;
    }
    const ok = typeof value === "object" && value !== null
      && typeof value.trace?.getTracerProvider === "function"
      && typeof value.trace?.wrapSpanContext === "function"
      && typeof value.context?.with === "function";
    if (!ok) {
      throw new TypeError(
        "openTelemetry must be the @opentelemetry/api module (import * as api from \"@opentelemetry/api\") or false");
    }
    api = value;
  }

  function call(f, ctx) {
    try {
      return Promise.resolve(f(ctx));
    } catch (thrown) {
      return Promise.reject(thrown);
    }
  }

  // The registered SDK's tracer, or undefined when only the API is there (its no-op
  // tracer would make a span that records nothing and carries the parent's ids).
  function sdkTracer(a) {
    const provider = a.trace.getTracerProvider();
    if (typeof provider.getDelegateTracer === "function") {
      return provider.getDelegateTracer("tasker-core-wasm");
    }
    return provider.getTracer("tasker-core-wasm");
  }

  function end(span, thrown) {
    if (thrown !== undefined) {
      if (thrown instanceof Error) span.recordException(thrown);
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      span.setStatus({ code: STATUS_ERROR, message });
    }
    span.end();
  }

  function runHandler(f, ctx) {
    const a = api;
    const { traceId, spanId, traceparent } = ctx;
    if (!a || !traceId || !spanId) return call(f, ctx);
    const flags = traceparent ? parseInt(traceparent.slice(-2), 16) & 0xff : SAMPLED;
    const parent = a.trace.wrapSpanContext({ traceId, spanId, traceFlags: flags, isRemote: true });
    const stepContext = a.trace.setSpan(a.context.active(), parent);
    const tracer = sdkTracer(a);
    if (tracer === undefined) return a.context.with(stepContext, call, undefined, f, ctx);
    const span = tracer.startSpan(`tasker.handler ${ctx.stepName}`, {
      attributes: { step_name: ctx.stepName, step_uuid: ctx.stepUuid, task_uuid: ctx.taskUuid },
    }, stepContext);
    const own = span.spanContext();
    // A span that is not sampled is never exported: the completion must not hang off it.
    const adopt = own.spanId !== spanId && (own.traceFlags & SAMPLED) === SAMPLED;
    running.set(ctx, span);
    const settle = (thrown) => {
      if (running.delete(ctx)) end(span, thrown);
      // The handler may have put its own child span's ids on ctx: those win.
      if (adopt && ctx.traceId === traceId && ctx.spanId === spanId) {
        ctx.traceId = own.traceId;
        ctx.spanId = own.spanId;
      }
    };
    return a.context.with(a.trace.setSpan(stepContext, span), call, undefined, f, ctx).then(
      (value) => { settle(undefined); return value; },
      (thrown) => { settle(thrown); throw thrown; },
    );
  }

  function handlerTimedOut(ctx, ms) {
    const span = running.get(ctx);
    if (span !== undefined && running.delete(ctx)) {
      span.setStatus({ code: STATUS_ERROR, message: `the handler timed out after ${ms} ms` });
      span.end();
    }
  }

  return {
    otelActive: () => current() !== null,
    otelConfigure: configure,
    otelRunHandler: runHandler,
    otelHandlerTimedOut: handlerTimedOut,
  };
}
