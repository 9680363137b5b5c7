import { Loggers } from "moleculer";
import { redact } from "../lib/security/redact";
import { currentTraceId } from "./trace-context";

type ConsoleLoggerOptions = ConstructorParameters<typeof Loggers.Console>[0];
type LogHandler = NonNullable<ReturnType<InstanceType<typeof Loggers.Console>["getLogHandler"]>>;
type LoggerBindings = Parameters<InstanceType<typeof Loggers.Console>["getLogHandler"]>[0];

/**
 * Moleculer's console logger with every argument passed through the redactor
 * before it is formatted, so no log line of the node — CORE's own, Moleculer's,
 * moleculer-web's — carries a password, token or key, whatever the format
 * (full, short, simple, json). Lines below the level are dropped before the
 * redactor runs, so disabled debug logging costs nothing extra.
 *
 * A line written while a call is handled carries the call's trace id
 * (mixins/trace-context): `trace=<id>` after the prefix in the text formats,
 * a `traceId` field in json.
 */
export class RedactingConsoleLogger extends Loggers.Console {
  override getLogHandler(bindings: LoggerBindings): LogHandler | null {
    const json = this.opts.formatter === "json";
    // Moleculer's json formatter spreads the bindings into each line: a getter adds the trace id when there is one.
    const lineBindings = json ? Object.defineProperty({ ...bindings }, "traceId", { enumerable: true, get: currentTraceId }) : bindings;
    const write = super.getLogHandler(lineBindings);
    if (!write) return null;
    const levels: readonly string[] = Loggers.Base.LEVELS;
    const enabledUpTo = levels.indexOf(this.getLogLevel(bindings.mod) ?? "");
    return (level, args) => {
      if (levels.indexOf(level) > enabledUpTo) return;
      const redacted = args.map((arg) => redact(arg));
      const traceId = json ? undefined : currentTraceId();
      write(level, traceId ? [`trace=${traceId}`, ...redacted] : redacted);
    };
  }
}

/** The broker's `logger` option: a redacting console logger with these options. */
export function redactingLogger(options: ConsoleLoggerOptions): InstanceType<typeof Loggers.Console> {
  return new RedactingConsoleLogger(options);
}
