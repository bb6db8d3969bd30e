//! TypeScript types for the public API, shipped in the package's `.d.ts`.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** What a handler gets for one step. */
export interface StepContext {
  taskUuid: string;
  stepUuid: string;
  stepName: string;
  namespace: string;
  correlationId: string;
  /** 32 hex digits: the step's trace. */
  traceId: string | null;
  /** 16 hex digits: the worker's execution span for this step. Set it to your own child span's id to parent the completion there. */
  spanId: string | null;
  /** W3C traceparent of that span. */
  traceparent: string | null;
  /** The task's input context. */
  input: Record<string, unknown>;
  /** Results of the steps this one depends on, by step name. */
  dependencyResults: Record<string, unknown>;
  /** 1 for the first try. */
  attempt: number;
}

/** A step handler: its (awaited) return value is the step's result; a thrown Error fails the step, retryable unless `error.retryable === false`. A value JSON cannot hold (NaN, a function, a Map) fails the step. JavaScript cannot pre-empt a handler: one that blocks the event loop past its step's `timeout_ms` is recorded as `timeout` when it returns. */
export type StepHandler = (ctx: StepContext) => unknown | Promise<unknown>;

/** One step of a template. */
export interface StepTemplate {
  name: string;
  handler: string;
  depends_on?: string[];
  max_attempts?: number;
  timeout_ms?: number;
  /** The queue distributed workers take this step from; the namespace when absent. */
  queue?: string;
}

/** A workflow: steps and the dependencies between them. */
export interface TaskTemplate {
  namespace: string;
  name: string;
  version?: string;
  steps: StepTemplate[];
}

/** One step's record in a task result. */
export interface StepRecord {
  status: "pending" | "in_flight" | "complete" | "failed" | "skipped";
  attempts: number;
  result?: unknown;
  error?: string;
  error_type?: string;
  execution_time_ms: number;
}

/** The result of `worker.runTask`. */
export interface TaskResult {
  status: "complete" | "error";
  taskUuid: string;
  correlationId: string;
  /** The task's one trace. */
  traceId: string | null;
  stepResults: Record<string, unknown>;
  steps: Record<string, StepRecord>;
}

/** An OTLP/JSON `ExportTraceServiceRequest`, handed to a telemetry `exporter` callback. */
export interface OtlpTraceRequest {
  resourceSpans: unknown[];
}

export interface TelemetryOptions {
  /** Export spans (default: TELEMETRY_ENABLED). */
  enabled?: boolean;
  /** Collector base URL; spans are POSTed to `${endpoint}/v1/traces` (default: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318). */
  endpoint?: string;
  /** The full traces URL, used as given with nothing appended (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else `${endpoint}/v1/traces`). */
  tracesEndpoint?: string;
  /** Sent with every request, e.g. `{ authorization: "Bearer …" }` (default: OTEL_EXPORTER_OTLP_HEADERS). */
  headers?: Record<string, string>;
  /** Each request gives up after this many ms (default: OTEL_EXPORTER_OTLP_TIMEOUT, else 10000). */
  timeoutMs?: number;
  /** "gzip" compresses each request body (zlib in Node, CompressionStream in a browser); default: OTEL_EXPORTER_OTLP_COMPRESSION, else "none". */
  compression?: "gzip" | "none";
  /** How spans are sent (node:http in Node, fetch in a browser): "http/protobuf" (the default, as OTEL_EXPORTER_OTLP_PROTOCOL's) or "http/json". gRPC is not available. */
  protocol?: "http/protobuf" | "http/json";
  serviceName?: string;
  /** Sample this fraction of new traces (parent-based). */
  sampleRatio?: number;
  /** Receives each OTLP/JSON batch instead of its being sent. */
  exporter?: (batch: OtlpTraceRequest) => void | Promise<void>;
}

export interface WorkerOptions {
  /** Handlers running at once (default 4). */
  concurrency?: number;
  /** Per-attempt handler timeout in ms, unless the step sets timeout_ms (default 30000). */
  handlerTimeoutMs?: number;
  telemetry?: TelemetryOptions;
  /**
   * The application's `@opentelemetry/api` (`import * as api from "@opentelemetry/api"`).
   * Where it is in use, each handler runs in its step's OpenTelemetry context: with an SDK
   * registered, inside a `tasker.handler <step>` span whose parent is the worker's execution
   * span (your own spans nest in it, and the completion span hangs off it); with the API
   * alone, in the execution span's context, so that propagators inject the step's
   * traceparent. `false` turns this off. Node finds the API by itself where the application
   * has it installed; a browser bundle needs it passed here. Applies to handlers that start
   * from then on.
   */
  openTelemetry?: OpenTelemetryApi | false;
}

/** The parts of `@opentelemetry/api` the worker uses (the module itself fits). */
export interface OpenTelemetryApi {
  trace: object;
  context: object;
}

/** What `worker.stop()` and `worker.flush()` resolve to. Telemetry never rejects a stop: spans a collector did not take are counted here, `error` says why, and one WARN line says the same. */
export interface TelemetryReport {
  /** Spans the collector accepted, since the module loaded. */
  spansExported: number;
  /** Spans whose export failed (collector down, refused, timed out), since the module loaded. */
  spansFailed: number;
  /** Spans dropped because the buffer was full (a collector that could not keep up). */
  spansDropped: number;
  /** Spans dropped from the pre-bootstrap buffer because it was full. */
  spansDroppedBeforeBootstrap: number;
  /** Why spans were lost since the previous report; null when none were. */
  error: string | null;
}

export interface StopOptions {
  /** Reject with a `TELEMETRY` error when spans were lost, instead of resolving with the report (default false). */
  strict?: boolean;
}

/** Errors thrown by tasker-core carry a `code`. */
export interface TaskerError extends Error {
  code: "TEMPLATE" | "UNKNOWN_HANDLER" | "CONVERSION" | "CONFIGURATION" | "WORKER_STOPPED" | "TELEMETRY" | "INTERNAL" | "TRACE_CONTEXT" | "COMPLETION" | "TASK_TIMEOUT" | "DATABASE";
}
"#;
