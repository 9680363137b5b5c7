import { Errors } from "moleculer";
import { fromPlainError, isPlainCoreError } from "../lib/errors";

type PlainMoleculerError = Errors.PlainMoleculerError;

/**
 * Lets CORE errors cross NATS intact: the sender adds `status` to the plain
 * error Moleculer sends, and the receiver rebuilds the class from its `code`.
 * Moleculer's own errors (numeric codes) take Moleculer's usual path.
 */
export class CoreErrorRegenerator extends Errors.Regenerator {
  override extractPlainError(err: Record<string, unknown>, payload?: Record<string, unknown>): PlainMoleculerError {
    const plain = super.extractPlainError(err, payload) as PlainMoleculerError & { status?: unknown };
    if (typeof err.status === "number") plain.status = err.status;
    return plain;
  }

  override restoreCustomError(plainError: PlainMoleculerError): Error {
    const plain = plainError as unknown;
    // Moleculer's typings promise an Error, but `undefined` is how a subclass says "not mine".
    return (isPlainCoreError(plain) ? fromPlainError(plain) : undefined) as Error;
  }
}
