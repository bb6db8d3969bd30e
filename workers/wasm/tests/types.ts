// Type-checked with `tsc --noEmit` against the package's .d.ts.
import { registerHandler, bootstrapWorker, type StepContext, type TaskResult, type TaskTemplate, type TelemetryOptions, type TelemetryReport, type WorkerOptions, type OpenTelemetryApi } from "tasker-core-wasm";

// Every export option a hosted backend needs, as the types name them.
export const hosted: TelemetryOptions = {
  enabled: true,
  tracesEndpoint: "https://otlp.example.com/v1/traces",
  protocol: "http/protobuf",
  headers: { authorization: "Bearer t0ken" },
  timeoutMs: 5000,
  compression: "gzip",
};

// The interop takes the @opentelemetry/api module (any object with trace and context), or false.
declare const otelApi: OpenTelemetryApi;
export const withOtel: WorkerOptions = { openTelemetry: otelApi };
export const withoutOtel: WorkerOptions = { openTelemetry: false };
// @ts-expect-error: true is not an API
export const wrongOtel: WorkerOptions = { openTelemetry: true };

const linear: TaskTemplate = {
  namespace: "linear_workflow",
  name: "linear",
  steps: [
    { name: "linear_step_1", handler: "square" },
    { name: "linear_step_2", handler: "square", depends_on: ["linear_step_1"] },
  ],
};

async function main(): Promise<void> {
  registerHandler("square", async (ctx: StepContext) => {
    const deps = Object.values(ctx.dependencyResults) as number[];
    const n = deps.length ? deps[0] : (ctx.input.even_number as number);
    return n * n;
  });
  const worker = await bootstrapWorker({ concurrency: 2, telemetry: { enabled: false } });
  const result: TaskResult = await worker.runTask(linear, { even_number: 2 });
  const status: "complete" | "error" = result.status;
  const traceId: string | null = result.traceId;
  console.log(status, traceId, result.stepResults.linear_step_2);
  const flushed: TelemetryReport = await worker.flush();
  const report: TelemetryReport = await worker.stop({ strict: false });
  const lost: string | null = report.error;
  console.log(flushed.spansExported, report.spansFailed + report.spansDropped, lost);
}

void main();
